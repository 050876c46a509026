//! Asking the other node to send one of its issues again: after a user
//! decided about a deletion this node refused, or let a failed twin be tried
//! again (the replica that failed here has to come again to be applied).

use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{IssueId, ProjectKey};
use crate::store::QueueItem;

use super::super::Node;
use super::own_side;
use super::wire::{Body, Refusal};

/// The project of this node's side of a remote connection.
pub(in crate::engine) fn own_project<'c>(
    conn: &'c Connection,
    instance: &crate::model::InstanceUrl,
) -> Result<&'c ProjectKey> {
    Ok(&own_side(conn, instance)?.project)
}

/// The note that asks for an issue again (a refusal of kind `Refused` that
/// is temporary: a node of an earlier version records it and sends again).
fn resend_note() -> Error {
    Error::new(
        ErrorKind::Refused,
        "a change to this twin waits on this node; send the issue again",
    )
    .set_temporary(true)
}

impl Node {
    /// Asks the other node to send its issue `theirs` again.
    ///
    /// # Errors
    ///
    /// The exchange's errors (a node in a private network leaves the request
    /// for the other node to pull).
    pub(in crate::engine) async fn ask_resend(
        &self,
        conn: &Connection,
        theirs: &IssueId,
    ) -> Result<()> {
        let link = self.link(&conn.id)?;
        let body = Body::Failed {
            issue: theirs.clone(),
            refusal: Refusal::of(&resend_note()),
        };
        if link.peer_reachable {
            self.exchange(conn, &link, &body).await?;
        } else {
            self.post(&conn.id, None, body);
        }
        Ok(())
    }

    /// The other node asks for `issue` again: it is queued and sent even if
    /// this node's state says the other side has it.
    pub(super) fn resend(&self, conn: &Connection, issue: &IssueId) -> Result<()> {
        let mut txn = self.txn()?;
        let Some(mut state) = txn.twin_by_local(&conn.id, issue)? else {
            return Ok(()); // not under sync here (any more)
        };
        state.local_whole = crate::plan::UNSYNCED;
        txn.put_twin(&state)?;
        // What failed there may go now: a quarantine here ends.
        for mut record in txn.errors(&conn.id)? {
            if record.issue == state.remote.id && !record.is_refusal() {
                record.quarantine = None;
                record.next_try = None;
                txn.put_error(&record)?;
            }
        }
        txn.enqueue(&QueueItem {
            seq: 0,
            connection: conn.id.clone(),
            project: own_project(conn, self.instance())?.clone(),
            issue: issue.clone(),
            queued: self.now(),
        })?;
        txn.commit()
    }
}

/// Whether a refusal the other node sent is a request to send again.
pub(super) fn is_resend(refusal: &Refusal) -> bool {
    refusal.kind == ErrorKind::Refused && refusal.temporary
}
