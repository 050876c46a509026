//! Newtype identifiers, so that an issue key is never passed where a comment id is due.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, ErrorKind, Result};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a tracker's identifier as it is.
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
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

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
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
    /// A project's key, such as `SUP` or `DEV`.
    ProjectKey
);
string_id!(
    /// An issue's human-readable key, such as `DEV-42`. Keys change when an issue moves.
    IssueKey
);
string_id!(
    /// An issue's stable, tracker-assigned id (Jira: a number as a string).
    IssueId
);
string_id!(
    /// A comment's tracker-assigned id, unique within its tracker.
    CommentId
);
string_id!(
    /// An attachment's tracker-assigned id, unique within its tracker.
    AttachmentId
);
string_id!(
    /// A user's account id on a tracker.
    UserId
);

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
}
