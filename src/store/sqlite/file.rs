//! The state file before SQLite reads it: the node lock next to it, and a
//! look at its header so that a foreign or truncated file gets a clear error.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// The first 16 bytes of every SQLite database.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// The length of a SQLite database header.
const HEADER: usize = 100;

/// An exclusive OS lock on `<database>.lock`, held while the store lives.
///
/// The OS releases it when the file is closed: when the store is dropped or
/// its process ends, however it ends. So a stale lock file never blocks.
#[derive(Debug)]
pub(super) struct NodeLock {
    _file: File,
}

impl NodeLock {
    /// Takes the lock of the database at `database`, or says who holds it.
    ///
    /// The lock sits next to the file the path resolves to, so two paths to
    /// one file (a symlink, `./` and an absolute path) share one lock.
    pub(super) fn acquire(database: &Path) -> Result<Self> {
        let path = lock_path(&resolve(database));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| {
                io_error(&path, "cannot create the lock file", e)
                    .with_context("database", database.display())
            })?;
        // A lock just released can still be shared for a moment by a child
        // process the holder forked (until the child's exec closes it), so a
        // busy lock is tried again briefly before it counts as another node's.
        let mut attempt = 0;
        let locked = loop {
            match fs4::FileExt::try_lock(&file) {
                Err(fs4::TryLockError::WouldBlock) if attempt < LOCK_ATTEMPTS => {
                    attempt += 1;
                    std::thread::sleep(LOCK_RETRY);
                }
                other => break other,
            }
        };
        match locked {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // Best effort: the holder wrote its process id there.
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    pid if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) => {
                        format!("process {pid}")
                    }
                    _ => "another process".to_owned(),
                };
                return Err(Error::new(
                    ErrorKind::Storage,
                    format!(
                        "database {} is in use by another twinsync node ({holder} holds {}); \
                         stop that node or give this one its own state file",
                        database.display(),
                        path.display()
                    ),
                ));
            }
            Err(fs4::TryLockError::Error(e)) => {
                return Err(
                    io_error(&path, "cannot lock", e).with_context("database", database.display())
                );
            }
        }
        // Tells a refused node who holds the lock.
        let pid = std::process::id().to_string();
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(pid.as_bytes()))
            .map_err(|e| io_error(&path, "cannot write the lock file", e))?;
        Ok(NodeLock { _file: file })
    }
}

/// The canonical path of `database`, or of its directory when the file does
/// not exist yet; `database` itself when neither resolves (opening then fails
/// with a clear error).
fn resolve(database: &Path) -> PathBuf {
    if let Ok(path) = fs::canonicalize(database) {
        return path;
    }
    let dir = match database.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match (fs::canonicalize(dir), database.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => database.to_owned(),
    }
}

/// How often, and how far apart, a busy lock is tried again (200 ms in all).
const LOCK_ATTEMPTS: u32 = 10;
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(20);

/// `state.db` → `state.db.lock`.
fn lock_path(database: &Path) -> PathBuf {
    let mut name = OsString::from(database.as_os_str());
    name.push(".lock");
    PathBuf::from(name)
}

/// `state.db` → `state.db-wal`, SQLite's write-ahead log.
fn wal_path(database: &Path) -> PathBuf {
    let mut name = OsString::from(database.as_os_str());
    name.push("-wal");
    PathBuf::from(name)
}

fn io_error(path: &Path, doing: &str, err: io::Error) -> Error {
    Error::new(
        ErrorKind::Storage,
        format!("{doing} {}: {err}", path.display()),
    )
    .with_source(err)
}

/// Refuses a file that is not a SQLite database or is shorter than its
/// header says. A missing or empty file is fine: it becomes a new store.
pub(super) fn check_header(database: &Path) -> Result<()> {
    let name = database.display();
    let mut file = match File::open(database) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error(database, "cannot read", e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| io_error(database, "cannot read", e))?;
    if meta.is_dir() {
        return Err(Error::new(
            ErrorKind::Storage,
            format!("{name} is a directory, not a database file"),
        ));
    }
    let len = meta.len();
    if len == 0 {
        return Ok(());
    }
    let mut header = Vec::with_capacity(HEADER);
    Read::by_ref(&mut file)
        .take(HEADER as u64)
        .read_to_end(&mut header)
        .map_err(|e| io_error(database, "cannot read", e))?;
    if !header.starts_with(MAGIC) {
        return Err(Error::new(
            ErrorKind::Storage,
            format!(
                "{name} is not a SQLite database (it does not start with the SQLite header); \
                 give twinsync the path of its state file or of a new file"
            ),
        ));
    }
    let Some(expected) = expected_len(&header) else {
        return Err(Error::new(
            ErrorKind::Storage,
            format!(
                "database {name} is truncated: {len} bytes, shorter than a SQLite header; \
                 restore it from a backup or move it aside"
            ),
        ));
    };
    // Pages still in the write-ahead log (after a crash) are not in the file
    // yet: SQLite recovers them, so only a file without a log must be whole.
    let wal = fs::metadata(wal_path(database)).map_or(0, |m| m.len());
    if wal == 0 && len < expected {
        return Err(Error::new(
            ErrorKind::Storage,
            format!(
                "database {name} is truncated: its header says {expected} bytes, the file has \
                 {len}; restore it from a backup or move it aside"
            ),
        ));
    }
    Ok(())
}

/// The database size a SQLite header records, when the header is complete
/// and the size in it is valid (written by SQLite 3.7.0 or later).
fn expected_len(header: &[u8]) -> Option<u64> {
    let be16 = |at: usize| -> Option<u64> {
        Some(u16::from_be_bytes(header.get(at..at + 2)?.try_into().ok()?).into())
    };
    let be32 = |at: usize| -> Option<u64> {
        Some(u32::from_be_bytes(header.get(at..at + 4)?.try_into().ok()?).into())
    };
    let page_size = match be16(16)? {
        1 => 65_536,
        n => n,
    };
    let pages = be32(28)?;
    let change_counter = be32(24)?;
    let valid_for = be32(92)?;
    if change_counter != valid_for || pages == 0 {
        // An old or unusual writer: SQLite uses the file's size instead.
        return Some(0);
    }
    Some(page_size * pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(page_size: u16, pages: u32, counter: u32, valid_for: u32) -> Vec<u8> {
        let mut h = vec![0; HEADER];
        h[..16].copy_from_slice(MAGIC);
        h[16..18].copy_from_slice(&page_size.to_be_bytes());
        h[24..28].copy_from_slice(&counter.to_be_bytes());
        h[28..32].copy_from_slice(&pages.to_be_bytes());
        h[92..96].copy_from_slice(&valid_for.to_be_bytes());
        h
    }

    #[test]
    fn expected_length_comes_from_a_valid_header() {
        assert_eq!(expected_len(&header(4096, 3, 7, 7)), Some(3 * 4096));
        assert_eq!(expected_len(&header(1, 2, 7, 7)), Some(2 * 65_536));
        assert_eq!(
            expected_len(&header(4096, 3, 7, 6)),
            Some(0),
            "a stale size is not trusted"
        );
        assert_eq!(expected_len(&header(4096, 3, 7, 7)[..50]), None);
    }

    #[test]
    fn lock_file_sits_next_to_the_database() {
        assert_eq!(
            lock_path(Path::new("/var/lib/twinsync/state.db")),
            Path::new("/var/lib/twinsync/state.db.lock")
        );
        assert_eq!(wal_path(Path::new("state.db")), Path::new("state.db-wal"));
    }
}
