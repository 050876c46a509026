//! Origin: where the twin of an issue came from.
//!
//! A twin is created by the integration user, so nothing on it says which
//! issue it mirrors. [`IssueOrigin`] (a rule-set setting) makes the twin say
//! so, once, when it is created:
//!
//! - [`IssueOrigin::RemoteLink`] (Basic's default) puts a remote link on the
//!   twin naming the original's key, its site and its page. The link's
//!   global id names the connection, so writing it again (after a lost
//!   answer, a crash, a lost state store) replaces it instead of adding a
//!   second one. On a tracker without remote links (see
//!   [`Capabilities::remote_links`](crate::tracker::Capabilities::remote_links))
//!   the twin gets the description line of the default template instead.
//! - [`IssueOrigin::DescriptionLine`] starts the twin's description with a
//!   line rendered from an [`OriginTemplate`] (default
//!   `Synced from {key} on {instance}`), recorded in the twin's marker in the
//!   same request that creates it. Like a comment's attribution header, the
//!   line is never part of what is synced: [`local_description`] strips it
//!   while it is still as written, so it never echoes or travels back, and a
//!   description written later keeps it (adds it again if a user removed it).
//! - [`IssueOrigin::Off`]: twins say nothing.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::attribution::{AttributionTemplate, Header, browse_url};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, Issue, RemoteLink};
use crate::replica::{FieldValue, Marker, Origin};

/// The origin line template of [`IssueOrigin::DescriptionLine`] by default.
pub const DEFAULT_ORIGIN_TEMPLATE: &str = "Synced from {key} on {instance}";

/// The relationship twinsync's origin links show in Jira.
pub const ORIGIN_RELATIONSHIP: &str = "synced from";

/// A template for the line a twin's description starts with.
///
/// Placeholders: `{key}` (the original issue's key, linked to
/// `<instance>/browse/<KEY>` in ADF bodies) and `{instance}` (the original's
/// site URL). `{{` and `}}` write a brace.
///
/// ```
/// use twinsync::rules::OriginTemplate;
///
/// let t = OriginTemplate::new("Mirror of {key}")?;
/// assert!(OriginTemplate::new("{author}").is_err());
/// # Ok::<(), twinsync::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OriginTemplate(AttributionTemplate);

impl OriginTemplate {
    /// Parses a template.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`] for an unknown placeholder (`{author}`
    /// included: an issue's origin names no author), an unclosed brace, a
    /// line break, or a template that renders nothing.
    pub fn new(template: &str) -> Result<Self> {
        let parsed = AttributionTemplate::new(template).map_err(|e| {
            Error::new(
                ErrorKind::InvalidConfig,
                e.to_string()
                    .replacen("attribution template", "origin template", 1),
            )
        })?;
        if parsed.names_author() {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "origin template {template:?}: unknown placeholder {{author}} (use {{key}}, {{instance}})"
                ),
            ));
        }
        Ok(OriginTemplate(parsed))
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The line of a twin of the issue `origin`.
    pub fn render(&self, origin: &Origin) -> Header {
        self.0.render("", origin)
    }
}

impl Default for OriginTemplate {
    fn default() -> Self {
        OriginTemplate::new(DEFAULT_ORIGIN_TEMPLATE)
            .unwrap_or_else(|e| unreachable!("the default origin template parses: {e}"))
    }
}

impl TryFrom<String> for OriginTemplate {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        OriginTemplate::new(&value)
    }
}

impl From<OriginTemplate> for String {
    fn from(t: OriginTemplate) -> String {
        t.0.into()
    }
}

/// How the twin of an issue says where it came from.
///
/// As JSON (in a [`RuleSpec`](super::RuleSpec)): `"off"`, `"remote_link"`,
/// or `{"description_line": "<template>"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueOrigin {
    /// Twins say nothing about their origin.
    Off,
    /// A remote link to the original (Basic's default); on a tracker without
    /// remote links, the description line of the default template.
    #[default]
    RemoteLink,
    /// The twin's description starts with a line rendered from the template.
    DescriptionLine(OriginTemplate),
}

impl IssueOrigin {
    /// This setting on a tracker that does (`remote_links`) or does not hold
    /// remote links: [`RemoteLink`](Self::RemoteLink) becomes the default
    /// description line where links cannot be written.
    pub fn on_tracker(&self, remote_links: bool) -> IssueOrigin {
        match self {
            IssueOrigin::RemoteLink if !remote_links => {
                IssueOrigin::DescriptionLine(OriginTemplate::default())
            }
            other => other.clone(),
        }
    }
}

/// The remote link a twin of `origin` on `connection` carries: titled with
/// the original's key, pointing at its page, with a global id that names the
/// connection (a twin has one origin per connection), so writing it again
/// replaces it.
pub fn origin_link(origin: &Origin, connection: &ConnectionId) -> RemoteLink {
    let mut link = RemoteLink::new(
        origin_global_id(connection),
        browse_url(origin),
        origin.key.as_str(),
    );
    link.summary = Some(format!(
        "{} on {}",
        origin.key,
        origin.instance.as_str().trim_end_matches('/')
    ));
    link.relationship = Some(ORIGIN_RELATIONSHIP.to_owned());
    link
}

/// The global id of the origin link a twin of `connection` carries.
pub fn origin_global_id(connection: &ConnectionId) -> String {
    format!("twinsync:origin:{connection}")
}

/// The fingerprint of an origin link, as twin state records it.
pub fn origin_link_fingerprint(link: &RemoteLink) -> u64 {
    let json =
        serde_json::to_string(link).unwrap_or_else(|e| unreachable!("a link serializes: {e}"));
    FieldValue::Text(json).fingerprint().max(1)
}

/// The origin line a twin made by `connection` was created with, as its
/// marker recorded it (whether or not its description still starts with it).
pub fn origin_line(issue: &Issue, connection: &ConnectionId) -> Option<Header> {
    Marker::find(&issue.properties, connection)?.header
}

/// An issue as the sync sees it on `connection`: without the origin line of
/// a twin this connection made, while its description still starts with it.
/// The outgoing rules and the planner both read issues through it.
pub fn local_description<'a>(issue: &'a Issue, connection: &ConnectionId) -> Cow<'a, Issue> {
    match origin_line(issue, connection).and_then(|h| h.strip(&issue.description)) {
        Some(description) => Cow::Owned(Issue {
            description,
            ..issue.clone()
        }),
        None => Cow::Borrowed(issue),
    }
}

#[cfg(test)]
#[path = "origin_tests.rs"]
mod tests;
