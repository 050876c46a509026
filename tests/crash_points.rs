//! Exhaustive crash-point enumeration for a small plan: the node dies before
//! and after every tracker call and every state commit (and at every point
//! where a call was applied but its answer lost), restarts from its store, and
//! must still end with one twin, every comment once, and nothing echoing.

use std::sync::Arc;
use std::time::Duration;

use twinsync::clock::ManualClock;
use twinsync::engine::{LocalConnectionOptions, Node};
use twinsync::model::UserRef;
use twinsync::replica::Marker;
use twinsync::store::{MemoryStore, Store};
use twinsync::testkit::block_on;
use twinsync::testkit::crash::{CrashMode, CrashStore, CrashSwitch, CrashTracker};
use twinsync::testkit::ids as lit;
use twinsync::testkit::rig::test_options;
use twinsync::tracker::{IssueUpdate, MemoryTracker, NewAttachment, NewComment, NewIssue, Tracker};

struct World {
    clock: Arc<ManualClock>,
    engine: MemoryTracker,
    human: MemoryTracker,
    switch: CrashSwitch,
    store: Arc<MemoryStore>,
}

impl World {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::default());
        let engine = MemoryTracker::with_clock("https://crash.example", clock.clone()).unwrap();
        engine
            .add_project("SUP", "Support", &["Bug", "Task"], None)
            .unwrap();
        engine
            .add_project("DEV", "Development", &["Bug", "Task"], None)
            .unwrap();
        let human = engine.as_user(UserRef::new(lit::user_id("alice"), "Alice"));
        let sup = block_on(human.create_issue(&NewIssue::new(
            lit::project("SUP"),
            "Bug",
            "Printer on fire",
        )))
        .unwrap();
        for body in ["one", "two"] {
            block_on(human.add_comment(&sup.id, &NewComment::public(body))).unwrap();
        }
        let file = NewAttachment {
            file_name: "smoke.txt".into(),
            mime_type: "text/plain".into(),
            content: b"smoke".to_vec(),
        };
        block_on(human.upload_attachment(&sup.id, &file)).unwrap();
        World {
            clock,
            engine,
            human,
            switch: CrashSwitch::new(),
            store: Arc::new(MemoryStore::new()),
        }
    }

    fn node(&self) -> Node {
        let tracker = Arc::new(CrashTracker::new(
            Arc::new(self.engine.clone()),
            self.switch.clone(),
        ));
        let store: Arc<dyn Store> =
            Arc::new(CrashStore::new(self.store.clone(), self.switch.clone()));
        block_on(
            Node::builder()
                .tracker(tracker)
                .store(store)
                .clock(self.clock.clone())
                .options(test_options())
                .build(),
        )
        .unwrap()
    }

    /// Exalate, then an edit and a new comment on SUP, then a sync.
    fn scenario(&self, node: &Node) {
        let conn = twinsync::model::ConnectionId::parse("SUP_to_DEV").unwrap();
        if node.connection(&conn).is_err() {
            let _ = block_on(admin(node).create_local_connection(
                "SUP",
                "DEV",
                LocalConnectionOptions::default(),
            ));
        }
        let _ = block_on(node.exalate(&conn, &lit::key("SUP-1")));
        self.clock.advance(Duration::from_secs(5));
        let sup = self.engine.inspect_issue(&lit::key("SUP-1")).unwrap();
        let update = IssueUpdate {
            summary: Some("Printer on fire, floor 3".into()),
            ..IssueUpdate::default()
        };
        block_on(self.human.update_issue(&sup.id, &update)).unwrap();
        block_on(
            self.human
                .add_comment(&sup.id, &NewComment::public("three")),
        )
        .unwrap();
        self.clock.advance(Duration::from_secs(5));
        let _ = block_on(node.sync(&conn));
    }
}

/// The node's admin handle for the tracker's integration user (a global admin).
fn admin(node: &Node) -> twinsync::engine::Admin<'_> {
    node.admin(&lit::user_id(MemoryTracker::INTEGRATION_USER))
}

fn check(world: &World, label: &str) {
    let conn = twinsync::model::ConnectionId::parse("SUP_to_DEV").unwrap();
    let node = world.node();
    if node.connection(&conn).is_err() {
        block_on(admin(&node).create_local_connection(
            "SUP",
            "DEV",
            LocalConnectionOptions::default(),
        ))
        .unwrap();
    }
    let _ = block_on(admin(&node).activate(&conn));
    for _ in 0..4 {
        world.clock.advance(Duration::from_secs(120));
        let _ = block_on(node.exalate(&conn, &lit::key("SUP-1")));
        block_on(node.sync(&conn)).unwrap_or_else(|e| panic!("{label}: sync after restart: {e}"));
    }
    let sup = world.engine.inspect_issue(&lit::key("SUP-1")).unwrap();
    let dev = world.engine.inspect_issues(&lit::project("DEV"));
    assert_eq!(dev.len(), 1, "{label}: exactly one twin");
    let dev = &dev[0];
    assert!(
        Marker::find(&dev.properties, &conn).is_some(),
        "{label}: the twin carries its marker"
    );
    assert_eq!(dev.summary, sup.summary, "{label}: summary converged");
    let bodies = |i: &twinsync::model::Issue| -> Vec<String> {
        i.comments
            .iter()
            .map(twinsync::testkit::said::said)
            .collect()
    };
    assert_eq!(
        bodies(&sup),
        ["one", "two", "three"],
        "{label}: nothing echoed onto SUP"
    );
    assert_eq!(
        bodies(dev),
        ["one", "two", "three"],
        "{label}: every comment once, in order"
    );
    assert_eq!(dev.attachments.len(), 1, "{label}: the attachment once");
    let links = world.engine.inspect_remote_links(&dev.id);
    assert_eq!(links.len(), 1, "{label}: one origin link: {links:?}");
    world.engine.reset_calls();
    world.clock.advance(Duration::from_secs(10));
    block_on(node.sync(&conn)).unwrap();
    assert_eq!(
        world.engine.calls().writes(),
        0,
        "{label}: quiet afterwards"
    );
}

#[test]
fn every_crash_point_recovers_without_duplicates_or_loss() {
    // The run without a crash tells how many steps there are.
    let world = World::new();
    let node = world.node();
    let start = world.switch.steps();
    world.scenario(&node);
    let steps = world.switch.steps() - start;
    check(&world, "no crash");
    assert!(steps > 10, "the scenario takes several steps ({steps})");
    let mut points = 0;
    for at in 1..=steps {
        for mode in [CrashMode::Before, CrashMode::After] {
            let world = World::new();
            let node = world.node();
            world.switch.crash_in(at, mode);
            world.scenario(&node);
            assert!(world.switch.crashed(), "step {at} was reached");
            drop(node);
            world.switch.revive();
            check(&world, &format!("crash {mode:?} step {at} of {steps}"));
            points += 1;
        }
    }
    println!("{points} crash points checked");
}
