//! The TOML config file: read, checked value by value, with errors that name
//! the file, the line and the key. Credentials come from environment
//! variables or files named in it, never from the file itself.

mod console;
mod database;
mod file;
mod locate;
mod rules;
mod values;
mod webhooks;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use twinsync::model::{NodeUrl, ProjectKey};
use twinsync::trigger::Jql;

pub use console::ConsoleSettings;
pub use database::DatabaseSettings;
pub use locate::ConfigError;
use locate::Source;
pub use rules::RuleDocument;
pub use values::Credential;
pub use webhooks::{WebhookKind, WebhookSettings};

/// Where the node key comes from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// An environment variable holding its 64 hex digits.
    Env(String),
    /// A file (mode 600) holding them.
    File(PathBuf),
}

/// Which Jira the node syncs, and how it signs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackerKind {
    /// Jira Cloud (REST v3): an API token with the account's email, or an
    /// OAuth 2.0 access token.
    Cloud,
    /// Jira Data Center / Server (REST v2): a personal access token.
    DataCenter,
}

/// The checked config.
#[derive(Debug)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub node: NodeSettings,
    pub tracker: TrackerSettings,
    pub connections: Vec<ConnectionSettings>,
    pub triggers: Vec<TriggerSettings>,
    /// `[webhooks]`, when Jira sends the node webhooks.
    pub webhooks: Option<WebhookSettings>,
    /// `[console]`, when the web console signs operators and tokens in.
    pub console: Option<ConsoleSettings>,
    /// `[database]`, when the node's state is in PostgreSQL rather than in
    /// the SQLite file `node.state`.
    pub database: Option<DatabaseSettings>,
}

/// `[node]`, checked.
#[derive(Debug)]
pub struct NodeSettings {
    pub name: String,
    pub url: Option<NodeUrl>,
    pub listen: Option<SocketAddr>,
    /// Certificate chain and private key (PEM files).
    pub tls: Option<(PathBuf, PathBuf)>,
    pub plain_http_on_loopback: bool,
    pub trusted_certificates: Vec<PathBuf>,
    pub state: PathBuf,
    pub key: Option<KeySource>,
    pub poll_interval: Option<Duration>,
    /// `Some(None)`: reconcile sweeps turned off.
    pub reconcile_interval: Option<Option<Duration>>,
}

/// `[tracker]`, checked; the credential already read.
#[derive(Debug)]
pub struct TrackerSettings {
    pub kind: TrackerKind,
    pub url: String,
    pub user: Option<String>,
    pub credential: Credential,
}

/// One `[[connection]]`, checked.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    pub name: String,
    pub project: ProjectKey,
    pub other_project: Option<ProjectKey>,
    /// The other node's URL; `None` for a local connection.
    pub peer: Option<String>,
    pub poll_interval: Option<Duration>,
    /// `rules`: the rule document published for it at start.
    pub rules: Option<RuleDocument>,
}

/// One `[[trigger]]`, checked.
#[derive(Debug, Clone)]
pub struct TriggerSettings {
    pub connection: String,
    pub project: ProjectKey,
    pub jql: String,
    pub note: String,
}

impl Config {
    /// Reads and checks the config at `path`: every value, the credential
    /// (read from its variable or file) and the files it names.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_owned(),
            at: None,
            key: None,
            message: format!(
                "cannot read the config file: {e}; pass --config PATH or set TWINSYNC_CONFIG \
                 (README \"The twinsync binary\" has an example)"
            ),
        })?;
        Self::parse(path, &text)
    }

    /// Checks the config text `text` read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let src = Source { file: path, text };
        let raw: file::File =
            toml::from_str(text).map_err(|e| src.error_at(e.span(), e.message().trim()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let node = node(&src, base, raw.node)?;
        let tracker = tracker(&src, base, raw.tracker)?;
        let connections = connections(&src, base, raw.connections)?;
        let triggers = triggers(&src, &connections, raw.triggers)?;
        let webhooks = raw
            .webhooks
            .map(|w| webhooks::webhooks(&src, base, &node, &tracker, w))
            .transpose()?;
        let console = raw
            .console
            .map(|c| console::console(&src, base, &node, c))
            .transpose()?;
        let database = raw
            .database
            .map(|d| database::database(&src, base, d))
            .transpose()?;
        Ok(Config {
            path: path.to_owned(),
            node,
            tracker,
            connections,
            triggers,
            webhooks,
            console,
            database,
        })
    }
}

/// A key that must not hold a secret: refused wherever it appears.
fn refuse_literal(
    src: &Source<'_>,
    value: &Option<Spanned<toml::Value>>,
    instead: &str,
) -> Result<(), ConfigError> {
    match value {
        Some(v) => Err(src.error_at(
            Some(v.span()),
            format!(
                "a secret is never written in the config file (anyone who can read it, a backup or \
                 a repository would have it); remove this line and use {instead}"
            ),
        )),
        None => Ok(()),
    }
}

fn node(src: &Source<'_>, base: &Path, t: file::NodeTable) -> Result<NodeSettings, ConfigError> {
    let instead = "key_env = \"TWINSYNC_NODE_KEY\" or key_file = \"/etc/twinsync/node.key\"";
    refuse_literal(src, &t.key, instead)?;
    refuse_literal(src, &t.node_key, instead)?;
    let url = t
        .url
        .map(|u| {
            NodeUrl::parse(u.get_ref()).map_err(|e| {
                src.error_at(Some(u.span()), format!("not a node URL: {}", e.message()))
            })
        })
        .transpose()?;
    let listen = t
        .listen
        .map(|l| {
            l.get_ref().parse::<SocketAddr>().map_err(|_| {
                src.error_at(
                    Some(l.span()),
                    format!(
                        "{:?} is not an address to listen on; write an IP address and a port, \
                         such as \"0.0.0.0:8443\"",
                        l.get_ref()
                    ),
                )
            })
        })
        .transpose()?;
    let tls = match (t.tls_cert, t.tls_key) {
        (Some(c), Some(k)) => Some((
            values::existing_file(src, base, &c)?,
            values::existing_file(src, base, &k)?,
        )),
        (None, None) => None,
        (Some(c), None) => {
            return Err(src.error_at(
                Some(c.span()),
                "tls_cert needs tls_key (the private key's PEM file)",
            ));
        }
        (None, Some(k)) => {
            return Err(src.error_at(
                Some(k.span()),
                "tls_key needs tls_cert (the certificate chain's PEM file)",
            ));
        }
    };
    if listen.is_some() && tls.is_none() && !t.plain_http_on_loopback {
        return Err(src.error(
            Some("node.listen"),
            "a node that listens needs tls_cert and tls_key (PEM files of a certificate for \
             the node URL's host); plain_http_on_loopback = true is for tests on 127.0.0.1 only",
        ));
    }
    if let (Some(addr), true) = (listen, t.plain_http_on_loopback)
        && !addr.ip().is_loopback()
        && tls.is_none()
    {
        return Err(src.error(
            Some("node.plain_http_on_loopback"),
            format!("plain HTTP is only served on loopback, and node.listen is {addr}; give tls_cert and tls_key"),
        ));
    }
    // Where other nodes call this one: on loopback the listen address says
    // it (a port chosen at start, 0, is known once `serve` binds it).
    let url = match (url, listen) {
        (Some(url), _) => Some(url),
        (None, Some(addr)) if addr.ip().is_loopback() && addr.port() != 0 => {
            let scheme = if tls.is_some() { "https" } else { "http" };
            Some(
                NodeUrl::parse(&format!("{scheme}://{addr}"))
                    .map_err(|e| src.error(Some("node.listen"), e.message().to_owned()))?,
            )
        }
        (None, Some(addr)) if !addr.ip().is_loopback() => {
            return Err(src.error(
                Some("node.url"),
                format!(
                    "a node listening on {addr} needs url: the URL other nodes call, which its \
                     certificate names (such as \"https://sync.acme.example:8443\")"
                ),
            ));
        }
        (None, _) => None,
    };
    let trusted_certificates = t
        .trusted_certificates
        .iter()
        .map(|c| values::existing_file(src, base, c))
        .collect::<Result<_, _>>()?;
    let key = match (t.key_env, t.key_file) {
        (Some(_), Some(f)) => {
            return Err(src.error_at(
                Some(f.span()),
                "give the node key either by key_env or by key_file, not both",
            ));
        }
        (Some(e), None) => Some(KeySource::Env(values::env_name(src, &e)?)),
        (None, Some(f)) => Some(KeySource::File(values::resolve(base, f.get_ref()))),
        (None, None) => None,
    };
    Ok(NodeSettings {
        name: t
            .name
            .map(Spanned::into_inner)
            .unwrap_or_else(|| "twinsync".to_owned()),
        url,
        listen,
        tls,
        plain_http_on_loopback: t.plain_http_on_loopback,
        trusted_certificates,
        state: values::resolve(base, t.state.get_ref()),
        key,
        poll_interval: t
            .poll_interval
            .map(|d| values::duration(src, &d))
            .transpose()?,
        reconcile_interval: t
            .reconcile_interval
            .map(|d| {
                if d.get_ref().trim() == "off" {
                    Ok(None)
                } else {
                    values::duration(src, &d).map(Some)
                }
            })
            .transpose()?,
    })
}

fn tracker(
    src: &Source<'_>,
    base: &Path,
    t: file::TrackerTable,
) -> Result<TrackerSettings, ConfigError> {
    let instead = "token_env = \"JIRA_API_TOKEN\" (an environment variable) or token_file = \"/etc/twinsync/jira.token\"";
    for literal in [&t.token, &t.api_token, &t.password, &t.secret] {
        refuse_literal(src, literal, instead)?;
    }
    let kind = match t.kind.get_ref().as_str() {
        "jira-cloud" => TrackerKind::Cloud,
        "jira-data-center" => TrackerKind::DataCenter,
        other => {
            return Err(src.error_at(
                Some(t.kind.span()),
                format!(
                    "unknown tracker kind {other:?}; write \"jira-cloud\" or \"jira-data-center\""
                ),
            ));
        }
    };
    let url = t.url.get_ref().trim().to_owned();
    match url::Url::parse(&url) {
        Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {}
        _ => {
            return Err(src.error_at(
                Some(t.url.span()),
                format!("{url:?} is not the site's URL; write it as https://acme.atlassian.net"),
            ));
        }
    }
    if let (TrackerKind::DataCenter, Some(user)) = (kind, &t.user) {
        return Err(src.error_at(
            Some(user.span()),
            "Jira Data Center signs in with a personal access token alone; remove user",
        ));
    }
    let credential = match (t.token_env, t.token_file) {
        (Some(_), Some(f)) => {
            return Err(src.error_at(
                Some(f.span()),
                "give the token either by token_env or by token_file, not both",
            ));
        }
        (Some(e), None) => Credential::from_env(src, &e)?,
        (None, Some(f)) => Credential::from_file(src, base, &f)?,
        (None, None) => {
            return Err(src.error(Some("tracker"), format!("no credential: add {instead}")));
        }
    };
    Ok(TrackerSettings {
        kind,
        url,
        user: t.user.map(Spanned::into_inner),
        credential,
    })
}

fn project(src: &Source<'_>, p: &Spanned<String>) -> Result<ProjectKey, ConfigError> {
    ProjectKey::new(p.get_ref().trim())
        .map_err(|e| src.error_at(Some(p.span()), e.message().to_owned()))
}

fn connections(
    src: &Source<'_>,
    base: &Path,
    tables: Vec<file::ConnectionTable>,
) -> Result<Vec<ConnectionSettings>, ConfigError> {
    let mut out: Vec<ConnectionSettings> = Vec::new();
    for t in tables {
        let name = t.name.get_ref().trim().to_owned();
        if name.is_empty() {
            return Err(src.error_at(Some(t.name.span()), "a connection needs a name"));
        }
        if out.iter().any(|c| c.name == name) {
            return Err(src.error_at(
                Some(t.name.span()),
                format!("a second connection named {name:?}; names are unique"),
            ));
        }
        let other_project = t
            .other_project
            .as_ref()
            .map(|p| project(src, p))
            .transpose()?;
        if t.peer.is_none() && other_project.is_none() {
            return Err(src.error_at(
                Some(t.name.span()),
                "a local connection needs other_project (the second project on this Jira site); \
                 a remote one needs peer (the other node's URL)",
            ));
        }
        if let Some(peer) = &t.peer
            && url::Url::parse(peer.get_ref().trim()).is_err()
        {
            return Err(src.error_at(
                Some(peer.span()),
                format!("{:?} is not a URL", peer.get_ref()),
            ));
        }
        out.push(ConnectionSettings {
            project: project(src, &t.project)?,
            other_project,
            peer: t.peer.map(|p| p.into_inner().trim().to_owned()),
            poll_interval: t
                .poll_interval
                .map(|d| values::duration(src, &d))
                .transpose()?,
            rules: t
                .rules
                .map(|r| rules::rule_document(src, base, &name, &r))
                .transpose()?,
            name,
        });
    }
    Ok(out)
}

fn triggers(
    src: &Source<'_>,
    connections: &[ConnectionSettings],
    tables: Vec<file::TriggerTable>,
) -> Result<Vec<TriggerSettings>, ConfigError> {
    tables
        .into_iter()
        .map(|t| {
            let Some(conn) = connections
                .iter()
                .find(|c| &c.name == t.connection.get_ref())
            else {
                return Err(src.error_at(
                    Some(t.connection.span()),
                    format!(
                        "no [[connection]] named {:?} in this file",
                        t.connection.get_ref()
                    ),
                ));
            };
            let project = project(src, &t.project)?;
            let local = conn.peer.is_none() && conn.other_project.as_ref() == Some(&project);
            if project != conn.project && !local {
                return Err(src.error_at(
                    Some(t.project.span()),
                    format!(
                        "project {project} is not a side of connection {} on this node",
                        conn.name
                    ),
                ));
            }
            Jql::parse(t.jql.get_ref())
                .map_err(|e| src.error_at(Some(t.jql.span()), e.to_string()))?;
            Ok(TriggerSettings {
                connection: conn.name.clone(),
                project,
                jql: t.jql.into_inner(),
                note: t.note,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::file;

    /// The example of README's "The config file" uses only keys that exist.
    #[test]
    fn the_readme_example_has_only_known_keys() {
        let readme = include_str!("../../../../README.md");
        let start = readme
            .find("```toml\n[node]")
            .expect("README has the config example")
            + "```toml\n".len();
        let end = start + readme[start..].find("```").expect("the example ends");
        let parsed: Result<file::File, _> = toml::from_str(&readme[start..end]);
        assert!(parsed.is_ok(), "{:?}", parsed.err().map(|e| e.to_string()));
    }
}
