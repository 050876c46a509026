//! Remote connections: a node owns one side and talks to the node of the other
//! side through a [`Transport`].
//!
//! # How a remote connection syncs
//!
//! Each node keeps its own twin state (`local` = its issue, `remote` = the
//! peer's issue). Its cycle polls its own project and sends the
//! [`Replica`](crate::replica::Replica) of every changed issue under sync;
//! the receiver plans it with the [planner](crate::plan) against its issue,
//! executes the plan with the same executor as a local connection (intents and
//! markers: no duplicates across crashes) and acknowledges with its twin
//! state, from which the sender records the twin (its state is the receiver's,
//! seen from the other side, as a local connection keeps one state for both
//! directions).
//!
//! Every message is idempotent, so a network that loses, repeats, delays or
//! reorders messages, and nodes that crash and restart, lose nothing and
//! duplicate nothing:
//!
//! - a change stays queued on the sender until an acknowledgement for it
//!   arrives, and is sent again each cycle until then;
//! - each replica carries a sequence number that only grows; the receiver
//!   remembers (in its store) the last one it applied per issue and ignores
//!   older ones, so a late or replayed replica never undoes a newer one, even
//!   after a restart that emptied the authenticator's in-memory replay memory;
//!   acknowledgements are ordered the same way;
//! - applying a replica twice writes nothing the second time (the planner's
//!   three-way merge), and a create that lost its answer is settled by its
//!   marker.
//!
//! # Attachments
//!
//! The receiver fetches an attachment's content from the sender when it needs
//! it (a signed `fetch`, served only for attachments of issues under sync). A
//! node that the other cannot call (a node in a private network) instead
//! sends, with each replica, the content of the attachments its twin state
//! does not link yet.
//!
//! # Private nodes
//!
//! A node built with [`reachable(false)`](super::NodeBuilder::reachable) only
//! opens connections itself: its peer keeps what it would send in an outbox
//! (in memory: a lost outbox is refilled by the next cycle, as nothing is
//! acknowledged), and the private node pulls it at the start of each cycle.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::connection::{
    Connection, Invitation, MessageAuthenticator, PendingInvitations, Role, Side,
};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, InstanceUrl, IssueId, IssueKey, ProjectKey};
use crate::store::{InvitationRecord, OutgoingRecord, PeerLink, SeqMark, StoreTxn, StoredSecret};
use crate::transport::Transport;

use super::Node;

mod accept;
mod endpoint;
mod failures;
mod initiate;
mod receive;
mod rejoin;
mod send;

mod twins;
mod wire;

pub use initiate::{InitiateRequest, Initiated};

use wire::{Body, SecretText};

pub(super) use failures::own_project;

/// The instance a pending connection's unknown side shows (RFC 2606 reserves
/// `.invalid`): "unknown until accepted".
pub(super) const UNKNOWN_INSTANCE: &str = "https://unknown.invalid";

/// A node's remote machinery: its transport and what it keeps in memory.
pub(super) struct Runtime {
    pub(super) transport: Option<Arc<dyn Transport>>,
    pub(super) reachable: bool,
    pub(super) protocol: u16,
    /// Loaded from the store on first use; challenges live only here.
    invitations: Mutex<Option<PendingInvitations>>,
    auth: Mutex<HashMap<ConnectionId, Arc<MessageAuthenticator>>>,
    outbox: Mutex<HashMap<ConnectionId, Outbox>>,
    /// Challenges to an acceptor confirming again (its welcome was lost).
    reconfirm: Mutex<HashMap<ConnectionId, crate::connection::Challenge>>,
    /// Incoming replicas of one twin are applied one at a time (those of
    /// other twins and connections go on meanwhile).
    pub(super) apply: super::locks::KeyedLocks<(ConnectionId, IssueId)>,
}

impl Runtime {
    pub(super) fn new(
        transport: Option<Arc<dyn Transport>>,
        reachable: bool,
        protocol: u16,
    ) -> Self {
        Runtime {
            transport,
            reachable,
            protocol,
            invitations: Mutex::new(None),
            auth: Mutex::new(HashMap::new()),
            outbox: Mutex::new(HashMap::new()),
            reconfirm: Mutex::new(HashMap::new()),
            apply: super::locks::KeyedLocks::new(),
        }
    }
}

/// What waits for a peer that cannot be called: the latest replica per issue,
/// then notices in order.
#[derive(Default)]
struct Outbox {
    replicas: BTreeMap<IssueId, Body>,
    notices: Vec<Body>,
}

/// What a node keeps about the other side of a remote connection.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Link {
    role: Role,
    /// The other node's instance, once known.
    peer: Option<InstanceUrl>,
    /// Whether this node can call the other.
    peer_reachable: bool,
    /// The protocol version both speak.
    protocol: u16,
    /// The invitation code: the connection's secret, stored in encoded form only.
    code: SecretText,
}

impl Link {
    fn invitation(&self) -> Result<Invitation> {
        Invitation::parse(self.code.as_str()).map_err(|e| {
            Error::new(
                ErrorKind::Storage,
                format!("the stored secret of a remote connection is unreadable: {e}"),
            )
        })
    }
}

/// A local issue whose next replica carries flags: exalated but not
/// acknowledged yet (`new`), or just connected (`match_existing`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Outgoing {
    pub(super) key: IssueKey,
    #[serde(default)]
    pub(super) new: bool,
    #[serde(default)]
    pub(super) match_existing: bool,
}

/// `name`, or `name (2)`, `name (3)`, … when a connection of this node has it.
fn unique_name(txn: &mut dyn StoreTxn, name: &str) -> Result<String> {
    let taken: std::collections::HashSet<String> =
        txn.connections()?.into_iter().map(|c| c.name).collect();
    if !taken.contains(name) {
        return Ok(name.to_owned());
    }
    Ok((2..)
        .map(|n| format!("{name} ({n})"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_else(|| unreachable!("an endless range has a free name")))
}

/// The side of `conn` on `instance`.
pub(super) fn own_side<'c>(conn: &'c Connection, instance: &InstanceUrl) -> Result<&'c Side> {
    [&conn.a, &conn.b]
        .into_iter()
        .find(|s| &s.instance == instance)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "connection {} has no side on this node's instance {instance}",
                    conn.name
                ),
            )
        })
}

impl Node {
    fn runtime(&self) -> &Runtime {
        &self.inner.remote
    }

    /// Whether other nodes can call this node through its transport.
    pub fn reachable(&self) -> bool {
        self.runtime().reachable && self.runtime().transport.is_some()
    }

    /// The node-to-node protocol version this node announces.
    pub fn protocol_version(&self) -> u16 {
        self.runtime().protocol
    }

    fn transport(&self) -> Result<&Arc<dyn Transport>> {
        self.runtime().transport.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidConfig,
                "this node has no transport to other nodes; build it with .transport(…)",
            )
        })
    }

    fn link(&self, conn: &ConnectionId) -> Result<Link> {
        let link = self.txn()?.peer_link(conn)?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("connection {conn} is not a remote connection of this node"),
            )
        })?;
        Ok(Link {
            role: link.role,
            peer: link.peer,
            peer_reachable: link.peer_reachable,
            protocol: link.protocol,
            code: SecretText::new(link.code.expose()),
        })
    }

    fn put_link(&self, txn: &mut dyn StoreTxn, conn: &ConnectionId, link: &Link) -> Result<()> {
        txn.put_peer_link(&PeerLink {
            connection: conn.clone(),
            role: link.role,
            peer: link.peer.clone(),
            peer_reachable: link.peer_reachable,
            protocol: link.protocol,
            code: StoredSecret::new(link.code.as_str()),
        })
    }

    fn authenticator(&self, conn: &ConnectionId, link: &Link) -> Result<Arc<MessageAuthenticator>> {
        let mut cache = self
            .runtime()
            .auth
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(auth) = cache.get(conn) {
            return Ok(auth.clone());
        }
        let invitation = link.invitation()?;
        let auth = Arc::new(MessageAuthenticator::new(
            invitation.secret(),
            conn,
            link.role,
            self.clock().clone(),
        ));
        cache.insert(conn.clone(), auth.clone());
        Ok(auth)
    }

    /// Records whether our `issue` is the origin of its twin (exalated or
    /// connected from this side) or a copy of the peer's issue.
    fn mark_origin(
        &self,
        txn: &mut dyn StoreTxn,
        conn: &ConnectionId,
        issue: &IssueId,
        here: bool,
    ) -> Result<()> {
        txn.set_origin_here(conn, issue, here)
    }

    /// Whether our `issue` is the origin of its twin.
    fn origin_here(txn: &mut dyn StoreTxn, conn: &ConnectionId, issue: &IssueId) -> Result<bool> {
        txn.origin_here(conn, issue)
    }

    /// A remote twin as a user sees it: (the issue that was exalated or
    /// connected from, its twin). The state keeps the peer's issue as
    /// `remote` on both nodes; on the node the twin was made from, that is
    /// the copy.
    pub(in crate::engine) fn remote_pair(
        &self,
        txn: &mut dyn StoreTxn,
        state: &crate::plan::TwinState,
    ) -> Result<(crate::model::IssueRef, Option<crate::model::IssueRef>)> {
        match &state.local {
            Some(own) if Self::origin_here(txn, &state.connection, &own.id)? => {
                Ok((own.clone(), Some(state.remote.clone())))
            }
            _ => Ok((state.remote.clone(), state.local.clone())),
        }
    }

    fn outgoing(
        &self,
        txn: &mut dyn StoreTxn,
        conn: &ConnectionId,
    ) -> Result<BTreeMap<IssueId, Outgoing>> {
        Ok(txn
            .outgoing(conn)?
            .into_iter()
            .map(|r| {
                let flags = Outgoing {
                    key: r.key,
                    new: r.new,
                    match_existing: r.match_existing,
                };
                (r.issue, flags)
            })
            .collect())
    }

    fn put_outgoing(
        &self,
        txn: &mut dyn StoreTxn,
        conn: &ConnectionId,
        outgoing: &BTreeMap<IssueId, Outgoing>,
    ) -> Result<()> {
        for stored in txn.outgoing(conn)? {
            if !outgoing.contains_key(&stored.issue) {
                txn.delete_outgoing(conn, &stored.issue)?;
            }
        }
        for (issue, flags) in outgoing {
            txn.put_outgoing(&OutgoingRecord {
                connection: conn.clone(),
                issue: issue.clone(),
                key: flags.key.clone(),
                new: flags.new,
                match_existing: flags.match_existing,
            })?;
        }
        Ok(())
    }

    /// The next sequence number of this node's messages on `conn`: it only
    /// grows, even when the store is lost (it follows the clock).
    fn next_seq(&self, conn: &ConnectionId) -> Result<u64> {
        let mut txn = self.txn()?;
        let last = txn.seq_mark(conn, &SeqMark::Sent)?.unwrap_or(0);
        let now = u64::try_from(self.now().unix_timestamp_nanos()).unwrap_or(0);
        let next = now.max(last.saturating_add(1));
        txn.set_seq_mark(conn, &SeqMark::Sent, Some(next))?;
        txn.commit()?;
        Ok(next)
    }

    fn post(&self, conn: &ConnectionId, issue: Option<&IssueId>, body: Body) {
        let mut outbox = self
            .runtime()
            .outbox
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let entry = outbox.entry(conn.clone()).or_default();
        match issue {
            Some(issue) => {
                entry.replicas.insert(issue.clone(), body);
            }
            None => entry.notices.push(body),
        }
    }

    fn drain_outbox(&self, conn: &ConnectionId) -> Vec<Body> {
        let mut outbox = self
            .runtime()
            .outbox
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let Some(entry) = outbox.remove(conn) else {
            return Vec::new();
        };
        entry.replicas.into_values().chain(entry.notices).collect()
    }

    /// Runs `f` on the pending invitations (loaded from the store on first
    /// use); when `f` changed them (`Ok(true)`), saves them in the same
    /// transaction as `extra`, and reloads them if saving fails.
    fn with_invitations<T>(
        &self,
        f: impl FnOnce(&mut PendingInvitations) -> Result<(T, bool)>,
        extra: impl FnOnce(&mut dyn StoreTxn) -> Result<()>,
    ) -> Result<T> {
        let mut guard = self
            .runtime()
            .invitations
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            *guard = Some(self.load_invitations()?);
        }
        let pending = guard
            .as_mut()
            .unwrap_or_else(|| unreachable!("loaded above"));
        let (value, changed) = f(pending)?;
        if changed {
            let saved = self.txn().and_then(|mut txn| {
                // `extra` first: a revoked invitation outlives the pending
                // connection it deletes (so its code is refused as revoked).
                extra(&mut *txn)?;
                for stored in txn.invitations()? {
                    if pending.get(&stored.connection).is_none() {
                        txn.delete_invitation(&stored.connection)?;
                    }
                }
                for (inv, state) in pending.iter() {
                    txn.put_invitation(&InvitationRecord {
                        connection: inv.connection().clone(),
                        code: StoredSecret::new(inv.encode().as_str()),
                        state,
                    })?;
                }
                txn.commit()
            });
            if let Err(e) = saved {
                *guard = None; // reload what the store holds next time
                return Err(e);
            }
        }
        Ok(value)
    }

    fn load_invitations(&self) -> Result<PendingInvitations> {
        let stored = self.txn()?.invitations()?;
        let mut pending = PendingInvitations::new();
        for s in stored {
            let invitation = Invitation::parse(s.code.expose()).map_err(|e| {
                Error::new(
                    ErrorKind::Storage,
                    format!("a stored invitation is unreadable: {e}"),
                )
            })?;
            pending.restore(invitation, s.state);
        }
        Ok(pending)
    }

    /// Forgets the keys and outbox this node holds in memory for a
    /// connection.
    pub(super) fn forget_authenticator(&self, conn: &ConnectionId) {
        self.runtime()
            .auth
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(conn);
        self.runtime()
            .outbox
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(conn);
    }
}

/// A project key that is the placeholder of a pending connection.
pub(super) fn unknown_project() -> ProjectKey {
    ProjectKey::unknown()
}

impl Node {
    /// Forgets the invitation of a deleted connection.
    pub(super) fn forget_invitation(&self, conn: &ConnectionId) -> Result<()> {
        self.with_invitations(
            |pending| {
                let removed = pending.remove(conn).is_some();
                Ok(((), removed))
            },
            |_| Ok(()),
        )
    }
}
