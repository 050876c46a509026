//! What the harness checks, on the emulators' own contents and on the
//! nodes' stores.

use std::collections::BTreeMap;

use twinsync::model::{ConnectionId, Issue, IssueId, IssueKey};
use twinsync::replica::Marker;
use twinsync::store::{SqliteStore, Store};
use twinsync::testkit::ids as lit;

use crate::harness::Harness;

impl Harness {
    fn connection(&self) -> &ConnectionId {
        self.conn.as_ref().expect("the connection is set up")
    }

    /// The issues of side `i`'s project, oldest first.
    pub fn issues(&self, i: usize) -> Vec<Issue> {
        let side = &self.sides[i];
        let mut issues = side
            .emulator
            .tracker()
            .inspect_issues(&lit::project(side.project));
        issues.sort_by_key(|i| i.id.as_str().parse::<u64>().unwrap_or(0));
        issues
    }

    /// The twins as the emulators show them: (issue on A, issue on B), the
    /// copy found by the marker the sync put on it.
    pub fn pairs(&self) -> Vec<(Issue, Issue)> {
        let Some(conn) = &self.conn else {
            return Vec::new();
        };
        let issues = [self.issues(0), self.issues(1)];
        let copies = |i: usize| -> BTreeMap<IssueId, Issue> {
            issues[i]
                .iter()
                .filter_map(|x| {
                    Marker::find(&x.properties, conn).map(|m| (m.origin_issue, x.clone()))
                })
                .collect()
        };
        let copies = [copies(0), copies(1)];
        let mut pairs = Vec::new();
        for (i, mine) in issues.iter().enumerate() {
            for issue in mine {
                if Marker::find(&issue.properties, conn).is_some() {
                    continue;
                }
                if let Some(copy) = copies[1 - i].get(&issue.id) {
                    pairs.push(if i == 0 {
                        (issue.clone(), copy.clone())
                    } else {
                        (copy.clone(), issue.clone())
                    });
                }
            }
        }
        pairs
    }

    /// I4, I5, I6 and I1 on the emulators' contents; returns (twins, comments).
    pub fn check(&self) -> (usize, usize) {
        let conn = self.connection();
        let issues = [self.issues(0), self.issues(1)];
        // I4: every issue a person made has exactly one copy on the other
        // side, and every copy copies an issue a person made.
        for i in 0..2 {
            let mut copies: BTreeMap<IssueId, Vec<IssueKey>> = BTreeMap::new();
            for issue in &issues[1 - i] {
                if let Some(m) = Marker::find(&issue.properties, conn) {
                    copies
                        .entry(m.origin_issue)
                        .or_default()
                        .push(issue.key.clone());
                }
            }
            let mut made = 0;
            for issue in issues[i]
                .iter()
                .filter(|x| Marker::find(&x.properties, conn).is_none())
            {
                made += 1;
                let twins = copies.remove(&issue.id).unwrap_or_default();
                assert_eq!(
                    twins.len(),
                    1,
                    "I4: {} on {} has twins {twins:?}\n{}",
                    issue.key,
                    self.sides[i].name,
                    self.logs()
                );
            }
            assert!(
                copies.is_empty(),
                "I4: copies on {} of issues no person made on {}: {copies:?}",
                self.sides[1 - i].name,
                self.sides[i].name
            );
            assert!(made > 0, "people made issues on {}", self.sides[i].name);
        }

        let pairs = self.pairs();
        let mut comments = 0;
        for (a, b) in &pairs {
            let pair = format!("{} ⇄ {}", a.key, b.key);
            let on_pair = |side: usize, id: &IssueId| {
                (side == 0 && id == &a.id) || (side == 1 && id == &b.id)
            };
            assert_eq!(
                (&a.summary, &a.description, &a.issue_type),
                (&b.summary, &b.description, &b.issue_type),
                "I1: {pair} differ\n{}",
                self.logs()
            );
            // I6: edits from one side only never conflict, so the last wins.
            let edits: Vec<&(usize, IssueId, String)> = self
                .retitled
                .iter()
                .filter(|(side, id, _)| on_pair(*side, id))
                .collect();
            if let Some((last_side, _, last)) = edits.last() {
                if edits.iter().all(|(side, _, _)| side == last_side) {
                    assert_eq!(&a.summary, last, "I6: the last edit of {pair} was lost");
                } else {
                    assert!(
                        edits.iter().any(|(_, _, s)| s == &a.summary),
                        "I6: {pair} holds {:?}, which nobody wrote: {edits:?}",
                        a.summary
                    );
                }
            }
            let expected: Vec<&str> = self
                .written
                .iter()
                .filter(|(side, id, _)| on_pair(*side, id))
                .map(|(_, _, body)| body.as_str())
                .collect();
            for (side, issue) in [(0, a), (1, b)] {
                let bodies: Vec<String> = issue
                    .comments
                    .iter()
                    .map(twinsync::testkit::said::said)
                    .collect();
                // I5: each comment exactly once, none made up, none lost.
                let mut sorted = bodies.clone();
                sorted.sort();
                let mut want: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
                want.sort();
                assert_eq!(
                    sorted,
                    want,
                    "I5: comments of {} on {} ({pair})\n{}",
                    issue.key,
                    self.sides[side].name,
                    self.logs()
                );
                // Comments written on one side keep their order on both.
                for from in 0..2 {
                    let order: Vec<usize> = self
                        .written
                        .iter()
                        .filter(|(s, id, _)| *s == from && on_pair(*s, id))
                        .filter_map(|(_, _, body)| bodies.iter().position(|x| x == body))
                        .collect();
                    assert!(
                        order.windows(2).all(|w| w[0] < w[1]),
                        "I5: comments written on {} reordered on {} ({pair}): {bodies:?}",
                        self.sides[from].name,
                        self.sides[side].name
                    );
                }
                comments += bodies.len();
            }
        }
        let made: usize = (0..2)
            .map(|i| {
                issues[i]
                    .iter()
                    .filter(|x| Marker::find(&x.properties, conn).is_none())
                    .count()
            })
            .sum();
        assert_eq!(pairs.len(), made, "every issue a person made is twinned");
        (pairs.len(), comments)
    }

    /// Each node's store (opened once the worker is gone) holds every twin
    /// with the issues the emulators show, and no open intent.
    pub fn check_stores(&self) {
        let conn = self.connection();
        let pairs = self.pairs();
        for (i, side) in self.sides.iter().enumerate() {
            let store = SqliteStore::open(&side.job.state).expect("the worker's store opens");
            let mut txn = store.begin().expect("a transaction");
            for (a, b) in &pairs {
                let (mine, theirs) = if i == 0 { (a, b) } else { (b, a) };
                let twin = txn
                    .twin_by_local(conn, &mine.id)
                    .expect("read a twin")
                    .unwrap_or_else(|| panic!("{} is not under sync on {}", mine.key, side.name));
                assert_eq!(
                    twin.remote.id, theirs.id,
                    "{}'s store pairs {} with another issue than {}",
                    side.name, mine.key, theirs.key
                );
            }
            assert_eq!(
                txn.twins(conn).expect("read the twins").len(),
                pairs.len(),
                "{}'s store holds twins the emulators do not show",
                side.name
            );
            let intents = txn.intents(conn).expect("read intents");
            assert!(
                intents.is_empty(),
                "intents left open on {}: {intents:?}",
                side.name
            );
        }
    }
}
