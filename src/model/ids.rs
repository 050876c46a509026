//! Newtype identifiers, so that an issue key is never passed where a comment id is due.
//!
//! Every id is checked when it is made, from text ([`str::parse`],
//! `TryFrom<&str>`, `new`) or when it is deserialized (stored state, network
//! messages, tracker payloads): an empty or malformed id is
//! [`ErrorKind::InvalidInput`], naming the kind of id and quoting the value.
//!
//! ```
//! use twinsync::model::{IssueKey, ProjectKey};
//!
//! let key: IssueKey = "SUP-1".parse()?;
//! assert_eq!(key.as_str(), "SUP-1");
//! let err = ProjectKey::new("").unwrap_err();
//! assert_eq!(err.to_string(), r#"project key "" is empty"#);
//! # Ok::<(), twinsync::Error>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, ErrorKind, Result};

/// The longest opaque tracker id accepted, in characters.
const MAX_OPAQUE_ID_CHARS: usize = 1024;
/// The longest project key accepted, in characters.
const MAX_PROJECT_KEY_CHARS: usize = 255;
/// The most digits an issue number may have (it must fit a signed 64-bit number).
const MAX_ISSUE_NUMBER_DIGITS: usize = 18;

fn invalid(what: &str, value: &str, problem: &str) -> Error {
    // A value too long to read is quoted by its start only.
    let quoted = if value.chars().count() > 64 {
        let head: String = value.chars().take(64).collect();
        format!("{head:?}…")
    } else {
        format!("{value:?}")
    };
    Error::new(
        ErrorKind::InvalidInput,
        format!("{what} {quoted} {problem}"),
    )
}

fn check_project_key(what: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(invalid(what, value, "is empty"));
    }
    let mut chars = value.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !starts_with_letter || !rest_ok || value.len() > MAX_PROJECT_KEY_CHARS {
        return Err(invalid(
            what,
            value,
            "is not a project key: 1 to 255 ASCII letters, digits or \"_\", starting with a letter, such as \"SUP\"",
        ));
    }
    Ok(())
}

fn check_issue_key(what: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(invalid(what, value, "is empty"));
    }
    let well_formed = value.rsplit_once('-').is_some_and(|(project, number)| {
        check_project_key("project key", project).is_ok()
            && (1..=MAX_ISSUE_NUMBER_DIGITS).contains(&number.len())
            && number.bytes().all(|b| b.is_ascii_digit())
    });
    if !well_formed {
        return Err(invalid(
            what,
            value,
            "is not a project key, a dash and a number, such as \"SUP-1\"",
        ));
    }
    Ok(())
}

fn check_opaque(what: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(invalid(what, value, "is empty"));
    }
    if value.chars().count() > MAX_OPAQUE_ID_CHARS {
        return Err(invalid(what, value, "is longer than 1024 characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(what, value, "contains a control character"));
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            #[doc = concat!("Checks and wraps a ", $what, ".")]
            ///
            /// # Errors
            ///
            /// [`ErrorKind::InvalidInput`], naming the kind of id and quoting
            /// the value, when it is empty or malformed.
            pub fn new(id: impl Into<String>) -> Result<Self> {
                let id = id.into();
                $check($what, &id)?;
                Ok($name(id))
            }

            /// The identifier as the tracker spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;
            fn try_from(s: &str) -> Result<Self> {
                $name::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self> {
                $name::new(s)
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                $name::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// A project's key, such as `SUP` or `DEV`: 1 to 255 ASCII letters, digits
    /// or `_`, starting with a letter.
    ProjectKey,
    "project key",
    check_project_key
);
string_id!(
    /// An issue's human-readable key, such as `DEV-42`: a project key, a dash
    /// and a number. Keys change when an issue moves.
    IssueKey,
    "issue key",
    check_issue_key
);
string_id!(
    /// An issue's stable, tracker-assigned id (Jira: a number as a string).
    /// Not empty, at most 1024 characters, no control characters.
    IssueId,
    "issue id",
    check_opaque
);
string_id!(
    /// A comment's tracker-assigned id, unique within its tracker.
    /// Not empty, at most 1024 characters, no control characters.
    CommentId,
    "comment id",
    check_opaque
);
string_id!(
    /// An attachment's tracker-assigned id, unique within its tracker.
    /// Not empty, at most 1024 characters, no control characters.
    AttachmentId,
    "attachment id",
    check_opaque
);
string_id!(
    /// A user's account id on a tracker.
    /// Not empty, at most 1024 characters, no control characters.
    UserId,
    "user id",
    check_opaque
);

impl UserId {
    /// The account of a user the tracker hides (anonymous, or not visible
    /// to twinsync's user): `(unknown)`.
    #[cfg(any(test, feature = "jira"))]
    pub(crate) fn unknown() -> Self {
        UserId("(unknown)".to_owned())
    }
}

impl IssueId {
    /// Sorts before every id (it is empty, so no valid id equals it): the
    /// lower bound of a range over ids in an ordered map.
    pub(crate) fn lowest() -> Self {
        IssueId(String::new())
    }

    /// This id with `prefix` before it, such as `local:10001`: a key apart
    /// from every tracker id in a map of errors.
    pub(crate) fn with_prefix(&self, prefix: &str) -> Self {
        IssueId(format!("{prefix}{}", self.0))
    }
}

impl ProjectKey {
    /// The project a pending connection's unknown side shows until the
    /// other side accepts: `UNKNOWN`.
    pub(crate) fn unknown() -> Self {
        ProjectKey("UNKNOWN".to_owned())
    }
}

impl IssueKey {
    /// The key the engine shows and records for an issue whose key it does
    /// not know yet (only its id, say from a marker): `ID-` and the id when the
    /// id is a number, as trackers' ids are, or a number drawn from it when
    /// not. It is a valid key, so records holding it read back.
    pub(crate) fn stand_in(id: &IssueId) -> Self {
        let text = id.as_str();
        let number = if !text.is_empty()
            && text.len() <= MAX_ISSUE_NUMBER_DIGITS
            && text.bytes().all(|b| b.is_ascii_digit())
        {
            text.to_owned()
        } else {
            (xxhash_rust::xxh3::xxh3_64(text.as_bytes()) % 1_000_000_000_000_000_000).to_string()
        };
        IssueKey(format!("ID-{number}"))
    }
}

/// A tracker deployment, identified by its normalized base URL.
///
/// Normalization lowercases scheme and host (the URL parser does), drops the
/// default port, query and fragment, and trims trailing slashes, so
/// `HTTPS://Acme.Atlassian.net:443/` and `https://acme.atlassian.net` are the
/// same instance.
///
/// ```
/// use twinsync::model::InstanceUrl;
///
/// let a = InstanceUrl::parse("HTTPS://Acme.Atlassian.net:443/")?;
/// let b = InstanceUrl::parse("https://acme.atlassian.net")?;
/// assert_eq!(a, b);
/// assert_eq!(a.as_str(), "https://acme.atlassian.net");
/// # Ok::<(), twinsync::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InstanceUrl(String);

impl InstanceUrl {
    /// Parses and normalizes a base URL.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when the text is not an absolute `http` or
    /// `https` URL with a host, or carries credentials.
    pub fn parse(text: &str) -> Result<Self> {
        let trimmed = text.trim();
        let mut url = Url::parse(trimmed).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("instance url {trimmed:?} is not a valid url: {e}"),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "instance url {trimmed:?} must use http or https, not {}",
                    url.scheme()
                ),
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("instance url {trimmed:?} has no host"),
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "instance url must not carry credentials; pass them to the adapter's builder",
            ));
        }
        url.set_query(None);
        url.set_fragment(None);
        let path = url.path().trim_end_matches('/').to_owned();
        url.set_path(&path);
        let mut text = url.to_string();
        while text.ends_with('/') {
            text.pop();
        }
        Ok(InstanceUrl(text))
    }

    /// The normalized URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL as a [`Url`], for joining API paths.
    pub fn to_url(&self) -> Url {
        // The text was produced by `Url` itself in `parse`.
        Url::parse(&self.0).unwrap_or_else(|_| unreachable!("normalized url reparses"))
    }
}

impl fmt::Display for InstanceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for InstanceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InstanceUrl({:?})", self.0)
    }
}

impl TryFrom<String> for InstanceUrl {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        InstanceUrl::parse(&value)
    }
}

impl From<InstanceUrl> for String {
    fn from(value: InstanceUrl) -> Self {
        value.0
    }
}

impl std::str::FromStr for InstanceUrl {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        InstanceUrl::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_port_and_slashes() {
        let cases = [
            ("https://acme.atlassian.net", "https://acme.atlassian.net"),
            ("HTTPS://ACME.atlassian.NET/", "https://acme.atlassian.net"),
            (
                "https://acme.atlassian.net:443//",
                "https://acme.atlassian.net",
            ),
            ("http://jira.local:80/jira/", "http://jira.local/jira"),
            (
                "http://jira.local:8080/jira?x=1#y",
                "http://jira.local:8080/jira",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(InstanceUrl::parse(input).unwrap().as_str(), want, "{input}");
        }
    }

    #[test]
    fn rejects_what_is_not_an_instance() {
        for bad in [
            "",
            "acme",
            "ftp://acme",
            "https://user:pw@acme.net",
            "file:///tmp",
        ] {
            let err = InstanceUrl::parse(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn serde_normalizes_and_validates() {
        let url: InstanceUrl = serde_json::from_str("\"https://A.example/\"").unwrap();
        assert_eq!(url.as_str(), "https://a.example");
        assert!(serde_json::from_str::<InstanceUrl>("\"nope\"").is_err());
    }

    fn refused(result: Result<impl fmt::Debug>) -> String {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        err.to_string()
    }

    #[test]
    fn every_id_refuses_empty_text_naming_its_kind() {
        assert_eq!(refused(ProjectKey::new("")), r#"project key "" is empty"#);
        assert_eq!(refused(IssueKey::new("")), r#"issue key "" is empty"#);
        assert_eq!(refused(IssueId::new("")), r#"issue id "" is empty"#);
        assert_eq!(refused(CommentId::new("")), r#"comment id "" is empty"#);
        assert_eq!(
            refused(AttachmentId::new("")),
            r#"attachment id "" is empty"#
        );
        assert_eq!(refused(UserId::new("")), r#"user id "" is empty"#);
    }

    #[test]
    fn project_keys_are_letters_digits_and_underscores() {
        for good in ["SUP", "s", "DEV_2", &"A".repeat(255)] {
            assert_eq!(ProjectKey::new(good).unwrap().as_str(), good);
        }
        for bad in [
            "1SUP",
            "_SUP",
            "SUP-1",
            "SU P",
            "SÜP",
            " SUP",
            &"A".repeat(256),
        ] {
            let message = refused(bad.parse::<ProjectKey>());
            assert!(message.starts_with("project key \""), "{message}");
            assert!(message.contains("is not a project key"), "{message}");
        }
        assert!(refused(ProjectKey::try_from("9")).contains(r#""9""#));
    }

    #[test]
    fn issue_keys_are_a_project_a_dash_and_a_number() {
        for good in ["SUP-1", "DEV_2-42", "A-123456789012345678"] {
            assert_eq!(IssueKey::try_from(good.to_owned()).unwrap().as_str(), good);
        }
        assert_eq!(
            refused(IssueKey::new("SUP")),
            r#"issue key "SUP" is not a project key, a dash and a number, such as "SUP-1""#
        );
        for bad in [
            "SUP-",
            "-1",
            "SUP-+1",
            "SUP--1",
            "SUP-1a",
            "1-1",
            "SUP-1234567890123456789",
        ] {
            let message = refused(bad.parse::<IssueKey>());
            assert!(message.contains(&format!("{bad:?}")), "{message}");
        }
    }

    #[test]
    fn opaque_ids_refuse_control_characters_and_great_length() {
        assert!(IssueId::new("10001").is_ok());
        assert!(UserId::new("557058:f0a3-user with spaces").is_ok());
        assert_eq!(
            refused(CommentId::new("1\n2")),
            r#"comment id "1\n2" contains a control character"#
        );
        assert!(AttachmentId::new("x".repeat(1024)).is_ok());
        let message = refused(AttachmentId::new("x".repeat(1025)));
        assert!(message.starts_with("attachment id \"xxx"), "{message}");
        assert!(
            message.ends_with("is longer than 1024 characters"),
            "{message}"
        );
    }

    #[test]
    fn the_crates_own_stand_ins_are_valid_ids() {
        assert!(ProjectKey::new(ProjectKey::unknown().as_str()).is_ok());
        assert!(UserId::new(UserId::unknown().as_str()).is_ok());
        for id in ["10001", "0", "a1b2-c3d4", &"9".repeat(40)] {
            let key = IssueKey::stand_in(&IssueId::new(id).unwrap());
            assert!(IssueKey::new(key.as_str()).is_ok(), "{id}: {key}");
        }
        assert_eq!(
            IssueKey::stand_in(&IssueId::new("10001").unwrap()).as_str(),
            "ID-10001"
        );
    }

    #[test]
    fn serde_keeps_the_plain_string_and_validates() {
        let key = IssueKey::new("SUP-7").unwrap();
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(json, r#""SUP-7""#);
        assert_eq!(serde_json::from_str::<IssueKey>(&json).unwrap(), key);
        let bytes = postcard::to_allocvec(&UserId::new("u-1").unwrap()).unwrap();
        assert_eq!(
            postcard::from_bytes::<UserId>(&bytes).unwrap().as_str(),
            "u-1"
        );
        let err = serde_json::from_str::<IssueKey>(r#""""#).unwrap_err();
        assert!(
            err.to_string().contains(r#"issue key "" is empty"#),
            "{err}"
        );
        assert!(serde_json::from_str::<ProjectKey>(r#""a b""#).is_err());
    }
}
