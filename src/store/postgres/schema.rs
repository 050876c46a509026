//! The tables, in a schema of their own, and how a schema reaches the
//! current version.
//!
//! A twinsync schema has a `schema_version` table with one row. [`STEPS`]
//! lists the steps from version 0 (an empty schema) up; all the steps a
//! start needs run in one transaction with the new version number, under
//! the store's migration lock, so two nodes starting together do not both
//! migrate, and a failure leaves the schema as it was. A change to the
//! schema is a new step at the end, never an edit of an old one.
//!
//! The tables and columns are those of the SQLite store's current version
//! (the same record encodings), with PostgreSQL's types; text compares
//! byte by byte (`COLLATE "C"`), so listings come in the same order as from
//! every other store.

use tokio_postgres::Client;

use crate::error::{Error, ErrorKind, Result};

use super::connect::{block_on, quoted};
use super::error::storage;

/// The schema version this code writes.
pub(super) const CURRENT: u32 = 2;

/// Every step, oldest first: `(version after the step, its statements)`.
pub(super) const STEPS: &[(u32, &str)] = &[(1, V1), (2, V2)];

/// Version 1: a table per record kind, keyed for the store's lookups.
const V1: &str = r#"
CREATE TABLE schema_version (
    version INTEGER NOT NULL
);

CREATE TABLE connections (
    id     TEXT COLLATE "C" PRIMARY KEY,
    name   TEXT NOT NULL,
    config TEXT NOT NULL
);

-- `state` is TwinState::to_bytes: read and written whole. The keys, in
-- ASCII upper case, answer key searches from their indexes.
CREATE TABLE twins (
    connection TEXT COLLATE "C" NOT NULL,
    remote     TEXT COLLATE "C" NOT NULL,
    local      TEXT COLLATE "C",
    state      BYTEA NOT NULL,
    remote_key TEXT COLLATE "C" NOT NULL,
    local_key  TEXT COLLATE "C",
    PRIMARY KEY (connection, remote)
);
-- I4: one twin per local issue per connection (NULLs do not collide).
CREATE UNIQUE INDEX twins_local ON twins (connection, local);
CREATE INDEX twins_remote_key ON twins (connection, remote_key);
CREATE INDEX twins_local_key ON twins (connection, local_key);

-- The twins of each connection, kept by the trigger below: the status
-- panel reads a row instead of counting a million.
CREATE TABLE twin_counts (
    connection TEXT COLLATE "C" PRIMARY KEY,
    twins      BIGINT NOT NULL
);
CREATE FUNCTION count_twins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO twin_counts (connection, twins) VALUES (NEW.connection, 1)
        ON CONFLICT (connection) DO UPDATE SET twins = twin_counts.twins + 1;
    ELSE
        UPDATE twin_counts SET twins = twins - 1 WHERE connection = OLD.connection;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER twins_counted AFTER INSERT OR DELETE ON twins
    FOR EACH ROW EXECUTE FUNCTION count_twins();

CREATE TABLE intents (
    id         TEXT COLLATE "C" PRIMARY KEY,
    connection TEXT COLLATE "C" NOT NULL,
    created_ns BIGINT NOT NULL,
    record     TEXT NOT NULL
);
CREATE INDEX intents_connection ON intents (connection, created_ns, id);

-- An identity is never handed out twice.
CREATE TABLE queue (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection TEXT COLLATE "C" NOT NULL,
    issue      TEXT COLLATE "C" NOT NULL,
    project    TEXT NOT NULL,
    queued     TEXT NOT NULL,
    UNIQUE (connection, issue)
);
CREATE INDEX queue_connection ON queue (connection, seq);

CREATE TABLE errors (
    connection TEXT COLLATE "C" NOT NULL,
    issue      TEXT COLLATE "C" NOT NULL,
    record     TEXT NOT NULL,
    PRIMARY KEY (connection, issue)
);

CREATE TABLE watermarks (
    connection TEXT COLLATE "C" NOT NULL,
    project    TEXT COLLATE "C" NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (connection, project)
);

CREATE TABLE last_sync (
    connection TEXT COLLATE "C" PRIMARY KEY,
    at         TEXT NOT NULL
);

CREATE TABLE conflicts (
    connection TEXT COLLATE "C" NOT NULL,
    origin     TEXT COLLATE "C" NOT NULL,
    record     TEXT NOT NULL,
    PRIMARY KEY (connection, origin)
);

-- The code is a secret: a column of its own, never in a message.
CREATE TABLE peer_links (
    connection TEXT COLLATE "C" PRIMARY KEY,
    record     TEXT NOT NULL,
    code       BYTEA NOT NULL
);

CREATE TABLE seq_marks (
    connection TEXT COLLATE "C" NOT NULL,
    mark       TEXT COLLATE "C" NOT NULL,
    issue      TEXT COLLATE "C" NOT NULL,
    value      BIGINT NOT NULL,
    PRIMARY KEY (connection, mark, issue)
);

CREATE TABLE peer_gone (
    connection TEXT COLLATE "C" NOT NULL,
    issue      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (connection, issue)
);

CREATE TABLE origins (
    connection TEXT COLLATE "C" NOT NULL,
    issue      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (connection, issue)
);

CREATE TABLE outgoing (
    connection     TEXT COLLATE "C" NOT NULL,
    issue          TEXT COLLATE "C" NOT NULL,
    key            TEXT NOT NULL,
    new            BOOLEAN NOT NULL,
    match_existing BOOLEAN NOT NULL,
    PRIMARY KEY (connection, issue)
);

CREATE TABLE invitations (
    connection TEXT COLLATE "C" PRIMARY KEY,
    code       BYTEA NOT NULL,
    state      TEXT NOT NULL
);

CREATE TABLE rule_histories (
    connection TEXT COLLATE "C" PRIMARY KEY,
    record     TEXT NOT NULL
);

CREATE TABLE bulk_progress (
    connection TEXT COLLATE "C" NOT NULL,
    query      TEXT COLLATE "C" NOT NULL,
    next_page  TEXT NOT NULL,
    PRIMARY KEY (connection, query)
);

CREATE TABLE node (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    record TEXT NOT NULL
);

-- `issue` is NULL for notices; a replica replaces the waiting one of its issue.
CREATE TABLE outbox (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection TEXT COLLATE "C" NOT NULL,
    issue      TEXT COLLATE "C",
    body       TEXT NOT NULL,
    posted     TEXT NOT NULL
);
CREATE INDEX outbox_connection ON outbox (connection, seq);
CREATE UNIQUE INDEX outbox_issue ON outbox (connection, issue);

CREATE TABLE peer_outages (
    connection TEXT COLLATE "C" PRIMARY KEY,
    record     TEXT NOT NULL
);
"#;

/// Version 2: what several workers on one schema share. Leases (who holds
/// a piece of work until when, `until_ns` in nanoseconds since the Unix
/// epoch), their epochs from a sequence (never given twice, even by a
/// rolled-back transaction), and the rate-limit holds of each tracker.
const V2: &str = r#"
CREATE TABLE leases (
    name     TEXT COLLATE "C" PRIMARY KEY,
    holder   TEXT NOT NULL,
    epoch    BIGINT NOT NULL,
    until_ns BIGINT NOT NULL
);
CREATE SEQUENCE lease_epochs;

CREATE TABLE holds (
    name     TEXT COLLATE "C" PRIMARY KEY,
    until_ns BIGINT NOT NULL
);
"#;

/// The tables a schema at [`CURRENT`] has.
const TABLES: &[&str] = &[
    "bulk_progress",
    "conflicts",
    "connections",
    "errors",
    "holds",
    "intents",
    "invitations",
    "last_sync",
    "leases",
    "node",
    "origins",
    "outbox",
    "outgoing",
    "peer_gone",
    "peer_links",
    "peer_outages",
    "queue",
    "rule_histories",
    "schema_version",
    "seq_marks",
    "twin_counts",
    "twins",
    "watermarks",
];

/// Creates the schema when missing, refuses one of another program or of a
/// newer twinsync, runs the steps above its version, and checks that every
/// table is there: in one transaction under the migration lock `lock`.
pub(super) fn prepare(
    client: &Client,
    name: &str,
    schema: &str,
    lock: (i32, i32),
    steps: &[(u32, &str)],
) -> Result<()> {
    let fail = |doing: &str| {
        let doing = doing.to_owned();
        move |e| storage(name, &doing, e)
    };
    block_on(client.batch_execute("BEGIN"))
        .map_err(fail("cannot start the schema's transaction"))?;
    let prepared = (|| {
        block_on(client.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&lock.0, &lock.1]))
            .map_err(fail("cannot take the migration lock"))?;
        let exists =
            block_on(client.query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema]))
                .map_err(fail("cannot read the database's schemas"))?;
        if exists.is_none() {
            block_on(client.batch_execute(&format!("CREATE SCHEMA {}", quoted(schema))))
                .map_err(fail(&format!("cannot create schema {schema}")))?;
        }
        let tables = tables(client, name, schema)?;
        let found = if tables.iter().any(|t| t == "schema_version") {
            let row = block_on(client.query_opt("SELECT version FROM schema_version", &[]))
                .map_err(fail("cannot read the schema version"))?;
            let version: i32 = match row {
                Some(r) => r
                    .try_get(0)
                    .map_err(fail("cannot read the schema version"))?,
                None => 0,
            };
            match u32::try_from(version) {
                Ok(v) if v <= CURRENT => v,
                _ => {
                    return Err(refuse(format!(
                        "schema {schema} of database {name} has schema version {version}, \
                         newer than version {CURRENT} that this twinsync supports; \
                         run a newer twinsync"
                    )));
                }
            }
        } else if tables.is_empty() {
            0
        } else {
            let shown: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
            return Err(refuse(format!(
                "schema {schema} of database {name} holds tables of another program ({}{}); \
                 give twinsync a schema of its own",
                shown.join(", "),
                if tables.len() > 5 { ", …" } else { "" }
            )));
        };
        for (to, sql) in steps.iter().filter(|(to, _)| *to > found) {
            block_on(client.batch_execute(sql)).map_err(fail(&format!(
                "cannot migrate the schema from version {found} to {to}"
            )))?;
            let to = i32::try_from(*to).unwrap_or(i32::MAX);
            block_on(client.execute("DELETE FROM schema_version", &[]))
                .and_then(|_| {
                    block_on(
                        client.execute("INSERT INTO schema_version (version) VALUES ($1)", &[&to]),
                    )
                })
                .map_err(fail("cannot write the schema version"))?;
            tracing::info!(database = name, schema, from = found, to, "migrated");
        }
        verify(client, name, schema)
    })();
    match prepared {
        Ok(()) => block_on(client.batch_execute("COMMIT"))
            .map_err(fail("cannot commit the schema's transaction")),
        Err(e) => {
            if let Err(rollback) = block_on(client.batch_execute("ROLLBACK")) {
                tracing::warn!(database = name, error = %rollback, "rollback failed");
            }
            Err(e)
        }
    }
}

/// Checks that a schema at [`CURRENT`] has all its tables.
fn verify(client: &Client, name: &str, schema: &str) -> Result<()> {
    let tables = tables(client, name, schema)?;
    let missing: Vec<&str> = TABLES
        .iter()
        .copied()
        .filter(|t| !tables.iter().any(|have| have == t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(refuse(format!(
        "schema {schema} of database {name} lacks table(s) {}: it was changed outside \
         twinsync; restore it from a backup",
        missing.join(", ")
    )))
}

fn refuse(message: String) -> Error {
    Error::new(ErrorKind::Storage, message)
}

/// The tables of `schema`, by name.
fn tables(client: &Client, name: &str, schema: &str) -> Result<Vec<String>> {
    let rows = block_on(client.query(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = $1 ORDER BY table_name",
        &[&schema],
    ))
    .map_err(|e| storage(name, "cannot read the schema's tables", e))?;
    rows.iter()
        .map(|r| {
            r.try_get(0)
                .map_err(|e| storage(name, "cannot read the schema's tables", e))
        })
        .collect()
}
