//! The config file as written: every table and key, with their positions.
//! Unknown keys are errors; [`super::Config::load`] checks the values.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

/// `twinsync.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub node: NodeTable,
    pub tracker: TrackerTable,
    #[serde(default, rename = "connection")]
    pub connections: Vec<ConnectionTable>,
    #[serde(default, rename = "trigger")]
    pub triggers: Vec<TriggerTable>,
    pub webhooks: Option<Spanned<WebhooksTable>>,
    pub console: Option<Spanned<ConsoleTable>>,
    pub database: Option<Spanned<DatabaseTable>>,
}

/// `[node]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeTable {
    pub name: Option<Spanned<String>>,
    pub url: Option<Spanned<String>>,
    pub listen: Option<Spanned<String>>,
    pub tls_cert: Option<Spanned<PathBuf>>,
    pub tls_key: Option<Spanned<PathBuf>>,
    #[serde(default)]
    pub plain_http_on_loopback: bool,
    #[serde(default)]
    pub trusted_certificates: Vec<Spanned<PathBuf>>,
    pub state: Spanned<PathBuf>,
    pub key_env: Option<Spanned<String>>,
    pub key_file: Option<Spanned<PathBuf>>,
    /// Refused: a literal node key.
    pub key: Option<Spanned<toml::Value>>,
    /// Refused: a literal node key.
    pub node_key: Option<Spanned<toml::Value>>,
    pub poll_interval: Option<Spanned<String>>,
    pub reconcile_interval: Option<Spanned<String>>,
}

/// `[tracker]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackerTable {
    pub kind: Spanned<String>,
    pub url: Spanned<String>,
    pub user: Option<Spanned<String>>,
    pub token_env: Option<Spanned<String>>,
    pub token_file: Option<Spanned<PathBuf>>,
    /// Refused: literal credentials.
    pub token: Option<Spanned<toml::Value>>,
    /// Refused: literal credentials.
    pub api_token: Option<Spanned<toml::Value>>,
    /// Refused: literal credentials.
    pub password: Option<Spanned<toml::Value>>,
    /// Refused: literal credentials.
    pub secret: Option<Spanned<toml::Value>>,
}

/// `[[connection]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionTable {
    pub name: Spanned<String>,
    pub project: Spanned<String>,
    pub other_project: Option<Spanned<String>>,
    pub peer: Option<Spanned<String>>,
    pub poll_interval: Option<Spanned<String>>,
    /// The connection's rule document (`.toml` or `.json`).
    pub rules: Option<Spanned<PathBuf>>,
}

/// `[[trigger]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerTable {
    pub connection: Spanned<String>,
    pub project: Spanned<String>,
    pub jql: Spanned<String>,
    #[serde(default)]
    pub note: String,
}

/// `[webhooks]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksTable {
    pub secret_env: Option<Spanned<String>>,
    pub secret_file: Option<Spanned<PathBuf>>,
    /// Refused: a literal secret.
    pub secret: Option<Spanned<toml::Value>>,
}

/// `[database]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseTable {
    pub url_env: Option<Spanned<String>>,
    pub url_file: Option<Spanned<PathBuf>>,
    /// Refused: a literal URL (it holds a password).
    pub url: Option<Spanned<toml::Value>>,
    pub schema: Option<Spanned<String>>,
    pub max_connections: Option<Spanned<u32>>,
}

/// `[console]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleTable {
    pub enabled: Option<bool>,
    pub session_key_file: Option<Spanned<PathBuf>>,
    pub secure_cookies: Option<bool>,
    #[serde(default, rename = "operator")]
    pub operators: Vec<Spanned<OperatorTable>>,
    #[serde(default, rename = "token")]
    pub tokens: Vec<Spanned<TokenTable>>,
}

/// `[[console.operator]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorTable {
    pub name: Spanned<String>,
    pub password_hash: Option<Spanned<String>>,
    pub password_hash_env: Option<Spanned<String>>,
    pub password_hash_file: Option<Spanned<PathBuf>>,
    /// Refused: a literal password.
    pub password: Option<Spanned<toml::Value>>,
    pub role: Spanned<String>,
    pub acts_as: Option<Spanned<String>>,
}

/// `[[console.token]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenTable {
    pub name: Spanned<String>,
    pub token_env: Option<Spanned<String>>,
    pub token_file: Option<Spanned<PathBuf>>,
    /// Refused: a literal token.
    pub token: Option<Spanned<toml::Value>>,
    pub role: Spanned<String>,
    pub acts_as: Option<Spanned<String>>,
}
