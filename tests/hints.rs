//! `Node::hint_changed` (what a webhook receiver calls) on a remote
//! connection: it wakes only the connections syncing that project of the
//! node's own instance, and the next cycle reads the hinted issue even when
//! the tracker's search does not show the change yet.

use std::time::Duration;

use twinsync::engine::Hinted;
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::remote_rig::RemoteRig;
use twinsync::tracker::{IssueUpdate, NewIssue, Tracker};

#[test]
fn a_hint_syncs_an_edit_the_lagging_search_does_not_show_yet() {
    let rig = RemoteRig::new();
    let conn = rig.connect();
    let created = block_on(rig.a.human.create_issue(&NewIssue::new(
        lit::project("SUP"),
        "Bug",
        "Printer on fire",
    )))
    .unwrap();
    let twin = block_on(rig.a.node.exalate(&conn.id, &created.key))
        .unwrap()
        .twin
        .unwrap();
    rig.sync(&conn);
    assert_eq!(rig.b.issue(twin.key.as_str()).summary, "Printer on fire");

    // A's search lags ten minutes behind: polling alone misses the edit.
    rig.a.tracker.set_search_lag(Duration::from_secs(600));
    rig.advance(60);
    let update = IssueUpdate::new().summary("Printer still on fire");
    block_on(rig.a.human.update_issue(&created.id, &update)).unwrap();
    rig.sync(&conn);
    assert_eq!(rig.b.issue(twin.key.as_str()).summary, "Printer on fire");

    // The hint: A reads the issue directly and sends the change.
    assert_eq!(
        rig.a
            .node
            .hint_changed(&lit::project("SUP"), &created.key)
            .unwrap(),
        Hinted::Queued { connections: 1 }
    );
    // DEV is the other node's project: nothing here syncs it.
    assert_eq!(
        rig.a
            .node
            .hint_changed(&lit::project("DEV"), &twin.key)
            .unwrap(),
        Hinted::NotSynced
    );
    rig.sync(&conn);
    assert_eq!(
        rig.b.issue(twin.key.as_str()).summary,
        "Printer still on fire"
    );
}
