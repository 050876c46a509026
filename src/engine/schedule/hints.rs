//! Hints: what a webhook tells a node ([`Node::hint_changed`]), and how a
//! cycle reads the hinted issues its poll did not return.

use std::collections::BTreeSet;

use crate::connection::ConnectionStatus;
use crate::error::{ErrorKind, Result};
use crate::model::{Issue, IssueKey, ProjectKey};

use super::super::node::Node;
use super::signal::HintTaken;

/// What became of a hint given to [`Node::hint_changed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hinted {
    /// Queued for this many connections, whose cycles run at once when
    /// [`Node::run`] is running.
    Queued {
        /// The connections woken.
        connections: usize,
    },
    /// No active or deactivated connection has a side on that project of
    /// this node's instance: nothing to do.
    NotSynced,
    /// The intake is full ([`hint_capacity`](crate::engine::NodeOptions::hint_capacity)
    /// issues wait already): dropped; polling catches the change.
    Full,
}

impl Node {
    /// Tells the node that issue `key` of `project` (on this node's instance)
    /// changed, without reading anything from the tracker: what a webhook
    /// receiver calls. Every active or deactivated connection with a side on
    /// `project` is woken; its next cycle polls as usual and also reads the
    /// hinted issue directly, so a change that the tracker's search does not
    /// show yet (Jira's index lags) is synced at once.
    ///
    /// The intake is bounded by
    /// [`hint_capacity`](crate::engine::NodeOptions::hint_capacity); hints
    /// beyond it are dropped ([`Hinted::Full`]) and polling covers them.
    ///
    /// # Errors
    ///
    /// Only when the store cannot list the connections.
    pub fn hint_changed(&self, project: &ProjectKey, key: &IssueKey) -> Result<Hinted> {
        let capacity = self.options().hint_capacity;
        let mut queued = 0;
        let mut full = false;
        for conn in self.connections()? {
            if !matches!(
                conn.status,
                ConnectionStatus::Active | ConnectionStatus::Deactivated
            ) {
                continue;
            }
            let covers = [&conn.a, &conn.b]
                .iter()
                .any(|side| &side.project == project && &side.instance == self.instance());
            if !covers {
                continue;
            }
            match self.inner.schedule.hint(&conn.id, key, capacity) {
                HintTaken::Queued => queued += 1,
                HintTaken::Full => full = true,
            }
        }
        Ok(if queued > 0 {
            Hinted::Queued {
                connections: queued,
            }
        } else if full {
            Hinted::Full
        } else {
            Hinted::NotSynced
        })
    }

    /// Adds to `issues` (a poll of `project`) the hinted issues of `project`
    /// it lacks, read directly. A hinted issue that cannot be read is left
    /// to polling (a log line says why).
    pub(in crate::engine) async fn add_hinted(
        &self,
        project: &ProjectKey,
        issues: &mut Vec<Issue>,
        hints: &BTreeSet<IssueKey>,
    ) {
        for key in hints {
            let prefix = key.as_str().rsplit_once('-').map(|(p, _)| p);
            if prefix != Some(project.as_str()) || issues.iter().any(|i| &i.key == key) {
                continue;
            }
            match self.tracker().issue_by_key(key).await {
                Ok(issue) if &issue.project == project => issues.push(issue),
                Ok(_) => {}
                Err(err) if err.kind() == ErrorKind::NotFound => {
                    tracing::debug!(issue = %key, "a hinted issue is gone");
                }
                Err(err) => {
                    tracing::warn!(issue = %key, error = %err, "cannot read a hinted issue; polling covers it");
                }
            }
        }
    }
}
