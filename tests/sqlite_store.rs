//! `SqliteStore`: the store conformance suite (in memory and on disk), state
//! surviving a reopen, schema versions, bad files, and one node per file.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use time::macros::datetime;
use twinsync::ErrorKind;
use twinsync::model::{ConnectionId, IssueRef};
use twinsync::plan::{CommentLink, TwinState};
use twinsync::store::{BulkProgress, ConnectionRecord, QueueItem, SqliteStore, Store, StoreTxn};
use twinsync::testkit::ids as lit;

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
        IssueRef::new(
            lit::issue_id(remote.to_string()),
            lit::key(format!("SUP-{remote}")),
        ),
    );
    t.local = Some(IssueRef::new(
        lit::issue_id((remote + 10_000).to_string()),
        lit::key(format!("DEV-{remote}")),
    ));
    t.set_field("summary", 0x1234_5678_9abc_def0, 0x0fed_cba9_8765_4321);
    t.comments = (0..comments)
        .map(|i| CommentLink {
            remote: lit::comment_id(format!("{remote}{i:03}")),
            local: lit::comment_id(format!("9{remote}{i:03}")),
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

fn bulk_at_page_7(c: &ConnectionId) -> BulkProgress {
    BulkProgress {
        connection: c.clone(),
        query: "project = SUP".to_owned(),
        next_page: "page 7".to_owned(),
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
                project: lit::project("SUP"),
                issue: lit::issue_id("1"),
                queued: at,
            })
            .expect("enqueue");
        assert_eq!(seq, 1);
        txn.set_watermark(&c, &lit::project("SUP"), at)
            .expect("set");
        txn.put_bulk_progress(&bulk_at_page_7(&c)).expect("set");
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
        txn.twin_by_local(&c, &lit::issue_id("10001"))
            .expect("read"),
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
    assert_eq!(
        txn.watermark(&c, &lit::project("SUP")).expect("read"),
        Some(at)
    );
    assert_eq!(
        txn.bulk_progress(&c, "project = SUP").expect("read"),
        Some(bulk_at_page_7(&c))
    );
    let next = txn
        .enqueue(&QueueItem {
            seq: 0,
            connection: c.clone(),
            project: lit::project("SUP"),
            issue: lit::issue_id("2"),
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
    txn.set_last_sync(&conn("c1"), datetime!(2026-01-01 0:00 UTC))
        .expect("set");
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
fn a_stored_twin_with_an_empty_issue_key_is_a_storage_error() {
    let (_dir, path) = temp();
    write_twins(&path, 1);
    let state: Vec<u8> = sqlite(&path)
        .query_row("SELECT state FROM twins", [], |r| r.get(0))
        .expect("the twin's state");
    // The remote key "SUP-0" is stored as its length and its bytes: make it "".
    let needle = [&[5_u8][..], b"SUP-0"].concat();
    let at = state
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the key is in the state");
    let mut emptied = state[..at].to_vec();
    emptied.push(0);
    emptied.extend_from_slice(&state[at + needle.len()..]);
    sqlite(&path)
        .execute("UPDATE twins SET state = ?1", [emptied])
        .expect("write the state by hand");
    let store = SqliteStore::open(&path).expect("open");
    let err = store
        .begin()
        .and_then(|mut txn| txn.twins(&conn("c1")))
        .expect_err("the twin is refused");
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    assert!(
        err.to_string().contains("twin state is unreadable"),
        "{err}"
    );
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
                    let mut node = txn.node_record().expect("read");
                    node.starts += 1;
                    txn.put_node_record(&node).expect("write");
                    txn.commit().expect("commit");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let node = store.begin().expect("begin").node_record().expect("read");
    assert_eq!(node.starts, 100, "no increment lost");
}

// Files written by twinsync 0.1 (schema version 1): `tests/fixtures/v0_1_state.db`
// was written by twinsync 0.1 itself, through a node on a `MemoryTracker`
// (saved as `v0_1_tracker_a.json`) and a second node over an
// `InProcessNetwork`. It holds:
// - `SUP_to_DEV` (local): SUP-1 ↔ DEV-1 with two comments, SUP-2 ↔ DEV-2,
//   and SUP-3 ↔ DEV-3, connected with different summaries (a conflict);
// - `OPS_to_QA` (custom): rule version 1 published, a bulk exalate of
//   `project = OPS` interrupted after its first page (OPS-1, OPS-2);
// - a remote connection REM ↔ the other node's DEV, synced both ways
//   (REM-1 from here, REM-2 from there);
// - a pending invitation for a connection of project INV;
// - the project-level policy on, with group `sync-admins`.

const REMOTE: &str = "1e69b701147e232642a4cd0a88d5a8ad";
const PENDING: &str = "ed7ba0a104c2346eb47e70cca815e347";

/// A copy of the 0.1 fixture in a temporary directory.
fn v0_1_file() -> (tempfile::TempDir, PathBuf) {
    let (dir, path) = temp();
    fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v0_1_state.db"),
        &path,
    )
    .expect("copy the fixture");
    (dir, path)
}

fn schema_version(path: &Path) -> u32 {
    sqlite(path)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version")
}

fn has_table(path: &Path, table: &str) -> bool {
    sqlite(path)
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get::<_, i64>(0),
        )
        .expect("schema")
        > 0
}

/// The connection a code in the clear names (the migration moves 0.1's codes
/// as they are; a node seals them when it starts with its key).
fn invitation_connection(code: &twinsync::store::StoredSecret) -> ConnectionId {
    let text = std::str::from_utf8(code.as_bytes()).expect("0.1's codes are text");
    twinsync::Invitation::parse(text)
        .expect("the stored code is a whole invitation code")
        .connection()
        .clone()
}

#[test]
fn the_v0_1_fixture_is_at_schema_version_1_with_meta() {
    let (_dir, path) = v0_1_file();
    assert_eq!(schema_version(&path), 1);
    assert!(has_table(&path, "meta"));
}

#[test]
fn a_v0_1_file_is_migrated_on_open_and_keeps_what_a_user_sees() {
    let (_dir, path) = v0_1_file();
    let store = SqliteStore::open(&path).expect("the 0.1 file opens");
    let mut txn = store.begin().expect("begin");

    let mut ids: Vec<String> = txn
        .connections()
        .expect("connections")
        .into_iter()
        .map(|c| c.id.as_str().to_owned())
        .collect();
    ids.sort();
    assert_eq!(ids, [REMOTE, "OPS_to_QA", "SUP_to_DEV", PENDING]);

    let local = conn("SUP_to_DEV");
    let twins = txn.twins(&local).expect("twins");
    let pairs: Vec<(&str, Option<&str>, usize)> = twins
        .iter()
        .map(|t| {
            (
                t.remote.key.as_str(),
                t.local.as_ref().map(|l| l.key.as_str()),
                t.comments.len(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("SUP-1", Some("DEV-1"), 2),
            ("SUP-2", Some("DEV-2"), 0),
            ("SUP-3", Some("DEV-3"), 0)
        ],
        "the twins, with SUP-1's two comment links"
    );
    let dev1 = txn
        .twin_by_local(&local, &lit::issue_id("10005"))
        .expect("read")
        .expect("DEV-1 is found by its own id");
    assert_eq!(dev1.remote.key.as_str(), "SUP-1");
    assert_eq!(txn.twin_count(&conn("OPS_to_QA")).expect("count"), 2);
    assert_eq!(txn.twin_count(&conn(REMOTE)).expect("count"), 2);

    let conflicts = txn.conflicts(&local).expect("conflicts");
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].origin.as_str(), "10009", "SUP-3");
    assert_eq!(conflicts[0].conflicts[0].subject, "summary");
    assert_eq!(
        txn.last_sync(&local).expect("read"),
        Some(datetime!(2026-01-01 0:10:20 UTC))
    );

    let rules = txn
        .rule_history(&conn("OPS_to_QA"))
        .expect("read")
        .expect("the custom connection's rule versions");
    assert_eq!(rules.active, Some(1));
    let active = rules.active_version().expect("version 1");
    assert_eq!(active.published_by.as_str(), "ada");
    assert_eq!(
        active.spec.status_mapping.get("Open").map(String::as_str),
        Some("To Do")
    );
    assert!(active.spec.labels);

    let invitations = txn.invitations().expect("invitations");
    assert_eq!(invitations.len(), 2, "the used one and the pending one");
    let pending = invitations
        .iter()
        .find(|i| i.connection.as_str() == PENDING)
        .expect("the pending invitation");
    assert_eq!(
        pending.state,
        twinsync::connection::InvitationState::Pending
    );
    for invitation in &invitations {
        assert_eq!(
            invitation_connection(&invitation.code),
            invitation.connection,
            "each invitation is filed under the connection its code names"
        );
    }

    let link = txn
        .peer_link(&conn(REMOTE))
        .expect("read")
        .expect("the remote connection's peer link");
    assert_eq!(link.role, twinsync::connection::Role::Initiator);
    assert_eq!(
        link.peer.as_ref().map(|p| p.as_str()),
        Some("https://b.example")
    );
    assert_eq!(invitation_connection(&link.code), conn(REMOTE));
    assert!(
        !format!("{link:?}").contains("twinsync-invite"),
        "the secret stays out of Debug"
    );
    use twinsync::store::SeqMark;
    assert_eq!(
        txn.seq_mark(&conn(REMOTE), &SeqMark::Sent).expect("read"),
        Some(1_767_225_860_000_000_000)
    );
    assert_eq!(
        txn.seq_mark(&conn(REMOTE), &SeqMark::Applied(lit::issue_id("10001")))
            .expect("read"),
        Some(1_767_225_860_000_000_000)
    );
    assert_eq!(
        txn.seq_mark(&conn(REMOTE), &SeqMark::Acked(lit::issue_id("10016")))
            .expect("read"),
        Some(1_767_225_735_000_000_000)
    );

    // 0.1 kept waiting messages in memory: nothing waits after the migration.
    assert_eq!(txn.outbox_len(&conn(REMOTE)).expect("count"), 0);
    assert_eq!(txn.peer_outage(&conn(REMOTE)).expect("read"), None);

    let node = txn.node_record().expect("node record");
    assert_eq!(node.starts, 1);
    let policy = node.policy.expect("the project-level policy");
    assert!(policy.enabled);
    assert_eq!(policy.group, "sync-admins");
    // 0.1 kept only a digest of the bulk query: the progress cannot be
    // found again, and the bulk exalate starts over (skipping OPS-1, OPS-2).
    assert_eq!(
        txn.bulk_progress(&conn("OPS_to_QA"), "project = OPS")
            .expect("read"),
        None
    );
    drop(txn);
    drop(store);

    assert_eq!(schema_version(&path), SqliteStore::SCHEMA_VERSION);
    assert_eq!(SqliteStore::SCHEMA_VERSION, 4);
    assert!(!has_table(&path, "meta"), "meta is gone");
    assert!(has_table(&path, "outbox") && has_table(&path, "peer_outages"));
    let store = SqliteStore::open(&path).expect("a migrated file opens again");
    assert_eq!(
        store
            .begin()
            .expect("begin")
            .twin_count(&local)
            .expect("count"),
        3
    );
}

/// Adds `meta` rows to a 0.1 file, as 0.1 would have written them.
fn add_meta(path: &Path, rows: &[(&str, &[u8])]) {
    let db = sqlite(path);
    for (key, value) in rows {
        db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
            rusqlite::params![key, value],
        )
        .expect("write a meta row");
    }
}

#[test]
fn outgoing_flags_and_gone_marks_of_v0_1_move_and_unknown_keys_are_dropped() {
    let (_dir, path) = v0_1_file();
    let outgoing = format!("remote/{REMOTE}/outgoing");
    let gone = format!("remote/{REMOTE}/gone/20007");
    add_meta(
        &path,
        &[
            (
                &outgoing,
                br#"{"10016":{"key":"REM-1","new":true},"10018":{"key":"REM-2","match_existing":true}}"#,
            ),
            (&gone, b"1"),
            ("plugin/unknown", b"whatever"),
            ("last_sync/OPS_to_QA", b""),
        ],
    );
    let store = SqliteStore::open(&path).expect("open");
    let mut txn = store.begin().expect("begin");
    let outgoing = txn.outgoing(&conn(REMOTE)).expect("read");
    let flags: Vec<(&str, &str, bool, bool)> = outgoing
        .iter()
        .map(|o| (o.issue.as_str(), o.key.as_str(), o.new, o.match_existing))
        .collect();
    assert_eq!(
        flags,
        [
            ("10016", "REM-1", true, false),
            ("10018", "REM-2", false, true)
        ]
    );
    assert!(
        txn.peer_gone(&conn(REMOTE), &lit::issue_id("20007"))
            .expect("read")
    );
    assert!(
        !txn.peer_gone(&conn(REMOTE), &lit::issue_id("10001"))
            .expect("read")
    );
    assert_eq!(
        txn.last_sync(&conn("OPS_to_QA")).expect("read"),
        None,
        "an empty time, as 0.1 could write, is no time"
    );
    drop(txn);
    drop(store);
    assert!(!has_table(&path, "meta"));
}

#[test]
fn an_unreadable_v0_1_link_stops_the_migration_without_quoting_it() {
    let (_dir, path) = v0_1_file();
    let key = format!("remote/{REMOTE}/link");
    add_meta(
        &path,
        &[(
            &key,
            br#"{"role":"initiator","code":"twinsync-invite-TOPSECRET""#,
        )],
    );
    let text = refused(&path);
    assert!(
        text.contains("cannot migrate the database from schema version 1 to 2"),
        "{text}"
    );
    assert!(text.contains(&key), "names the key: {text}");
    assert!(
        !text.contains("TOPSECRET"),
        "never quotes the value: {text}"
    );
    assert_eq!(schema_version(&path), 1, "left at version 1");
    assert!(has_table(&path, "meta"), "meta kept");
    assert!(
        !has_table(&path, "peer_links"),
        "the new tables rolled back"
    );
    let state: Vec<u8> = sqlite(&path)
        .query_row(
            "SELECT state FROM twins WHERE connection = 'SUP_to_DEV' AND remote = '10001'",
            [],
            |r| r.get(0),
        )
        .expect("twin");
    assert_ne!(state.first(), Some(&1), "the twin state is still 0.1's");
}

#[test]
fn an_unreadable_v0_1_twin_state_stops_the_migration_naming_the_twin() {
    let (_dir, path) = v0_1_file();
    sqlite(&path)
        .execute(
            "UPDATE twins SET state = x'ff' WHERE connection = 'SUP_to_DEV' AND remote = '10004'",
            [],
        )
        .expect("damage a twin state");
    let text = refused(&path);
    assert!(text.contains("twinsync 0.1 format"), "{text}");
    assert!(text.contains("SUP_to_DEV"), "names the connection: {text}");
    assert!(text.contains("10004"), "names the issue: {text}");
    assert_eq!(schema_version(&path), 1);
}

#[test]
fn a_node_on_a_migrated_v0_1_file_syncs_without_duplicates() {
    use std::time::Duration;
    use twinsync::clock::ManualClock;
    use twinsync::engine::Node;
    use twinsync::model::UserRef;
    use twinsync::testkit::block_on;
    use twinsync::tracker::{IssueUpdate, MemoryTracker, NewComment, Tracker};

    let (_dir, path) = v0_1_file();
    let clock = Arc::new(ManualClock::default());
    // Past everything the 0.1 node did (its clock stopped at 0:10:20).
    clock.advance(Duration::from_secs(3_600));
    let tracker = MemoryTracker::load(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v0_1_tracker_a.json"),
        clock.clone(),
    )
    .expect("the 0.1 node's tracker");
    let human = tracker.as_user(UserRef::new(lit::user_id("alice"), "Alice"));
    let store = Arc::new(SqliteStore::open(&path).expect("migrate"));
    let node = block_on(
        Node::builder()
            .tracker(Arc::new(tracker.clone()))
            .store(store.clone())
            .clock(clock.clone())
            .options(twinsync::testkit::rig::test_options())
            .node_key(twinsync::testkit::node_key("v0.1 node"))
            .build(),
    )
    .expect("a node starts on the migrated file");
    let issues = |project: &str| tracker.inspect_issues(&lit::project(project));
    assert_eq!(issues("DEV").len(), 3);

    // What the panel shows came through the migration.
    let local = conn("SUP_to_DEV");
    let panel = node.status(&local).expect("status");
    assert_eq!(panel.twins, 3);
    assert_eq!(panel.last_sync, Some(datetime!(2026-01-01 0:10:20 UTC)));
    assert_eq!(node.conflicts(&local).expect("conflicts").len(), 1);
    assert_eq!(
        node.rule_history(&conn("OPS_to_QA")).expect("rules").active,
        Some(1)
    );
    assert!(node.project_level_policy().expect("policy").enabled);
    assert_eq!(node.invitations().expect("invitations").len(), 2);

    // A user edits SUP-1 and comments on it: the change reaches DEV-1, and
    // no issue is created again.
    let sup1 = tracker.inspect_issue(&lit::key("SUP-1")).expect("SUP-1");
    let update = IssueUpdate {
        summary: Some("Printer on fire, again".into()),
        ..IssueUpdate::default()
    };
    block_on(human.update_issue(&sup1.id, &update)).expect("edit");
    block_on(human.add_comment(&sup1.id, &NewComment::public("third comment"))).expect("comment");
    for _ in 0..3 {
        clock.advance(Duration::from_secs(120));
        block_on(node.sync(&local)).expect("sync");
    }
    let dev1 = tracker.inspect_issue(&lit::key("DEV-1")).expect("DEV-1");
    assert_eq!(dev1.summary, "Printer on fire, again");
    let bodies: Vec<String> = dev1
        .comments
        .iter()
        .map(twinsync::testkit::said::said)
        .collect();
    assert_eq!(
        bodies,
        ["first comment", "second comment", "third comment"],
        "the two migrated comment links hold: only the new comment is added"
    );
    assert_eq!(issues("DEV").len(), 3, "no twin created twice");
    assert_eq!(issues("SUP").len(), 3);

    // The interrupted bulk exalate starts over and skips what it had done.
    let report = block_on(node.bulk_exalate(&conn("OPS_to_QA"), "project = OPS", |_| {}))
        .expect("bulk exalate");
    assert!(!report.resumed, "0.1's progress could not be carried over");
    assert_eq!((report.synced, report.skipped), (1, 2), "{report:?}");
    assert_eq!(issues("QA").len(), 3, "one twin per OPS issue");
    assert_eq!(
        store
            .begin()
            .expect("begin")
            .node_record()
            .expect("node record")
            .starts,
        2,
        "the start count went on from 0.1's"
    );
}
