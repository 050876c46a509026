//! Deletions the mass-deletion guard refused: recorded on the twin, shown in
//! the panel, confirmed or dismissed by a user.

use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, IssueId, IssueKey};
use crate::plan::Plan;
use crate::store::{
    DeletedItems, DeletionDecision, Quarantine, RefusedDeletion, StoreTxn, TwinError,
};

use super::recovery::Seen;
use crate::engine::node::Node;

/// The refused deletions of a plan, as recorded.
pub(in crate::engine) fn refused_of(plan: &Plan) -> Vec<RefusedDeletion> {
    plan.refusals
        .iter()
        .map(|r| {
            let items = if r.items == "attachments" {
                DeletedItems::Attachments
            } else {
                DeletedItems::Comments
            };
            RefusedDeletion::new(items, r.would_delete, r.synced)
        })
        .collect()
}

impl Node {
    /// After a sync that applied its plans: records the deletions the guard
    /// refused and the workflow transitions the tracker refused (the rest
    /// of the plans applied), or clears the record.
    pub(in crate::engine) fn record_success(
        &self,
        txn: &mut dyn StoreTxn,
        conn: &ConnectionId,
        issue: &IssueId,
        key: IssueKey,
        refused: Vec<RefusedDeletion>,
        seen: Seen,
    ) -> Result<()> {
        if refused.is_empty() && seen.transitions.is_empty() {
            return txn.clear_error(conn, issue);
        }
        let mut parts = Vec::new();
        if !refused.is_empty() {
            let message = refused
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            tracing::warn!(issue = %key, %message, "deletions refused by the mass-deletion guard");
            parts.push(format!("the mass-deletion guard refused: {message}"));
        }
        for t in &seen.transitions {
            tracing::warn!(issue = %key, refusal = %t, "a workflow transition was refused");
            parts.push(t.to_string());
        }
        let mut record = TwinError::new(
            conn.clone(),
            issue.clone(),
            key,
            ErrorKind::Refused,
            parts.join("; "),
            self.now(),
        );
        record.refused = refused;
        record.transitions = seen.transitions;
        // Cycles plan it again only when something changes.
        record.quarantine = Some(Quarantine {
            issues: seen.issues,
            project: seen.project,
        });
        txn.put_error(&record)
    }

    /// Confirms the deletion the mass-deletion guard refused on the twin of
    /// `key`: the next sync of that twin carries it out, once (the twin is
    /// queued for the next cycle), and the refusal is cleared. On a remote
    /// connection, call it on the node that refused (whose panel shows it);
    /// it asks the other node to send the issue again.
    ///
    /// # Errors
    ///
    /// `NotFound` when the issue is not under sync on the connection or no
    /// deletion of its twin is refused.
    pub(in crate::engine) async fn confirm_deletion(
        &self,
        connection: &ConnectionId,
        key: &IssueKey,
    ) -> Result<()> {
        self.decide_deletion(connection, key, DeletionDecision::Confirmed)
            .await
    }

    /// Dismisses the deletion the mass-deletion guard refused on the twin of
    /// `key`: nothing is deleted. The next sync forgets the links of the
    /// items deleted on the other side, so they are not planned for deletion
    /// again; the items left on this side are then copies of nothing, which
    /// the sync back copies to the side that deleted them. Both sides hold
    /// the items again, linked anew, and later cycles are quiet: a dismissed
    /// deletion is undone rather than left half-applied. On a remote
    /// connection, call it on the node that refused.
    ///
    /// # Errors
    ///
    /// `NotFound` when the issue is not under sync on the connection or no
    /// deletion of its twin is refused.
    pub(in crate::engine) async fn dismiss_deletion(
        &self,
        connection: &ConnectionId,
        key: &IssueKey,
    ) -> Result<()> {
        self.decide_deletion(connection, key, DeletionDecision::Dismissed)
            .await
    }

    async fn decide_deletion(
        &self,
        connection: &ConnectionId,
        key: &IssueKey,
        decision: DeletionDecision,
    ) -> Result<()> {
        let conn = self.connection(connection)?;
        let twin = self.twin_of_key(connection, key)?;
        {
            let mut txn = self.txn()?;
            let mut record = txn
                .errors(&conn.id)?
                .into_iter()
                .find(|e| e.issue == twin.remote.id && !e.refused.is_empty())
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "no deletion is refused on issue {key} of connection {}",
                            conn.name
                        ),
                    )
                })?;
            record.decision = Some(decision);
            txn.put_error(&record)?;
            // The next replica is planned in full, even one this node's
            // state counts as applied (a remote twin's acknowledgements
            // carry that state).
            let mut state = twin.clone();
            state.remote_whole = crate::plan::UNSYNCED;
            txn.put_twin(&state)?;
            self.enqueue_twin(&mut *txn, &conn, &twin)?;
            if !conn.is_local() {
                self.ask_resend_in(&mut *txn, &conn, &twin.remote.id)?;
            }
            txn.commit()?;
        }
        tracing::info!(connection = %conn.name, issue = %key, ?decision, "refused deletion decided");
        if !conn.is_local() {
            self.deliver_now(&conn).await;
        }
        Ok(())
    }
}
