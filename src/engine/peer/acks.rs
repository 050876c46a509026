//! What the other side answers about this side's changes: an
//! acknowledgement (the twin, seen from here) or that it stopped syncing a
//! twin; and the keys under which this side's changes are known.

use crate::connection::Connection;
use crate::engine::node::Node;
use crate::error::{Error, ErrorKind, Result};
use crate::model::IssueId;
use crate::store::SeqMark;

use super::wire::AckMessage;

impl Node {
    /// Records the other side's acknowledgement: the twin, seen from here.
    pub(super) fn record_ack(&self, conn: &Connection, ack: AckMessage) -> Result<bool> {
        let theirs = ack.state;
        if theirs.connection != conn.id || theirs.remote.id != ack.issue {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "an acknowledgement that does not fit its message",
            ));
        }
        let Some(mut mine) = theirs.flipped() else {
            return Ok(false);
        };
        let mut txn = self.txn()?;
        let key = SeqMark::Acked(ack.issue.clone());
        if txn
            .seq_mark(&conn.id, &key)?
            .is_some_and(|last| ack.seq <= last)
        {
            return Ok(false); // an older acknowledgement than one taken already
        }
        let current = txn.twin_by_local(&conn.id, &ack.issue)?;
        if let Some(cur) = &current
            && cur.remote.id != mine.remote.id
        {
            tracing::warn!(issue = %ack.issue, "the other side linked this issue to another twin; keeping ours");
            return Ok(false);
        }
        if current.is_none()
            && let Some(other) = txn.twin_by_remote(&conn.id, &mine.remote.id)?
            && other.local.as_ref().is_some_and(|l| l.id != ack.issue)
        {
            tracing::warn!(issue = %ack.issue, "the other side's issue is linked to another issue here; keeping that");
            return Ok(false);
        }
        let mark = SeqMark::Applied(mine.remote.id.clone());
        let applied = txn.seq_mark(&conn.id, &mark)?.unwrap_or(0);
        let mut outgoing = self.outgoing(&mut *txn, &conn.id)?;
        if outgoing.remove(&ack.issue).is_some() {
            self.put_outgoing(&mut *txn, &conn.id, &outgoing)?;
        }
        txn.set_seq_mark(&conn.id, &key, Some(ack.seq))?;
        Node::clear_failure(&mut *txn, &conn.id, &mine.remote.id)?;
        txn.clear_error(&conn.id, &unsynced_key(&ack.issue))?;
        if current.is_some() && applied > ack.floor {
            // This side applied a replica of theirs newer than the state in
            // the acknowledgement: its own state is the newer one; keep it
            // (and send again, as that state may hold something for them).
            txn.commit()?;
            return Ok(true);
        }
        // Their state, seen from here. Replicas of theirs built before it
        // are older than it: from now on they are ignored (and sent again
        // fresh), so the state never meets a replica older than itself.
        if ack.floor > applied {
            txn.set_seq_mark(&conn.id, &mark, Some(ack.floor))?;
        }
        if let Some(cur) = &current {
            mine.local.clone_from(&cur.local);
        }
        mine.local_whole = ack.fp;
        txn.put_twin(&mine)?;
        txn.set_peer_gone(&conn.id, &mine.remote.id, false)?;
        txn.commit()?;
        Ok(true)
    }

    /// The other side no longer syncs the twin of our `issue`: forget it here.
    pub(super) fn peer_gone(&self, conn: &Connection, issue: &IssueId) -> Result<()> {
        let mut txn = self.txn()?;
        if let Some(state) = txn.twin_by_local(&conn.id, issue)? {
            txn.delete_twin(&conn.id, &state.remote.id)?;
            txn.clear_error(&conn.id, &state.remote.id)?;
        }
        let mut outgoing = self.outgoing(&mut *txn, &conn.id)?;
        if outgoing.remove(issue).is_some() {
            self.put_outgoing(&mut *txn, &conn.id, &outgoing)?;
        }
        self.mark_origin(&mut *txn, &conn.id, issue, false)?;
        txn.clear_error(&conn.id, &unsynced_key(issue))?;
        txn.commit()?;
        tracing::info!(connection = %conn.name, %issue, "the other side stopped syncing this twin");
        self.dequeue_issue(conn, issue)
    }
}

/// The error key of one of our issues that has no twin yet: apart from the
/// other side's issue ids (which errors of twins are recorded under, and
/// which may equal ours).
pub(super) fn unsynced_key(issue: &IssueId) -> IssueId {
    issue.with_prefix("local:")
}
