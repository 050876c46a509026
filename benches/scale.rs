//! A million twins: what a node costs when one connection has very many
//! twins, in a SQLite file on disk. The twin count is `TWINSYNC_SCALE_TWINS`
//! (default 1,000,000; try `1000` or `100000` first):
//!
//! ```text
//! CARGO_BUILD_JOBS=1 TWINSYNC_SCALE_TWINS=1000000 cargo bench --features sqlite --bench scale
//! ```
//!
//! The setup, on a [`MemoryTracker`] and a node with a local connection
//! SUP ↔ DEV (both on a [`ManualClock`]):
//!
//! - 1,000 SUP issues with 5 comments each are exalated the ordinary way
//!   (their DEV twins and comments created by the engine): these are the
//!   twins that change later.
//! - The other twins are written straight into the store, one transaction
//!   per 10,000: each with Jira-like keys, field bases and 5 comment
//!   mappings, as a synced twin has. **Their issues exist only in the
//!   store, not in the tracker**: a tracker search for issues changed since
//!   the watermark never returns an issue that did not change, so a tracker
//!   holding a million unchanged issues would answer a quiet cycle's search
//!   exactly as this one does (the memory tracker's own cost for a million
//!   issues is not what this measures). One untracked issue per side is then
//!   changed ten minutes later, so that both watermarks have moved past the
//!   exalated issues.
//!
//! What it reports, and asserts:
//!
//! - file size per twin (the database and its WAL, over the twin count);
//! - a **quiet cycle** (`Node::sync` when nothing under sync changed: the
//!   poll of both sides returns the one untracked issue of each, within the
//!   polling overlap): time, and peak memory; criterion times it again
//!   after the changed cycle, once the watermarks moved past the changes;
//! - a **cycle with 1,000 changed twins** (the 1,000 SUP issues get a new
//!   summary; the cycle syncs each to DEV): time and peak memory; and the
//!   cycle after it, which reads the changed issues again because they are
//!   within the polling overlap (2 minutes before the watermark): its time;
//! - **the status panel** (`Node::status`, printed as the CLI prints it):
//!   time and peak memory;
//! - **one twin by its key** (`Node::issue_status`, as Retry and Resolve
//!   find it): time and peak memory.
//!
//! Peak memory of a step is the most heap bytes live at once during it,
//! minus those live before it, counted by a counting global allocator
//! (SQLite's own page cache is allocated by SQLite, outside it); the
//! process's resident high-water mark (`VmHWM` of `/proc/self/status`)
//! covers everything, SQLite and the setup included. Targets at 1 M twins:
//! quiet cycle, panel and key lookup under 50 ms, peak memory under 200 MB
//! (both the steps' heap peaks and `VmHWM`). Criterion then times the quiet
//! cycle and the panel over many runs.
//!
//! A store answering over the network runs the same steps: [`measure`] takes
//! any `Arc<dyn Store>` and a function giving its size on disk. With feature
//! `postgres` and `TWINSYNC_BENCH_POSTGRES=<url>` the bench runs them on
//! PostgreSQL too (a new schema, dropped at the end):
//!
//! ```text
//! TWINSYNC_BENCH_POSTGRES=postgres://… cargo bench --features sqlite,postgres --bench scale
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use futures::executor::block_on;
use time::macros::datetime;
use twinsync::MemoryTracker;
use twinsync::clock::ManualClock;
use twinsync::engine::{LocalConnectionOptions, Node};
use twinsync::model::{ConnectionId, IssueKey, IssueRef};
use twinsync::plan::{CommentLink, TwinState};
use twinsync::store::{SqliteStore, Store};
use twinsync::tracker::{IssueUpdate, NewComment, NewIssue, Tracker};

/// Counts the heap bytes live now and at most since the last reset.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is passed to the system allocator unchanged; the
// counters are only arithmetic beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator (so from `System`) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, and `new_size` is the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MB: f64 = 1024.0 * 1024.0;
/// The twins that change (and the real issues behind them).
const CHANGED: usize = 1_000;
/// Comment mappings per twin.
const COMMENTS: u64 = 5;
/// Twins written per transaction while loading.
const BATCH: usize = 10_000;
const TARGET_TIME: Duration = Duration::from_millis(50);
const TARGET_MEMORY: f64 = 200.0 * MB;

/// Runs `step` and returns its result, its time and its heap peak (bytes
/// live at most during it, minus those live before).
fn measured<T>(step: impl FnOnce() -> T) -> (T, Duration, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let start = Instant::now();
    let out = step();
    let took = start.elapsed();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    (out, took, peak)
}

/// The process's resident high-water mark, in bytes.
fn vm_hwm() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// A well-mixed 64-bit value, like the fingerprints the planner stores.
fn fp(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A synced twin whose issues exist only in the store: ids apart from the
/// tracker's, keys beyond its issues', Basic mode's field bases and
/// [`COMMENTS`] comment mappings.
fn stored_twin(c: &ConnectionId, i: u64) -> TwinState {
    let id = |n: u64| n.to_string().parse().expect("a valid id");
    let key = |p: &str, n: u64| -> IssueKey { format!("{p}-{n}").parse().expect("a valid key") };
    let mut t = TwinState::new(
        c.clone(),
        IssueRef::new(id(50_000_000 + i), key("SUP", 100_000 + i)),
    );
    t.local = Some(IssueRef::new(id(70_000_000 + i), key("DEV", 100_000 + i)));
    for (n, field) in ["description", "issuetype", "summary"].iter().enumerate() {
        t.set_field(field, fp(i * 8 + n as u64), fp(i * 8 + n as u64 + 4));
    }
    t.remote_whole = fp(i ^ 0xaaaa);
    t.local_whole = fp(i ^ 0x5555);
    t.comments = (0..COMMENTS)
        .map(|k| CommentLink {
            remote: (100_000_000 + i * 8 + k)
                .to_string()
                .parse()
                .expect("an id"),
            local: (200_000_000 + i * 8 + k)
                .to_string()
                .parse()
                .expect("an id"),
            remote_fp: fp(i * 1024 + k),
            local_fp: fp(i * 1024 + k + 512),
        })
        .collect();
    t
}

/// What [`measure`] found.
#[derive(Debug)]
struct Figures {
    twins: usize,
    load: Duration,
    bytes_per_twin: f64,
    quiet: (Duration, usize),
    changed: (Duration, usize),
    panel: (Duration, usize),
    lookup: (Duration, usize),
    overlap: Duration,
}

/// Builds the node on `store`, loads `twins` twins, measures each step once
/// (time and heap peak) and lets criterion time the quiet cycle and the
/// panel. `size` is the store's size in bytes.
fn measure(
    name: &str,
    store: Arc<dyn Store>,
    size: &dyn Fn() -> u64,
    twins: usize,
    c: &mut Criterion,
) -> Figures {
    let clock = Arc::new(ManualClock::new(datetime!(2026-03-01 9:00 UTC)));
    let tracker =
        MemoryTracker::with_clock("https://acme.example", clock.clone()).expect("tracker");
    tracker
        .add_project("SUP", "Support", &["Bug", "Task"], Some("Task"))
        .expect("project");
    tracker
        .add_project("DEV", "Development", &["Bug", "Task"], None)
        .expect("project");
    let node = block_on(
        Node::builder()
            .tracker(Arc::new(tracker.clone()))
            .store(store.clone())
            .clock(clock.clone())
            .build(),
    )
    .expect("node");
    let admin = node.admin(&tracker.user().id);
    let conn =
        block_on(admin.create_local_connection("SUP", "DEV", LocalConnectionOptions::default()))
            .expect("connection");

    // The twins that change: real issues, exalated as a user would.
    let changing = CHANGED.min(twins);
    let mut issues = Vec::with_capacity(changing);
    for n in 0..changing {
        let issue = block_on(tracker.create_issue(&NewIssue::new(
            "SUP".parse().expect("key"),
            "Bug",
            format!("Printer {n} jams"),
        )))
        .expect("create");
        for k in 0..COMMENTS {
            block_on(tracker.add_comment(&issue.id, &NewComment::public(format!("Note {k}"))))
                .expect("comment");
        }
        block_on(node.exalate(&conn.id, &issue.key)).expect("exalate");
        issues.push(issue);
    }
    block_on(node.sync(&conn.id)).expect("first cycle");

    // The rest, straight into the store.
    let start = Instant::now();
    let rest = (twins - changing) as u64;
    let mut i = 0;
    while i < rest {
        let mut txn = store.begin().expect("begin");
        for j in i..(i + BATCH as u64).min(rest) {
            txn.put_twin(&stored_twin(&conn.id, j)).expect("put twin");
        }
        txn.commit().expect("commit");
        i += BATCH as u64;
    }
    let load = start.elapsed();

    // Ten minutes on, one untracked issue per side moves both watermarks
    // past the changes (each cycle reads again what changed within the
    // polling overlap before its watermark).
    let mut bystanders = Vec::new();
    for project in ["SUP", "DEV"] {
        let issue = block_on(tracker.create_issue(&NewIssue::new(
            project.parse().expect("key"),
            "Task",
            "Not under sync",
        )))
        .expect("create");
        bystanders.push(issue.id);
    }
    let move_on = |note: &str| {
        clock.advance(Duration::from_secs(600));
        for id in &bystanders {
            let update = IssueUpdate::new().summary(format!("Not under sync ({note})"));
            block_on(tracker.update_issue(id, &update)).expect("update");
        }
        block_on(node.sync(&conn.id)).expect("cycle");
        clock.advance(Duration::from_secs(60));
    };
    move_on("loaded");

    let bytes_per_twin = size() as f64 / twins as f64;
    let (report, quiet_time, quiet_peak) = measured(|| block_on(node.sync(&conn.id)));
    let report = report.expect("quiet cycle");
    assert_eq!(report.synced, 0, "a quiet cycle syncs nothing: {report:?}");

    for (n, issue) in issues.iter().enumerate() {
        let update = IssueUpdate::new().summary(format!("Printer {n} jams again"));
        block_on(tracker.update_issue(&issue.id, &update)).expect("update");
    }
    clock.advance(Duration::from_secs(60));
    let (report, changed_time, changed_peak) = measured(|| block_on(node.sync(&conn.id)));
    let report = report.expect("cycle of changes");
    assert_eq!(
        report.synced, changing,
        "each changed twin synced: {report:?}"
    );
    assert_eq!(report.failed, 0, "{report:?}");
    clock.advance(Duration::from_secs(60));
    // The next cycle reads the changed issues again (they are within the
    // polling overlap; the DEV side's were written by the sync) and writes
    // nothing.
    let (report, overlap_time, _) = measured(|| block_on(node.sync(&conn.id)));
    let report = report.expect("cycle in the overlap");
    assert_eq!(report.writes, 0, "nothing to write again: {report:?}");
    move_on("changed");

    let (panel, panel_time, panel_peak) = measured(|| {
        let panel = node.status(&conn.id).expect("panel");
        let text = panel.to_string();
        (panel, text)
    });
    assert_eq!(panel.0.twins, twins as u64, "the panel counts every twin");
    assert!(panel.1.contains(&format!("issues under sync: {twins}")));

    // One twin by its key (`twinsync status --issue`, Retry, Resolve): the
    // store's key index, not a scan. The last twin written.
    let last = if twins > changing {
        format!("DEV-{}", 100_000 + (twins - changing) - 1)
    } else {
        "DEV-1".to_owned()
    };
    let key: IssueKey = last.parse().expect("a valid key");
    let (found, lookup_time, lookup_peak) = measured(|| node.issue_status(&conn.id, &key));
    let found = found.expect("the twin is found by its key");
    assert_eq!(found.twin.map(|t| t.key), Some(key));

    let mut group = c.benchmark_group(format!("scale/{name}"));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function(format!("quiet_cycle/{twins}"), |b| {
        b.iter(|| block_on(node.sync(&conn.id)).expect("quiet cycle"))
    });
    group.bench_function(format!("panel/{twins}"), |b| {
        b.iter(|| node.status(&conn.id).expect("panel").to_string())
    });
    group.finish();

    Figures {
        twins,
        load,
        bytes_per_twin,
        quiet: (quiet_time, quiet_peak),
        changed: (changed_time, changed_peak),
        panel: (panel_time, panel_peak),
        lookup: (lookup_time, lookup_peak),
        overlap: overlap_time,
    }
}

/// The size of a SQLite database and its WAL.
fn sqlite_size(path: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|suffix| {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            std::fs::metadata(p).ok().map(|m| m.len())
        })
        .sum()
}

fn report(name: &str, f: &Figures) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "\n{name}: {} twins ({COMMENTS} comment mappings each)",
        f.twins
    );
    println!(
        "  loaded in {:.1} s; {:.0} bytes per twin on disk",
        f.load.as_secs_f64(),
        f.bytes_per_twin
    );
    for (what, (time, peak)) in [
        ("quiet cycle", f.quiet),
        ("cycle with 1,000 changed twins", f.changed),
        ("status panel", f.panel),
        ("one twin by its key", f.lookup),
    ] {
        println!(
            "  {what}: {:.1} ms, heap peak {:.1} MB",
            ms(time),
            peak as f64 / MB
        );
    }
    println!(
        "  (the cycle after the changes, reading the 1,000 changed issues of each side \
         again within the polling overlap: {:.1} ms)",
        ms(f.overlap)
    );
    match vm_hwm() {
        Some(hwm) => println!("  process max RSS (VmHWM): {:.1} MB", hwm as f64 / MB),
        None => println!("  process max RSS: /proc/self/status is not readable here"),
    }
}

fn check(f: &Figures) {
    // The targets are for a million twins; a smaller run must meet them too.
    for (what, (time, peak), timed) in [
        ("quiet cycle", f.quiet, true),
        ("cycle with 1,000 changed twins", f.changed, false),
        ("status panel", f.panel, true),
        ("one twin by its key", f.lookup, true),
    ] {
        if timed {
            assert!(
                time < TARGET_TIME,
                "{what} took {time:?}, over the {TARGET_TIME:?} target"
            );
        }
        assert!(
            (peak as f64) < TARGET_MEMORY,
            "{what} peaked at {:.1} MB of heap, over the 200 MB target",
            peak as f64 / MB
        );
    }
    if let Some(hwm) = vm_hwm() {
        assert!(
            (hwm as f64) < TARGET_MEMORY,
            "the process peaked at {:.1} MB resident, over the 200 MB target",
            hwm as f64 / MB
        );
    }
}

fn twins() -> usize {
    match std::env::var("TWINSYNC_SCALE_TWINS") {
        Ok(text) => text
            .replace(['_', ','], "")
            .parse()
            .unwrap_or_else(|_| panic!("TWINSYNC_SCALE_TWINS={text:?} is not a number")),
        Err(_) => 1_000_000,
    }
}

fn sqlite(c: &mut Criterion) {
    let twins = twins();
    // On the disk cargo builds on (not a RAM-backed /tmp).
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let path = dir.path().join("state.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).expect("open"));
    let figures = measure("sqlite", store, &|| sqlite_size(&path), twins, c);
    report("sqlite", &figures);
    check(&figures);
}

/// The same steps on PostgreSQL (feature `postgres`), on a new schema of
/// the server of `TWINSYNC_BENCH_POSTGRES` (a URL), dropped at the end; its
/// size is the schema's tables with their indexes. Without the variable it
/// says how to run it.
#[cfg(feature = "postgres")]
fn postgres(c: &mut Criterion) {
    let Ok(url) = std::env::var("TWINSYNC_BENCH_POSTGRES") else {
        println!(
            "\npostgres: not run; set TWINSYNC_BENCH_POSTGRES=postgres://user:password@host/db \
             (a user that may create a schema) and build with --features sqlite,postgres"
        );
        return;
    };
    let twins = twins();
    let schema = format!("scale_bench_{}", std::process::id());
    let store = twinsync::store::PostgresStore::builder(url.as_str())
        .schema(&schema)
        .connect()
        .expect("connect to TWINSYNC_BENCH_POSTGRES");
    let store: Arc<dyn Store> = Arc::new(store);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("a plain connection for sizes");
        tokio::spawn(connection);
        client
    });
    let size = || -> u64 {
        let row = runtime
            .block_on(client.query_one(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relkind = 'r'",
                &[&schema],
            ))
            .expect("the schema's size");
        u64::try_from(row.get::<_, i64>(0)).unwrap_or(0)
    };
    let figures = measure("postgres", store, &size, twins, c);
    report("postgres", &figures);
    runtime
        .block_on(client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")))
        .expect("drop the bench's schema");
    check(&figures);
}

#[cfg(not(feature = "postgres"))]
fn postgres(_: &mut Criterion) {
    println!("\npostgres: not run; build with --features sqlite,postgres");
}

criterion_group!(benches, sqlite, postgres);
criterion_main!(benches);
