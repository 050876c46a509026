//! PostgreSQL's errors as twinsync [`Error`]s: the one place they are mapped.

use tokio_postgres::error::SqlState;

use crate::error::{Error, ErrorKind};

/// A [`ErrorKind::Storage`] error: `doing` (lowercase, "cannot …") and what
/// the server or the client said, with a hint a user can act on, the
/// database named in the context and the client's error as the source.
/// Lost connections, lock waits, serialization failures and a server that
/// is starting or stopping are temporary.
pub(super) fn storage(database: &str, doing: &str, err: tokio_postgres::Error) -> Error {
    let said = match err.as_db_error() {
        // The server's own words (the client's Display adds "db error:").
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        // The client's words, and the cause it names (a TLS handshake's
        // reason, an i/o error).
        None => match std::error::Error::source(&err) {
            Some(cause) => format!("{err}: {cause}"),
            None => err.to_string(),
        },
    };
    let (hint, temporary) = match err.code() {
        Some(code) => hint(code),
        None if err.is_closed() => (Some("the connection to the server was lost"), true),
        // No answer from the server: i/o, a timeout, a refused connection.
        None => (None, true),
    };
    let message = match hint {
        Some(hint) => format!("{doing}: {hint} ({said})"),
        None => format!("{doing}: {said}"),
    };
    Error::new(ErrorKind::Storage, message)
        .set_temporary(temporary)
        .with_context("database", database)
        .with_source(err)
}

/// A [`ErrorKind::Storage`] error the server did not raise (a stored value
/// twinsync cannot read, say).
pub(super) fn invalid(database: &str, message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Storage, message).with_context("database", database)
}

/// What a user should know about a server error code, and whether trying
/// again later may succeed.
fn hint(code: &SqlState) -> (Option<&'static str>, bool) {
    let temporary = [
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::LOCK_NOT_AVAILABLE,
        SqlState::ADMIN_SHUTDOWN,
        SqlState::CRASH_SHUTDOWN,
        SqlState::CANNOT_CONNECT_NOW,
        SqlState::TOO_MANY_CONNECTIONS,
        SqlState::QUERY_CANCELED,
    ];
    if temporary.contains(code) {
        let hint = if *code == SqlState::LOCK_NOT_AVAILABLE {
            "another transaction held the store too long"
        } else if *code == SqlState::TOO_MANY_CONNECTIONS {
            "the server has no connection to spare"
        } else {
            "the server asked to try again"
        };
        return (Some(hint), true);
    }
    let hint = if *code == SqlState::IN_FAILED_SQL_TRANSACTION {
        "the transaction was rolled back after an earlier error; start a new one"
    } else if *code == SqlState::INVALID_PASSWORD
        || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    {
        "the server refused the user name or password"
    } else if *code == SqlState::INVALID_CATALOG_NAME {
        "the database does not exist"
    } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
        "the database user lacks a privilege"
    } else if *code == SqlState::DISK_FULL {
        "the server's disk is full"
    } else if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
        "the server is read-only (a standby?)"
    } else if *code == SqlState::UNDEFINED_TABLE || *code == SqlState::UNDEFINED_COLUMN {
        "the schema was changed outside twinsync; restore it from a backup"
    } else {
        return (None, false);
    };
    (Some(hint), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_and_lost_servers_are_temporary_the_rest_not() {
        assert!(hint(&SqlState::T_R_SERIALIZATION_FAILURE).1);
        assert!(hint(&SqlState::ADMIN_SHUTDOWN).1);
        let (said, temporary) = hint(&SqlState::INVALID_PASSWORD);
        assert!(!temporary);
        assert_eq!(said, Some("the server refused the user name or password"));
        assert_eq!(hint(&SqlState::SYNTAX_ERROR), (None, false));
    }
}
