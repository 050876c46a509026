//! Who may do what in the console: [`Role`]s, as in Exalate's console, and
//! the [`Action`]s each allows.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An operator's role in the console.
///
/// Roles only narrow what the engine allows: each action is also checked by
/// the engine's own permission checks, for the tracker user the operator
/// acts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sees everything, changes nothing.
    Viewer,
    /// Also edits triggers and rules, runs Test Run and bulk exalate, and
    /// retries and resolves errors.
    Collaborator,
    /// Everything: also sets up, activates, deactivates and deletes
    /// connections, and confirms or dismisses refused deletions.
    Owner,
}

/// Something an operator asks the console to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// See connections, twins, errors, triggers and rules.
    Read,
    /// Add, edit, enable, disable and remove triggers.
    Triggers,
    /// Save rule drafts, publish and roll back.
    Rules,
    /// Preview an issue's sync.
    TestRun,
    /// Bring issues under sync by query.
    BulkExalate,
    /// Retry an error or mark it resolved.
    RetryResolve,
    /// Confirm or dismiss deletions the mass-deletion guard refused.
    Deletions,
    /// Initiate, accept, activate, deactivate and delete connections.
    Connections,
}

impl Role {
    /// Every role, least first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Collaborator, Role::Owner];

    /// Whether this role allows `action`.
    ///
    /// ```
    /// use twinsync::server::console::{Action, Role};
    ///
    /// assert!(Role::Viewer.may(Action::Read));
    /// assert!(!Role::Viewer.may(Action::RetryResolve));
    /// assert!(Role::Collaborator.may(Action::Triggers));
    /// assert!(!Role::Collaborator.may(Action::Connections));
    /// assert!(Role::Owner.may(Action::Connections));
    /// ```
    pub fn may(self, action: Action) -> bool {
        match action {
            Action::Read => true,
            Action::Triggers
            | Action::Rules
            | Action::TestRun
            | Action::BulkExalate
            | Action::RetryResolve => self >= Role::Collaborator,
            Action::Deletions | Action::Connections => self == Role::Owner,
        }
    }

    /// The role's name, as the config spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Collaborator => "collaborator",
            Role::Owner => "owner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                crate::Error::new(
                    crate::ErrorKind::InvalidInput,
                    format!("unknown role {s:?}: expected owner, collaborator or viewer"),
                )
            })
    }
}
