//! Values of the config file: durations, paths, variable names, credentials.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use zeroize::Zeroizing;

use super::ConfigError;
use super::locate::Source;

/// A tracker credential read from a variable or a file; never printed.
pub struct Credential(Zeroizing<String>);

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credential(<redacted>)")
    }
}

impl Credential {
    /// The secret itself, for the tracker adapter only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub(super) fn from_env(
        src: &Source<'_>,
        name: &Spanned<String>,
    ) -> Result<Credential, ConfigError> {
        let var = env_name(src, name)?;
        let value = std::env::var(&var).map_err(|e| {
            let why = match e {
                std::env::VarError::NotPresent => "is not set",
                std::env::VarError::NotUnicode(_) => "is not Unicode text",
            };
            src.error_at(
                Some(name.span()),
                format!("environment variable {var} {why}; set it to the tracker's API token"),
            )
        })?;
        let value = Zeroizing::new(value.trim().to_owned());
        if value.is_empty() {
            return Err(src.error_at(
                Some(name.span()),
                format!("environment variable {var} is empty"),
            ));
        }
        Ok(Credential(value))
    }

    pub(super) fn from_file(
        src: &Source<'_>,
        base: &Path,
        path: &Spanned<PathBuf>,
    ) -> Result<Credential, ConfigError> {
        let file = resolve(base, path.get_ref());
        let text = Zeroizing::new(std::fs::read_to_string(&file).map_err(|e| {
            src.error_at(
                Some(path.span()),
                format!("cannot read the token file {}: {e}", file.display()),
            )
        })?);
        let value = Zeroizing::new(text.trim().to_owned());
        if value.is_empty() {
            return Err(src.error_at(
                Some(path.span()),
                format!("the token file {} is empty", file.display()),
            ));
        }
        Ok(Credential(value))
    }
}

/// `path` relative to the config file's directory, unless absolute.
pub(super) fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    }
}

/// A file that must exist (a certificate, a key).
pub(super) fn existing_file(
    src: &Source<'_>,
    base: &Path,
    path: &Spanned<PathBuf>,
) -> Result<PathBuf, ConfigError> {
    let file = resolve(base, path.get_ref());
    match std::fs::metadata(&file) {
        Ok(m) if m.is_file() => Ok(file),
        Ok(_) => Err(src.error_at(
            Some(path.span()),
            format!("{} is not a file", file.display()),
        )),
        Err(e) => Err(src.error_at(
            Some(path.span()),
            format!("cannot read {}: {e}", file.display()),
        )),
    }
}

/// The name of an environment variable. A value that cannot be one (a
/// token pasted in by mistake) is refused without being repeated.
pub(super) fn env_name(src: &Source<'_>, name: &Spanned<String>) -> Result<String, ConfigError> {
    let text = name.get_ref().trim();
    let valid = !text.is_empty()
        && text.len() <= 64
        && !text.starts_with(|c: char| c.is_ascii_digit())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(src.error_at(
            Some(name.span()),
            "this must name an environment variable (letters, digits and _, such as \
             JIRA_API_TOKEN), not hold the secret itself; put the secret in that variable",
        ));
    }
    Ok(text.to_owned())
}

/// A duration such as `500ms`, `30s`, `5m`, `2h` or `1d`.
pub(super) fn duration(src: &Source<'_>, text: &Spanned<String>) -> Result<Duration, ConfigError> {
    parse_duration(text.get_ref()).ok_or_else(|| {
        src.error_at(
            Some(text.span()),
            format!(
                "{:?} is not a duration; write a number and a unit: 500ms, 30s, 5m, 2h or 1d",
                text.get_ref()
            ),
        )
    })
}

fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "ms" => return Some(Duration::from_millis(n)).filter(|d| !d.is_zero()),
        "s" => n,
        "m" | "min" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(seconds)).filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_need_a_unit_and_are_positive() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("60"), None);
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("5 years"), None);
    }
}
