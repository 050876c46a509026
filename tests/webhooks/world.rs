//! A node syncing `SUP` ⇄ `DEV` on the Jira emulator, its webhook receiver
//! served on 127.0.0.1, `Node::run` in the background with a one-hour poll
//! interval on a clock that moves only when a test moves it, and a human who
//! edits through Jira's REST API (so the emulator sends deliveries).

use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use futures::future::BoxFuture;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use twinsync::clock::Clock;
use twinsync::engine::{LocalConnectionOptions, Node, NodeOptions};
use twinsync::model::{ConnectionId, IssueKey, UserId};
use twinsync::server::webhook::{WebhookConfig, WebhookReceiver, WebhookSecret};
use twinsync::store::MemoryStore;
use twinsync::tracker::jira::JiraCloud;
use twinsync::tracker::jira::emulator::{EmulatorOptions, JiraEmulator};
use twinsync::tracker::{IssueUpdate, NewIssue, Tracker};
use twinsync::transport::http::{HttpServer, ServerHandle, ServerTls};

/// The admin webhook's secret in these tests.
pub const SECRET: &str = "admin-webhook-secret-for-tests";
/// The run loop's poll interval: far longer than any test runs.
pub const POLL: Duration = Duration::from_secs(3600);

/// A clock whose sleeps wait until a test moves it on.
#[derive(Clone, Debug)]
pub struct TestClock(Arc<(Mutex<OffsetDateTime>, Mutex<Vec<Waker>>)>);

impl Default for TestClock {
    fn default() -> Self {
        TestClock(Arc::new((
            Mutex::new(time::macros::datetime!(2026-03-01 9:00 UTC)),
            Mutex::new(Vec::new()),
        )))
    }
}

impl TestClock {
    pub fn advance(&self, by: Duration) {
        *self.0.0.lock().unwrap() += by;
        for w in self.0.1.lock().unwrap().drain(..) {
            w.wake();
        }
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.0.lock().unwrap()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        let state = self.0.clone();
        let deadline = *state.0.lock().unwrap() + duration;
        Box::pin(futures::future::poll_fn(move |cx| {
            if *state.0.lock().unwrap() >= deadline {
                Poll::Ready(())
            } else {
                state.1.lock().unwrap().push(cx.waker().clone());
                Poll::Pending
            }
        }))
    }
}

pub struct World {
    pub clock: TestClock,
    pub emulator: JiraEmulator,
    pub node: Node,
    pub conn: ConnectionId,
    pub receiver: WebhookReceiver,
    pub server: Option<ServerHandle>,
    pub human: JiraCloud,
    stop: Option<oneshot::Sender<()>>,
    run: Option<tokio::task::JoinHandle<twinsync::engine::RunReport>>,
}

impl World {
    /// The world with `config` for the receiver and `options` for the node
    /// (the run loop is not started yet).
    pub async fn new(config: WebhookConfig, options: NodeOptions) -> World {
        let clock = TestClock::default();
        let emulator =
            JiraEmulator::start_with(EmulatorOptions::default().clock(Arc::new(clock.clone())))
                .await
                .unwrap();
        let node = Node::builder()
            .tracker(Arc::new(emulator.cloud().unwrap()))
            .store(Arc::new(MemoryStore::new()))
            .clock(Arc::new(clock.clone()))
            .options(options.with_poll_interval(POLL).with_jitter(0.0))
            .build()
            .await
            .unwrap();
        let conn = node
            .admin(&UserId::new("ada").unwrap())
            .create_local_connection("SUP", "DEV", LocalConnectionOptions::default())
            .await
            .unwrap()
            .id;
        let receiver = WebhookReceiver::new(node.clone(), config).unwrap();
        let server = HttpServer::bind(
            "127.0.0.1:0".parse().unwrap(),
            ServerTls::plain_http_on_loopback(),
        )
        .unwrap()
        .serve_router(receiver.router())
        .unwrap();
        let human = JiraCloud::builder()
            .base_url(emulator.base_url())
            .api_token("ada@example.com", "ada-token")
            .build()
            .unwrap();
        World {
            clock,
            emulator,
            node,
            conn,
            receiver,
            server: Some(server),
            human,
            stop: None,
            run: None,
        }
    }

    /// A receiver checking admin webhooks signed with [`SECRET`].
    pub fn admin_config() -> WebhookConfig {
        WebhookConfig::default().admin_secret(WebhookSecret::new(SECRET).unwrap())
    }

    /// The receiver's full URL.
    pub fn hook_url(&self) -> String {
        let url = self.server.as_ref().unwrap().url().to_string();
        format!("{}/webhooks/jira", url.trim_end_matches('/'))
    }

    /// Starts `Node::run` in the background and waits until its first
    /// cycle has searched both projects: later edits are left to webhooks
    /// (or the next poll, an hour of the test clock away).
    pub async fn start(&mut self) {
        let searches = || {
            self.emulator
                .exchanges()
                .iter()
                .filter(|e| e.path.ends_with("/search/jql"))
                .count()
        };
        let before = searches();
        let (stop, stopped) = oneshot::channel::<()>();
        let node = self.node.clone();
        self.run = Some(tokio::spawn(async move {
            node.run(async {
                let _ = stopped.await;
            })
            .await
            .unwrap()
        }));
        self.stop = Some(stop);
        eventually("the first cycle searched both projects", || {
            searches() >= before + 2
        })
        .await;
    }

    /// Stops the run loop and the server; the run loop's report.
    pub async fn stop(&mut self) -> twinsync::engine::RunReport {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.run.take().unwrap().await.unwrap()
    }

    /// Creates an issue as the human; its key.
    pub async fn create(&self, project: &str, summary: &str) -> IssueKey {
        self.human
            .create_issue(&NewIssue::new(project.parse().unwrap(), "Task", summary))
            .await
            .unwrap()
            .key
    }

    /// Brings `key` under sync; its twin's key.
    pub async fn exalate(&self, key: &IssueKey) -> IssueKey {
        let info = self.node.exalate(&self.conn, key).await.unwrap();
        info.twin.unwrap().key
    }

    /// Edits `key`'s summary as the human.
    pub async fn edit(&self, key: &IssueKey, summary: &str) {
        let id = self.summary_issue(key).id;
        self.human
            .update_issue(&id, &IssueUpdate::new().summary(summary))
            .await
            .unwrap();
    }

    fn summary_issue(&self, key: &IssueKey) -> twinsync::model::Issue {
        self.emulator.tracker().inspect_issue(key).unwrap()
    }

    pub fn summary(&self, key: &IssueKey) -> String {
        self.summary_issue(key).summary
    }

    /// The writes the emulator answered (any user).
    pub fn writes(&self) -> usize {
        self.emulator
            .exchanges()
            .iter()
            .filter(|e| e.method != "GET" && !e.path.ends_with("/search/jql"))
            .count()
    }
}

/// Waits (real time, at most 30 s) until `done` holds; panics naming `what`.
pub async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..1500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

/// Lets background tasks run for a moment (real time).
pub async fn pause() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}
