//! `[console]`: the web console's operators (a name, an argon2 password
//! hash, a role and the tracker user they act as) and tokens for scripts
//! (read from an environment variable or a file, never from the config), the
//! key that signs session cookies, and whether cookies are `Secure`.

use std::fmt;
use std::path::{Path, PathBuf};

use toml::Spanned;
use twinsync::model::UserId;
use twinsync::server::console::{ApiToken, Operator, Role, SessionKey};
use zeroize::Zeroizing;

use super::file::{ConsoleTable, OperatorTable, TokenTable};
use super::locate::Source;
use super::{ConfigError, NodeSettings, refuse_literal, values};

/// Stands in for the integration user while the config is checked (the
/// operator's hash and name are what is checked; the user comes later).
const CHECKING_AS: &str = "integration-user";

/// `[console]`, checked; hashes and tokens already read.
#[derive(Debug)]
pub struct ConsoleSettings {
    /// `enabled` (default true): whether operators and tokens of the file
    /// may sign in. `serve` serves the API for its own admin commands
    /// either way.
    pub enabled: bool,
    /// The key that signs session cookies; random per start unless set.
    pub session_key: Option<SessionKey>,
    pub secure_cookies: bool,
    pub operators: Vec<OperatorSettings>,
    pub tokens: Vec<TokenSettings>,
}

/// One `[[console.operator]]`, checked.
pub struct OperatorSettings {
    pub name: String,
    hash: String,
    pub role: Role,
    /// `None`: the integration user.
    pub acts_as: Option<UserId>,
}

impl fmt::Debug for OperatorSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperatorSettings")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("acts_as", &self.acts_as)
            .finish_non_exhaustive()
    }
}

impl OperatorSettings {
    /// The operator, acting as `integration` unless the file names a user.
    pub fn operator(&self, integration: &UserId) -> twinsync::Result<Operator> {
        Operator::new(
            self.name.clone(),
            &self.hash,
            self.role,
            self.acts_as.clone().unwrap_or_else(|| integration.clone()),
        )
    }
}

/// One `[[console.token]]`, checked; the token is never printed.
pub struct TokenSettings {
    pub name: String,
    token: Zeroizing<String>,
    pub role: Role,
    /// `None`: the integration user.
    pub acts_as: Option<UserId>,
}

impl fmt::Debug for TokenSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSettings")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("acts_as", &self.acts_as)
            .finish_non_exhaustive()
    }
}

impl TokenSettings {
    /// The token, acting as `integration` unless the file names a user.
    pub fn token(&self, integration: &UserId) -> twinsync::Result<ApiToken> {
        ApiToken::new(
            self.name.clone(),
            &self.token,
            self.role,
            self.acts_as.clone().unwrap_or_else(|| integration.clone()),
        )
    }
}

pub(super) fn console(
    src: &Source<'_>,
    base: &Path,
    node: &NodeSettings,
    table: Spanned<ConsoleTable>,
) -> Result<ConsoleSettings, ConfigError> {
    let span = table.span();
    let t = table.into_inner();
    if node.listen.is_none() {
        return Err(src.error_at(
            Some(span),
            "the console is served by the node: [console] needs node.listen (such as \
             \"127.0.0.1:8443\")",
        ));
    }
    let session_key = t
        .session_key_file
        .map(|f| session_key(src, base, &f))
        .transpose()?;
    let checking = UserId::new(CHECKING_AS)
        .map_err(|e| src.error_at(Some(span.clone()), e.message().to_owned()))?;
    let mut operators: Vec<OperatorSettings> = Vec::new();
    for o in t.operators {
        let span = o.span();
        let o = operator(src, base, span.clone(), o.into_inner(), &checking)?;
        if operators.iter().any(|x| x.name == o.name) {
            return Err(src.error_at(
                Some(span),
                format!(
                    "a second console operator named {:?}; names are unique",
                    o.name
                ),
            ));
        }
        operators.push(o);
    }
    let mut tokens: Vec<TokenSettings> = Vec::new();
    for k in t.tokens {
        let span = k.span();
        let k = token(src, base, span.clone(), k.into_inner(), &checking)?;
        if tokens.iter().any(|x| x.name == k.name) || k.name == crate::serve::LOCAL_TOKEN_NAME {
            return Err(src.error_at(
                Some(span),
                format!(
                    "a second console token named {:?}; names are unique (and {:?} is the \
                     local admin commands' own)",
                    k.name,
                    crate::serve::LOCAL_TOKEN_NAME
                ),
            ));
        }
        tokens.push(k);
    }
    let enabled = t.enabled.unwrap_or(true);
    if enabled && operators.is_empty() && tokens.is_empty() {
        return Err(src.error_at(
            Some(span),
            "[console] has no [[console.operator]] and no [[console.token]], so nobody could \
             sign in: add an operator (`twinsync console hash-password` makes its \
             password_hash), or set enabled = false",
        ));
    }
    Ok(ConsoleSettings {
        enabled,
        session_key,
        secure_cookies: t.secure_cookies.unwrap_or(true),
        operators,
        tokens,
    })
}

fn session_key(
    src: &Source<'_>,
    base: &Path,
    path: &Spanned<PathBuf>,
) -> Result<SessionKey, ConfigError> {
    let file = values::resolve(base, path.get_ref());
    let bytes = Zeroizing::new(std::fs::read(&file).map_err(|e| {
        src.error_at(
            Some(path.span()),
            format!(
                "cannot read the console's session key file {}: {e}",
                file.display()
            ),
        )
    })?);
    let key = bytes.trim_ascii();
    SessionKey::from_bytes(key).map_err(|_| {
        src.error_at(
            Some(path.span()),
            format!(
                "the session key file {} holds {} bytes; it needs at least 32 random bytes \
                 (such as the output of `openssl rand -hex 32`)",
                file.display(),
                key.len()
            ),
        )
    })
}

fn role(src: &Source<'_>, role: &Spanned<String>) -> Result<Role, ConfigError> {
    role.get_ref().parse::<Role>().map_err(|_| {
        src.error_at(
            Some(role.span()),
            format!(
                "unknown role {:?}; write \"owner\", \"collaborator\" or \"viewer\"",
                role.get_ref()
            ),
        )
    })
}

fn acts_as(
    src: &Source<'_>,
    user: Option<&Spanned<String>>,
) -> Result<Option<UserId>, ConfigError> {
    user.map(|u| {
        UserId::new(u.get_ref().trim()).map_err(|e| {
            src.error_at(
                Some(u.span()),
                format!("not a tracker user id: {}", e.message()),
            )
        })
    })
    .transpose()
}

fn name(src: &Source<'_>, name: &Spanned<String>, what: &str) -> Result<String, ConfigError> {
    let text = name.get_ref().trim();
    if text.is_empty() {
        return Err(src.error_at(Some(name.span()), format!("a console {what} needs a name")));
    }
    Ok(text.to_owned())
}

fn operator(
    src: &Source<'_>,
    base: &Path,
    span: std::ops::Range<usize>,
    t: OperatorTable,
    checking: &UserId,
) -> Result<OperatorSettings, ConfigError> {
    refuse_literal(
        src,
        &t.password,
        "password_hash = \"$argon2id$…\" (a hash is no secret; `twinsync console \
         hash-password` makes one), or password_hash_env / password_hash_file",
    )?;
    let name = name(src, &t.name, "operator")?;
    let role = role(src, &t.role)?;
    let acts_as = acts_as(src, t.acts_as.as_ref())?;
    let (hash, at) = match (t.password_hash, t.password_hash_env, t.password_hash_file) {
        (Some(h), None, None) => (Zeroizing::new(h.get_ref().trim().to_owned()), h.span()),
        (None, Some(e), None) => (from_env(src, &e, "the operator's password hash")?, e.span()),
        (None, None, Some(f)) => (
            from_file(src, base, &f, "the operator's password hash")?,
            f.span(),
        ),
        (None, None, None) => {
            return Err(src.error_at(
                Some(span),
                format!(
                    "operator {name:?} has no password_hash: make one with `twinsync console \
                     hash-password` and add password_hash = \"$argon2id$…\""
                ),
            ));
        }
        _ => {
            return Err(src.error_at(
                Some(span),
                format!(
                    "operator {name:?}: give the hash by one of password_hash, \
                     password_hash_env or password_hash_file"
                ),
            ));
        }
    };
    Operator::new(name.clone(), &hash, role, checking.clone()).map_err(|_| {
        src.error_at(
            Some(at),
            "this is not an argon2 password hash in PHC form (`$argon2id$v=19$…`); make one \
             with `twinsync console hash-password`",
        )
    })?;
    Ok(OperatorSettings {
        name,
        hash: hash.to_string(),
        role,
        acts_as,
    })
}

fn token(
    src: &Source<'_>,
    base: &Path,
    span: std::ops::Range<usize>,
    t: TokenTable,
    checking: &UserId,
) -> Result<TokenSettings, ConfigError> {
    let instead = "token_env = \"TWINSYNC_CONSOLE_TOKEN\" (an environment variable) or \
                   token_file = \"/etc/twinsync/console.token\"";
    refuse_literal(src, &t.token, instead)?;
    let name = name(src, &t.name, "token")?;
    let role = role(src, &t.role)?;
    let acts_as = acts_as(src, t.acts_as.as_ref())?;
    let (token, at) = match (t.token_env, t.token_file) {
        (Some(e), None) => (from_env(src, &e, "the console token")?, e.span()),
        (None, Some(f)) => (from_file(src, base, &f, "the console token")?, f.span()),
        (Some(_), Some(f)) => {
            return Err(src.error_at(
                Some(f.span()),
                "give the token either by token_env or by token_file, not both",
            ));
        }
        (None, None) => {
            return Err(src.error_at(
                Some(span),
                format!("console token {name:?} has no token: add {instead}"),
            ));
        }
    };
    ApiToken::new(name.clone(), &token, role, checking.clone()).map_err(|_| {
        src.error_at(
            Some(at),
            format!(
                "the console token is too short: use at least {} random characters (such as \
                 the output of `openssl rand -hex 32`)",
                twinsync::server::console::MIN_TOKEN_LEN
            ),
        )
    })?;
    Ok(TokenSettings {
        name,
        token,
        role,
        acts_as,
    })
}

/// A secret (or hash) from the environment variable `name` names.
pub(super) fn from_env(
    src: &Source<'_>,
    name: &Spanned<String>,
    what: &str,
) -> Result<Zeroizing<String>, ConfigError> {
    let var = values::env_name(src, name)?;
    let value = Zeroizing::new(std::env::var(&var).unwrap_or_default());
    let value = Zeroizing::new(value.trim().to_owned());
    if value.is_empty() {
        return Err(src.error_at(
            Some(name.span()),
            format!("environment variable {var} is not set or empty; set it to {what}"),
        ));
    }
    Ok(value)
}

/// A secret (or hash) from a file.
pub(super) fn from_file(
    src: &Source<'_>,
    base: &Path,
    path: &Spanned<PathBuf>,
    what: &str,
) -> Result<Zeroizing<String>, ConfigError> {
    let file = values::resolve(base, path.get_ref());
    let text = Zeroizing::new(std::fs::read_to_string(&file).map_err(|e| {
        src.error_at(
            Some(path.span()),
            format!("cannot read {} ({what}): {e}", file.display()),
        )
    })?);
    let value = Zeroizing::new(text.trim().to_owned());
    if value.is_empty() {
        return Err(src.error_at(
            Some(path.span()),
            format!("{} ({what}) is empty", file.display()),
        ));
    }
    Ok(value)
}
