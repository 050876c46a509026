//! Applying the other side's replicas, and serving its requests for our
//! attachments.

use std::collections::HashSet;

use async_trait::async_trait;

use crate::connection::{Connection, ConnectionStatus};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{AttachmentId, CommentId, ConnectionId, Issue, IssueId, IssueRef};
use crate::plan::{PlanInput, PlanOptions, TwinState, Winner, plan};
use crate::replica::{Marker, REPLICA_FORMAT_VERSION, Replica};
use crate::store::{DeletionDecision, QueueItem, SeqMark, TwinConflicts};

use super::super::Node;
use super::super::execute::AttachmentSource;
use super::super::recovery::Seen;
use super::super::refusals::refused_of;
use super::super::twin::Direction;
use super::wire::{AckMessage, Body, Bytes, InlineFile, ReplicaMessage};
use super::{Link, own_side};

/// The other side's attachments: sent along with the replica, or fetched
/// from the other node.
struct PeerFiles<'a> {
    node: &'a Node,
    conn: &'a Connection,
    link: &'a Link,
    issue: &'a IssueId,
    inline: &'a [InlineFile],
}

#[async_trait]
impl AttachmentSource for PeerFiles<'_> {
    async fn content(&self, id: &AttachmentId) -> Result<Vec<u8>> {
        if let Some(file) = self.inline.iter().find(|f| &f.id == id) {
            return Ok(file.content.0.clone());
        }
        if !self.link.peer_reachable {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "the content of attachment {id} did not come with the replica and this node \
                     cannot call the other; it comes with the next replica"
                ),
            ));
        }
        let fetch = Body::Fetch {
            issue: self.issue.clone(),
            attachment: id.clone(),
        };
        match self.node.exchange(self.conn, self.link, &fetch).await? {
            Body::File { content } => Ok(content.0),
            _ => Err(Error::new(
                ErrorKind::Incompatible,
                "the other node answered a fetch with something else",
            )),
        }
    }
}

impl Node {
    /// Applies a replica of the other side's issue; answers with an
    /// acknowledgement, `gone`, or `done` for an old or repeated one.
    pub(super) async fn receive_replica(
        &self,
        conn: &Connection,
        link: &Link,
        message: ReplicaMessage,
    ) -> Result<Body> {
        let _one_at_a_time = self.runtime().apply.lock().await;
        let origin = IssueRef::new(
            message.replica.origin.id.clone(),
            message.replica.origin.key.clone(),
        );
        let mut seen = Seen::default();
        let result = self
            .apply_replica(conn, link, &origin, message, &mut seen)
            .await;
        if let Err(err) = &result {
            tracing::warn!(error = %err, issue = %origin.key, "applying a replica failed");
            self.record_failure(&conn.id, &origin.id, origin.key.clone(), err, seen)?;
        }
        result
    }

    async fn apply_replica(
        &self,
        conn: &Connection,
        link: &Link,
        origin: &IssueRef,
        message: ReplicaMessage,
        seen: &mut Seen,
    ) -> Result<Body> {
        // The status as stored now (the caller's copy may be older).
        let conn = &self.connection(&conn.id)?;
        if conn.status != ConnectionStatus::Active {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "connection {} is {} on {}; changes wait until it is active",
                    conn.name,
                    conn.status,
                    self.instance()
                ),
            ));
        }
        if message.replica.format > REPLICA_FORMAT_VERSION {
            return Err(Error::new(
                ErrorKind::Incompatible,
                format!(
                    "replica format {} is newer than this node reads ({REPLICA_FORMAT_VERSION}); \
                     upgrade twinsync",
                    message.replica.format
                ),
            ));
        }
        if link.peer.as_ref() != Some(&message.replica.origin.instance) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "a replica of issue {} on {}, which is not the other side of connection {}",
                    origin.key, message.replica.origin.instance, conn.name
                ),
            ));
        }
        let own = own_side(conn, self.instance())?.clone();
        let (state, source) = {
            let mut txn = self.txn()?;
            let applied = SeqMark::Applied(origin.id.clone());
            let last = txn.seq_mark(&conn.id, &applied)?;
            if last.is_some_and(|l| message.seq <= l) {
                return Ok(Body::Done); // older than what was applied: ignored
            }
            if txn.peer_gone(&conn.id, &origin.id)? {
                if !message.exalate {
                    return Ok(Body::Gone {
                        issue: origin.id.clone(),
                    });
                }
                txn.set_peer_gone(&conn.id, &origin.id, false)?;
            }
            // From now on older replicas are ignored, even if this one fails
            // halfway: what it changed already is newer than they are (the
            // sender sends again, with a new number).
            txn.set_seq_mark(&conn.id, &applied, Some(message.seq))?;
            let state = match txn.twin_by_remote(&conn.id, &origin.id)? {
                Some(s) => s,
                None => {
                    let mut s = TwinState::new(conn.id.clone(), origin.clone());
                    // Their issue is a copy of one of ours: link the two.
                    if let Some(mine) = &message.replica.mirror_of
                        && txn.twin_by_local(&conn.id, mine)?.is_none()
                    {
                        s.local = Some(IssueRef::new(mine.clone(), mine.as_str()));
                    }
                    txn.put_twin(&s)?;
                    s
                }
            };
            // Their issue is a copy of ours: ours is the origin (known again
            // here after a lost store).
            if let (Some(mine), Some(local)) = (&message.replica.mirror_of, &state.local)
                && mine == &local.id
                && !Self::origin_here(&mut *txn, &conn.id, mine)?
            {
                self.mark_origin(&mut *txn, &conn.id, mine, true)?;
            }
            // A connect's first replicas: the issue connected from wins what
            // differs with no base yet.
            let source = match (&state.local, message.match_existing) {
                (Some(l), true) if Self::origin_here(&mut *txn, &conn.id, &l.id)? => {
                    Some(Winner::Local)
                }
                (_, true) => Some(Winner::Remote),
                (_, false) => None,
            };
            txn.commit()?;
            (state, source)
        };
        let Some(stored) = self.resolve_intents(conn, state).await? else {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "the twin of {} is being created; its outcome settles first",
                    origin.key
                ),
            ));
        };
        let local = match &stored.local {
            Some(l) => match self.tracker().issue(&l.id).await {
                Ok(issue) => Some(issue),
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                Err(e) => return Err(e.with_issue(&l.key)),
            },
            None => None,
        };
        let mut stored = stored;
        if let (Some(l), Some(issue)) = (stored.local.as_mut(), local.as_ref()) {
            if issue.project != own.project {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "issue {} moved out of project {} of connection {}",
                        issue.key, own.project, conn.name
                    ),
                ));
            }
            l.key = issue.key.clone();
        }
        if stored.local.is_some() && local.is_none() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "the twin of {} was deleted; unexalate it on the other side to stop syncing it",
                    origin.key
                ),
            ));
        }
        if let Some(local) = &local {
            repair_links(&mut stored, &message.replica, local, &conn.id);
        }
        let project = self.project_info(&own.project).await?;
        seen.project(&project);
        let rules = self.rules_for(conn)?;
        let fingerprints = rules.fingerprints(&message.replica);
        if let Some(l) = &local {
            let ours = rules.outgoing(l, super::send::origin_of(self, l), &conn.id);
            seen.issue(l, rules.fingerprints(&ours).whole);
        }
        let decision = self.deletion_decision(&conn.id, &origin.id)?;
        let plan = plan(&PlanInput {
            connection: &conn.id,
            replica: &message.replica,
            fingerprints: &fingerprints,
            previous: None,
            local: local.as_ref(),
            state: Some(&stored),
            target: &project,
            rules: &rules,
            options: PlanOptions {
                policy: conn.policy,
                guard: conn.guard,
                allow_mass_deletion: decision == Some(DeletionDecision::Confirmed),
                forget_refused: decision == Some(DeletionDecision::Dismissed),
                match_existing: message.match_existing,
                source,
            },
        })
        .map_err(|e| e.with_issue(&origin.key).with_connection(&conn.name))?;
        tracing::debug!(issue = %origin.key, %plan, "applying a replica");
        let files = PeerFiles {
            node: self,
            conn,
            link,
            issue: &origin.id,
            inline: &message.files,
        };
        let writes = self
            .execute(
                conn,
                &plan,
                &stored,
                Direction::Forward,
                &origin.key,
                &files,
            )
            .await?;
        let mut txn = self.txn()?;
        if !plan.conflicts.is_empty() {
            txn.put_conflicts(&TwinConflicts {
                connection: conn.id.clone(),
                origin: origin.id.clone(),
                conflicts: plan.conflicts.clone(),
            })?;
        }
        // The node that applies a plan owns its refused deletions.
        self.record_success(
            &mut *txn,
            &conn.id,
            &origin.id,
            origin.key.clone(),
            refused_of(&plan),
            std::mem::take(seen),
        )?;
        let mut state = txn.twin_by_remote(&conn.id, &origin.id)?;
        if decision == Some(DeletionDecision::Dismissed)
            && let Some(s) = state.as_mut()
        {
            // The items kept here are no longer linked: this side's issue
            // goes back, so the other side holds them again.
            s.local_whole = crate::plan::UNSYNCED;
            txn.put_twin(s)?;
        }
        if let Some(local) = state
            .as_ref()
            .filter(|s| s.local_whole == 0)
            .and_then(|s| s.local.as_ref())
        {
            // The twin changed here: it goes back (an echo the other side
            // finds nothing in, or a value that won a conflict here).
            txn.enqueue(&QueueItem {
                seq: 0,
                connection: conn.id.clone(),
                project: own.project.clone(),
                issue: local.id.clone(),
                queued: self.now(),
            })?;
        }
        let floor = txn.seq_mark(&conn.id, &SeqMark::Sent)?.unwrap_or(0);
        txn.commit()?;
        let Some(state) = state.filter(|s| s.local.is_some()) else {
            return Ok(Body::Done);
        };
        Ok(Body::Ack(Box::new(AckMessage {
            issue: origin.id.clone(),
            seq: message.seq,
            fp: message.fp,
            state,
            floor,
            writes,
        })))
    }

    /// Serves the content of an attachment of one of our issues under sync.
    pub(super) async fn serve_file(
        &self,
        conn: &Connection,
        issue: &IssueId,
        attachment: &AttachmentId,
    ) -> Result<Body> {
        let shared = {
            let mut txn = self.txn()?;
            txn.twin_by_local(&conn.id, issue)?.is_some()
                || self.outgoing(&mut *txn, &conn.id)?.contains_key(issue)
        };
        if !shared {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "issue {issue} is not under sync on connection {}; its attachments are not shared",
                    conn.name
                ),
            ));
        }
        let found = self.tracker().issue(issue).await?;
        if !found.attachments.iter().any(|a| &a.id == attachment) {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("attachment {attachment} is not on issue {}", found.key),
            ));
        }
        let content = self.tracker().download_attachment(attachment).await?;
        Ok(Body::File {
            content: Bytes(content),
        })
    }
}

/// Drops links that the replica shows to be stale before planning it: a
/// link from one of our comments to a comment of theirs that is gone, when
/// another comment of theirs is a copy of ours or ours a copy of it (the
/// markers on the comments say so). The link was made before the other
/// side copied again (an edit here of a comment deleted there) and its
/// acknowledgement did not arrive; without this the planner would copy the
/// new copy back, a duplicate.
fn repair_links(state: &mut TwinState, replica: &Replica, local: &Issue, conn: &ConnectionId) {
    let present: HashSet<&CommentId> = replica.comments.iter().map(|c| &c.id).collect();
    for rc in &replica.comments {
        if state.comments.iter().any(|l| l.remote == rc.id) {
            continue;
        }
        let ours = rc.mirror_of.clone().or_else(|| {
            local
                .comments
                .iter()
                .find(|c| {
                    Marker::find(&c.properties, conn)
                        .and_then(|m| m.origin_comment)
                        .is_some_and(|o| o == rc.id)
                })
                .map(|c| c.id.clone())
        });
        if let Some(ours) = ours {
            state
                .comments
                .retain(|l| l.local != ours || present.contains(&l.remote));
        }
    }
}
