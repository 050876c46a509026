//! How fast the pure planner decides, for 1k, 10k and 100k twins:
//! (a) nothing changed, (b) 1% changed, each with a new comment, and (c) every
//! twin changed (to measure changed twins per second alone).
//!
//! ```text
//! cargo bench --bench planner
//! ```
//!
//! Reports twins per second (criterion's "thrpt"). Targets: ≥ 1,000,000
//! unchanged twins/s and ≥ 100,000 changed twins/s on one core. Each iteration
//! checks how many plans have writes, so a planner that skips work fails.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use time::macros::datetime;
use twinsync::model::{
    Comment, ConnectionId, InstanceUrl, Issue, IssueType, ProjectInfo, RichText, UserRef,
    Visibility,
};
use twinsync::plan::{PlanInput, PlanOptions, TwinState, plan};
use twinsync::replica::{Fingerprints, Origin, Replica};
use twinsync::rules::RuleSet;

struct Twin {
    replica: Replica,
    fingerprints: Fingerprints,
    local: Issue,
    state: TwinState,
}

fn issue(id: u64, project: &str, comments: usize) -> Issue {
    let at = datetime!(2026-03-01 9:00 UTC);
    Issue {
        id: id.to_string().parse().expect("a valid id"),
        key: format!("{project}-{id}").parse().expect("a valid id"),
        project: project.parse().expect("a valid id"),
        issue_type: "Bug".into(),
        summary: format!("Issue number {id} needs attention"),
        description: RichText::plain("Steps to reproduce:\n1. open the app\n2. press the button"),
        comments: (0..comments)
            .map(|c| Comment {
                id: format!("{id}{c:03}").parse().expect("a valid id"),
                author: UserRef::new("u".parse().expect("a valid id"), "User"),
                body: RichText::plain(format!("comment {c} on {id}")),
                created: at,
                updated: at,
                visibility: Visibility::Public,
                properties: Default::default(),
            })
            .collect(),
        attachments: Vec::new(),
        labels: Vec::new(),
        status: "Open".into(),
        fields: Default::default(),
        creator: None,
        created: at,
        updated: at,
        properties: Default::default(),
    }
}

fn twins(
    n: u64,
    changed_every: u64,
    rules: &RuleSet,
    conn: &ConnectionId,
    dev: &ProjectInfo,
) -> Vec<Twin> {
    let url = InstanceUrl::parse("https://a.example").expect("url");
    (0..n)
        .map(|i| {
            let remote = issue(i, "SUP", 2);
            let origin = Origin {
                instance: url.clone(),
                project: remote.project.clone(),
                id: remote.id.clone(),
                key: remote.key.clone(),
            };
            // Sync once so the state is that of a synced twin.
            let replica = rules.outgoing(&remote, origin.clone(), conn);
            let fingerprints = rules.fingerprints(&replica);
            let first = plan(&PlanInput {
                connection: conn,
                replica: &replica,
                fingerprints: &fingerprints,
                previous: None,
                local: None,
                state: None,
                target: dev,
                rules,
                options: PlanOptions::default(),
                users: None,
                issues: None,
            })
            .expect("plan");
            let mut state = first.state.clone().expect("a new twin's state");
            let mut local = issue(100_000_000 + i, "DEV", 0);
            for op in &first.ops {
                let outcome = match op {
                    twinsync::plan::Op::CreateIssue { .. } => {
                        twinsync::plan::OpOutcome::Issue(local.reference())
                    }
                    twinsync::plan::Op::AddComment { body, .. } => {
                        let mut c = remote.comments[0].clone();
                        c.id = format!("L{}-{}", i, local.comments.len())
                            .parse()
                            .expect("a valid id");
                        c.body = body.clone();
                        local.comments.push(c.clone());
                        twinsync::plan::OpOutcome::Comment(c.id)
                    }
                    _ => unreachable!("a new twin has a create and comments only"),
                };
                state.apply(op, &outcome).expect("fits");
            }
            first.finish(&mut state);
            // The replica the benchmark plans: changed ones get a new comment.
            let mut now = remote.clone();
            if changed_every > 0 && i % changed_every == 0 {
                let mut c = now.comments[0].clone();
                c.id = format!("{i}999").parse().expect("a valid id");
                c.body = RichText::plain("a new comment");
                now.comments.push(c);
            }
            let replica = rules.outgoing(&now, origin, conn);
            let fingerprints = rules.fingerprints(&replica);
            Twin {
                replica,
                fingerprints,
                local,
                state,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rules = RuleSet::basic();
    let conn = ConnectionId::parse("SUP_to_DEV").expect("a valid id");
    let dev = ProjectInfo {
        key: "DEV".parse().expect("a valid id"),
        name: "Development".into(),
        issue_types: vec![IssueType {
            id: "1".into(),
            name: "Bug".into(),
        }],
        default_issue_type: None,
        fields: Vec::new(),
    };
    let mut group = c.benchmark_group("planner");
    group.sample_size(10);
    for n in [1_000u64, 10_000, 100_000] {
        for (label, every) in [
            ("unchanged", 0u64),
            ("1pct_changed", 100),
            ("all_changed", 1),
        ] {
            let set = twins(n, every, &rules, &conn, &dev);
            let want = if every == 0 {
                0
            } else {
                n.div_ceil(every) as usize
            };
            group.throughput(Throughput::Elements(n));
            group.bench_with_input(BenchmarkId::new(label, n), &set, |b, set| {
                b.iter(|| {
                    let mut with_writes = 0;
                    for t in set {
                        let p = plan(black_box(&PlanInput {
                            connection: &conn,
                            replica: &t.replica,
                            fingerprints: &t.fingerprints,
                            previous: None,
                            local: Some(&t.local),
                            state: Some(&t.state),
                            target: &dev,
                            rules: &rules,
                            options: PlanOptions::default(),
                            users: None,
                            issues: None,
                        }))
                        .expect("plan");
                        with_writes += usize::from(!p.is_empty());
                    }
                    assert_eq!(with_writes, want, "plans with writes");
                    with_writes
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
