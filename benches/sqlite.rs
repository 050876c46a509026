//! What the SQLite store costs, in a file on disk (`synchronous = FULL`, so
//! every commit waits for the disk):
//!
//! - `sqlite/commit/single`: one twin-state update per transaction (read the
//!   twin, bump it, write it, commit): criterion's throughput is commits/s.
//! - `sqlite/commit/batch_100`: 100 twin updates per transaction: throughput
//!   is twins/s; commits/s is that over 100.
//! - `sqlite/size`: database bytes per twin with 0 and with 10 comment links
//!   (10,000 twins, the empty store's size taken off), printed.
//! - `sqlite/reopen/100k_twins`: open a store of 100,000 twins and read one.
//!
//! ```text
//! cargo bench --features sqlite --bench sqlite
//! ```
//!
//! Each iteration checks what it read (the counter it wrote last, the twin it
//! stored), so a store that loses writes fails instead of looking fast.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use twinsync::model::{ConnectionId, IssueRef};
use twinsync::plan::{CommentLink, TwinState};
use twinsync::store::{SqliteStore, Store};

/// A well-mixed 64-bit value, like the xxh3 fingerprints the planner stores.
fn fp(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A synced twin as the engine keeps it: Jira-like ids and keys, the bases of
/// Basic mode's fields, and `comments` comment links.
fn twin(c: &ConnectionId, i: u64, comments: u64) -> TwinState {
    let remote = 10_000 + i;
    let mut t = TwinState::new(
        c.clone(),
        IssueRef::new(
            remote.to_string().parse().expect("a valid id"),
            format!("SUP-{}", i + 1).parse().expect("a valid id"),
        ),
    );
    t.local = Some(IssueRef::new(
        (200_000 + i).to_string().parse().expect("a valid id"),
        format!("DEV-{}", i + 1).parse().expect("a valid id"),
    ));
    for (n, field) in ["description", "issuetype", "summary"].iter().enumerate() {
        t.set_field(field, fp(i * 8 + n as u64), fp(i * 8 + n as u64 + 4));
    }
    t.remote_whole = fp(i ^ 0xaaaa);
    t.local_whole = fp(i ^ 0x5555);
    t.comments = (0..comments)
        .map(|k| CommentLink {
            remote: (1_000_000 + i * 16 + k)
                .to_string()
                .parse()
                .expect("a valid id"),
            local: (3_000_000 + i * 16 + k)
                .to_string()
                .parse()
                .expect("a valid id"),
            remote_fp: fp(i * 1024 + k),
            local_fp: fp(i * 1024 + k + 512),
        })
        .collect();
    t
}

fn conn() -> ConnectionId {
    ConnectionId::parse("sup-to-dev").expect("valid id")
}

/// A directory on the disk cargo builds on (not a RAM-backed /tmp), so that
/// syncs cost what they cost.
fn dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir")
}

/// A store at `path` holding `n` twins, written `per_txn` at a time.
fn fill(path: &Path, n: u64, comments: u64, per_txn: u64) -> SqliteStore {
    let store = SqliteStore::open(path).expect("open");
    let c = conn();
    for start in (0..n).step_by(per_txn as usize) {
        let mut txn = store.begin().expect("begin");
        for i in start..(start + per_txn).min(n) {
            txn.put_twin(&twin(&c, i, comments)).expect("put");
        }
        txn.commit().expect("commit");
    }
    store
}

fn commits(cr: &mut Criterion) {
    const TWINS: u64 = 1_000;
    let dir = dir();
    let store = fill(&dir.path().join("commits.db"), TWINS, 2, 1_000);
    let c = conn();
    // The last `local_whole` committed per twin: a counter each update bumps.
    let mut written: Vec<u64> = (0..TWINS).map(|i| fp(i ^ 0x5555)).collect();
    let mut next = 0u64;
    // Read, check, change and write one twin: what the engine does per update.
    let mut update = |txn: &mut Box<dyn twinsync::store::StoreTxn + '_>, next: &mut u64| {
        let i = *next % TWINS;
        *next += 1;
        let id = (10_000 + i).to_string().parse().expect("a valid id");
        let mut t = txn.twin_by_remote(&c, &id).expect("read").expect("twin");
        assert_eq!(
            t.local_whole, written[i as usize],
            "the last committed state"
        );
        t.local_whole = t.local_whole.wrapping_add(1);
        written[i as usize] = t.local_whole;
        txn.put_twin(&t).expect("write");
    };

    let mut group = cr.benchmark_group("sqlite/commit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("single", |b| {
        b.iter(|| {
            let mut txn = store.begin().expect("begin");
            update(&mut txn, &mut next);
            txn.commit().expect("commit");
        })
    });
    group.throughput(Throughput::Elements(100));
    group.bench_function("batch_100", |b| {
        b.iter(|| {
            let mut txn = store.begin().expect("begin");
            for _ in 0..100 {
                update(&mut txn, &mut next);
            }
            txn.commit().expect("commit");
        })
    });
    group.finish();
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn size(_: &mut Criterion) {
    const TWINS: u64 = 10_000;
    let dir = dir();
    let empty = dir.path().join("empty.db");
    drop(SqliteStore::open(&empty).expect("open"));
    let base = file_len(&empty);
    for comments in [0, 10] {
        let path = dir.path().join(format!("size-{comments}.db"));
        // Dropping the store checkpoints the WAL into the file.
        drop(fill(&path, TWINS, comments, 1_000));
        assert_eq!(
            file_len(&dir.path().join(format!("size-{comments}.db-wal"))),
            0
        );
        let store = SqliteStore::open(&path).expect("reopen");
        let mut txn = store.begin().expect("begin");
        assert_eq!(txn.twin_count(&conn()).expect("count"), TWINS);
        let probe = twin(&conn(), TWINS / 2, comments);
        assert_eq!(
            txn.twin_by_remote(&conn(), &probe.remote.id).expect("read"),
            Some(probe.clone())
        );
        let per_twin = (file_len(&path) - base) as f64 / TWINS as f64;
        println!(
            "sqlite/size/{comments}_comment_links: {per_twin:.0} bytes per twin in the file \
             ({} bytes of encoded state; {TWINS} twins)",
            probe.to_bytes().len()
        );
    }
}

fn reopen(cr: &mut Criterion) {
    const TWINS: u64 = 100_000;
    let dir = dir();
    let path = dir.path().join("reopen.db");
    drop(fill(&path, TWINS, 2, 10_000));
    let probe = twin(&conn(), 54_321, 2);
    let mut group = cr.benchmark_group("sqlite/reopen");
    group.bench_function("100k_twins", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let store = SqliteStore::open(&path).expect("open");
                let mut txn = store.begin().expect("begin");
                let found = txn.twin_by_remote(&conn(), &probe.remote.id).expect("read");
                spent += start.elapsed();
                assert_eq!(found.as_ref(), Some(&probe));
                black_box(found);
            }
            spent
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = commits, size, reopen
}
criterion_main!(benches);
