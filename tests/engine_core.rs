//! The engine core's typed behaviour as a user meets it: conflicts with their
//! fields and values, errors that stop a connection and say how to fix it.

use twinsync::connection::ConnectionStatus;
use twinsync::engine::IssueState;
use twinsync::model::IssueKey;
use twinsync::plan::Winner;
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::rig::LocalRig;
use twinsync::{ErrorKind, ErrorScope};

fn key(k: &str) -> IssueKey {
    lit::key(k)
}

#[test]
fn a_conflict_names_its_field_and_both_values_in_the_panel_and_the_list() {
    let rig = LocalRig::new();
    rig.user().create("SUP", "Bug", "Printer on fire");
    block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap();
    rig.advance(10);
    rig.user().edit_summary("SUP-1", "Printer on fire, floor 3");
    rig.advance(10);
    rig.user().edit_summary("DEV-1", "Printer smokes");
    rig.sync();

    let listed = rig.node.conflicts(&rig.conn.id).unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let conflict = &listed[0].conflicts[0];
    assert_eq!(conflict.subject, "summary");
    assert_eq!(
        conflict.winner,
        Winner::Local,
        "the newer edit (DEV's) wins"
    );
    let values = format!("{:?} {:?}", conflict.remote, conflict.local);
    assert!(values.contains("Printer on fire, floor 3"), "{values}");
    assert!(values.contains("Printer smokes"), "{values}");

    let status = rig.node.issue_status(&rig.conn.id, &key("SUP-1")).unwrap();
    match &status.state {
        IssueState::Conflict { conflicts } => assert_eq!(conflicts, &listed[0].conflicts),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let panel = rig.node.status(&rig.conn.id).unwrap().to_string();
    assert!(panel.contains("conflicts: summary"), "{panel}");

    // Resolving clears it from the list.
    block_on(rig.admin().resolve(&rig.conn.id, &key("DEV-1"))).unwrap();
    assert!(rig.node.conflicts(&rig.conn.id).unwrap().is_empty());
}

#[test]
fn a_custom_connection_without_rules_after_a_restart_stops_and_says_how_to_set_them() {
    let mut rig = LocalRig::new();
    let id = rig.conn.id.clone();
    block_on(rig.admin().upgrade_to_custom(&id)).unwrap();
    block_on(
        rig.admin()
            .set_rules(&id, twinsync::rules::RuleSet::custom()),
    )
    .unwrap();
    rig.user().create("SUP", "Bug", "Printer on fire");
    block_on(rig.node.exalate(&id, &key("SUP-1"))).unwrap();

    // Rules set in code are gone after a restart; nothing is published.
    rig.restart();
    rig.advance(10);
    rig.user().edit_summary("SUP-1", "changed");
    let err = block_on(rig.node.sync(&id)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    assert_eq!(err.scope(), ErrorScope::Connection);
    assert!(err.to_string().contains("set_rules"), "{err}");
    assert!(
        matches!(
            rig.node.connection(&id).unwrap().status,
            ConnectionStatus::Error { .. }
        ),
        "the connection is stopped, visibly"
    );
    assert_eq!(
        rig.issue("DEV-1").summary,
        "Printer on fire",
        "nothing synced with basic rules"
    );
}

/// Every future of a node is `Send`, so no store transaction (which is not)
/// can be held across an `.await`, such as a tracker call.
#[test]
fn node_futures_are_send_so_no_transaction_outlives_an_await() {
    fn send<T: Send>(_: &T) {}
    let rig = LocalRig::new();
    let (node, id, k) = (&rig.node, &rig.conn.id, key("SUP-1"));
    send(&node.sync(id));
    send(&node.sync_all());
    send(&node.exalate(id, &k));
    send(&node.connect(id, &k, &key("DEV-1")));
    send(&node.unexalate(id, &k));
    send(&node.retry(id, &k));
    send(&node.notify_changed(id, &k));
    send(&node.test_run(id, std::slice::from_ref(&k)));
    send(&node.bulk_exalate(id, "project = SUP", |_| {}));
}
