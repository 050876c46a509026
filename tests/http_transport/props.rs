//! Arbitrary and mangled bytes sent over HTTPS to a served node with a live
//! connection: always an answer, never a panic, nothing changed.
//!
//! A few cases by default; `PROPTEST_CASES=500` explores further.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use twinsync::testkit::ids as lit;
use twinsync::tracker::{NewComment, NewIssue, Tracker};
use twinsync::transport::Transport;

use super::support::Pair;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64)
}

/// A request A really sent to B, mangled: bytes flipped, cut short, or
/// spliced with another request.
fn mangled(sent: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let n = sent.len();
    let flips = (
        0..n,
        prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    )
        .prop_map({
            let sent = sent.clone();
            move |(i, flips)| {
                let mut bytes = sent[i].clone();
                for (at, mask) in flips {
                    let at = at.index(bytes.len());
                    bytes[at] ^= mask;
                }
                bytes
            }
        });
    let cut = (0..n, any::<prop::sample::Index>()).prop_map({
        let sent = sent.clone();
        move |(i, at)| {
            let bytes = &sent[i];
            bytes[..at.index(bytes.len())].to_vec()
        }
    });
    let spliced = (0..n, 0..n, any::<prop::sample::Index>()).prop_map(move |(i, j, at)| {
        let (head, tail) = (&sent[i], &sent[j]);
        let at = at.index(head.len().min(tail.len()));
        let mut bytes = head[..at].to_vec();
        bytes.extend_from_slice(&tail[at + 1..]);
        bytes
    });
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2048),
        flips,
        cut,
        spliced,
    ]
}

#[test]
fn arbitrary_and_mangled_bytes_over_https_get_a_refusal_and_change_nothing() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pair = runtime.block_on(async {
        let pair = Pair::start().await;
        let conn = pair.connect().await;
        // Real traffic from A to B: a twin with comments, then an edit.
        let created = pair
            .a
            .human
            .create_issue(&NewIssue::new(
                lit::project("SUP"),
                "Bug",
                "Printer on fire",
            ))
            .await
            .unwrap();
        pair.a
            .human
            .add_comment(&created.id, &NewComment::public("first"))
            .await
            .unwrap();
        pair.a
            .node
            .exalate(&conn.id, &lit::key("SUP-1"))
            .await
            .unwrap();
        pair.advance(10);
        pair.a
            .human
            .add_comment(&created.id, &NewComment::public("second"))
            .await
            .unwrap();
        pair.sync(&conn).await;
        assert_eq!(pair.b.bodies("DEV-1"), ["first", "second"]);
        pair
    });
    let sent = pair.a.transport.sent.lock().unwrap().clone();
    assert!(sent.len() >= 2, "A sent {} requests", sent.len());
    let transport = pair.pki.transport();
    let to = pair.b.url();

    let mut runner = TestRunner::new(Config::with_cases(cases()));
    runner
        .run(&mangled(sent), |bytes| {
            let store = format!("{:?}", pair.b.store);
            let commits = pair.b.store.commits();
            pair.b.tracker.reset_calls();
            let answer = runtime.block_on(transport.call(&to, bytes));
            let answer = answer.map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?;
            let answer: Value = serde_json::from_slice(&answer)
                .map_err(|e| TestCaseError::fail(format!("unreadable answer: {e}")))?;
            prop_assert_eq!(&answer["type"], "refused", "{}", answer);
            prop_assert_eq!(pair.b.store.commits(), commits);
            prop_assert_eq!(format!("{:?}", pair.b.store), store);
            prop_assert_eq!(pair.b.tracker.calls().writes(), 0);
            Ok(())
        })
        .unwrap();

    // After all that, the connection still works both ways.
    runtime.block_on(async {
        let conn = pair.a.node.connections().unwrap().remove(0);
        pair.advance(10);
        let issue = pair.b.issue("DEV-1");
        pair.b
            .human
            .add_comment(&issue.id, &NewComment::public("still here"))
            .await
            .unwrap();
        pair.sync(&conn).await;
        assert_eq!(pair.a.bodies("SUP-1"), ["first", "second", "still here"]);
    });
}
