//! Shared by the HTTP transport's tests and its bench: certificates made at
//! test time, small endpoints, and two nodes served over loopback HTTPS.

#![allow(dead_code)] // each user takes what it needs

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use twinsync::clock::{Clock, ManualClock};
use twinsync::connection::Connection;
use twinsync::engine::{InitiateRequest, Initiated, Node};
use twinsync::model::{Issue, NodeUrl, UserRef};
use twinsync::store::MemoryStore;
use twinsync::testkit::ids as lit;
use twinsync::testkit::rig::test_options;
use twinsync::testkit::setup_memory_tracker;
use twinsync::tracker::MemoryTracker;
use twinsync::transport::http::{
    HttpServer, HttpTransport, HttpTransportBuilder, ServerHandle, ServerTls,
};
use twinsync::transport::{Endpoint, Transport};

/// A private CA and a server certificate it issued, made at test time.
pub struct Pki {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Pki {
    /// A CA and a certificate for `names` (IP addresses or DNS names).
    pub fn new(names: &[&str]) -> Self {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "twinsync test CA");
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        Pki {
            ca_pem: ca.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A CA and a certificate for 127.0.0.1.
    pub fn loopback() -> Self {
        Pki::new(&["127.0.0.1"])
    }

    pub fn server_tls(&self) -> ServerTls {
        ServerTls::from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes()).unwrap()
    }

    /// A transport builder that trusts this CA.
    pub fn transport_builder(&self) -> HttpTransportBuilder {
        HttpTransport::builder().add_root_certificate_pem(self.ca_pem.as_bytes())
    }

    pub fn transport(&self) -> HttpTransport {
        self.transport_builder().build().unwrap()
    }
}

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

pub fn node(url: &str) -> NodeUrl {
    NodeUrl::parse(url).unwrap()
}

/// Answers every request with its own bytes.
pub struct Echo;

#[async_trait]
impl Endpoint for Echo {
    async fn handle(&self, request: Vec<u8>) -> Vec<u8> {
        request
    }
}

/// Panics on the request `boom` (an endpoint breaking its contract), echoes
/// anything else.
pub struct Fragile;

#[async_trait]
impl Endpoint for Fragile {
    async fn handle(&self, request: Vec<u8>) -> Vec<u8> {
        assert_ne!(request, b"boom", "a fragile endpoint");
        request
    }
}

/// Takes `0` to answer.
pub struct Slow(pub Duration);

#[async_trait]
impl Endpoint for Slow {
    async fn handle(&self, request: Vec<u8>) -> Vec<u8> {
        tokio::time::sleep(self.0).await;
        request
    }
}

/// A transport that keeps a copy of what its node sends (for tests only: a
/// real transport keeps nothing).
#[derive(Debug)]
pub struct Recording {
    inner: HttpTransport,
    pub sent: Mutex<Vec<Vec<u8>>>,
}

#[async_trait]
impl Transport for Recording {
    async fn call(&self, to: &NodeUrl, request: Vec<u8>) -> twinsync::Result<Vec<u8>> {
        self.sent.lock().unwrap().push(request.clone());
        self.inner.call(to, request).await
    }
}

/// One node served over loopback HTTPS, on its own tracker and store.
pub struct Side {
    pub tracker: MemoryTracker,
    pub human: MemoryTracker,
    pub store: Arc<MemoryStore>,
    pub node: Node,
    pub transport: Arc<Recording>,
    pub server: ServerHandle,
}

impl Side {
    /// Binds a port, builds a node on the tracker at `tracker_url` whose
    /// node URL is `https://127.0.0.1:<port>`, then serves it there.
    pub async fn start(pki: &Pki, clock: &Arc<ManualClock>, tracker_url: &str) -> Side {
        let server = HttpServer::bind(loopback(), pki.server_tls()).unwrap();
        let tracker = MemoryTracker::with_clock(tracker_url, clock.clone()).unwrap();
        setup_memory_tracker(&tracker);
        let human = tracker.as_user(UserRef::new(lit::user_id("alice"), "Alice"));
        let store = Arc::new(MemoryStore::new());
        let transport = Arc::new(Recording {
            inner: pki.transport(),
            sent: Mutex::new(Vec::new()),
        });
        let node = Node::builder()
            .tracker(Arc::new(tracker.clone()))
            .store(store.clone())
            .clock(clock.clone())
            .options(test_options())
            .transport(transport.clone())
            .node_url(server.url())
            .node_key(twinsync::testkit::node_key(tracker_url))
            .build()
            .await
            .unwrap();
        let server = server.serve(Arc::new(node.clone())).unwrap();
        Side {
            tracker,
            human,
            store,
            node,
            transport,
            server,
        }
    }

    pub fn url(&self) -> NodeUrl {
        self.server.url().clone()
    }

    pub fn issues(&self, project: &str) -> Vec<Issue> {
        self.tracker.inspect_issues(&lit::project(project))
    }

    pub fn issue(&self, key: &str) -> Issue {
        self.tracker.inspect_issue(&lit::key(key)).unwrap()
    }

    pub fn bodies(&self, key: &str) -> Vec<String> {
        self.issue(key)
            .comments
            .iter()
            .map(twinsync::testkit::said::said)
            .collect()
    }
}

/// Two nodes on loopback HTTPS: A syncs SUP, B syncs DEV, on one virtual clock.
pub struct Pair {
    pub clock: Arc<ManualClock>,
    pub pki: Pki,
    pub a: Side,
    pub b: Side,
}

impl Pair {
    pub async fn start() -> Pair {
        let clock = Arc::new(ManualClock::default());
        let pki = Pki::loopback();
        let a = Side::start(&pki, &clock, "https://support.example").await;
        let b = Side::start(&pki, &clock, "https://dev.example").await;
        Pair { clock, pki, a, b }
    }

    /// A initiates with an invitation code; B accepts it with DEV.
    pub async fn connect(&self) -> Connection {
        let ada = lit::user_id("ada");
        let initiated = self
            .a
            .node
            .admin(&ada)
            .initiate(InitiateRequest::new(lit::project("SUP")))
            .await
            .unwrap();
        let Initiated::Invitation { connection, code } = initiated else {
            panic!("an invitation, got {initiated:?}");
        };
        self.b
            .node
            .admin(&ada)
            .accept(code.as_str(), &lit::project("DEV"))
            .await
            .unwrap();
        self.a.node.connection(&connection.id).unwrap()
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// One cycle of A, then one of B; the writes of each.
    pub async fn sync(&self, conn: &Connection) -> (usize, usize) {
        self.advance(1);
        let a = self.a.node.sync(&conn.id).await.unwrap();
        self.advance(1);
        let b = self.b.node.sync(&conn.id).await.unwrap();
        (a.writes, b.writes)
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }
}
