//! Operations on one twin: exalate, connect, unexalate, its info, and
//! queueing it for the next cycle.

use crate::connection::{Connection, ConnectionStatus};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, Issue, IssueId, IssueKey};
use crate::plan::TwinState;
use crate::store::{QueueItem, StoreTxn, TwinConflicts};

use super::batch::Seat;
use super::types::{Direction, Hints, Outcome, TwinInfo, refuse_sync_copy};
use crate::engine::node::Node;

impl Node {
    /// Brings one issue under sync: the first sync creates its twin on the
    /// other side of the connection (with comments and attachments); an issue
    /// already under sync is synced again.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection or issue; `InvalidInput` when the
    /// issue is in neither project of the connection; `AlreadyExists` for an
    /// issue this connection created whose twin is not recorded (yet): a lost
    /// create settling, or a store being re-derived; the sync's errors (they
    /// are also recorded in the [status](Node::status)).
    pub async fn exalate(&self, connection: &ConnectionId, key: &IssueKey) -> Result<TwinInfo> {
        let conn = self.connection(connection)?;
        let issue = self.tracker().issue_by_key(key).await?;
        self.exalate_issue(&conn, issue, None).await
    }

    /// Exalates `issue`; a new twin's create goes out with the batch of
    /// `seat`, when given (bulk exalate).
    pub(in crate::engine) async fn exalate_issue(
        &self,
        conn: &Connection,
        issue: Issue,
        seat: Option<&Seat>,
    ) -> Result<TwinInfo> {
        if !conn.is_local() {
            return self.exalate_remote(conn, issue).await;
        }
        if conn.side_of(&issue.project).is_none() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "issue {} is in project {}, which connection {} does not sync ({} ↔ {})",
                    issue.key, issue.project, conn.name, conn.a.project, conn.b.project
                ),
            ));
        }
        let (origin, new) = {
            let mut txn = self.txn()?;
            let existing = match txn.twin_by_remote(&conn.id, &issue.id)? {
                Some(t) => Some(t),
                None => txn.twin_by_local(&conn.id, &issue.id)?,
            };
            match existing {
                Some(t) => (t.remote.id, false),
                None => {
                    refuse_sync_copy(conn, &issue)?;
                    txn.put_twin(&TwinState::new(conn.id.clone(), issue.reference()))?;
                    txn.commit()?;
                    (issue.id.clone(), true)
                }
            }
        };
        if conn.status != ConnectionStatus::Active {
            self.enqueue(conn, &issue)?;
            return self.twin_info(conn, &origin, None);
        }
        let hints = Hints {
            source: new.then_some(issue),
            match_existing: false,
            batch: seat,
        };
        let dirs: &[Direction] = if new {
            &[Direction::Forward]
        } else {
            &[Direction::Forward, Direction::Backward]
        };
        let outcome = self.sync_twin_recorded(conn, &origin, dirs, hints).await?;
        self.twin_info(conn, &origin, Some(outcome))
    }

    /// Links an existing issue to an existing issue on the other side of the
    /// connection, then syncs them both ways.
    ///
    /// `origin`, the issue connected from, is the source at that moment: its
    /// summary, description and issue type (and any other synced field that
    /// differs) overwrite the twin's, with no conflict recorded. Comments
    /// present on both with the same body and author are matched, not copied;
    /// every other comment is copied to the other issue, both ways. From then
    /// on edits travel both ways as for any twin. The same holds on a remote
    /// connection, where `origin` is this node's issue and `twin` the key of
    /// the other node's issue.
    ///
    /// # Errors
    ///
    /// `AlreadyExists` when either issue is under sync already; `InvalidInput`
    /// when they are not one in each project of the connection.
    pub async fn connect(
        &self,
        connection: &ConnectionId,
        origin: &IssueKey,
        twin: &IssueKey,
    ) -> Result<TwinInfo> {
        let conn = self.connection(connection)?;
        if !conn.is_local() {
            return self.connect_remote(&conn, origin, twin).await;
        }
        let a = self.tracker().issue_by_key(origin).await?;
        let b = self.tracker().issue_by_key(twin).await?;
        let sides_ok = conn
            .other_side(&a.project)
            .is_some_and(|s| s.project == b.project);
        if !sides_ok {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "connect needs one issue in {} and one in {}; got {} ({}) and {} ({})",
                    conn.a.project, conn.b.project, a.key, a.project, b.key, b.project
                ),
            ));
        }
        {
            let mut txn = self.txn()?;
            for issue in [&a, &b] {
                let taken = txn.twin_by_remote(&conn.id, &issue.id)?.is_some()
                    || txn.twin_by_local(&conn.id, &issue.id)?.is_some();
                if taken {
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!(
                            "issue {} is already under sync on connection {}",
                            issue.key, conn.name
                        ),
                    ));
                }
            }
            let mut state = TwinState::new(conn.id.clone(), a.reference());
            state.local = Some(b.reference());
            txn.put_twin(&state)?;
            txn.commit()?;
        }
        let hints = Hints {
            source: None,
            match_existing: true,
            batch: None,
        };
        let outcome = self
            .sync_twin_recorded(
                &conn,
                &a.id,
                &[Direction::Forward, Direction::Backward],
                hints,
            )
            .await?;
        self.twin_info(&conn, &a.id, Some(outcome))
    }

    /// Stops syncing an issue and its twin; both issues stay, later edits no
    /// longer travel.
    ///
    /// # Errors
    ///
    /// `NotFound` when the issue is not under sync on the connection.
    pub async fn unexalate(&self, connection: &ConnectionId, key: &IssueKey) -> Result<TwinInfo> {
        let conn = self.connection(connection)?;
        if !conn.is_local() {
            return self.unexalate_remote(&conn, key).await;
        }
        let issue = self.tracker().issue_by_key(key).await?;
        let mut txn = self.txn()?;
        let state = match txn.twin_by_remote(&conn.id, &issue.id)? {
            Some(t) => t,
            None => txn.twin_by_local(&conn.id, &issue.id)?.ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("issue {key} is not under sync on connection {}", conn.name),
                )
            })?,
        };
        txn.delete_twin(&conn.id, &state.remote.id)?;
        for id in std::iter::once(&state.remote.id).chain(state.local.as_ref().map(|l| &l.id)) {
            txn.clear_error(&conn.id, id)?;
        }
        for intent in txn.intents(&conn.id)? {
            if intent.origin == state.remote.id
                || state.local.as_ref().is_some_and(|l| l.id == intent.origin)
            {
                txn.delete_intent(&intent.id)?;
            }
        }
        txn.put_conflicts(&TwinConflicts {
            connection: conn.id.clone(),
            origin: state.remote.id.clone(),
            conflicts: Vec::new(),
        })?;
        txn.commit()?;
        tracing::info!(connection = %conn.name, issue = %key, "unexalated");
        Ok(TwinInfo {
            connection: conn.id,
            origin: state.remote,
            twin: state.local,
            writes: 0,
            conflicts: Vec::new(),
            waiting: false,
            plans: Vec::new(),
        })
    }

    pub(in crate::engine) fn twin_info(
        &self,
        conn: &Connection,
        origin: &IssueId,
        outcome: Option<Outcome>,
    ) -> Result<TwinInfo> {
        let state = self
            .txn()?
            .twin_by_remote(&conn.id, origin)?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("issue {origin} is not under sync on {}", conn.name),
                )
            })?;
        let outcome = outcome.unwrap_or(Outcome {
            waiting: true,
            ..Outcome::default()
        });
        Ok(TwinInfo {
            connection: conn.id.clone(),
            origin: state.remote,
            twin: state.local,
            writes: outcome.writes,
            conflicts: outcome.conflicts,
            waiting: outcome.waiting,
            plans: outcome.plans,
        })
    }

    pub(in crate::engine) fn enqueue(&self, conn: &Connection, issue: &Issue) -> Result<()> {
        let mut txn = self.txn()?;
        self.enqueue_in(&mut *txn, conn, issue)?;
        txn.commit()
    }

    /// Queues `issue` of this node's tracker for the next cycle, in `txn`.
    pub(in crate::engine) fn enqueue_in(
        &self,
        txn: &mut dyn StoreTxn,
        conn: &Connection,
        issue: &Issue,
    ) -> Result<()> {
        txn.enqueue(&QueueItem {
            seq: 0,
            connection: conn.id.clone(),
            project: issue.project.clone(),
            issue: issue.id.clone(),
            queued: self.now(),
        })?;
        Ok(())
    }
}
