//! Connection secrets at rest: sealed with the node key in the SQLite file,
//! refused with a clear error without the key or with another one, sealed
//! once when an older twinsync left them in the clear, and sealed again on
//! key rotation while remote sync goes on.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use twinsync::ErrorKind;
use twinsync::connection::{Connection, NodeKey};
use twinsync::engine::{InitiateRequest, Initiated, Node};
use twinsync::model::UserId;
use twinsync::store::{SqliteStore, Store};
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::remote_rig::RemoteRig;
use twinsync::testkit::rig::test_options;
use twinsync::tracker::{IssueUpdate, MemoryTracker, NewIssue, Tracker};
use twinsync::transport::Transport;

fn ada() -> UserId {
    lit::user_id("ada")
}

/// Starts a node for `tracker` on `store` with `key` (or none), registered
/// on the rig's network.
fn start(
    rig: &RemoteRig,
    tracker: &MemoryTracker,
    store: Arc<dyn Store>,
    key: Option<NodeKey>,
) -> twinsync::Result<Node> {
    let transport: Arc<dyn Transport> = Arc::new(rig.network.clone());
    let mut builder = Node::builder()
        .tracker(Arc::new(tracker.clone()))
        .store(store)
        .clock(rig.clock.clone())
        .options(test_options())
        .transport(transport);
    if let Some(key) = key {
        builder = builder.node_key(key);
    }
    let node = block_on(builder.build())?;
    rig.network
        .register(node.node_url(), Arc::new(node.clone()));
    Ok(node)
}

/// The bytes of a state file and its WAL, as a copy of it would hold them.
fn file_bytes(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).expect("the state file");
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if let Ok(more) = std::fs::read(PathBuf::from(wal)) {
        bytes.extend(more);
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// A connected to B, A on a SQLite file in `dir`; returns the connection,
/// A's store and the code B accepted, plus a pending invitation's code.
fn connected_on_sqlite(
    rig: &mut RemoteRig,
    dir: &Path,
) -> (Connection, Arc<SqliteStore>, String, String) {
    let store = Arc::new(SqliteStore::open(dir.join("state.db")).expect("open"));
    rig.a.node = start(rig, &rig.a.tracker, store.clone(), Some(key_a())).expect("A");
    let initiated = block_on(
        rig.a
            .node
            .admin(&ada())
            .initiate(InitiateRequest::new(lit::project("SUP"))),
    )
    .expect("initiate");
    let Initiated::Invitation { connection, code } = initiated else {
        panic!("an invitation: {initiated:?}");
    };
    block_on(
        rig.b
            .node
            .admin(&ada())
            .accept(code.as_str(), &lit::project("DEV")),
    )
    .expect("accept");
    let pending = block_on(
        rig.a
            .node
            .admin(&ada())
            .initiate(InitiateRequest::new(lit::project("SUP")).name("pending")),
    )
    .expect("a second invitation");
    let Initiated::Invitation { code: waiting, .. } = pending else {
        panic!("an invitation: {pending:?}");
    };
    let conn = rig.a.node.connection(&connection.id).expect("connection");
    (
        conn,
        store,
        code.as_str().to_owned(),
        waiting.as_str().to_owned(),
    )
}

fn key_a() -> NodeKey {
    twinsync::testkit::node_key("https://a.example")
}

/// The part of an invitation code that carries its secret.
fn secret_part(code: &str) -> &str {
    &code[code.len() - 40..]
}

#[test]
fn a_copied_state_file_without_the_key_cannot_give_the_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rig = RemoteRig::new();
    let (conn, store, code, waiting) = connected_on_sqlite(&mut rig, dir.path());
    let path = dir.path().join("state.db");

    // While the node runs, and once it stopped: no code in the file (which
    // the scan does read: the connection's id is there).
    assert!(contains(&file_bytes(&path), conn.id.as_str()));
    for code in [&code, &waiting] {
        let bytes = file_bytes(&path);
        assert!(!contains(&bytes, code), "a code is in the state file");
        assert!(!contains(&bytes, secret_part(code)), "a secret is in it");
    }
    rig.a.node = start(
        &rig,
        &rig.a.tracker,
        Arc::new(twinsync::store::MemoryStore::new()),
        Some(key_a()),
    )
    .expect("A elsewhere");
    drop(store);
    let bytes = file_bytes(&path);
    for code in [&code, &waiting] {
        assert!(
            !contains(&bytes, code),
            "a code is in the closed state file"
        );
        assert!(!contains(&bytes, secret_part(code)), "a secret is in it");
    }

    // The store itself hands out only sealed bytes.
    let copy = dir.path().join("copy.db");
    std::fs::copy(&path, &copy).expect("copy the file");
    let stolen = Arc::new(SqliteStore::open(&copy).expect("the copy opens"));
    {
        let mut txn = stolen.begin().expect("begin");
        let link = txn.peer_link(&conn.id).expect("read").expect("the link");
        assert!(!contains(link.code.as_bytes(), secret_part(&code)));
        for invitation in txn.invitations().expect("read") {
            assert!(!contains(invitation.code.as_bytes(), secret_part(&waiting)));
            assert!(!contains(invitation.code.as_bytes(), secret_part(&code)));
        }
    }
    let starts = |store: &SqliteStore| {
        store
            .begin()
            .expect("begin")
            .node_record()
            .expect("node record")
            .starts
    };
    let before = starts(&stolen);

    // A node on the copy without the key is refused, saying how to set it.
    let err = start(&rig, &rig.a.tracker, stolen.clone(), None).expect_err("no key");
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("sealed with node key {}", key_a().id())),
        "{text}"
    );
    assert!(text.contains("no node key"), "{text}");
    assert!(text.contains("TWINSYNC_NODE_KEY"), "{text}");

    // With another key: refused, naming both key ids; nothing changed.
    let other = NodeKey::generate().expect("a key");
    let err =
        start(&rig, &rig.a.tracker, stolen.clone(), Some(other.clone())).expect_err("wrong key");
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
    assert_eq!(
        err.message(),
        format!(
            "the node key does not match the one these secrets were sealed with (key id {}; \
             this node's key id is {}); start the node with the key it was set up with, or \
             rotate to a new key from a node started with the old one (Node::rotate_node_key); \
             if that key is lost, the secrets are too: move the state file aside and have the \
             other sides join this node again (Admin::reinvite or Admin::rejoin there), which \
             finds the twins again by their markers",
            key_a().id(),
            other.id()
        )
    );
    for code in [&code, &waiting] {
        assert!(!text.contains(code.as_str()));
    }
    assert_eq!(starts(&stolen), before, "a refused start changes nothing");

    // With the right key, the copy is the node again.
    let node = start(&rig, &rig.a.tracker, stolen, Some(key_a())).expect("the right key");
    assert_eq!(node.invitations().expect("invitations").len(), 2);
    assert_eq!(node.node_key_id(), Some(key_a().id()));
}

#[test]
fn rotating_the_key_keeps_remote_sync_working_after_a_restart_with_the_new_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rig = RemoteRig::new();
    let (conn, store, _, _) = connected_on_sqlite(&mut rig, dir.path());
    block_on(rig.a.human.create_issue(&NewIssue::new(
        lit::project("SUP"),
        "Bug",
        "Printer on fire",
    )))
    .expect("create");
    block_on(rig.a.node.exalate(&conn.id, &lit::key("SUP-1"))).expect("exalate");
    assert_eq!(rig.b.issues("DEV").len(), 1);

    let new = NodeKey::generate().expect("a key");
    let sealed = rig.a.node.rotate_node_key(new.clone()).expect("rotate");
    assert_eq!(
        sealed, 4,
        "two links (one pending), two invitations (one used)"
    );
    assert_eq!(rig.a.node.node_key_id(), Some(new.id()));
    // The running node goes on with the new key.
    let update = |summary: &str| IssueUpdate {
        summary: Some(summary.into()),
        ..IssueUpdate::default()
    };
    let sup1 = rig.a.issue("SUP-1");
    block_on(rig.a.human.update_issue(&sup1.id, &update("still on fire"))).expect("edit");
    rig.sync(&conn);
    assert_eq!(rig.b.issue("DEV-1").summary, "still on fire");

    // A restart with the old key is refused, naming both keys.
    let err = start(&rig, &rig.a.tracker, store.clone(), Some(key_a())).expect_err("old key");
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    assert!(err.to_string().contains(&new.id().to_string()), "{err}");
    assert!(err.to_string().contains(&key_a().id().to_string()), "{err}");

    // With the new key, sync goes on both ways.
    rig.a.node = start(&rig, &rig.a.tracker, store, Some(new)).expect("the new key");
    block_on(rig.a.human.update_issue(&sup1.id, &update("fire is out"))).expect("edit");
    let dev1 = rig.b.issue("DEV-1");
    block_on(rig.b.human.update_issue(
        &dev1.id,
        &IssueUpdate {
            description: Some("checked by DEV".into()),
            ..IssueUpdate::default()
        },
    ))
    .expect("edit on B");
    for _ in 0..3 {
        rig.sync(&conn);
    }
    assert_eq!(rig.b.issue("DEV-1").summary, "fire is out");
    assert_eq!(
        rig.a.issue("SUP-1").description.to_plain_text(),
        "checked by DEV"
    );
}

#[test]
fn a_node_without_a_key_keeps_local_connections_and_refuses_remote_ones() {
    let rig = RemoteRig::new();
    let store = Arc::new(twinsync::store::MemoryStore::new());
    let node = start(&rig, &rig.a.tracker, store, None).expect("no key is fine");
    assert_eq!(node.node_key_id(), None);
    let local = block_on(node.admin(&ada()).create_local_connection(
        "SUP",
        "DEV",
        twinsync::engine::LocalConnectionOptions::default(),
    ));
    assert!(local.is_ok(), "{local:?}");

    let err = block_on(
        node.admin(&ada())
            .initiate(InitiateRequest::new(lit::project("SUP"))),
    )
    .expect_err("no key, no remote connection");
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
    let text = err.to_string();
    assert!(text.starts_with("this node has no node key"), "{text}");
    for how in [
        "node_key(NodeKey::from_env(\"TWINSYNC_NODE_KEY\")?)",
        "NodeKey::from_file",
        "openssl rand -hex 32",
    ] {
        assert!(text.contains(how), "{text}");
    }
    assert!(node.invitations().expect("invitations").is_empty());
    assert_eq!(node.connections().expect("connections").len(), 1);

    // Accepting an invitation from a node with a key is refused the same way,
    // before the initiator is contacted.
    let initiated = block_on(
        rig.b
            .node
            .admin(&ada())
            .initiate(InitiateRequest::new(lit::project("DEV"))),
    )
    .expect("B invites");
    let Initiated::Invitation { code, .. } = initiated else {
        panic!("an invitation");
    };
    let err = block_on(
        node.admin(&ada())
            .accept(code.as_str(), &lit::project("SUP")),
    )
    .expect_err("no key");
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
    assert_eq!(
        rig.b.node.invitations().expect("list")[0].status,
        twinsync::connection::InvitationStatus::Pending,
        "the code was not used"
    );
    let err = block_on(
        node.admin(&ada())
            .issue_establish_token(&lit::project("SUP"), std::time::Duration::from_secs(60)),
    )
    .expect_err("no key, no token");
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
}

/// A copy of twinsync 0.1's state file, which holds invitation codes in the
/// clear.
fn v0_1_file(dir: &Path) -> PathBuf {
    let path = dir.join("state.db");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v0_1_state.db"),
        &path,
    )
    .expect("copy the fixture");
    path
}

#[test]
fn secrets_an_older_twinsync_stored_in_the_clear_are_sealed_on_the_first_start_with_a_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = v0_1_file(dir.path());
    let store = Arc::new(SqliteStore::open(&path).expect("migrated"));
    let codes: Vec<String> = {
        let mut txn = store.begin().expect("begin");
        let mut codes: Vec<String> = txn
            .invitations()
            .expect("invitations")
            .iter()
            .map(|i| String::from_utf8(i.code.as_bytes().to_vec()).expect("text"))
            .collect();
        for conn in txn.connections().expect("connections") {
            if let Some(link) = txn.peer_link(&conn.id).expect("read") {
                codes.push(String::from_utf8(link.code.as_bytes().to_vec()).expect("text"));
            }
        }
        codes
    };
    assert_eq!(codes.len(), 4, "two invitations, two links");
    assert!(codes.iter().all(|c| c.starts_with("twinsync-invite-")));

    let clock = Arc::new(twinsync::clock::ManualClock::default());
    let tracker = MemoryTracker::load(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v0_1_tracker_a.json"),
        clock.clone(),
    )
    .expect("the 0.1 node's tracker");
    let build = |key: Option<NodeKey>| {
        let mut builder = Node::builder()
            .tracker(Arc::new(tracker.clone()))
            .store(store.clone())
            .clock(clock.clone())
            .options(test_options());
        if let Some(key) = key {
            builder = builder.node_key(key);
        }
        block_on(builder.build())
    };

    // Without a key: refused, saying how to set one; the file is as it was.
    let err = build(None).expect_err("no key");
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("in the clear, written by an older twinsync"),
        "{text}"
    );
    assert!(text.contains("TWINSYNC_NODE_KEY"), "{text}");
    assert!(
        codes.iter().all(|c| !text.contains(secret_part(c))),
        "{text}"
    );
    {
        let mut txn = store.begin().expect("begin");
        assert!(
            txn.invitations()
                .expect("read")
                .iter()
                .all(|i| i.code.as_bytes().starts_with(b"twinsync-invite-")),
            "still in the clear"
        );
    }

    assert!(
        codes
            .iter()
            .all(|c| contains(&file_bytes(&path), secret_part(c))),
        "in the clear before"
    );

    // With a key: sealed in one go, and the node reads them back.
    let key = NodeKey::generate().expect("key");
    let node = build(Some(key.clone())).expect("sealed on start");
    assert_eq!(node.invitations().expect("invitations").len(), 2);
    drop(node);
    drop(store);
    let bytes = file_bytes(&path);
    for code in &codes {
        assert!(
            !contains(&bytes, secret_part(code)),
            "a secret is still in the file"
        );
    }
    let store = Arc::new(SqliteStore::open(&path).expect("reopen"));
    let err = block_on(
        Node::builder()
            .tracker(Arc::new(tracker.clone()))
            .store(store.clone())
            .clock(clock.clone())
            .build(),
    )
    .expect_err("sealed now: the key is needed");
    assert!(err.to_string().contains(&key.id().to_string()), "{err}");
}

#[test]
fn keys_and_tokens_never_show_in_debug_output() {
    let key = NodeKey::generate().expect("key");
    let text = key.expose_hex();
    let builder = Node::builder().node_key(key.clone());
    for printed in [
        format!("{key:?}"),
        format!("{key:#?}"),
        format!("{builder:?}"),
        format!("{:?}", key.id()),
    ] {
        assert!(!printed.contains(text.as_str()), "{printed}");
        assert!(!printed.contains(&text[..12]), "{printed}");
        assert!(!printed.contains(&text[52..]), "{printed}");
    }
    assert!(format!("{builder:?}").contains(&key.id().to_string()));
}

#[test]
fn a_key_is_read_from_an_environment_variable_or_a_private_file() {
    // Only this test touches this variable.
    let var = "TWINSYNC_NODE_KEY_SECRETS_TEST";
    let key = NodeKey::generate().expect("key");
    // SAFETY: no other thread of this test binary reads or writes `var`.
    unsafe { std::env::set_var(var, format!("{}\n", key.expose_hex().as_str())) };
    assert_eq!(NodeKey::from_env(var).expect("read").id(), key.id());
    unsafe { std::env::set_var(var, "not-a-key") };
    let err = NodeKey::from_env(var).expect_err("not a key");
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    assert!(err.to_string().contains(var), "{err}");
    assert!(!err.to_string().contains("not-a-key"), "{err}");
    unsafe { std::env::remove_var(var) };

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("node.key");
    key.write_new_file(&file).expect("write");
    assert_eq!(NodeKey::from_file(&file).expect("read").id(), key.id());
}
