//! Applying the other side's replicas, and serving its requests for our
//! attachments.

use async_trait::async_trait;
use tracing::Instrument;

use crate::connection::{Connection, ConnectionStatus};
use crate::error::{Error, ErrorKind, ErrorScope, Result};
use crate::model::{AttachmentId, IssueId, IssueKey, IssueRef};
use crate::plan::{TwinState, Winner};
use crate::replica::REPLICA_FORMAT_VERSION;
use crate::store::{DeletionDecision, QueueItem, SeqMark};

use super::link::Link;
use super::refusal::Refusal;
use super::wire::{AckMessage, Body, Bytes, InlineFile, ReplicaMessage};
use crate::engine::node::Node;
use crate::engine::node::own_side;
use crate::engine::sync::recovery::Seen;
use crate::engine::sync::refusals::refused_of;
use crate::engine::sync::types::ApplyRequest;
use crate::engine::sync::types::AttachmentSource;
use crate::engine::sync::types::Direction;

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

/// The answer to a replica of a twin another worker of this node holds: a
/// temporary refusal (of a kind every node reads), so that the other node
/// sends it again.
fn busy(origin: &IssueRef, err: Error) -> Body {
    Body::Refused(Refusal::of(
        &Error::new(
            ErrorKind::Unavailable,
            format!(
                "issue {} is being synced by another worker of this node; it is sent again: {err}",
                origin.key
            ),
        )
        .set_temporary(true),
    ))
}

impl Node {
    /// Applies a replica of the other side's issue; answers with an
    /// acknowledgement, `gone`, `done` for an old or repeated one, or a
    /// refusal when applying it failed (with the writes made before).
    pub(super) async fn receive_replica(
        &self,
        conn: &Connection,
        link: &Link,
        message: ReplicaMessage,
    ) -> Result<Body> {
        let origin = IssueRef::new(
            message.replica.origin.id.clone(),
            message.replica.origin.key.clone(),
        );
        let _one_twin_at_a_time = self
            .runtime()
            .apply
            .lock((conn.id.clone(), origin.id.clone()))
            .await;
        // A worker applies it only while it holds the twin: never beside
        // another worker syncing the same twin.
        let claim = match self.claim(&conn.id, &origin.id) {
            Ok(claim) => claim,
            Err(err) if err.kind() == ErrorKind::Superseded => return Ok(busy(&origin, err)),
            Err(err) => return Err(err),
        };
        let mut seen = Seen::default();
        let span = tracing::info_span!("receive", connection = %conn.name, issue = %origin.key);
        let result = self
            .apply_replica(conn, link, &origin, message, &mut seen)
            .instrument(span)
            .await;
        self.unclaim(claim)?;
        match result {
            Ok(body) => Ok(body),
            Err(err) if err.kind() == ErrorKind::Superseded => {
                tracing::info!(error = %err, issue = %origin.key, "another worker took the twin over");
                Ok(busy(&origin, err))
            }
            Err(err) => {
                tracing::warn!(error = %err, issue = %origin.key, "applying a replica failed");
                let writes = seen.writes;
                // The other node stopped answering (fetching an attachment):
                // no fault of the twin's; the replica comes again.
                if err.scope() != ErrorScope::Peer {
                    self.record_failure(&conn.id, &origin.id, origin.key.clone(), &err, seen)?;
                }
                // The refusal counts what was written before the failure.
                Ok(Body::Refused(Refusal {
                    writes,
                    ..Refusal::of(&err)
                }))
            }
        }
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
        if self.working().is_some() {
            self.follow_published_rules(conn)?;
        }
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
                        s.local = Some(IssueRef::new(mine.clone(), IssueKey::stand_in(mine)));
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
        let files = PeerFiles {
            node: self,
            conn,
            link,
            issue: &origin.id,
            inline: &message.files,
        };
        let decision = self.deletion_decision(&conn.id, &origin.id)?;
        let request = ApplyRequest {
            conn,
            twin: &origin.id,
            replica: &message.replica,
            state: stored,
            project: &own.project,
            match_existing: message.match_existing,
            source,
            decision,
            batch: None,
        };
        let applied = self
            .apply(request, Direction::Forward, &files, seen)
            .await?;
        let writes = applied.writes;
        let mut txn = self.txn()?;
        // The node that applies a plan owns its refused deletions.
        self.record_success(
            &mut *txn,
            &conn.id,
            &origin.id,
            origin.key.clone(),
            refused_of(&applied.plan),
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
            // Deleted since the replica that names it was sent: that replica
            // is stale, and the one that follows it no longer names the
            // attachment. Nothing for a user to restore.
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "attachment {attachment} is no longer on issue {}; a newer replica follows",
                    found.key
                ),
            )
            .set_temporary(true));
        }
        let content = self.tracker().download_attachment(attachment).await?;
        Ok(Body::File {
            content: Bytes(content),
        })
    }
}
