//! Property tests of the planner on an in-memory model of two sides (DESIGN.md
//! invariants I2, I3, I5, I6, I11). Small alphabets make collisions and
//! same-value edits frequent. `PROPTEST_CASES` runs more cases (default 2000).

use proptest::prelude::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use twinsync::model::{IssueType, ProjectInfo, RichText, UserRef};
use twinsync::plan::TwinState;
use twinsync::testkit::ids as lit;
use twinsync::testkit::plan_model::{ModelPair, ModelSide};

fn project(key: &str) -> ProjectInfo {
    ProjectInfo {
        key: lit::project(key),
        name: key.into(),
        issue_types: ["Bug", "Task"]
            .iter()
            .map(|n| IssueType {
                id: (*n).into(),
                name: (*n).into(),
            })
            .collect(),
        default_issue_type: None,
        fields: Vec::new(),
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

#[derive(Clone, Debug)]
enum Action {
    Summary(bool, &'static str),
    Description(bool, &'static str),
    Type(bool, &'static str),
    AddComment(bool, &'static str),
    EditComment(bool, usize, &'static str),
    DeleteComment(bool, usize),
    AddAttachment(bool, &'static str, u64),
    DeleteAttachment(bool, usize),
    SyncAToB,
    SyncBToA,
}

fn word() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["x", "y", "z"])
}

fn action() -> impl Strategy<Value = Action> {
    let side = any::<bool>();
    prop_oneof![
        (side, word()).prop_map(|(s, w)| Action::Summary(s, w)),
        (side, word()).prop_map(|(s, w)| Action::Description(s, w)),
        (side, prop::sample::select(vec!["Bug", "Task"])).prop_map(|(s, w)| Action::Type(s, w)),
        (side, word()).prop_map(|(s, w)| Action::AddComment(s, w)),
        (side, 0..4usize, word()).prop_map(|(s, i, w)| Action::EditComment(s, i, w)),
        (side, 0..4usize).prop_map(|(s, i)| Action::DeleteComment(s, i)),
        (side, prop::sample::select(vec!["f1", "f2"]), 1..3u64)
            .prop_map(|(s, n, z)| Action::AddAttachment(s, n, z)),
        (side, 0..3usize).prop_map(|(s, i)| Action::DeleteAttachment(s, i)),
        Just(Action::SyncAToB),
        Just(Action::SyncBToA),
    ]
}

struct Run {
    pair: ModelPair,
    clock: i64,
    /// Comments written so far, when each gets its own identity: a body
    /// `<word><n>`, kept as the prefix of its edits (`<word><n>.<word>`).
    written: Option<u64>,
}

impl Run {
    fn new() -> Self {
        let mut pair = ModelPair::new(project("SUP"), project("DEV"));
        pair.a.create("Bug", "start", now(0));
        pair.sync(now(1)).expect("first sync");
        Run {
            pair,
            clock: 2,
            written: None,
        }
    }

    /// A run whose comments each have their own identity.
    fn with_identities() -> Self {
        Run {
            written: Some(0),
            ..Run::new()
        }
    }

    fn tick(&mut self) -> OffsetDateTime {
        self.clock += 1;
        now(self.clock)
    }

    fn side(&mut self, a: bool) -> &mut ModelSide {
        if a {
            &mut self.pair.a
        } else {
            &mut self.pair.b
        }
    }

    fn apply(&mut self, action: &Action) {
        let t = self.tick();
        let user = UserRef::new(lit::user_id("u"), "User");
        match action {
            Action::Summary(a, v) => edit(self.side(*a), t, |i| i.summary = v.to_string()),
            Action::Description(a, v) => {
                edit(self.side(*a), t, |i| i.description = RichText::plain(*v))
            }
            Action::Type(a, v) => edit(self.side(*a), t, |i| i.issue_type = v.to_string()),
            Action::AddComment(a, v) => {
                let body = match &mut self.written {
                    Some(n) => {
                        *n += 1;
                        format!("{v}{n}")
                    }
                    None => v.to_string(),
                };
                self.side(*a).add_comment(&user, &body, t);
            }
            Action::EditComment(a, n, v) => {
                let keep = self.written.is_some();
                edit(self.side(*a), t, |i| {
                    let len = i.comments.len();
                    if len > 0 {
                        let c = &mut i.comments[n % len];
                        c.body = RichText::plain(if keep {
                            format!("{}.{v}", identity(&c.body.to_plain_text()))
                        } else {
                            v.to_string()
                        });
                        c.updated = t;
                    }
                })
            }
            Action::DeleteComment(a, n) => edit(self.side(*a), t, |i| {
                let len = i.comments.len();
                if len > 0 {
                    i.comments.remove(n % len);
                }
            }),
            Action::AddAttachment(a, name, size) => {
                self.side(*a).add_attachment(name, *size, t);
            }
            Action::DeleteAttachment(a, n) => edit(self.side(*a), t, |i| {
                let len = i.attachments.len();
                if len > 0 {
                    i.attachments.remove(n % len);
                }
            }),
            Action::SyncAToB => {
                self.pair.sync_a_to_b(t).expect("plan a→b");
            }
            Action::SyncBToA => {
                self.pair.sync_b_to_a(t).expect("plan b→a");
            }
        }
    }

    /// Syncs one way and crashes after `writes` of the plan's writes (at
    /// least one, at most all), as the engine would: it records each write
    /// once the tracker answered (the planner's own changes with the first)
    /// and the replica as applied once all succeeded. The crash loses the
    /// record of the last write unless `recorded`, and always the finish.
    fn crashing_sync(&mut self, a_to_b: bool, writes: usize, recorded: bool) {
        let t = self.tick();
        let (plan, given) = if a_to_b {
            (
                self.pair.plan_a_to_b().expect("plan a→b"),
                self.pair.state.clone(),
            )
        } else {
            match self.pair.plan_b_to_a().expect("plan b→a") {
                Some(p) => (p, self.pair.state.as_ref().and_then(TwinState::flipped)),
                None => return,
            }
        };
        let (Some(given), false) = (given, plan.ops.is_empty()) else {
            return;
        };
        let writes = writes.clamp(1, plan.ops.len());
        let kept = if recorded { writes } else { writes - 1 };
        let start = plan.start_state(Some(&given)).expect("a state");
        let side = if a_to_b {
            &mut self.pair.b
        } else {
            &mut self.pair.a
        };
        let state = if kept == 0 {
            given
        } else {
            let mut s = start.clone();
            side.clone().execute_prefix(&plan, &mut s, t, kept);
            s.remote_whole = start.remote_whole; // the finish is lost
            s
        };
        side.execute_prefix(&plan, &mut start.clone(), t, writes);
        self.pair.state = if a_to_b { Some(state) } else { state.flipped() };
    }

    /// Syncs both ways until a round writes nothing; returns the rounds it took.
    fn heal(&mut self) -> usize {
        self.pair.options.allow_mass_deletion = true;
        for round in 1..=6 {
            let t = self.tick();
            if self.pair.sync(t).expect("sync") == 0 {
                return round;
            }
        }
        panic!("no convergence in 6 rounds");
    }
}

fn now(minutes: i64) -> OffsetDateTime {
    datetime!(2026-03-01 9:00 UTC) + Duration::minutes(minutes)
}

fn edit(side: &mut ModelSide, t: OffsetDateTime, f: impl FnOnce(&mut twinsync::model::Issue)) {
    if let Some(issue) = side.issue.as_mut() {
        f(issue);
        issue.updated = t;
    }
}

fn identity(body: &str) -> &str {
    body.split('.').next().unwrap_or(body)
}

fn bodies(side: &ModelSide) -> Vec<String> {
    let mut b: Vec<_> = side
        .issue
        .as_ref()
        .map(|i| {
            i.comments
                .iter()
                .map(twinsync::testkit::said::said)
                .collect()
        })
        .unwrap_or_default();
    b.sort();
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// I1 + I2 + I5: after any history of edits and partial syncs, syncing both
    /// ways converges within 3 rounds to equal fields and one-to-one comments,
    /// and then a cycle makes no writes.
    #[test]
    fn converges_with_one_to_one_comments(actions in prop::collection::vec(action(), 0..30)) {
        let mut run = Run::new();
        for a in &actions {
            run.apply(a);
        }
        let rounds = run.heal();
        prop_assert!(rounds <= 3, "took {rounds} rounds");
        let (a, b) = (run.pair.a.issue.clone().unwrap(), run.pair.b.issue.clone().unwrap());
        prop_assert_eq!(&a.summary, &b.summary);
        prop_assert_eq!(&a.description, &b.description);
        prop_assert_eq!(&a.issue_type, &b.issue_type);
        prop_assert_eq!(bodies(&run.pair.a), bodies(&run.pair.b));
        let state = run.pair.state.clone().unwrap();
        prop_assert_eq!(state.comments.len(), a.comments.len(), "every comment is linked once");
        prop_assert_eq!(a.comments.len(), b.comments.len());
        prop_assert_eq!(a.attachments.len(), b.attachments.len());
        prop_assert_eq!(state.attachments.len(), a.attachments.len());
        // I2: replaying plans on the converged pair writes nothing.
        prop_assert!(run.pair.plan_a_to_b().unwrap().is_empty());
        prop_assert!(run.pair.plan_b_to_a().unwrap().unwrap().is_empty());
    }

    /// I5 + I8 at the planner: with only additions and edits, every comment ever
    /// added is on both sides exactly once, even when executions stop halfway
    /// (the state is recorded op by op, as the engine does).
    #[test]
    fn no_comment_lost_or_duplicated_across_interrupted_syncs(
        actions in prop::collection::vec(action(), 0..30),
        crash_after in prop::collection::vec(0..4usize, 30),
    ) {
        let mut run = Run::new();
        let mut added = 0;
        for (i, a) in actions.iter().enumerate() {
            match a {
                Action::DeleteComment(..) | Action::DeleteAttachment(..) => continue,
                Action::AddComment(..) => added += 1,
                Action::SyncAToB => {
                    let t = run.tick();
                    let plan = run.pair.plan_a_to_b().unwrap();
                    let mut state = run.pair.state.clone().unwrap();
                    run.pair.b.execute_prefix(&plan, &mut state, t, crash_after[i]);
                    run.pair.state = Some(state);
                    continue;
                }
                _ => {}
            }
            run.apply(a);
        }
        run.heal();
        let (a, b) = (run.pair.a.issue.clone().unwrap(), run.pair.b.issue.clone().unwrap());
        prop_assert_eq!(a.comments.len(), added, "side A has every comment once");
        prop_assert_eq!(b.comments.len(), added, "side B has every comment once");
        prop_assert_eq!(bodies(&run.pair.a), bodies(&run.pair.b));
    }

    /// I5 across crashes (simulation seeds 28035, 37464, 75696): whatever the
    /// history of edits, deletions and syncs that crash after a write, with
    /// or without its record, syncing converges to equal sides on which no
    /// comment is there twice, and then plans nothing.
    #[test]
    fn comments_stay_one_to_one_when_crashes_lose_records(
        actions in prop::collection::vec(action(), 0..30),
        crashes in prop::collection::vec((0..4usize, any::<bool>()), 30),
    ) {
        let mut run = Run::with_identities();
        for (a, (writes, recorded)) in actions.iter().zip(&crashes) {
            match a {
                Action::SyncAToB if *writes > 0 => run.crashing_sync(true, *writes, *recorded),
                Action::SyncBToA if *writes > 0 => run.crashing_sync(false, *writes, *recorded),
                _ => run.apply(a),
            }
        }
        run.heal();
        for side in [&run.pair.a, &run.pair.b] {
            let mut ids: Vec<_> = bodies(side).iter().map(|b| identity(b).to_owned()).collect();
            ids.sort();
            let mut unique = ids.clone();
            unique.dedup();
            prop_assert_eq!(&unique, &ids, "a comment twice on {}", side.project.key);
        }
        prop_assert_eq!(bodies(&run.pair.a), bodies(&run.pair.b));
        let state = run.pair.state.clone().unwrap();
        prop_assert_eq!(state.comments.len(), bodies(&run.pair.a).len(), "every comment is linked once");
        prop_assert!(run.pair.plan_a_to_b().unwrap().is_empty());
        prop_assert!(run.pair.plan_b_to_a().unwrap().unwrap().is_empty());
    }

    /// I3: what the sync wrote, seen again from the other side, plans nothing.
    #[test]
    fn own_writes_do_not_echo(setup in prop::collection::vec(action(), 0..15), edits in prop::collection::vec(action(), 1..10)) {
        let mut run = Run::new();
        for a in &setup {
            run.apply(a);
        }
        run.heal();
        // Only A is edited now (syncs in the edits are skipped).
        for a in edits.iter().filter(|a| !matches!(a, Action::SyncAToB | Action::SyncBToA)) {
            let on_a = match a.clone() {
                Action::Summary(_, v) => Action::Summary(true, v),
                Action::Description(_, v) => Action::Description(true, v),
                Action::Type(_, v) => Action::Type(true, v),
                Action::AddComment(_, v) => Action::AddComment(true, v),
                Action::EditComment(_, i, v) => Action::EditComment(true, i, v),
                Action::DeleteComment(_, i) => Action::DeleteComment(true, i),
                Action::AddAttachment(_, n, s) => Action::AddAttachment(true, n, s),
                Action::DeleteAttachment(_, i) => Action::DeleteAttachment(true, i),
                other => other,
            };
            run.apply(&on_a);
        }
        run.pair.options.allow_mass_deletion = true;
        let t = run.tick();
        run.pair.sync_a_to_b(t).unwrap();
        let back = run.pair.plan_b_to_a().unwrap().unwrap();
        prop_assert!(back.is_empty(), "echo: {}", back);
        prop_assert!(back.conflicts.is_empty(), "echo conflict: {}", back);
    }

    /// I6: when both sides edit the summary differently, the edit that is not
    /// written is recorded as a conflict, never silently dropped.
    #[test]
    fn concurrent_edits_are_applied_or_recorded(va in word(), vb in word(), a_first in any::<bool>()) {
        let mut run = Run::new();
        let (first, second) = if a_first { (true, false) } else { (false, true) };
        run.apply(&Action::Summary(first, if a_first { va } else { vb }));
        run.apply(&Action::Summary(second, if a_first { vb } else { va }));
        let t = run.tick();
        let plan = run.pair.sync_a_to_b(t).unwrap();
        let b_now = run.pair.b.issue.as_ref().unwrap().summary.clone();
        if va != vb {
            prop_assert_eq!(plan.conflicts.len(), 1, "conflict recorded: {}", plan);
            let c = &plan.conflicts[0];
            prop_assert_eq!(c.remote.preview(), format!("{va:?}"));
            prop_assert_eq!(c.local.preview(), format!("{vb:?}"));
            // The newer (second) edit wins.
            let newer = if a_first { vb } else { va };
            run.heal();
            prop_assert_eq!(&run.pair.a.issue.as_ref().unwrap().summary, newer);
        } else {
            prop_assert!(plan.conflicts.is_empty());
            prop_assert_eq!(b_now, va);
        }
    }

    /// I11: the same inputs give the byte-identical plan.
    #[test]
    fn plans_are_deterministic(actions in prop::collection::vec(action(), 0..25)) {
        let mut run = Run::new();
        for a in &actions {
            run.apply(a);
        }
        let copy = run.pair.clone();
        let one = serde_json::to_string(&run.pair.plan_a_to_b().unwrap()).unwrap();
        let two = serde_json::to_string(&copy.plan_a_to_b().unwrap()).unwrap();
        prop_assert_eq!(one, two);
        let one = serde_json::to_string(&run.pair.plan_b_to_a().unwrap()).unwrap();
        let two = serde_json::to_string(&copy.plan_b_to_a().unwrap()).unwrap();
        prop_assert_eq!(one, two);
    }
}
