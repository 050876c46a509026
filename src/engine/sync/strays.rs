//! Second copies of a twin's issue, and their repair.
//!
//! A worker that stalled past its lease just before creating a twin's issue
//! may send that create after another worker, finding no issue by the
//! twin's marker, created it: tracker calls cannot be fenced. The second
//! issue carries the twin's marker but is no twin's. It is found where the
//! engine reads issues by their markers anyway: when a poll returns it (the
//! twin already has its issue), and when a lost create is settled (several
//! issues carry the marker: the first is adopted). It is deleted when it
//! holds nothing but copies the sync made (comments carrying this
//! connection's marker, attachments its creator uploaded) and the tracker
//! can delete issues; otherwise it is left, with a warning naming both
//! issues, for a person to merge and delete.

use crate::connection::Connection;
use crate::error::{ErrorKind, Result};
use crate::model::{Issue, IssueRef};
use crate::replica::Marker;
use crate::store::StoreTxn;

use crate::engine::node::Node;

impl Node {
    /// The issue of record of the twin whose marker `issue` carries, when
    /// that is another issue: `issue` is then a second copy.
    pub(in crate::engine) fn twin_issue_of_stray(
        txn: &mut dyn StoreTxn,
        conn: &Connection,
        issue: &Issue,
    ) -> Result<Option<IssueRef>> {
        let Some(marker) = Marker::find(&issue.properties, &conn.id) else {
            return Ok(None);
        };
        let twin = txn.twin_by_remote(&conn.id, &marker.origin_issue)?;
        Ok(twin
            .and_then(|t| t.local)
            .filter(|local| local.id != issue.id))
    }

    /// Deletes `stray`, a second copy of the twin whose issue is `kept`, when
    /// it holds only copies the sync made; whether it was deleted.
    pub(in crate::engine) async fn remove_stray(
        &self,
        conn: &Connection,
        kept: &IssueRef,
        stray: &Issue,
    ) -> Result<bool> {
        // A search may leave comments out: what it holds is read afresh.
        let stray = match self.tracker().issue(&stray.id).await {
            Ok(issue) => issue,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(true),
            Err(e) => return Err(e.with_issue(&stray.key)),
        };
        // Only copies made by the sync: comments carrying this connection's
        // marker, attachments its creator uploaded.
        let ours = |author: &crate::model::UserRef| stray.creator.as_ref() == Some(author);
        let untouched = stray
            .comments
            .iter()
            .all(|c| Marker::find(&c.properties, &conn.id).is_some())
            && stray.attachments.iter().all(|a| ours(&a.author));
        if !untouched || !self.tracker().capabilities().delete_issues {
            tracing::warn!(
                connection = %conn.name,
                stray = %stray.key,
                twin = %kept.key,
                "issue {} is a second copy of twin {} (a worker stalled past its lease \
                 created it); it holds comments or attachments, or the tracker cannot delete \
                 issues, so it is left: merge what it holds into {} and delete it",
                stray.key,
                kept.key,
                kept.key
            );
            return Ok(false);
        }
        match self.tracker().delete_issue(&stray.id).await {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e.with_issue(&stray.key)),
        }
        tracing::warn!(
            connection = %conn.name,
            stray = %stray.key,
            twin = %kept.key,
            "deleted a second copy of a twin's issue (a worker stalled past its lease created it)"
        );
        Ok(true)
    }
}
