//! The engine's local-connection scenarios through the Jira adapters, over
//! real HTTP against the loopback emulator: the node's tracker is a
//! `JiraCloud` (or `JiraDataCenter`) adapter, a user edits the emulator's
//! contents directly, and writes are counted as the HTTP requests Jira
//! answered. Every scenario runs once per adapter.

use std::time::Duration;

use twinsync::ErrorKind;
use twinsync::engine::{BulkEvent, IssueState, Node};
use twinsync::model::IssueKey;
use twinsync::testkit::ids as lit;
use twinsync::testkit::jira::{JiraFlavor, JiraRig};
use twinsync::tracker::Tracker;
use twinsync::tracker::jira::emulator::{Fault, FaultRule, RateLimitReason};

fn key(k: &str) -> IssueKey {
    lit::key(k)
}

/// The path prefix of the flavor's REST API.
fn api(rig: &JiraRig) -> &'static str {
    match rig.site.flavor() {
        JiraFlavor::Cloud => "/rest/api/3",
        JiraFlavor::DataCenter => "/rest/api/2",
    }
}

fn exalate(rig: &JiraRig, k: &str) -> twinsync::engine::TwinInfo {
    rig.block_on(rig.node.exalate(&rig.conn.id, &key(k)))
        .unwrap()
}

/// Runs each scenario once with `JiraCloud` and once with `JiraDataCenter`.
macro_rules! on_both_adapters {
    ($($name:ident),* $(,)?) => {
        mod cloud {
            $(#[test] fn $name() { super::$name(super::JiraFlavor::Cloud) })*
        }
        mod data_center {
            $(#[test] fn $name() { super::$name(super::JiraFlavor::DataCenter) })*
        }
    };
}

on_both_adapters!(
    exalate_creates_the_twin_with_comments_and_attachments_in_minimal_writes,
    edits_travel_both_ways_with_two_writes_no_echo_and_quiet_cycles,
    a_lost_create_answer_never_duplicates_the_twin,
    a_lost_comment_answer_never_duplicates_the_comment,
    rate_limits_and_outages_delay_but_lose_nothing,
    connect_matches_comments_present_on_both_sides,
    bulk_exalate_reports_progress_and_resumes_without_duplicates,
    a_deactivated_connection_queues_and_applies_the_backlog_in_order_on_activation,
    losing_the_store_makes_no_duplicates_and_no_deletions,
    the_sync_panel_prints_a_compact_table,
);

fn exalate_creates_the_twin_with_comments_and_attachments_in_minimal_writes(flavor: JiraFlavor) {
    let rig = JiraRig::new(flavor);
    let sup = rig.user().create("SUP", "Bug", "Printer on fire");
    rig.user().comment(&sup.key, "first");
    rig.user().comment(&sup.key, "second");
    rig.user().attach(&sup.key, "smoke.txt", b"lots of smoke");
    rig.reset_calls();
    let twin = exalate(&rig, "SUP-1");
    assert_eq!(twin.twin.as_ref().map(|t| t.key.as_str()), Some("DEV-1"));
    let calls = rig.calls();
    let api = api(&rig);
    assert_eq!(calls.count("POST", "/issue"), 1, "{calls}");
    assert_eq!(calls.count("POST", "/comment"), 2, "{calls}");
    assert_eq!(calls.count("POST", "/attachments"), 1, "{calls}");
    assert_eq!(calls.count("POST", "/remotelink"), 1, "{calls}");
    assert_eq!(
        calls.writes(),
        5,
        "1 create + 1 origin link + 1 per comment + 1 upload, markers in the same requests: {calls}"
    );
    assert!(
        calls.0.iter().all(|e| e.path.starts_with(api)
            || e.path.starts_with("/secure/attachment/")
            || e.path.starts_with("/file/")),
        "{calls}"
    );
    let dev = rig.issue("DEV-1");
    assert_eq!(dev.summary, "Printer on fire");
    assert_eq!(dev.issue_type, "Bug");
    assert_eq!(rig.user().said("DEV-1"), ["first", "second"]);
    assert_eq!(dev.attachments.len(), 1);
    assert_eq!(dev.attachments[0].file_name, "smoke.txt");
    let content = rig
        .block_on(rig.human.download_attachment(&dev.attachments[0].id))
        .unwrap();
    assert_eq!(content, b"lots of smoke");
    assert!(
        dev.comments
            .iter()
            .all(|c| c.visibility == twinsync::model::Visibility::Public)
    );
    assert!(
        dev.properties.contains_key("twinsync.marker"),
        "the twin carries its marker: {:?}",
        dev.properties
    );
}

fn edits_travel_both_ways_with_two_writes_no_echo_and_quiet_cycles(flavor: JiraFlavor) {
    let rig = JiraRig::new(flavor);
    // A twin nobody touches again.
    rig.user().create("SUP", "Task", "Old news");
    exalate(&rig, "SUP-1");
    let untouched = [rig.issue("SUP-1").id, rig.issue("DEV-1").id];
    rig.advance(600);
    let sup = rig.user().create("SUP", "Bug", "Printer on fire");
    exalate(&rig, "SUP-2");
    rig.sync();
    // Past the minute: Jira's `updated >=` search compares whole minutes.
    rig.advance(70);
    rig.user().edit_summary("SUP-2", "Printer on fire, floor 3");
    rig.user().comment(&sup.key, "still burning");
    rig.reset_calls();
    let report = rig.sync();
    let calls = rig.calls();
    assert_eq!(
        report.writes, 2,
        "edit + new comment = 2 writes: {report:?}"
    );
    assert_eq!(calls.writes(), 2, "{calls}");
    assert_eq!(rig.issue("DEV-2").summary, "Printer on fire, floor 3");
    assert_eq!(rig.user().said("DEV-2"), ["still burning"]);

    // The other way.
    rig.advance(70);
    let dev = rig.issue("DEV-2");
    rig.user().comment(&dev.key, "on it");
    rig.sync();
    assert_eq!(rig.user().said("SUP-2"), ["still burning", "on it"]);
    assert_eq!(rig.user().said("DEV-2"), ["still burning", "on it"]);

    // The sync's own writes, seen again by the next polls, are not echoed.
    for _ in 0..3 {
        rig.advance(20);
        rig.reset_calls();
        let report = rig.sync();
        let calls = rig.calls();
        assert_eq!(report.writes, 0, "{report:?}");
        assert_eq!(calls.writes(), 0, "no echo, quiet cycle: {calls}");
    }
    // A quiet cycle: one search page per side, no writes, and the twin that
    // did not change is not read. (Jira's searches carry no comment
    // properties, so the twin changed last is read again to be sure.)
    rig.advance(180);
    rig.reset_calls();
    rig.sync();
    let calls = rig.calls();
    assert_eq!(calls.writes(), 0, "{calls}");
    assert_eq!(calls.searches(), 2, "one search page per side: {calls}");
    assert!(
        calls.0.iter().all(|e| !untouched
            .iter()
            .any(|id| e.path.contains(&format!("/issue/{id}")))),
        "the unchanged twin was read: {calls}"
    );
    assert_eq!(rig.user().said("SUP-2"), ["still burning", "on it"]);
    assert_eq!(rig.issue("SUP-2").summary, rig.issue("DEV-2").summary);
    assert_eq!(rig.issue("DEV-1").summary, "Old news");
}

fn a_lost_create_answer_never_duplicates_the_twin(flavor: JiraFlavor) {
    let rig = JiraRig::new(flavor);
    rig.user().create("SUP", "Bug", "Printer on fire");
    rig.site.emulator().inject(
        FaultRule::new(Fault::LoseResponse)
            .method("POST")
            .path_contains("/issue"),
    );
    let err = rig
        .block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1")))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(rig.issues("DEV").len(), 1, "the create happened");
    // Within the settle window nothing is created again.
    rig.sync();
    assert_eq!(rig.issues("DEV").len(), 1);
    rig.advance(120);
    rig.sync();
    rig.sync();
    assert_eq!(
        rig.issues("DEV").len(),
        1,
        "adopted by its marker, not created again"
    );
    let panel = rig.node.status(&rig.conn.id).unwrap();
    assert_eq!(
        panel.issues[0].twin.as_ref().map(|t| t.key.as_str()),
        Some("DEV-1")
    );
    assert_eq!(panel.issues[0].state, IssueState::Synchronized, "{panel}");
}

fn a_lost_comment_answer_never_duplicates_the_comment(flavor: JiraFlavor) {
    let rig = JiraRig::new(flavor);
    let sup = rig.user().create("SUP", "Bug", "x");
    exalate(&rig, "SUP-1");
    rig.advance(70);
    rig.user().comment(&sup.key, "once");
    rig.site.emulator().inject(
        FaultRule::new(Fault::LoseResponse)
            .method("POST")
            .path_contains("/comment"),
    );
    rig.sync();
    rig.advance(120);
    rig.sync();
    rig.sync();
    assert_eq!(rig.user().said("DEV-1"), ["once"]);
    assert_eq!(rig.user().said("SUP-1"), ["once"], "nothing echoed back");
}

fn rate_limits_and_outages_delay_but_lose_nothing(flavor: JiraFlavor) {
    let rig = JiraRig::new(flavor);
    let sup = rig.user().create("SUP", "Bug", "x");
    for i in 0..5 {
        rig.user().comment(&sup.key, &format!("c{i}"));
    }
    let emulator = rig.site.emulator();
    emulator.inject(FaultRule::new(Fault::RateLimited {
        reason: RateLimitReason::QuotaTenant,
        retry_after: Duration::from_secs(30),
    }));
    emulator.inject(
        FaultRule::new(Fault::RateLimited {
            reason: RateLimitReason::PerIssueOnWrite,
            retry_after: Duration::from_secs(5),
        })
        .method("POST")
        .path_contains("/comment"),
    );
    emulator.inject(
        FaultRule::new(Fault::RateLimited {
            reason: RateLimitReason::Burst,
            retry_after: Duration::from_secs(2),
        })
        .method("POST")
        .path_contains("/comment"),
    );
    emulator.inject(
        FaultRule::new(Fault::ServerError {
            status: 503,
            retry_after: Some(Duration::from_secs(3)),
        })
        .method("POST")
        .path_contains("/comment"),
    );
    let start = rig.now();
    let result = rig.block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1")));
    if result.is_err() {
        rig.advance(120);
        rig.sync();
    }
    assert!(
        rig.now() - start >= Duration::from_secs(30),
        "waited as Jira asked, on the virtual clock"
    );
    let refused = rig
        .calls()
        .0
        .iter()
        .filter(|e| e.status == 429 || e.status == 503)
        .count();
    assert_eq!(refused, 4, "each fault answered once: {}", rig.calls());
    assert_eq!(
        rig.user().said("DEV-1"),
        ["c0", "c1", "c2", "c3", "c4"],
        "in order, none lost or doubled"
    );
}

fn connect_matches_comments_present_on_both_sides(flavor: JiraFlavor) {
    let rig = JiraRig::new(flavor);
    let sup = rig.user().create("SUP", "Bug", "Same issue");
    let dev = rig.user().create("DEV", "Bug", "Same issue");
    rig.user().comment(&sup.key, "seen by both");
    rig.user().comment(&dev.key, "seen by both");
    rig.user().comment(&dev.key, "only in DEV");
    let twin = rig
        .block_on(rig.node.connect(&rig.conn.id, &key("SUP-1"), &key("DEV-1")))
        .unwrap();
    assert_eq!(twin.twin.unwrap().key.as_str(), "DEV-1");
    rig.sync();
    assert_eq!(rig.user().said("SUP-1"), ["seen by both", "only in DEV"]);
    assert_eq!(rig.user().said("DEV-1"), ["seen by both", "only in DEV"]);
    let err = rig
        .block_on(rig.node.connect(&rig.conn.id, &key("SUP-1"), &key("DEV-1")))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
}

fn bulk_exalate_reports_progress_and_resumes_without_duplicates(flavor: JiraFlavor) {
    let rig = JiraRig::new(flavor);
    for i in 0..12 {
        let issue = rig.user().create("SUP", "Bug", &format!("issue {i}"));
        rig.user().comment(&issue.key, "hello");
    }
    let node = rig
        .block_on(
            Node::builder()
                .tracker(rig.tracker.clone())
                .store(rig.store.clone())
                .clock(rig.clock.clone())
                .options(twinsync::testkit::rig::test_options().with_page_size(5))
                .build(),
        )
        .unwrap();
    // After the first issue, the next page's search is refused for good: the bulk stops.
    let mut events = Vec::new();
    let search = match flavor {
        JiraFlavor::Cloud => "/search/jql",
        JiraFlavor::DataCenter => "/2/search",
    };
    let emulator = rig.site.emulator();
    let first = rig.block_on(node.bulk_exalate(&rig.conn.id, "project = SUP", |e| {
        if matches!(e, BulkEvent::Synced { .. }) && events.len() == 1 {
            // A lasting outage of the search: more failures than the retries.
            emulator.inject(
                FaultRule::new(Fault::ServerError {
                    status: 500,
                    retry_after: None,
                })
                .path_contains(search)
                .times(20),
            );
        }
        events.push(e.clone());
    }));
    let err = first.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(matches!(events[0], BulkEvent::Started { total: None }));
    // Pages are read ahead while earlier issues still sync (one at a time on
    // Cloud, whose groups of creates fill a whole page here).
    let done = rig.issues("DEV").len();
    assert!((5..12).contains(&done), "the first page was done: {done}");
    rig.site.emulator().clear_faults();
    // Run again: it resumes after the last page done.
    rig.reset_calls();
    let report = rig
        .block_on(node.bulk_exalate(&rig.conn.id, "project = SUP", |_| {}))
        .unwrap();
    assert!(report.resumed);
    assert_eq!(report.synced as usize, 12 - done, "{report:?}");
    let calls = rig.calls();
    match flavor {
        // One batch of creates per page left.
        JiraFlavor::Cloud => {
            assert_eq!(calls.count("POST", "/issue"), 0, "no single create");
            assert_eq!(calls.count("POST", "/issue/bulk"), 2, "no page redone");
        }
        JiraFlavor::DataCenter => {
            assert_eq!(calls.count("POST", "/issue"), 12 - done, "no create redone");
        }
    }
    assert_eq!(rig.issues("DEV").len(), 12, "one twin each");
    assert!(rig.issues("DEV").iter().all(|i| i.comments.len() == 1));
    // Again from the start: everything is under sync already.
    let again = rig
        .block_on(node.bulk_exalate(&rig.conn.id, "project = SUP", |_| {}))
        .unwrap();
    assert!(!again.resumed);
    assert_eq!(again.skipped, 12, "{again:?}");
    assert_eq!(rig.issues("DEV").len(), 12);
}

fn a_deactivated_connection_queues_and_applies_the_backlog_in_order_on_activation(
    flavor: JiraFlavor,
) {
    let rig = JiraRig::new(flavor);
    let sup = rig.user().create("SUP", "Bug", "x");
    exalate(&rig, "SUP-1");
    rig.sync();
    rig.block_on(rig.admin().deactivate(&rig.conn.id)).unwrap();
    rig.advance(70);
    rig.user().comment(&sup.key, "one");
    rig.advance(70);
    rig.user().comment(&sup.key, "two");
    rig.user().edit_summary("SUP-1", "while paused");
    rig.reset_calls();
    let report = rig.sync();
    assert_eq!(
        rig.calls().writes(),
        0,
        "nothing written while deactivated: {}",
        rig.calls()
    );
    assert!(report.queued >= 1);
    assert!(rig.node.status(&rig.conn.id).unwrap().queued >= 1);
    rig.block_on(rig.admin().activate(&rig.conn.id)).unwrap();
    rig.sync();
    assert_eq!(rig.user().said("DEV-1"), ["one", "two"]);
    assert_eq!(rig.issue("DEV-1").summary, "while paused");
    assert_eq!(rig.node.status(&rig.conn.id).unwrap().queued, 0);
}

fn losing_the_store_makes_no_duplicates_and_no_deletions(flavor: JiraFlavor) {
    let mut rig = JiraRig::new(flavor);
    let sup = rig.user().create("SUP", "Bug", "x");
    rig.user().comment(&sup.key, "a");
    exalate(&rig, "SUP-1");
    let dev = rig.issue("DEV-1");
    rig.user().comment(&dev.key, "b");
    rig.sync();
    rig.wipe_store();
    rig.advance(70);
    rig.user().comment(&sup.key, "c");
    for _ in 0..3 {
        rig.sync();
    }
    exalate(&rig, "SUP-1");
    assert_eq!(rig.issues("DEV").len(), 1, "no second twin");
    assert_eq!(rig.user().said("SUP-1"), ["a", "b", "c"]);
    assert_eq!(rig.user().said("DEV-1"), ["a", "b", "c"]);
}

fn the_sync_panel_prints_a_compact_table(flavor: JiraFlavor) {
    let rig = JiraRig::new(flavor);
    rig.user().create("SUP", "Bug", "x");
    exalate(&rig, "SUP-1");
    rig.sync();
    let text = rig.node.status(&rig.conn.id).unwrap().to_string();
    assert!(
        text.starts_with("connection SUP_to_DEV (local: SUP ↔ DEV) — active"),
        "{text}"
    );
    assert!(text.contains("SUP-1 ⇄ DEV-1  synchronized"), "{text}");
}

mod simulation {
    //! A shortened deterministic simulation through the Jira adapters: random
    //! edits on both sides, faults injected into the emulator's answers (5xx,
    //! 429 with each `RateLimit-Reason`, lost answers), crashes and store
    //! loss, then the invariants of DESIGN.md. `TWINSYNC_JIRA_SIM_SEEDS=N`
    //! runs N seeds per adapter; `TWINSYNC_SIM_SEED=S` replays one.

    use twinsync::testkit::sim::{JiraFlavor, SimConfig, SimReport, run_jira};

    fn seeds(default: u64) -> Vec<u64> {
        if let Some(one) = std::env::var("TWINSYNC_SIM_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
        {
            return vec![one];
        }
        let n = std::env::var("TWINSYNC_JIRA_SIM_SEEDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default);
        (1..=n).collect()
    }

    fn config(seed: u64) -> SimConfig {
        SimConfig {
            steps: 30,
            fault_rate: 0.08,
            ..SimConfig::new(seed)
        }
    }

    fn run(flavor: JiraFlavor, default_seeds: u64) {
        let mut failures = Vec::new();
        let mut total = SimReport::default();
        let seeds = seeds(default_seeds);
        for &seed in &seeds {
            match run_jira(config(seed), flavor) {
                Ok(r) => {
                    total.twins += r.twins;
                    total.comments += r.comments;
                    total.crashes += r.crashes;
                    total.wipes += r.wipes;
                }
                Err(e) => failures.push(e),
            }
        }
        println!(
            "{flavor:?}: {} twins, {} comments, {} crashes, {} store losses",
            total.twins, total.comments, total.crashes, total.wipes
        );
        assert!(
            failures.is_empty(),
            "{} failing seed(s); replay one with TWINSYNC_SIM_SEED=<seed>:\n{}",
            failures.len(),
            failures.join("\n")
        );
        if seeds.len() > 1 {
            assert!(
                total.twins > 0 && total.comments > 0 && total.crashes > 0,
                "the runs synced twins and comments and crashed: {total:?}"
            );
        }
    }

    #[test]
    fn through_jira_cloud_survives_faults_crashes_and_store_loss() {
        run(JiraFlavor::Cloud, 40);
    }

    #[test]
    fn through_jira_data_center_survives_faults_crashes_and_store_loss() {
        run(JiraFlavor::DataCenter, 20);
    }
}
