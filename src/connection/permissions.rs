//! Who may set up and change connections for a project.
//!
//! As in Exalate for Jira Cloud: global admins always may. A global toggle
//! ([`ProjectLevelPolicy::enabled`]) lets project admins set up Basic
//! connections for their own projects; while it is on, a group decides which
//! project admins:
//!
//! | group [`ProjectLevelPolicy::group`] | project admins who may |
//! |---|---|
//! | does not exist | all |
//! | exists and is empty | none |
//! | exists with members | those who are members |
//!
//! Nobody else may, whatever the group holds.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::model::{ProjectKey, UserId};
use crate::tracker::Tracker;

/// The default name of the group that decides which project admins may set up
/// connections: `twinsync-project-level-administrators` (Exalate's is
/// `exalate-project-level-administrators`).
pub const DEFAULT_PROJECT_LEVEL_GROUP: &str = "twinsync-project-level-administrators";

/// Whether project admins may set up connections for their own projects, and
/// which ones.
///
/// The default is off, with the group [`DEFAULT_PROJECT_LEVEL_GROUP`].
///
/// ```
/// use twinsync::connection::{Grant, ProjectLevelPolicy};
/// use twinsync::model::{ProjectKey, UserId};
/// use twinsync::MemoryTracker;
///
/// # futures::executor::block_on(async {
/// let tracker = MemoryTracker::new("https://acme.example")?;
/// tracker.add_project("DEV", "Development", &["Task"], None)?;
/// let (dev, ann) = (ProjectKey::new("DEV")?, UserId::new("ann")?);
/// tracker.set_project_admin(&dev, &ann, true);
///
/// let mut policy = ProjectLevelPolicy::default();
/// assert!(policy.check(&tracker, &ann, &dev).await.is_err());
/// policy.enabled = true; // and no such group: every project admin may
/// assert_eq!(policy.check(&tracker, &ann, &dev).await?, Grant::ProjectAdmin);
/// # Ok::<(), twinsync::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProjectLevelPolicy {
    /// Whether project admins may set up connections for their own projects.
    pub enabled: bool,
    /// The group that decides which project admins may, while enabled.
    pub group: String,
}

impl Default for ProjectLevelPolicy {
    fn default() -> Self {
        ProjectLevelPolicy {
            enabled: false,
            group: DEFAULT_PROJECT_LEVEL_GROUP.to_owned(),
        }
    }
}

/// The project-level group, as the tracker knows it, seen from one user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupState {
    /// No group of that name exists.
    Absent,
    /// The group exists and has no members.
    Empty,
    /// The group has members.
    Members {
        /// Whether the user is one of them.
        includes_user: bool,
    },
}

/// What the decision needs to know about a user and a project.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PermissionFacts {
    /// The user administers the whole instance.
    pub global_admin: bool,
    /// The user administers the project.
    pub project_admin: bool,
    /// The project-level group; only looked at when
    /// [`ProjectLevelPolicy::needs_group`] says so, `None` when not looked up.
    pub group: Option<GroupState>,
}

/// Why a user may set up connections for a project.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Grant {
    /// The user is a global admin.
    GlobalAdmin,
    /// The user administers the project, project-level connections are on and
    /// the group does not exist.
    ProjectAdmin,
    /// The user administers the project, project-level connections are on and
    /// the user is a member of the group.
    GroupMember,
}

impl ProjectLevelPolicy {
    /// Whether the decision for such a user depends on the group.
    pub fn needs_group(&self, global_admin: bool, project_admin: bool) -> bool {
        self.enabled && !global_admin && project_admin
    }

    /// Decides whether `user` may set up connections for `project`, given the facts.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::PermissionDenied`], saying why; [`ErrorKind::Unexpected`]
    /// when the group is needed but `facts.group` is `None`.
    pub fn decide(
        &self,
        facts: &PermissionFacts,
        user: &UserId,
        project: &ProjectKey,
    ) -> Result<Grant> {
        let deny = |why: String| {
            Err(Error::new(
                ErrorKind::PermissionDenied,
                format!("user {user} may not set up connections for project {project}: {why}"),
            ))
        };
        if facts.global_admin {
            return Ok(Grant::GlobalAdmin);
        }
        if !self.enabled {
            return deny(
                "only global admins may, as project-level connections are turned off".to_owned(),
            );
        }
        if !facts.project_admin {
            return deny(format!(
                "they are neither a global admin nor an admin of project {project}"
            ));
        }
        let group = &self.group;
        match facts.group {
            Some(GroupState::Absent) => Ok(Grant::ProjectAdmin),
            Some(GroupState::Members {
                includes_user: true,
            }) => Ok(Grant::GroupMember),
            Some(GroupState::Members {
                includes_user: false,
            }) => deny(format!(
                "they administer the project but are not a member of group {group:?}, \
                 which lists the project admins who may"
            )),
            Some(GroupState::Empty) => deny(format!(
                "group {group:?} exists and is empty, so no project admin may; \
                 add them to it, or delete the group to let every project admin"
            )),
            None => Err(Error::new(
                ErrorKind::Unexpected,
                format!("membership of group {group:?} was needed but not looked up"),
            )),
        }
    }

    /// Looks up the facts through `tracker` and [`decide`](Self::decide)s.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::PermissionDenied`], saying why; `NotFound` when the
    /// project does not exist; [`ErrorKind::InvalidConfig`] when the group is
    /// needed but its name is blank; and the tracker's own errors.
    pub async fn check(
        &self,
        tracker: &dyn Tracker,
        user: &UserId,
        project: &ProjectKey,
    ) -> Result<Grant> {
        let context = |e: Error| {
            e.with_context("project", project)
                .with_operation("check connection permission")
        };
        let global_admin = tracker.is_global_admin(user).await.map_err(context)?;
        // Asked even of global admins: it is how a missing project shows.
        let project_admin = tracker
            .is_project_admin(user, project)
            .await
            .map_err(context)?;
        let group = if self.needs_group(global_admin, project_admin) {
            if self.group.trim().is_empty() {
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    "the project-level group's name is blank; set it, or use the default",
                ));
            }
            let members = tracker.group_members(&self.group).await.map_err(context)?;
            Some(match members {
                None => GroupState::Absent,
                Some(members) if members.is_empty() => GroupState::Empty,
                Some(members) => GroupState::Members {
                    includes_user: members.contains(user),
                },
            })
        } else {
            None
        };
        let facts = PermissionFacts {
            global_admin,
            project_admin,
            group,
        };
        self.decide(&facts, user, project)
    }
}

#[cfg(test)]
#[path = "permissions_tests.rs"]
mod tests;
