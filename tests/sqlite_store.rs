//! `SqliteStore`: the store conformance suite (in memory and on disk), state
//! surviving a reopen, schema versions, bad files, and one node per file.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use time::macros::datetime;
use twinsync::ErrorKind;
use twinsync::model::{ConnectionId, IssueRef, ProjectKey};
use twinsync::plan::{CommentLink, TwinState};
use twinsync::store::{ConnectionRecord, QueueItem, SqliteStore, Store, StoreTxn};

/// The suite against a store in memory.
mod in_memory {
    twinsync::store_conformance!(|| twinsync::store::SqliteStore::in_memory().expect("open"));
}

/// The suite against a store in a file, each case in its own directory.
mod on_disk {
    twinsync::store_conformance!(super::DiskStore::new);
}

/// A store in a temporary directory that lives as long as the store.
#[derive(Debug)]
struct DiskStore {
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

impl DiskStore {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path().join("state.db")).expect("open");
        DiskStore { store, _dir: dir }
    }
}

impl Store for DiskStore {
    fn begin(&self) -> twinsync::Result<Box<dyn StoreTxn + '_>> {
        self.store.begin()
    }
}

fn conn(name: &str) -> ConnectionId {
    ConnectionId::parse(name).expect("valid id")
}

fn twin(c: &ConnectionId, remote: u32, comments: u32) -> TwinState {
    let mut t = TwinState::new(
        c.clone(),
        IssueRef::new(remote.to_string(), format!("SUP-{remote}")),
    );
    t.local = Some(IssueRef::new(
        (remote + 10_000).to_string(),
        format!("DEV-{remote}"),
    ));
    t.set_field("summary", 0x1234_5678_9abc_def0, 0x0fed_cba9_8765_4321);
    t.comments = (0..comments)
        .map(|i| CommentLink {
            remote: format!("{remote}{i:03}").into(),
            local: format!("9{remote}{i:03}").into(),
            remote_fp: u64::from(i) << 40,
            local_fp: u64::MAX - u64::from(i),
        })
        .collect();
    t
}

fn record(c: &ConnectionId) -> ConnectionRecord {
    ConnectionRecord {
        id: c.clone(),
        name: "SUP to DEV".to_owned(),
        config: "{\"mode\":\"basic\"}".to_owned(),
    }
}

fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.db");
    (dir, path)
}

/// Opening must fail with a `Storage` error that names the file.
fn refused(path: &Path) -> String {
    let err = SqliteStore::open(path).expect_err("the file is refused");
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&path.display().to_string()),
        "the error names the file: {text}"
    );
    text
}

/// Deterministic bytes that look nothing like a database.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed.to_le_bytes()[0]
        })
        .collect()
}

fn write_twins(path: &Path, n: u32) {
    let store = SqliteStore::open(path).expect("open");
    let c = conn("c1");
    let mut txn = store.begin().expect("begin");
    for i in 0..n {
        txn.put_twin(&twin(&c, i, 3)).expect("put");
    }
    txn.commit().expect("commit");
}

fn sqlite(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("open with rusqlite")
}

#[test]
fn committed_state_survives_reopening_the_file() {
    let (_dir, path) = temp();
    let c = conn("c1");
    let at = datetime!(2026-03-01 10:00:00.123456789 +02:00);
    {
        let store = SqliteStore::open(&path).expect("open");
        let mut txn = store.begin().expect("begin");
        txn.put_connection(&record(&c)).expect("put");
        txn.put_twin(&twin(&c, 1, 10)).expect("put");
        let seq = txn
            .enqueue(&QueueItem {
                seq: 0,
                connection: c.clone(),
                project: ProjectKey::new("SUP"),
                issue: "1".into(),
                queued: at,
            })
            .expect("enqueue");
        assert_eq!(seq, 1);
        txn.set_watermark(&c, &"SUP".into(), at).expect("set");
        txn.set_meta("bulk", Some(b"page 7")).expect("set");
        txn.commit().expect("commit");

        let mut txn = store.begin().expect("begin");
        txn.put_twin(&twin(&c, 2, 0)).expect("put");
        drop(txn);
    }
    assert!(path.exists(), "the file was created");

    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.path(), Some(path.as_path()));
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.connection(&c).expect("read"), Some(record(&c)));
    assert_eq!(
        txn.twin_by_local(&c, &"10001".into()).expect("read"),
        Some(twin(&c, 1, 10)),
        "the twin with its 10 comment links reads back equal"
    );
    assert_eq!(
        txn.twin_count(&c).expect("count"),
        1,
        "the rolled-back twin is not there"
    );
    let queue = txn.queue(&c, 10).expect("queue");
    assert_eq!(queue.len(), 1);
    assert_eq!((queue[0].seq, queue[0].queued), (1, at));
    assert_eq!(queue[0].queued.offset(), at.offset(), "the offset is kept");
    assert_eq!(txn.watermark(&c, &"SUP".into()).expect("read"), Some(at));
    assert_eq!(
        txn.meta("bulk").expect("read").as_deref(),
        Some(&b"page 7"[..])
    );
    let next = txn
        .enqueue(&QueueItem {
            seq: 0,
            connection: c.clone(),
            project: ProjectKey::new("SUP"),
            issue: "2".into(),
            queued: at,
        })
        .expect("enqueue");
    assert_eq!(next, 2, "sequence numbers go on after a reopen");
}

#[test]
fn an_empty_file_becomes_a_store() {
    let (_dir, path) = temp();
    fs::write(&path, b"").expect("create an empty file");
    let store = SqliteStore::open(&path).expect("an empty file is a new store");
    let mut txn = store.begin().expect("begin");
    txn.put_twin(&twin(&conn("c1"), 1, 0)).expect("put");
    txn.commit().expect("commit");
    drop(store);
    let version: u32 = sqlite(&path)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, SqliteStore::SCHEMA_VERSION);
}

#[test]
fn the_file_is_in_wal_mode() {
    let (_dir, path) = temp();
    let store = SqliteStore::open(&path).expect("open");
    let mut txn = store.begin().expect("begin");
    txn.set_meta("k", Some(b"v")).expect("set");
    txn.commit().expect("commit");
    let mode: String = sqlite(&path)
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal mode");
    assert_eq!(mode, "wal");
}

#[test]
fn a_newer_schema_version_is_refused_naming_both_versions() {
    let (_dir, path) = temp();
    write_twins(&path, 1);
    let newer = SqliteStore::SCHEMA_VERSION + 1;
    sqlite(&path)
        .pragma_update(None, "user_version", newer)
        .expect("pretend a newer twinsync wrote it");
    let text = refused(&path);
    assert!(
        text.contains(&format!(
            "has schema version {newer}, newer than version {}",
            SqliteStore::SCHEMA_VERSION
        )),
        "{text}"
    );
    assert!(text.contains("open it with a newer twinsync"), "{text}");
    let version: u32 = sqlite(&path)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, newer, "the newer file is left as it was");
}

#[test]
fn a_foreign_database_is_refused_and_left_untouched() {
    let (_dir, path) = temp();
    sqlite(&path)
        .execute_batch(
            "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL);
             CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
             INSERT INTO invoices (total) VALUES (12.5);",
        )
        .expect("another program's database");
    let text = refused(&path);
    assert!(
        text.contains("is a SQLite database of another program, not a twinsync state file"),
        "{text}"
    );
    assert!(text.contains("it has tables customers, invoices"), "{text}");
    let db = sqlite(&path);
    let mode: String = db
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "delete", "not switched to WAL");
    let tables: i64 = db
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .expect("tables");
    assert_eq!(tables, 2, "no twinsync table was added");
}

#[test]
fn a_file_of_random_bytes_is_refused() {
    let (_dir, path) = temp();
    fs::write(&path, noise(8192, 0x9e37_79b9_7f4a_7c15)).expect("write");
    let text = refused(&path);
    assert!(text.contains("is not a SQLite database"), "{text}");
    assert_eq!(fs::read(&path).expect("read").len(), 8192, "left as it was");
}

#[test]
fn a_sqlite_header_followed_by_garbage_is_refused() {
    let (_dir, path) = temp();
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend(noise(16_384, 7));
    fs::write(&path, bytes).expect("write");
    refused(&path);
}

#[test]
fn a_truncated_file_is_refused() {
    let (_dir, path) = temp();
    write_twins(&path, 2_000);
    let len = fs::metadata(&path).expect("size").len();
    assert!(len > 100_000, "the file has many pages: {len}");
    let file = fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open");
    file.set_len(len / 2).expect("truncate");
    drop(file);
    let text = refused(&path);
    assert!(text.contains("is truncated: its header says"), "{text}");
    assert!(
        text.contains(&format!("the file has {}", len / 2)),
        "{text}"
    );
}

#[test]
fn a_file_cut_inside_the_header_is_refused() {
    let (_dir, path) = temp();
    write_twins(&path, 1);
    let head = fs::read(&path).expect("read")[..60].to_vec();
    fs::write(&path, head).expect("write");
    let text = refused(&path);
    assert!(
        text.contains("is truncated: 60 bytes, shorter than a SQLite header"),
        "{text}"
    );
}

#[test]
fn a_damaged_file_gives_storage_errors_not_panics() {
    let (_dir, path) = temp();
    write_twins(&path, 2_000);
    let mut bytes = fs::read(&path).expect("read");
    let page = 4096;
    // Keep the header and the schema page; overwrite every later page.
    for b in &mut bytes[2 * page..] {
        *b = 0xA5;
    }
    fs::write(&path, bytes).expect("write");
    let outcome = SqliteStore::open(&path).and_then(|store| {
        let mut txn = store.begin()?;
        txn.twins(&conn("c1")).map(|_| ())
    });
    let err = outcome.expect_err("damage is reported");
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("the file is damaged"), "{text}");
}

#[test]
fn a_state_file_missing_a_table_is_refused() {
    let (_dir, path) = temp();
    write_twins(&path, 1);
    sqlite(&path)
        .execute_batch("DROP TABLE queue")
        .expect("drop a table by hand");
    let text = refused(&path);
    assert!(text.contains("lacks table(s) queue"), "{text}");
}

#[test]
fn a_missing_directory_is_a_storage_error_naming_the_file() {
    let (dir, _) = temp();
    let path = dir.path().join("no-such-dir").join("state.db");
    let text = refused(&path);
    assert!(text.contains("cannot create the lock file"), "{text}");
}

#[test]
fn a_directory_is_refused() {
    let (dir, _) = temp();
    let path = dir.path().join("state.db");
    fs::create_dir(&path).expect("mkdir");
    let text = refused(&path);
    assert!(
        text.contains("is a directory, not a database file"),
        "{text}"
    );
}

#[test]
fn a_second_twin_of_one_local_issue_is_refused_by_name() {
    let store = SqliteStore::in_memory().expect("open");
    let c = conn("c1");
    let mut txn = store.begin().expect("begin");
    txn.put_twin(&twin(&c, 1, 0)).expect("put");
    let mut other = twin(&c, 2, 0);
    other.local = twin(&c, 1, 0).local;
    let err = txn.put_twin(&other).expect_err("DEV-1 has a twin already");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        err.to_string(),
        "issue DEV-1 is already the twin of 1 on connection c1"
    );
    txn.commit()
        .expect("the transaction goes on after the refusal");
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.twin_count(&c).expect("count"), 1);
}

#[test]
fn a_second_store_on_the_same_file_is_refused_until_the_first_is_dropped() {
    let (_dir, path) = temp();
    let first = SqliteStore::open(&path).expect("open");
    let text = refused(&path);
    assert!(
        text.contains("is in use by another twinsync node"),
        "{text}"
    );
    assert!(
        text.contains(&format!("process {} holds", std::process::id())),
        "names the holder: {text}"
    );
    drop(first);
    SqliteStore::open(&path).expect("free again once the first store is dropped");
}

#[cfg(unix)]
#[test]
fn a_second_path_to_the_same_file_is_refused_too() {
    let (dir, path) = temp();
    let _first = SqliteStore::open(&path).expect("open");
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&path, &link).expect("symlink");
    let text = refused(&link);
    assert!(
        text.contains("is in use by another twinsync node"),
        "{text}"
    );
}

/// The other node for `a_second_process_is_refused_while_the_first_holds_the_file`:
/// opens the store named in `TWINSYNC_TEST_HOLD`, says so, and holds it until its
/// standard input closes. Without the variable it does nothing.
#[test]
#[ignore = "a helper process, started by a_second_process_is_refused_while_the_first_holds_the_file"]
fn other_node_holds_the_file() {
    let Some(path) = std::env::var_os("TWINSYNC_TEST_HOLD") else {
        return;
    };
    let _store = SqliteStore::open(&path).expect("the other node opens the file");
    println!("twinsync-test: holding");
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

#[test]
fn a_second_process_is_refused_while_the_first_holds_the_file() {
    let (_dir, path) = temp();
    write_twins(&path, 1);
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "other_node_holds_the_file",
            "--ignored",
            "--nocapture",
        ])
        .env("TWINSYNC_TEST_HOLD", &path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the other node");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let holding = lines.any(|line| line == "twinsync-test: holding");
    assert!(holding, "the other node took the file");

    let text = refused(&path);
    assert!(
        text.contains(&format!("process {} holds", child.id())),
        "names the other process: {text}"
    );

    drop(child.stdin.take());
    lines.for_each(drop); // read the rest, so the other node can finish writing
    let status = child.wait().expect("the other node ends");
    assert!(status.success(), "the other node ran cleanly: {status}");
    let store = SqliteStore::open(&path).expect("free once the other process ended");
    assert_eq!(
        store
            .begin()
            .expect("begin")
            .twin_count(&conn("c1"))
            .expect("count"),
        1
    );
}

#[test]
fn transactions_from_many_threads_take_turns() {
    let (_dir, path) = temp();
    let store = Arc::new(SqliteStore::open(&path).expect("open"));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for _ in 0..25 {
                    let mut txn = store.begin().expect("begin");
                    let n = txn
                        .meta("counter")
                        .expect("read")
                        .map_or(0, |v| u32::from_le_bytes(v.try_into().expect("4 bytes")));
                    txn.set_meta("counter", Some(&(n + 1).to_le_bytes()))
                        .expect("write");
                    txn.commit().expect("commit");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let value = store.begin().expect("begin").meta("counter").expect("read");
    assert_eq!(
        value,
        Some(100u32.to_le_bytes().to_vec()),
        "no increment lost"
    );
}
