//! Setting up the remote simulation: each node's trackers, store, network
//! and the node itself.

use super::*;

pub(super) fn options() -> NodeOptions {
    NodeOptions::default()
        .with_settle(Duration::from_secs(60))
        .with_overlap(Duration::from_secs(30))
        .with_page_size(20)
        .with_retry(RetryPolicy::default().with_max_attempts(3).with_seed(1))
}

/// The network as one node sees it: while the node is cut off, every call
/// it makes fails as a real network's would.
#[derive(Debug)]
pub(super) struct NodeNetwork {
    network: InProcessNetwork,
    cut: Arc<AtomicBool>,
}

#[async_trait]
impl Transport for NodeNetwork {
    async fn call(&self, to: &NodeUrl, request: Vec<u8>) -> crate::Result<Vec<u8>> {
        if self.cut.load(Ordering::SeqCst) {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!("{to} cannot be reached: this node is cut off (simulated outage)"),
            ));
        }
        self.network.call(to, request).await
    }
}

pub(super) fn start(
    engine: &MemoryTracker,
    clock: &Arc<ManualClock>,
    switch: &CrashSwitch,
    store: Arc<MemoryStore>,
    network: &InProcessNetwork,
    reachable: bool,
    cut: &Arc<AtomicBool>,
) -> Node {
    let tracker: Arc<dyn Tracker> =
        Arc::new(CrashTracker::new(Arc::new(engine.clone()), switch.clone()));
    let store: Arc<dyn Store> = Arc::new(CrashStore::new(store, switch.clone()));
    let transport: Arc<dyn Transport> = Arc::new(NodeNetwork {
        network: network.clone(),
        cut: cut.clone(),
    });
    let mut attempts = 0;
    loop {
        let built = block_on(
            Node::builder()
                .tracker(tracker.clone())
                .store(store.clone())
                .clock(clock.clone())
                .options(options())
                .transport(transport.clone())
                .node_url(crate::testkit::remote_rig::node_url_of(engine.url()))
                .node_key(crate::testkit::node_key(engine.url().as_str()))
                .reachable(reachable)
                .build(),
        );
        match built {
            Ok(node) => {
                if reachable && !cut.load(Ordering::SeqCst) {
                    network.register(node.node_url(), Arc::new(node.clone()));
                }
                return node;
            }
            Err(e) if e.is_temporary() || attempts < 50 => {
                attempts += 1;
                clock.advance(Duration::from_secs(10));
            }
            Err(e) => panic!("the node cannot start: {e}"),
        }
    }
}

pub(super) fn side(
    url: &str,
    project: &'static str,
    clock: &Arc<ManualClock>,
    network: &InProcessNetwork,
    reachable: bool,
) -> SimSide {
    let engine = MemoryTracker::with_clock(url, clock.clone()).expect("url");
    engine
        .add_project(project, project, &["Bug", "Task"], None)
        .expect("project");
    engine.add_user(UserRef::new(lit::user_id("ada"), "Ada Admin"));
    engine.set_global_admin(&lit::user_id("ada"), true);
    engine.set_search_lag(Duration::from_secs(5));
    let human = engine.as_user(UserRef::new(lit::user_id("alice"), "Alice"));
    let switch = CrashSwitch::new();
    let store = Arc::new(MemoryStore::new());
    let cut = Arc::new(AtomicBool::new(false));
    let node = start(
        &engine,
        clock,
        &switch,
        store.clone(),
        network,
        reachable,
        &cut,
    );
    SimSide {
        project,
        engine,
        human,
        switch,
        store,
        node,
        reachable,
        cut,
        down_for: 0,
        exalated: BTreeSet::new(),
        created: Vec::new(),
    }
}

/// Users in the simulation delete at random: the connection's record in a
/// node's store is given no mass-deletion guard.
pub(super) fn without_guard(store: &MemoryStore, conn: &ConnectionId) {
    let mut txn = store.begin().expect("store");
    let mut record = txn.connection(conn).expect("store").expect("connection");
    let mut config: crate::connection::Connection =
        serde_json::from_str(&record.config).expect("connection config");
    config.guard = DeletionGuard {
        max_share: 1.0,
        min_items: usize::MAX,
    };
    record.config = serde_json::to_string(&config).expect("json");
    txn.put_connection(&record).expect("store");
    txn.commit().expect("store");
}
