//! `[database]`: the node's state in PostgreSQL. The URL holds a password,
//! so it comes from an environment variable or a file, never the config.

use std::fmt;
use std::path::Path;

use toml::Spanned;
use zeroize::Zeroizing;

use super::console::{from_env, from_file};
use super::file::DatabaseTable;
use super::locate::Source;
use super::{ConfigError, refuse_literal};

/// `[database]`, checked; the URL already read.
pub struct DatabaseSettings {
    url: Zeroizing<String>,
    /// The schema of the node's tables (default `twinsync`).
    pub schema: String,
    pub max_connections: Option<usize>,
}

impl DatabaseSettings {
    /// The URL, password included: for the store only.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &"<redacted>")
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

pub(super) fn database(
    src: &Source<'_>,
    base: &Path,
    table: Spanned<DatabaseTable>,
) -> Result<DatabaseSettings, ConfigError> {
    let span = table.span();
    let t = table.into_inner();
    let instead = "url_env = \"TWINSYNC_DATABASE_URL\" (an environment variable) or \
                   url_file = \"/etc/twinsync/database.url\"";
    refuse_literal(src, &t.url, instead)?;
    let what = "the PostgreSQL URL, postgres://user:password@host/database";
    let url = match (t.url_env, t.url_file) {
        (Some(_), Some(f)) => {
            return Err(src.error_at(
                Some(f.span()),
                "give the URL either by url_env or by url_file, not both",
            ));
        }
        (Some(e), None) => from_env(src, &e, what)?,
        (None, Some(f)) => from_file(src, base, &f, what)?,
        (None, None) => {
            return Err(src.error_at(Some(span), format!("no database URL: add {instead}")));
        }
    };
    let schema = match t.schema {
        Some(s) => {
            let name = s.get_ref().trim().to_owned();
            let mut chars = name.chars();
            let plain = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
                && name.len() <= 63;
            if !plain {
                return Err(src.error_at(
                    Some(s.span()),
                    format!(
                        "schema {name:?} is not a plain name: letters, digits and _, not \
                         starting with a digit, at most 63 bytes"
                    ),
                ));
            }
            name
        }
        None => "twinsync".to_owned(),
    };
    let max_connections = match t.max_connections {
        Some(m) if *m.get_ref() == 0 => {
            return Err(src.error_at(Some(m.span()), "max_connections is at least 1"));
        }
        Some(m) => Some(usize::try_from(*m.get_ref()).unwrap_or(usize::MAX)),
        None => None,
    };
    Ok(DatabaseSettings {
        url,
        schema,
        max_connections,
    })
}
