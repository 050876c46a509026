//! The sync panel: what a connection and each of its issues are doing.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, IssueKey, IssueRef};
use crate::plan::{Conflict, TwinState, Winner};
use crate::store::{DeletionDecision, IntentKind, RefusedDeletion, TwinConflicts, TwinError};

use super::peer_status::PeerStatus;
use crate::engine::node::Node;
use crate::engine::sync::recovery::Recovery;

/// The state of one issue under sync.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum IssueState {
    /// Waiting in the queue.
    Queued,
    /// A create is in flight or settling.
    InProgress,
    /// In step with its twin.
    Synchronized,
    /// The last sync failed.
    Error {
        /// The error's kind.
        kind: ErrorKind,
        /// What went wrong.
        cause: String,
        /// Failures in a row.
        attempts: u32,
        /// What happens next: a retry at a set time, or a quarantine.
        recovery: Recovery,
    },
    /// The mass-deletion guard refused deletions on this twin (the rest of
    /// its sync applied): confirm them with
    /// [`confirm_deletion`](crate::engine::Admin::confirm_deletion) or dismiss them with
    /// [`dismiss_deletion`](crate::engine::Admin::dismiss_deletion).
    Refused {
        /// What the refused deletions would delete.
        deletions: Vec<RefusedDeletion>,
        /// A user's decision, carried out by the next sync.
        decision: Option<DeletionDecision>,
    },
    /// The last sync met conflicts: each with the field, both values, the
    /// base both had before (when known) and the side whose value was kept.
    Conflict {
        /// The conflicts, as recorded.
        conflicts: Vec<Conflict>,
    },
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

impl fmt::Display for IssueState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IssueState::Queued => f.write_str("queued"),
            IssueState::InProgress => f.write_str("in progress"),
            IssueState::Synchronized => f.write_str("synchronized"),
            IssueState::Error {
                cause,
                attempts,
                recovery,
                ..
            } => match recovery {
                Recovery::Quarantined { action } => {
                    let s = if *attempts == 1 { "" } else { "s" };
                    write!(
                        f,
                        "quarantined after {attempts} attempt{s}: {cause}; {action}"
                    )
                }
                Recovery::Backoff { next_try } => write!(
                    f,
                    "error ({attempts}×): {cause}; next try at {}",
                    rfc3339(*next_try)
                ),
                Recovery::NextCycle => write!(f, "error ({attempts}×): {cause}"),
            },
            IssueState::Refused {
                deletions,
                decision,
            } => {
                for (i, d) in deletions.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{d}")?;
                }
                match decision {
                    None => f.write_str("; confirm or dismiss"),
                    Some(DeletionDecision::Confirmed) => {
                        f.write_str("; confirmed, deleted by the next sync")
                    }
                    Some(_) => f.write_str("; dismissed, kept by the next sync"),
                }
            }
            IssueState::Conflict { conflicts } => {
                f.write_str("synchronized with conflicts: ")?;
                for (i, c) in conflicts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    let kept = match c.winner {
                        Winner::Remote => "the other side's value",
                        Winner::Local => "this side's value",
                    };
                    write!(f, "{} (kept {kept})", c.subject)?;
                }
                Ok(())
            }
        }
    }
}

/// One issue of the panel: the issue, its twin and its state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IssueStatus {
    /// The issue that was exalated.
    pub origin: IssueRef,
    /// Its twin, once created.
    pub twin: Option<IssueRef>,
    /// What it is doing.
    pub state: IssueState,
}

/// The sync panel of a connection; prints as a compact table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SyncPanel {
    /// The connection.
    pub connection: Connection,
    /// Issues under sync (twins).
    pub twins: u64,
    /// Changes waiting in the queue.
    pub queued: u64,
    /// When the last cycle finished.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_sync: Option<OffsetDateTime>,
    /// Recorded errors, and deletions the mass-deletion guard refused (kind
    /// [`Refused`](ErrorKind::Refused)).
    pub errors: Vec<TwinError>,
    /// Every issue under sync.
    pub issues: Vec<IssueStatus>,
    /// On a remote connection: whether the other node answers (since when
    /// it does not) and how many messages wait for it.
    pub peer: Option<PeerStatus>,
}

impl fmt::Display for SyncPanel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "connection {}", self.connection)?;
        let last = self
            .last_sync
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| "never".to_owned());
        let refused = self.errors.iter().filter(|e| e.is_refusal()).count();
        let quarantined = self
            .errors
            .iter()
            .filter(|e| !e.is_refusal() && e.quarantine.is_some())
            .count();
        writeln!(
            f,
            "  issues under sync: {}   queue: {}   errors: {} ({quarantined} quarantined)   \
             refused deletions: {refused}   last sync: {last}",
            self.twins,
            self.queued,
            self.errors.len() - refused,
        )?;
        if let Some(peer) = &self.peer {
            writeln!(f, "  {peer}")?;
        }
        let width = self
            .issues
            .iter()
            .map(|i| i.origin.key.as_str().len())
            .max()
            .unwrap_or(0);
        for issue in &self.issues {
            let twin = issue.twin.as_ref().map_or("—", |t| t.key.as_str());
            writeln!(
                f,
                "  {:<width$} ⇄ {:<width$}  {}",
                issue.origin.key.as_str(),
                twin,
                issue.state
            )?;
        }
        Ok(())
    }
}

impl Node {
    /// The sync panel of a connection: status, issues under sync, queue,
    /// errors, last sync, each issue's state and, on a remote connection,
    /// whether the other node answers and what waits for it.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `Storage`.
    pub fn status(&self, connection: &ConnectionId) -> Result<SyncPanel> {
        let conn = self.connection(connection)?;
        let mut txn = self.txn()?;
        let twins = txn.twins(&conn.id)?;
        let errors = txn.errors(&conn.id)?;
        let queue = txn.queue(&conn.id, usize::MAX)?;
        let intents = txn.intents(&conn.id)?;
        let last_sync = txn.last_sync(&conn.id)?;
        let mut conflicts: std::collections::HashMap<_, _> = txn
            .conflicts(&conn.id)?
            .into_iter()
            .map(|c| (c.origin, c.conflicts))
            .collect();
        let mut issues = Vec::with_capacity(twins.len());
        for twin in &twins {
            let ids = [Some(&twin.remote.id), twin.local.as_ref().map(|l| &l.id)];
            let state = if let Some(e) = errors.iter().find(|e| e.issue == twin.remote.id) {
                if e.is_refusal() {
                    IssueState::Refused {
                        deletions: e.refused.clone(),
                        decision: e.decision,
                    }
                } else {
                    IssueState::Error {
                        kind: e.kind,
                        cause: e.message.clone(),
                        attempts: e.attempts,
                        recovery: Recovery::of(e),
                    }
                }
            } else if intents.iter().any(|i| {
                i.origin == twin.remote.id && matches!(i.kind, IntentKind::CreateIssue { .. })
            }) || twin.local.is_none()
            {
                IssueState::InProgress
            } else if queue.iter().any(|q| ids.contains(&Some(&q.issue))) {
                IssueState::Queued
            } else if let Some(conflicts) = conflicts.remove(&twin.remote.id) {
                IssueState::Conflict { conflicts }
            } else {
                IssueState::Synchronized
            };
            let (origin, other) = if conn.is_local() {
                (twin.remote.clone(), twin.local.clone())
            } else {
                self.remote_pair(&mut *txn, twin)?
            };
            issues.push(IssueStatus {
                origin,
                twin: other,
                state,
            });
        }
        drop(txn);
        let peer = self.peer_status(&conn.id)?;
        Ok(SyncPanel {
            peer,
            twins: twins.len() as u64,
            queued: queue.len() as u64,
            last_sync,
            errors,
            issues,
            connection: conn,
        })
    }

    /// The open conflicts of a connection: per twin, each conflicted field
    /// with both values, the base and the value kept, ordered by origin issue.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `Storage`.
    pub fn conflicts(&self, connection: &ConnectionId) -> Result<Vec<TwinConflicts>> {
        let conn = self.connection(connection)?;
        self.txn()?.conflicts(&conn.id)
    }

    /// The state of one issue (either issue of a twin, by key).
    ///
    /// # Errors
    ///
    /// `NotFound` when the issue is not under sync on the connection.
    pub fn issue_status(&self, connection: &ConnectionId, key: &IssueKey) -> Result<IssueStatus> {
        self.status(connection)?
            .issues
            .into_iter()
            .find(|i| &i.origin.key == key || i.twin.as_ref().is_some_and(|t| &t.key == key))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("issue {key} is not under sync on connection {connection}"),
                )
            })
    }

    /// Forgets the recorded error of an issue (after fixing its cause by hand),
    /// a refused deletion and its recorded conflicts; the twin is queued, so
    /// the next cycle tries it again (a quarantine ends).
    ///
    /// # Errors
    ///
    /// `NotFound` when the issue is not under sync on the connection.
    pub(in crate::engine) fn resolve(
        &self,
        connection: &ConnectionId,
        key: &IssueKey,
    ) -> Result<()> {
        let twin = self.twin_of_key(connection, key)?;
        let conn = self.connection(connection)?;
        self.forget_projects(&conn);
        let mut txn = self.txn()?;
        txn.clear_error(connection, &twin.remote.id)?;
        self.enqueue_twin(&mut *txn, &conn, &twin)?;
        txn.put_conflicts(&TwinConflicts {
            connection: connection.clone(),
            origin: twin.remote.id.clone(),
            conflicts: Vec::new(),
        })?;
        txn.commit()
    }

    /// Forgets what this node knows of the projects of a connection (read
    /// afresh by the next sync: a user may just have fixed one).
    fn forget_projects(&self, conn: &Connection) {
        for side in [&conn.a, &conn.b] {
            self.forget_project(&side.project);
        }
    }

    /// The stored twin one of whose issues has `key`.
    pub(in crate::engine) fn twin_of_key(
        &self,
        connection: &ConnectionId,
        key: &IssueKey,
    ) -> Result<TwinState> {
        let conn = self.connection(connection)?;
        self.txn()?
            .twins(&conn.id)?
            .into_iter()
            .find(|t| &t.remote.key == key || t.local.as_ref().is_some_and(|l| &l.key == key))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("issue {key} is not under sync on connection {connection}"),
                )
            })
    }

    /// Syncs one issue under sync again now (after a failure), both ways; a
    /// quarantine ends (the projects' metadata is read afresh). On a remote
    /// connection this node sends its issue, and asks the other node to send
    /// its issue again when a failure of it is on record here.
    ///
    /// # Errors
    ///
    /// `NotFound` when the issue is not under sync; the sync's errors.
    pub async fn retry(
        &self,
        connection: &ConnectionId,
        key: &IssueKey,
    ) -> Result<crate::engine::sync::types::TwinInfo> {
        let conn = self.connection(connection)?;
        self.forget_projects(&conn);
        let twin = match self.twin_of_key(connection, key) {
            Ok(twin) => twin,
            Err(e) if e.kind() == ErrorKind::NotFound && !conn.is_local() => {
                // One of this node's issues whose twin was never created.
                let issue = self.tracker().issue_by_key(key).await?;
                return self.exalate_remote(&conn, issue).await;
            }
            Err(e) => return Err(e),
        };
        if !conn.is_local() {
            let failed_here = self
                .txn()?
                .errors(&conn.id)?
                .iter()
                .any(|e| e.issue == twin.remote.id && !e.is_refusal());
            if failed_here {
                let mut txn = self.txn()?;
                txn.clear_error(&conn.id, &twin.remote.id)?;
                self.ask_resend_in(&mut *txn, &conn, &twin.remote.id)?;
                txn.commit()?;
            }
            // This side's issue is the one it sends.
            let own = twin.local.ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("issue {key} has no twin on this side of {connection} yet"),
                )
            })?;
            let issue = self.tracker().issue(&own.id).await?;
            return self.exalate_remote(&conn, issue).await;
        }
        let outcome = self
            .sync_twin_recorded(
                &conn,
                &twin.remote.id,
                &[
                    crate::engine::sync::types::Direction::Forward,
                    crate::engine::sync::types::Direction::Backward,
                ],
                crate::engine::sync::types::Hints::default(),
            )
            .await?;
        self.twin_info(&conn, &twin.remote.id, Some(outcome))
    }
}
