//! People across sites: a user's profile as a tracker shows it, and the
//! [`UserMapping`] that says who a user of the other site is here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::UserId;

/// A user as a tracker shows them: account id, display name and, when the
/// tracker exposes it to the integration user, email address.
///
/// Replicas carry one per user their text mentions (see
/// [`Replica::users`](crate::replica::Replica::users)).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserProfile {
    /// The account id on its tracker.
    pub id: UserId,
    /// The name shown to people.
    pub display_name: String,
    /// The email address, when the tracker shows it (Jira Cloud hides it
    /// unless the user's profile settings allow it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl UserProfile {
    /// A profile without an email address.
    pub fn new(id: UserId, display_name: impl Into<String>) -> Self {
        UserProfile {
            id,
            display_name: display_name.into(),
            email: None,
        }
    }

    /// The same profile with an email address.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }
}

/// Who a user of the other site of a remote connection is on this site.
///
/// A user of one site means nothing on another: account ids differ, and a
/// display name may belong to someone else. A mention (and, in rules to
/// come, an assignee or reporter) that arrives from the other site is looked
/// up here; a user with no match is never replaced by a guess (a mention
/// becomes the plain text "@Display Name").
///
/// A match is found, in this order:
///
/// 1. in the explicit table, by the other site's account id, then by its
///    email address (entries are this site's account ids);
/// 2. by email, when [`by_email`](Self::by_email) is on (the default) and
///    the other site shows the user's email: this site's user with exactly
///    that address (compared case-insensitively), if exactly one has it.
///
/// Local connections need no mapping: both sides are one site.
///
/// ```
/// use twinsync::model::{UserId, UserMapping};
///
/// let mapping = UserMapping::default()
///     .map_account("5b10a2844c20165700ede21g".parse::<UserId>()?, "712020:ada".parse::<UserId>()?)
///     .map_email("Grace@Example.com", "712020:grace".parse::<UserId>()?);
/// assert!(mapping.by_email);
/// assert_eq!(
///     mapping.table_match(&"x".parse()?, Some("grace@example.com")),
///     Some(&"712020:grace".parse()?)
/// );
/// assert_eq!(UserMapping::none().table_match(&"x".parse()?, None), None);
/// # Ok::<(), twinsync::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserMapping {
    /// Match users by email address where both sites show it.
    #[serde(default = "yes")]
    pub by_email: bool,
    /// Explicit matches: the other site's account id → this site's account id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub accounts: BTreeMap<UserId, UserId>,
    /// Explicit matches: an email address of the other site (lower case) →
    /// this site's account id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub emails: BTreeMap<String, UserId>,
}

fn yes() -> bool {
    true
}

impl Default for UserMapping {
    /// Match by email only.
    fn default() -> Self {
        UserMapping {
            by_email: true,
            accounts: BTreeMap::new(),
            emails: BTreeMap::new(),
        }
    }
}

impl UserMapping {
    /// A mapping that matches nobody: every mention from the other site
    /// arrives as plain text.
    pub fn none() -> Self {
        UserMapping {
            by_email: false,
            ..UserMapping::default()
        }
    }

    /// Turns matching by email on or off.
    pub fn match_by_email(mut self, on: bool) -> Self {
        self.by_email = on;
        self
    }

    /// Maps the other site's account `theirs` to this site's account `ours`.
    pub fn map_account(mut self, theirs: UserId, ours: UserId) -> Self {
        self.accounts.insert(theirs, ours);
        self
    }

    /// Maps the other site's user with email `theirs` to this site's account `ours`.
    pub fn map_email(mut self, theirs: impl AsRef<str>, ours: UserId) -> Self {
        self.emails.insert(theirs.as_ref().to_lowercase(), ours);
        self
    }

    /// Whether this is the default mapping (by email, no table): what a
    /// connection stored without one reads back as.
    pub fn is_default(&self) -> bool {
        self == &UserMapping::default()
    }

    /// The table's match for the other site's user `id` (with `email`, when
    /// shown): by account id first, then by email.
    pub fn table_match(&self, id: &UserId, email: Option<&str>) -> Option<&UserId> {
        self.accounts
            .get(id)
            .or_else(|| self.emails.get(&email?.to_lowercase()))
    }
}
