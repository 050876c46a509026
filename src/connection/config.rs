//! [`Connection`]: a named link between two sides, as a node keeps it.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::{ConnectionId, InstanceUrl, ProjectKey, UserMapping};
use crate::plan::{ConflictPolicy, DeletionGuard};
use crate::rules::RuleSetKind;
use crate::trigger::Trigger;

use super::Mode;

/// One end of a connection: a project on an instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Side {
    /// The instance.
    pub instance: InstanceUrl,
    /// The project.
    #[serde(deserialize_with = "stored_project")]
    pub project: ProjectKey,
}

/// A side's project as stored. Before project keys were checked, the unknown
/// side of a pending connection was stored as `?`: it reads as
/// `UNKNOWN`, what such a side holds now. Any other malformed key is refused.
fn stored_project<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ProjectKey, D::Error> {
    let text = String::deserialize(d)?;
    if text == "?" {
        return Ok(ProjectKey::unknown());
    }
    ProjectKey::new(text).map_err(serde::de::Error::custom)
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", shown(&self.project), self.instance)
    }
}

/// A side's project for people: `?` for the unknown side of a pending connection.
fn shown(project: &ProjectKey) -> &str {
    if *project == ProjectKey::unknown() {
        "?"
    } else {
        project.as_str()
    }
}

/// Where a connection's status stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// Waiting for the other side to accept.
    Pending,
    /// Syncing.
    Active,
    /// Paused: changes queue and are applied on activation.
    Deactivated,
    /// Stopped by a connection-wide failure (authentication, a missing project).
    Error {
        /// What went wrong, and what to do.
        cause: String,
    },
}

impl fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionStatus::Pending => f.write_str("pending"),
            ConnectionStatus::Active => f.write_str("active"),
            ConnectionStatus::Deactivated => f.write_str("deactivated"),
            ConnectionStatus::Error { cause } => write!(f, "error: {cause}"),
        }
    }
}

/// A named link between two sides, with its mode, rules and status.
///
/// Side `a` is the side issues are first exalated from when nothing else says
/// otherwise; both directions sync.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    /// The id (equal on both sides).
    pub id: ConnectionId,
    /// The unique name, by default `<A>_to_<B>`.
    pub name: String,
    /// One side.
    pub a: Side,
    /// The other side.
    pub b: Side,
    /// The mode.
    pub mode: Mode,
    /// Basic (fixed) or custom rules.
    pub rules: RuleSetKind,
    /// How conflicts are decided.
    pub policy: ConflictPolicy,
    /// The mass-deletion guard.
    pub guard: DeletionGuard,
    /// The status.
    pub status: ConnectionStatus,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// This node's triggers on the connection, in the order they were added
    /// (see [`Admin::add_trigger`](crate::engine::Admin::add_trigger)).
    /// Connections stored without triggers read back with none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<Trigger>,
    /// This node's user mapping: who the other site's users are here (used
    /// on remote connections for mentions; see
    /// [`Admin::set_user_mapping`](crate::engine::Admin::set_user_mapping)).
    /// Connections stored without one read back with the default (by email).
    #[serde(default, skip_serializing_if = "UserMapping::is_default")]
    pub users: UserMapping,
}

impl Connection {
    /// Whether both sides are on one instance.
    pub fn is_local(&self) -> bool {
        self.a.instance == self.b.instance
    }

    /// The side whose project is `project` (checking `a` first).
    pub fn side_of(&self, project: &ProjectKey) -> Option<&Side> {
        [&self.a, &self.b]
            .into_iter()
            .find(|s| &s.project == project)
    }

    /// The other side of the one with `project`.
    pub fn other_side(&self, project: &ProjectKey) -> Option<&Side> {
        if &self.a.project == project {
            Some(&self.b)
        } else if &self.b.project == project {
            Some(&self.a)
        } else {
            None
        }
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_local() { "local" } else { "remote" };
        write!(
            f,
            "{} ({kind}: {} ↔ {}) — {}",
            self.name,
            shown(&self.a.project),
            shown(&self.b.project),
            self.status
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(project: &str) -> serde_json::Result<Side> {
        serde_json::from_value(serde_json::json!({
            "instance": "https://a.example",
            "project": project,
        }))
    }

    #[test]
    fn a_stored_side_reads_its_project_checked() {
        assert_eq!(side("SUP").unwrap().project.as_str(), "SUP");
        assert_eq!(
            side("?").unwrap().project,
            ProjectKey::unknown(),
            "0.1's unknown side"
        );
        let err = side("").unwrap_err();
        assert!(
            err.to_string().contains(r#"project key "" is empty"#),
            "{err}"
        );
        assert!(side("SUP-1").is_err());
    }
}
