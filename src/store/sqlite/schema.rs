//! The tables, and how a file reaches the current schema version.
//!
//! A twinsync state file carries [`APPLICATION_ID`] in SQLite's
//! `application_id` header field and its schema version in `user_version`.
//! [`MIGRATIONS`] lists the steps from version 0 (an empty file) up; each
//! step runs in its own transaction together with the new version number, so
//! a crash mid-migration leaves the file at the previous version. A change to
//! the schema is a new step at the end, never an edit of an old one.
//!
//! A step is SQL, optionally followed by Rust ([`Migration::rust`]) for what
//! SQL cannot do (re-encoding values); both run in the step's transaction.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{Error, ErrorKind, Result};

use super::error::storage;

/// "twsn": marks a SQLite file as a twinsync state file.
pub(super) const APPLICATION_ID: i32 = 0x7477_736e;

/// The schema version this code writes.
pub(super) const CURRENT: u32 = 4;

/// Rust run inside a migration step's transaction, after its SQL; the
/// database's name is for messages. Its errors must never hold a stored
/// value (values may be secrets).
pub(super) type RustStep = fn(&Transaction<'_>, &str) -> Result<()>;

/// One forward step: what takes a file from version `to - 1` to `to`.
#[derive(Debug)]
pub(super) struct Migration {
    /// The version after the step.
    pub(super) to: u32,
    /// The statements, run first.
    pub(super) sql: &'static str,
    /// Then this, in the same transaction.
    pub(super) rust: Option<RustStep>,
}

/// Every step, oldest first; the last one is at [`CURRENT`].
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        to: 1,
        sql: V1,
        rust: None,
    },
    Migration {
        to: 2,
        sql: V2,
        rust: Some(super::v0_1::migrate),
    },
    Migration {
        to: 3,
        sql: V3,
        rust: None,
    },
    Migration {
        to: 4,
        sql: V4,
        rust: Some(super::listing::fill_keys),
    },
];

/// Version 1: a table per record kind, keyed for the store's lookups.
const V1: &str = "
CREATE TABLE connections (
    id     TEXT PRIMARY KEY NOT NULL,
    name   TEXT NOT NULL,
    config TEXT NOT NULL
) WITHOUT ROWID;

-- `state` is TwinState::to_bytes (postcard): read and written whole.
CREATE TABLE twins (
    connection TEXT NOT NULL,
    remote     TEXT NOT NULL,
    local      TEXT,
    state      BLOB NOT NULL,
    PRIMARY KEY (connection, remote)
) WITHOUT ROWID;
-- I4, enforced by SQLite: one twin per local issue per connection (NULLs,
-- twins whose issue is not created yet, do not collide).
CREATE UNIQUE INDEX twins_local ON twins (connection, local);

-- `record` is the Intent as JSON; `created_ns` orders them.
CREATE TABLE intents (
    id         TEXT PRIMARY KEY NOT NULL,
    connection TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    record     TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX intents_connection ON intents (connection, created_ns, id);

-- AUTOINCREMENT: a sequence number is never handed out twice.
CREATE TABLE queue (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    connection TEXT NOT NULL,
    issue      TEXT NOT NULL,
    project    TEXT NOT NULL,
    queued     TEXT NOT NULL,
    UNIQUE (connection, issue)
);
CREATE INDEX queue_connection ON queue (connection, seq);

-- `record` is the TwinError as JSON.
CREATE TABLE errors (
    connection TEXT NOT NULL,
    issue      TEXT NOT NULL,
    record     TEXT NOT NULL,
    PRIMARY KEY (connection, issue)
) WITHOUT ROWID;

CREATE TABLE watermarks (
    connection TEXT NOT NULL,
    project    TEXT NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (connection, project)
) WITHOUT ROWID;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
) WITHOUT ROWID;
";

/// Version 2: a table per record that version 1 kept in `meta` (which
/// `v0_1::migrate` moves, then drops); twin states gain a format byte.
/// Secrets (invitation codes) sit in `code` columns of their own, apart from
/// the JSON `record`s, so that no parse error can quote them.
const V2: &str = "
CREATE TABLE last_sync (
    connection TEXT PRIMARY KEY NOT NULL,
    at         TEXT NOT NULL
) WITHOUT ROWID;

-- `record` is the JSON list of the twin's conflicts (never empty).
CREATE TABLE conflicts (
    connection TEXT NOT NULL,
    origin     TEXT NOT NULL,
    record     TEXT NOT NULL,
    PRIMARY KEY (connection, origin)
) WITHOUT ROWID;

-- `record` is the PeerLink as JSON without its code.
CREATE TABLE peer_links (
    connection TEXT PRIMARY KEY NOT NULL,
    record     TEXT NOT NULL,
    code       TEXT NOT NULL
) WITHOUT ROWID;

-- `mark` is sent, applied or acked; `issue` is '' for sent. `value` holds
-- the u64 bit for bit (above i64::MAX it reads negative in SQL).
CREATE TABLE seq_marks (
    connection TEXT NOT NULL,
    mark       TEXT NOT NULL,
    issue      TEXT NOT NULL,
    value      INTEGER NOT NULL,
    PRIMARY KEY (connection, mark, issue)
) WITHOUT ROWID;

CREATE TABLE peer_gone (
    connection TEXT NOT NULL,
    issue      TEXT NOT NULL,
    PRIMARY KEY (connection, issue)
) WITHOUT ROWID;

-- This node's issues that are the origin of their twin (remote connections).
CREATE TABLE origins (
    connection TEXT NOT NULL,
    issue      TEXT NOT NULL,
    PRIMARY KEY (connection, issue)
) WITHOUT ROWID;

CREATE TABLE outgoing (
    connection     TEXT NOT NULL,
    issue          TEXT NOT NULL,
    key            TEXT NOT NULL,
    new            INTEGER NOT NULL,
    match_existing INTEGER NOT NULL,
    PRIMARY KEY (connection, issue)
) WITHOUT ROWID;

-- `state` is the InvitationState as JSON.
CREATE TABLE invitations (
    connection TEXT PRIMARY KEY NOT NULL,
    code       TEXT NOT NULL,
    state      TEXT NOT NULL
) WITHOUT ROWID;

-- `record` is the RuleHistory as JSON.
CREATE TABLE rule_histories (
    connection TEXT PRIMARY KEY NOT NULL,
    record     TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE bulk_progress (
    connection TEXT NOT NULL,
    query      TEXT NOT NULL,
    next_page  TEXT NOT NULL,
    PRIMARY KEY (connection, query)
) WITHOUT ROWID;

-- One row: the NodeRecord as JSON.
CREATE TABLE node (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    record TEXT NOT NULL
);
";

/// Version 3: the durable outbox of messages waiting for the other node of
/// a remote connection, and the outage of an unreachable other node. Both
/// start empty: version 2 kept waiting messages in memory only.
const V3: &str = "
-- AUTOINCREMENT: a number is never handed out twice, so the other node's
-- 'taken through n' never removes a message posted after it pulled.
-- `issue` is NULL for notices; a replica replaces the waiting one of its issue.
-- `body` is the message as the node-to-node protocol writes it (JSON).
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    connection TEXT NOT NULL,
    issue      TEXT,
    body       TEXT NOT NULL,
    posted     TEXT NOT NULL
);
CREATE INDEX outbox_connection ON outbox (connection, seq);
CREATE UNIQUE INDEX outbox_issue ON outbox (connection, issue);

-- `record` is the PeerOutage as JSON.
CREATE TABLE peer_outages (
    connection TEXT PRIMARY KEY NOT NULL,
    record     TEXT NOT NULL
) WITHOUT ROWID;
";

/// Version 4: what the status panel asks without reading every twin. Both
/// keys of a twin in indexed columns (ASCII upper case, so a search ignoring
/// case is a range; filled from the states by `listing::fill_keys`), and the
/// number of twins per connection, kept by triggers on every insert and
/// delete (a count of a million rows would read a million index entries).
const V4: &str = "
ALTER TABLE twins ADD COLUMN remote_key TEXT;
ALTER TABLE twins ADD COLUMN local_key TEXT;
CREATE INDEX twins_remote_key ON twins (connection, remote_key);
CREATE INDEX twins_local_key ON twins (connection, local_key);

CREATE TABLE twin_counts (
    connection TEXT PRIMARY KEY NOT NULL,
    twins      INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO twin_counts (connection, twins)
    SELECT connection, count(*) FROM twins GROUP BY connection;
CREATE TRIGGER twins_counted AFTER INSERT ON twins BEGIN
    INSERT INTO twin_counts (connection, twins) VALUES (new.connection, 1)
        ON CONFLICT (connection) DO UPDATE SET twins = twins + 1;
END;
CREATE TRIGGER twins_uncounted AFTER DELETE ON twins BEGIN
    UPDATE twin_counts SET twins = twins - 1 WHERE connection = old.connection;
END;
";

/// The tables a file at [`CURRENT`] has.
const TABLES: &[&str] = &[
    "bulk_progress",
    "conflicts",
    "connections",
    "errors",
    "intents",
    "invitations",
    "last_sync",
    "node",
    "origins",
    "outbox",
    "outgoing",
    "peer_gone",
    "peer_links",
    "peer_outages",
    "queue",
    "rule_histories",
    "seq_marks",
    "twin_counts",
    "twins",
    "watermarks",
];

/// What a file holds before the store uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Found {
    /// Nothing: a new or empty file.
    Empty,
    /// A twinsync state file at this schema version.
    Version(u32),
}

/// Reads what `conn` holds without changing it, and refuses SQLite
/// databases of other programs and state files newer than `newest`.
pub(super) fn identify(conn: &Connection, name: &str, newest: u32) -> Result<Found> {
    let read = |e| storage(name, "cannot read the database header", e);
    let app: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(read)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(read)?;
    let tables = tables(conn, name)?;
    if app == APPLICATION_ID {
        return match u32::try_from(version) {
            Ok(v) if v <= newest => Ok(Found::Version(v)),
            _ => Err(refuse(format!(
                "database {name} has schema version {version}, newer than version {newest} \
                     that this twinsync supports; open it with a newer twinsync"
            ))),
        };
    }
    if app == 0 && version == 0 && tables.is_empty() {
        return Ok(Found::Empty);
    }
    let what = if tables.is_empty() {
        format!("application id {app:#x}, no tables")
    } else {
        let shown: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
        let more = if tables.len() > shown.len() {
            format!(" and {} more", tables.len() - shown.len())
        } else {
            String::new()
        };
        format!("it has tables {}{more}", shown.join(", "))
    };
    Err(refuse(format!(
        "{name} is a SQLite database of another program, not a twinsync state file \
             ({what}); give twinsync the path of its state file or of a new file"
    )))
}

/// Runs every step of `steps` above the version `found`, each in its own
/// transaction.
pub(super) fn migrate(
    conn: &mut Connection,
    name: &str,
    found: Found,
    steps: &[Migration],
) -> Result<()> {
    let found = match found {
        Found::Empty => 0,
        Found::Version(v) => v,
    };
    let mut version = found;
    for step in steps.iter().filter(|s| s.to > found) {
        let failed = |e| {
            storage(
                name,
                &format!(
                    "cannot migrate the database from schema version {version} to {}",
                    step.to
                ),
                e,
            )
        };
        let txn = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed)?;
        txn.execute_batch(step.sql).map_err(failed)?;
        if let Some(rust) = step.rust {
            rust(&txn, name).map_err(|e| {
                let mut err = Error::new(
                    ErrorKind::Storage,
                    format!(
                        "cannot migrate the database from schema version {version} to {}: {}",
                        step.to,
                        e.message()
                    ),
                );
                for (key, value) in e.context() {
                    err = err.with_context(key, value);
                }
                if err.context_value("database").is_none() {
                    err = err.with_context("database", name);
                }
                err.with_source(e)
            })?;
        }
        txn.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(failed)?;
        txn.pragma_update(None, "user_version", step.to)
            .map_err(failed)?;
        txn.commit().map_err(failed)?;
        tracing::info!(database = name, from = version, to = step.to, "migrated");
        version = step.to;
    }
    Ok(())
}

/// Checks that a file at [`CURRENT`] has all its tables (none was dropped
/// by hand).
pub(super) fn verify(conn: &Connection, name: &str) -> Result<()> {
    let tables = tables(conn, name)?;
    let missing: Vec<&str> = TABLES
        .iter()
        .copied()
        .filter(|t| !tables.iter().any(|have| have == t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(refuse(format!(
        "database {name} lacks table(s) {}: it was changed outside twinsync; \
             restore it from a backup or move it aside",
        missing.join(", ")
    )))
}

/// A file twinsync does not use; the message names it.
fn refuse(message: String) -> Error {
    Error::new(ErrorKind::Storage, message)
}

/// The names of the tables in `conn`, SQLite's own left out.
fn tables(conn: &Connection, name: &str) -> Result<Vec<String>> {
    let read = |e| storage(name, "cannot read the database schema", e);
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_schema \
             WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )
        .map_err(read)?;
    let names = stmt
        .query_map([], |r| r.get(0))
        .map_err(read)?
        .collect::<rusqlite::Result<Vec<String>>>()
        .map_err(read)?;
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    const STEPS: &[Migration] = &[
        Migration {
            to: 1,
            sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);",
            rust: None,
        },
        Migration {
            to: 2,
            sql: "ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;",
            rust: None,
        },
    ];

    fn version(conn: &Connection) -> u32 {
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version")
    }

    #[test]
    fn an_older_file_is_migrated_forward_and_keeps_its_data() {
        let mut conn = Connection::open_in_memory().expect("open");
        let found = identify(&conn, "t.db", 1).expect("identify");
        assert_eq!(found, Found::Empty);
        migrate(&mut conn, "t.db", found, &STEPS[..1]).expect("to v1");
        conn.execute("INSERT INTO notes (text) VALUES ('kept')", [])
            .expect("write at v1");

        let found = identify(&conn, "t.db", 2).expect("identify");
        assert_eq!(found, Found::Version(1));
        migrate(&mut conn, "t.db", found, STEPS).expect("to v2");
        assert_eq!(version(&conn), 2);
        let (text, pinned): (String, i64) = conn
            .query_row("SELECT text, pinned FROM notes", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("the row survived with the new column");
        assert_eq!((text.as_str(), pinned), ("kept", 0));
    }

    #[test]
    fn a_failing_step_leaves_the_previous_version() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn, "t.db", Found::Empty, &STEPS[..1]).expect("to v1");
        let broken = [Migration {
            to: 2,
            sql: "ALTER TABLE notes ADD COLUMN a INTEGER; ALTER TABLE nope ADD COLUMN b INTEGER;",
            rust: None,
        }];
        let err = migrate(&mut conn, "t.db", Found::Version(1), &broken).expect_err("fails");
        assert_eq!(err.kind(), ErrorKind::Storage);
        assert!(
            err.to_string()
                .starts_with("cannot migrate the database from schema version 1 to 2"),
            "{err}"
        );
        assert_eq!(version(&conn), 1);
        let columns: i64 = conn
            .query_row("SELECT count(*) FROM pragma_table_info('notes')", [], |r| {
                r.get(0)
            })
            .expect("columns");
        assert_eq!(columns, 2, "the step's first statement was rolled back");
    }

    fn copy_notes(txn: &Transaction<'_>, name: &str) -> Result<()> {
        txn.execute_batch("INSERT INTO archive (text) SELECT text FROM notes; DROP TABLE notes;")
            .map_err(|e| storage(name, "cannot archive notes", e))
    }

    fn refuse_notes(txn: &Transaction<'_>, _: &str) -> Result<()> {
        txn.execute_batch("INSERT INTO archive (text) VALUES ('half done')")
            .expect("a first write");
        Err(Error::new(ErrorKind::Storage, "note 7 is unreadable").with_context("note", 7))
    }

    #[test]
    fn a_rust_step_runs_after_its_sql_in_the_same_transaction() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn, "t.db", Found::Empty, &STEPS[..1]).expect("to v1");
        conn.execute("INSERT INTO notes (text) VALUES ('kept')", [])
            .expect("write at v1");
        let step = [Migration {
            to: 2,
            sql: "CREATE TABLE archive (text TEXT NOT NULL);",
            rust: Some(copy_notes),
        }];
        migrate(&mut conn, "t.db", Found::Version(1), &step).expect("to v2");
        assert_eq!(version(&conn), 2);
        let text: String = conn
            .query_row("SELECT text FROM archive", [], |r| r.get(0))
            .expect("moved by the rust step");
        assert_eq!(text, "kept");
    }

    #[test]
    fn a_failing_rust_step_rolls_back_its_sql_and_names_what_failed() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn, "t.db", Found::Empty, &STEPS[..1]).expect("to v1");
        let step = [Migration {
            to: 2,
            sql: "CREATE TABLE archive (text TEXT NOT NULL);",
            rust: Some(refuse_notes),
        }];
        let err = migrate(&mut conn, "t.db", Found::Version(1), &step).expect_err("fails");
        assert_eq!(err.kind(), ErrorKind::Storage);
        assert_eq!(
            err.to_string(),
            "cannot migrate the database from schema version 1 to 2: note 7 is unreadable \
             (note 7, database t.db)"
        );
        assert_eq!(version(&conn), 1);
        let archive: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'archive'",
                [],
                |r| r.get(0),
            )
            .expect("schema");
        assert_eq!(archive, 0, "the step's table was rolled back");
    }

    #[test]
    fn a_version_3_file_gains_indexed_keys_and_counts_of_its_twins() {
        use crate::model::{ConnectionId, IssueRef};
        use crate::plan::TwinState;
        use crate::testkit::ids as lit;
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn, "t.db", Found::Empty, &MIGRATIONS[..3]).expect("to v3");
        let c = ConnectionId::parse("c1").expect("id");
        let mut twin = TwinState::new(c, IssueRef::new(lit::issue_id("1"), lit::key("sup-1")));
        twin.local = Some(IssueRef::new(lit::issue_id("9"), lit::key("DEV-9")));
        let pending = TwinState::new(
            ConnectionId::parse("c2").expect("id"),
            IssueRef::new(lit::issue_id("2"), lit::key("SUP-2")),
        );
        for (t, local) in [(&twin, Some("9")), (&pending, None)] {
            conn.execute(
                "INSERT INTO twins (connection, remote, local, state) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    t.connection.as_str(),
                    t.remote.id.as_str(),
                    local,
                    t.to_bytes()
                ],
            )
            .expect("write at v3");
        }
        let found = identify(&conn, "t.db", CURRENT).expect("identify");
        migrate(&mut conn, "t.db", found, MIGRATIONS).expect("to v4");
        assert_eq!(version(&conn), 4);
        verify(&conn, "t.db").expect("every table is there");
        let keys: Vec<(String, Option<String>)> = conn
            .prepare("SELECT remote_key, local_key FROM twins ORDER BY remote")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("read");
        assert_eq!(
            keys,
            [
                ("SUP-1".to_owned(), Some("DEV-9".to_owned())),
                ("SUP-2".to_owned(), None)
            ]
        );
        let counts: Vec<(String, i64)> = conn
            .prepare("SELECT connection, twins FROM twin_counts ORDER BY connection")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("read");
        assert_eq!(counts, [("c1".to_owned(), 1), ("c2".to_owned(), 1)]);
    }

    #[test]
    fn a_version_2_file_gains_an_empty_outbox_and_keeps_its_rows() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn, "t.db", Found::Empty, &MIGRATIONS[..2]).expect("to v2");
        conn.execute(
            "INSERT INTO peer_gone (connection, issue) VALUES ('c1', '7')",
            [],
        )
        .expect("write at v2");
        let found = identify(&conn, "t.db", CURRENT).expect("identify");
        assert_eq!(found, Found::Version(2));
        migrate(&mut conn, "t.db", found, &MIGRATIONS[..3]).expect("to v3");
        assert_eq!(version(&conn), 3);
        let kept: i64 = conn
            .query_row("SELECT count(*) FROM peer_gone", [], |r| r.get(0))
            .expect("read");
        assert_eq!(kept, 1, "the rows of version 2 are kept");
        let waiting: i64 = conn
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
            .expect("read");
        assert_eq!(waiting, 0);
    }

    #[test]
    fn the_real_steps_end_at_the_current_version() {
        assert_eq!(MIGRATIONS.last().map(|m| m.to), Some(CURRENT));
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.to as usize, i + 1, "steps are numbered 1, 2, …");
        }
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn, "t.db", Found::Empty, MIGRATIONS).expect("migrate");
        verify(&conn, "t.db").expect("every table is there");
        assert_eq!(
            identify(&conn, "t.db", CURRENT).expect("identify"),
            Found::Version(CURRENT)
        );
    }
}
