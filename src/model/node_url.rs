//! [`NodeUrl`]: where a twinsync node listens for other nodes.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

use super::InstanceUrl;
use crate::error::{Error, ErrorKind, Result};
use crate::transport::SYNC_ENDPOINT_PATH;

/// The public URL of a twinsync node, where other nodes reach it (Exalate
/// calls it the "Exalate URL"); requests go to this URL joined with
/// [`SYNC_ENDPOINT_PATH`].
///
/// It is not the tracker's URL: `https://acme.atlassian.net` is Jira's host,
/// not one a node can listen on. A node's own node URL is set with
/// [`NodeBuilder::node_url`](crate::engine::NodeBuilder::node_url); a node
/// given none is addressed by its tracker's URL (as in one process, where
/// [`InProcessNetwork`](crate::transport::InProcessNetwork) routes by it).
///
/// Parsing normalizes like [`InstanceUrl`] and takes off a trailing
/// [`SYNC_ENDPOINT_PATH`], so the base URL and the endpoint's URL name the
/// same node.
///
/// ```
/// use twinsync::model::NodeUrl;
///
/// let a = NodeUrl::parse("https://sync.acme.example/twinsync")?;
/// let b = NodeUrl::parse("HTTPS://Sync.Acme.example/")?;
/// assert_eq!(a, b);
/// assert_eq!(a.endpoint().as_str(), "https://sync.acme.example/twinsync");
/// # Ok::<(), twinsync::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NodeUrl(InstanceUrl);

impl NodeUrl {
    /// Parses and normalizes a node's base URL (or its endpoint's URL).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when the text is not an absolute `http` or
    /// `https` URL with a host, or carries credentials.
    pub fn parse(text: &str) -> Result<Self> {
        let url = InstanceUrl::parse(text).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                e.message().replacen("instance url", "node url", 1),
            )
        })?;
        match url.as_str().strip_suffix(SYNC_ENDPOINT_PATH) {
            Some(base) => InstanceUrl::parse(base).map(NodeUrl),
            None => Ok(NodeUrl(url)),
        }
    }

    /// The normalized base URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The base URL as a [`Url`].
    pub fn to_url(&self) -> Url {
        self.0.to_url()
    }

    /// The URL requests from other nodes are sent to.
    pub fn endpoint(&self) -> Url {
        let mut url = self.0.to_url();
        let path = format!("{}{SYNC_ENDPOINT_PATH}", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url
    }

    /// Whether the host is a loopback address (`localhost`, `127.0.0.0/8`,
    /// `::1`): the only hosts plain `http` is ever allowed for.
    pub fn is_loopback(&self) -> bool {
        match self.0.to_url().host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
    }
}

impl From<InstanceUrl> for NodeUrl {
    /// A node addressed by its tracker's URL (a node given no node URL).
    fn from(url: InstanceUrl) -> Self {
        NodeUrl(url)
    }
}

impl From<&InstanceUrl> for NodeUrl {
    fn from(url: &InstanceUrl) -> Self {
        NodeUrl(url.clone())
    }
}

impl fmt::Display for NodeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for NodeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeUrl({:?})", self.as_str())
    }
}

impl TryFrom<String> for NodeUrl {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        NodeUrl::parse(&value)
    }
}

impl From<NodeUrl> for String {
    fn from(value: NodeUrl) -> Self {
        value.0.into()
    }
}

impl std::str::FromStr for NodeUrl {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        NodeUrl::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_and_endpoint_urls_name_one_node() {
        let a = NodeUrl::parse("https://n.example:8443/sync/twinsync").unwrap();
        let b = NodeUrl::parse("https://N.example:8443/sync/").unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.endpoint().as_str(),
            "https://n.example:8443/sync/twinsync"
        );
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"https://n.example:8443/sync\"");
        assert_eq!(serde_json::from_str::<NodeUrl>(&json).unwrap(), a);
    }

    #[test]
    fn bad_urls_are_refused_naming_the_node_url() {
        let err = NodeUrl::parse("ftp://n.example").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("node url"), "{err}");
        assert!(NodeUrl::parse("https://user:pw@n.example").is_err());
    }

    #[test]
    fn loopback_hosts_are_told_apart() {
        for url in [
            "http://127.0.0.1:9000",
            "http://localhost",
            "http://[::1]:1",
        ] {
            assert!(NodeUrl::parse(url).unwrap().is_loopback(), "{url}");
        }
        for url in [
            "http://10.0.0.1",
            "http://0.0.0.0",
            "http://localhost.example",
            "http://[::ffff:7f00:1]",
            "https://sync.example",
        ] {
            assert!(!NodeUrl::parse(url).unwrap().is_loopback(), "{url}");
        }
    }
}
