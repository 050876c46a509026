//! SQLite's errors as twinsync [`Error`]s: the one place they are mapped.

use rusqlite::ErrorCode;

use crate::error::{Error, ErrorKind};

/// A [`ErrorKind::Storage`] error: `doing` (lowercase, "cannot …") and what
/// SQLite said, in words a user can act on, with the database named in the
/// context and SQLite's error as the source. A locked database is temporary.
pub(super) fn storage(database: &str, doing: &str, err: rusqlite::Error) -> Error {
    let code = err.sqlite_error_code();
    let hint = code.and_then(hint);
    let message = match hint {
        Some(hint) => format!("{doing}: {hint} ({err})"),
        None => format!("{doing}: {err}"),
    };
    let temporary = matches!(
        code,
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    );
    Error::new(ErrorKind::Storage, message)
        .set_temporary(temporary)
        .with_context("database", database)
        .with_source(err)
}

/// A [`ErrorKind::Storage`] error that SQLite did not raise (a stored value
/// twinsync cannot read, say).
pub(super) fn invalid(database: &str, message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Storage, message).with_context("database", database)
}

/// What a user should know about the SQLite error codes that have a cause
/// outside twinsync.
fn hint(code: ErrorCode) -> Option<&'static str> {
    Some(match code {
        ErrorCode::DatabaseCorrupt => {
            "the file is damaged; restore it from a backup or move it aside"
        }
        ErrorCode::NotADatabase => "the file is not a SQLite database",
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
            "another process holds a lock on the database"
        }
        ErrorCode::DiskFull => "the disk is full",
        ErrorCode::ReadOnly => "the database is read-only",
        ErrorCode::CannotOpen => "the file cannot be opened (does its directory exist?)",
        ErrorCode::PermissionDenied => "permission denied",
        ErrorCode::SystemIoFailure => "the operating system reported an i/o error",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_file_is_named_and_explained() {
        let err = storage(
            "/var/lib/twinsync/state.db",
            "cannot read twin",
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
                None,
            ),
        );
        assert_eq!(err.kind(), ErrorKind::Storage);
        assert!(!err.is_temporary());
        let text = err.to_string();
        assert!(
            text.starts_with("cannot read twin: the file is damaged"),
            "{text}"
        );
        assert!(
            text.contains("(database /var/lib/twinsync/state.db)"),
            "{text}"
        );
    }

    #[test]
    fn a_locked_database_is_temporary() {
        let err = storage(
            "state.db",
            "cannot start a transaction",
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                None,
            ),
        );
        assert!(err.is_temporary());
        assert!(err.to_string().contains("another process holds a lock"));
    }
}
