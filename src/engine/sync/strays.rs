//! Second copies of a twin's issue, and their repair.
//!
//! A worker that stalled past its lease just before creating a twin's issue
//! may send that create after another worker, finding no issue by the
//! twin's marker, created it: tracker calls cannot be fenced. The second
//! issue carries the twin's marker but is no twin's. It is found where the
//! engine reads issues by their markers anyway: when a poll returns it (the
//! twin already has its issue), and when a lost create is settled (several
//! issues carry the marker: the first is adopted).
//!
//! It is merged into the twin's issue, then deleted. Copies the sync made
//! on it (comments carrying this connection's marker, attachments its
//! creator uploaded) are the twin's already and go with it. What people
//! added is moved first: each of their comments is posted on the twin's
//! issue under a first line naming its author, its date and the second
//! issue, and carries a [`MOVED_PROPERTY`] naming the comment it came from,
//! so that a merge cut short and done again posts it once; each of their
//! attachments is uploaded there unless the same file is there already. The
//! sync then carries both to the other side like anything a person adds.
//! Fields edited on the second issue are not merged (the twin's issue is the
//! one both sides follow); a warning names them. A tracker that cannot
//! delete issues leaves the second issue as it is, with a warning naming
//! both, for a person to merge and delete.

use std::collections::HashSet;

use serde_json::json;
use time::macros::format_description;

use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Comment, Issue, IssueRef, Sha256};
use crate::replica::{MOVED_PROPERTY, Marker};
use crate::rules::{Header, HeaderRun};
use crate::store::StoreTxn;
use crate::tracker::{NewAttachment, NewComment};

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

    /// Merges `stray`, a second copy of the twin whose issue is `kept`, into
    /// `kept` and deletes it; whether it is gone.
    ///
    /// # Errors
    ///
    /// What reading, writing or deleting answered: the merge is done again
    /// from the start next time, and moves nothing twice.
    pub(in crate::engine) async fn remove_stray(
        &self,
        conn: &Connection,
        kept: &IssueRef,
        stray: &Issue,
    ) -> Result<bool> {
        if !self.tracker().capabilities().delete_issues {
            tracing::warn!(
                connection = %conn.name,
                stray = %stray.key,
                twin = %kept.key,
                "issue {} is a second copy of twin {} (a worker stalled past its lease \
                 created it) and the tracker cannot delete issues, so it is left: merge what \
                 it holds into {} and delete it",
                stray.key,
                kept.key,
                kept.key
            );
            return Ok(false);
        }
        // Someone may write on the second issue while it is merged: it is
        // read again after each move and deleted only when nothing is left
        // to move. Someone who keeps writing holds it for a later cycle.
        for _ in 0..MERGE_ROUNDS {
            // A search may leave comments out: what it holds is read afresh.
            let stray = match self.tracker().issue(&stray.id).await {
                Ok(issue) => issue,
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(true),
                Err(e) => return Err(e.with_issue(&stray.key)),
            };
            let target = self
                .tracker()
                .issue(&kept.id)
                .await
                .map_err(|e| e.with_issue(&kept.key))?;
            let moved = self
                .move_added(conn, &stray, &target)
                .await
                .map_err(|e| e.with_issue(&stray.key))?;
            if moved > 0 {
                tracing::info!(
                    connection = %conn.name,
                    stray = %stray.key,
                    twin = %kept.key,
                    moved,
                    "moved what people added to a second copy of a twin's issue to the twin's issue"
                );
                continue;
            }
            let edited: Vec<&str> = [
                ("summary", stray.summary != target.summary),
                ("description", stray.description != target.description),
            ]
            .into_iter()
            .filter_map(|(field, differs)| differs.then_some(field))
            .collect();
            match self.tracker().delete_issue(&stray.id).await {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e.with_issue(&stray.key)),
            }
            if edited.is_empty() {
                tracing::warn!(
                    connection = %conn.name,
                    stray = %stray.key,
                    twin = %kept.key,
                    "deleted a second copy of a twin's issue (a worker stalled past its lease created it)"
                );
            } else {
                tracing::warn!(
                    connection = %conn.name,
                    stray = %stray.key,
                    twin = %kept.key,
                    fields = ?edited,
                    "deleted a second copy of a twin's issue (a worker stalled past its lease \
                     created it); its {} differed from {}, whose are kept",
                    edited.join(" and "),
                    kept.key
                );
            }
            return Ok(true);
        }
        Err(Error::new(
            ErrorKind::Unavailable,
            format!(
                "issue {} (a second copy of twin {}) is still being written to; \
                 it is merged into {} when it is quiet",
                stray.key, kept.key, kept.key
            ),
        ))
    }

    /// Posts on `target` the comments and attachments people added to
    /// `stray` that `target` does not hold yet; how many.
    async fn move_added(&self, conn: &Connection, stray: &Issue, target: &Issue) -> Result<usize> {
        let mut moved = 0;
        let already: HashSet<(String, String)> =
            target.comments.iter().filter_map(moved_from).collect();
        for comment in &stray.comments {
            // Copies the sync made are the twin's already.
            if Marker::find(&comment.properties, &conn.id).is_some()
                || already.contains(&(stray.id.to_string(), comment.id.to_string()))
            {
                continue;
            }
            self.tracker()
                .add_comment(&target.id, &moved_comment(stray, comment))
                .await?;
            moved += 1;
        }
        for attachment in &stray.attachments {
            // Copies the sync made: uploaded by the issue's creator, the
            // integration user.
            if stray.creator.as_ref() == Some(&attachment.author) {
                continue;
            }
            let content = self.tracker().download_attachment(&attachment.id).await?;
            let digest = Sha256::of(&content);
            if self
                .holds_file(target, &attachment.file_name, &digest)
                .await?
            {
                continue;
            }
            let file = NewAttachment::new(attachment.file_name.clone(), content)
                .mime_type(attachment.mime_type.clone());
            self.tracker().upload_attachment(&target.id, &file).await?;
            moved += 1;
        }
        Ok(moved)
    }

    /// Whether `issue` has an attachment named `file_name` whose content has
    /// `digest`.
    async fn holds_file(&self, issue: &Issue, file_name: &str, digest: &Sha256) -> Result<bool> {
        for a in issue
            .attachments
            .iter()
            .filter(|a| a.file_name == file_name)
        {
            let same = match a.sha256 {
                Some(sha) => sha == *digest,
                None => Sha256::of(&self.tracker().download_attachment(&a.id).await?) == *digest,
            };
            if same {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// How many times a merge reads the second issue again after moving what
/// people added to it before it leaves the deletion for a later cycle.
const MERGE_ROUNDS: usize = 3;

/// The second issue and comment `comment` was moved from, if it was.
fn moved_from(comment: &Comment) -> Option<(String, String)> {
    let value = comment.properties.get(MOVED_PROPERTY)?;
    Some((
        value.get("issue")?.as_str()?.to_owned(),
        value.get("comment")?.as_str()?.to_owned(),
    ))
}

/// `comment` of `stray` as it is posted on the twin's issue: under a first
/// line saying who wrote it, when and where, with [`MOVED_PROPERTY`].
fn moved_comment(stray: &Issue, comment: &Comment) -> NewComment {
    let when = comment
        .created
        .to_offset(time::UtcOffset::UTC)
        .format(format_description!("[year]-[month]-[day] [hour]:[minute]"))
        .unwrap_or_else(|_| comment.created.to_string());
    // One line, without a full stop: a reader sees it as a note above the text.
    let line = format!(
        "{} wrote this on {} UTC in {}, a second copy of this issue since deleted",
        comment.author.display_name, when, stray.key
    );
    let header = Header {
        runs: vec![HeaderRun {
            text: line,
            link: None,
        }],
    };
    NewComment {
        body: header.compose(&comment.body),
        visibility: comment.visibility,
        properties: [(
            MOVED_PROPERTY.to_owned(),
            json!({"issue": stray.id.to_string(), "comment": comment.id.to_string()}),
        )]
        .into_iter()
        .collect(),
    }
}
