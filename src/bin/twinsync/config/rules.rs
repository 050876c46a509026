//! `rules = "path"` of a `[[connection]]`: the connection's rule document
//! (a [`RuleSpec`] in TOML or JSON), read and parsed when the config is.
//! Whether it fits the projects is the node's to check, at start.

use std::path::{Path, PathBuf};

use toml::Spanned;
use twinsync::rules::RuleSpec;

use super::ConfigError;
use super::locate::Source;
use super::values;

/// A connection's rule document, parsed.
#[derive(Debug, Clone)]
pub struct RuleDocument {
    /// The file, resolved against the config file's directory.
    pub file: PathBuf,
    /// What it says (field names not resolved yet).
    pub spec: RuleSpec,
}

/// The two formats a rule document is written in, by its extension.
#[derive(Clone, Copy)]
enum Format {
    Toml,
    Json,
}

impl Format {
    fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?;
        if ext.eq_ignore_ascii_case("toml") {
            Some(Format::Toml)
        } else if ext.eq_ignore_ascii_case("json") {
            Some(Format::Json)
        } else {
            None
        }
    }
}

/// Reads and parses the rule document `path` names for connection
/// `connection`. Every error names the config file's key, the connection
/// and the rule file (with its line and column when the parser gives one).
pub(super) fn rule_document(
    src: &Source<'_>,
    base: &Path,
    connection: &str,
    path: &Spanned<PathBuf>,
) -> Result<RuleDocument, ConfigError> {
    let file = values::resolve(base, path.get_ref());
    let Some(format) = Format::of(&file) else {
        return Err(src.error_at(
            Some(path.span()),
            format!(
                "{:?} is not a rule document: name a .toml file (TOML) or a .json file (JSON)",
                path.get_ref().display().to_string()
            ),
        ));
    };
    let text = std::fs::read_to_string(&file).map_err(|e| {
        src.error_at(
            Some(path.span()),
            format!(
                "cannot read the rule document {} of connection {connection}: {e}",
                file.display()
            ),
        )
    })?;
    let parsed = match format {
        Format::Toml => toml::from_str::<RuleSpec>(&text).map_err(|e| {
            let doc = Source {
                file: &file,
                text: &text,
            };
            let at = e.span().map(|s| doc.line_column(s.start));
            (at, e.message().trim().to_owned())
        }),
        Format::Json => serde_json::from_str::<RuleSpec>(&text).map_err(|e| {
            // serde_json says where after the message; the position goes
            // with the file's name instead.
            let at = (e.line() > 0).then(|| (e.line(), e.column()));
            let full = e.to_string();
            let message = match at {
                Some((line, column)) => full
                    .strip_suffix(&format!(" at line {line} column {column}"))
                    .unwrap_or(&full)
                    .to_owned(),
                None => full,
            };
            (at, message)
        }),
    };
    let spec = parsed.map_err(|(at, message)| {
        let place = match at {
            Some((line, column)) => format!("{}:{line}:{column}", file.display()),
            None => file.display().to_string(),
        };
        src.error_at(
            Some(path.span()),
            format!("rule document {place} of connection {connection}: {message}"),
        )
    })?;
    Ok(RuleDocument { file, spec })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(rules: &str) -> (String, std::ops::Range<usize>) {
        let text = format!("[[connection]]\nname = \"c\"\nrules = \"{rules}\"\n");
        let start = text.find("rules = ").unwrap() + "rules = ".len();
        let end = text.len() - 1;
        (text, start..end)
    }

    fn load(dir: &Path, file: &str, body: &str) -> Result<RuleDocument, ConfigError> {
        std::fs::write(dir.join(file), body).unwrap();
        let (text, span) = config_with(file);
        let config = dir.join("twinsync.toml");
        let src = Source {
            file: &config,
            text: &text,
        };
        let path = Spanned::new(span, PathBuf::from(file));
        rule_document(&src, dir, "c", &path)
    }

    #[test]
    fn toml_and_json_documents_are_read_by_their_extension() {
        let dir = tempfile::tempdir().unwrap();
        let doc = load(dir.path(), "r.toml", "labels = true\n").unwrap();
        assert!(doc.spec.labels);
        assert_eq!(doc.file, dir.path().join("r.toml"));
        let doc = load(
            dir.path(),
            "r.JSON",
            r#"{"labels": true, "comments": false}"#,
        )
        .unwrap();
        assert!(doc.spec.labels && !doc.spec.comments);
    }

    #[test]
    fn errors_name_the_key_the_connection_and_the_rule_file_line() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(dir.path(), "r.yaml", "labels: true\n").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("connection[1].rules"));
        assert_eq!(err.at, Some((3, 9)));
        assert!(err.message.contains(".toml") && err.message.contains(".json"));

        let err = load(dir.path(), "r.toml", "labels = true\nlabels = false\n").unwrap_err();
        let file = dir.path().join("r.toml");
        assert!(
            err.message.starts_with(&format!(
                "rule document {}:2:1 of connection c: ",
                file.display()
            )),
            "{}",
            err.message
        );

        let err = load(dir.path(), "r.json", "{\n  \"labels\": 5\n}").unwrap_err();
        let file = dir.path().join("r.json");
        assert_eq!(
            err.message,
            format!(
                "rule document {}:2:13 of connection c: invalid type: integer `5`, expected a boolean",
                file.display()
            )
        );
    }
}
