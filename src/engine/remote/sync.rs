//! Syncing over a remote connection: sending this side's changes, applying
//! the other side's.

use async_trait::async_trait;

use crate::connection::{Connection, ConnectionStatus};
use crate::error::{Error, ErrorKind, Result};
use std::collections::HashSet;

use crate::model::{AttachmentId, CommentId, ConnectionId, Issue, IssueId, IssueRef};
use crate::plan::{PlanInput, PlanOptions, TwinState, plan};
use crate::replica::{Marker, Origin, REPLICA_FORMAT_VERSION, Replica};
use crate::store::{QueueItem, TwinError};

use super::super::execute::AttachmentSource;
use super::super::twin::{Direction, conflict_key};
use super::super::{CycleReport, Node};
use super::wire::{
    AckMessage, Body, Bytes, InlineFile, Refusal, ReplicaMessage, is_connection_wide,
};
use super::{Link, Outgoing, ack_key, gone_key, in_key, own_side, read_u64, seq_key};

/// What became of one of this side's changes.
pub(super) enum Pushed {
    /// The other side applied it (with that many writes); `settled` unless
    /// this side's state changed meanwhile and the twin goes again.
    Acked { writes: usize, settled: bool },
    /// It was sent already and acknowledged.
    UpToDate,
    /// The issue is not under sync (any more).
    NotUnderSync,
    /// Left in the outbox for the other node to pull.
    Posted,
    /// The other side ignored it (it has something newer): sent again later.
    Ignored,
    /// The other side no longer syncs the twin: forgotten here too.
    Gone,
}

pub(super) fn origin_of(node: &Node, issue: &Issue) -> Origin {
    Origin {
        instance: node.instance().clone(),
        project: issue.project.clone(),
        id: issue.id.clone(),
        key: issue.key.clone(),
    }
}

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
    /// One sync cycle of a remote connection: pull (when the other node
    /// cannot call this one), poll this side, send what changed.
    pub(in crate::engine) async fn remote_cycle(&self, conn: Connection) -> Result<CycleReport> {
        match &conn.status {
            ConnectionStatus::Pending => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "connection {} is pending; it syncs once accepted",
                        conn.name
                    ),
                ));
            }
            ConnectionStatus::Error { cause } => {
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!(
                        "connection {} is stopped: {cause}; fix it and activate the connection",
                        conn.name
                    ),
                ));
            }
            _ => {}
        }
        let link = self.link(&conn.id)?;
        let own = own_side(&conn, self.instance())?.clone();
        let active = conn.status == ConnectionStatus::Active;
        let mut report = CycleReport::default();
        if active
            && !self.reachable()
            && let Err(e) = self.pull(&conn, &link, &mut report).await
        {
            if is_connection_wide(&e) {
                return Err(self.remote_failure(&conn, e));
            }
            tracing::warn!(error = %e, "pulling from the other node failed; trying again next cycle");
        }
        let (issues, newest) = match self.poll(&conn, &own.project).await {
            Ok(p) => p,
            Err(e) => return Err(self.connection_failure(&conn, e)),
        };
        report.seen = issues.len();
        let rules = self.rules_for(&conn);
        {
            let mut txn = self.txn()?;
            let outgoing = self.outgoing(&mut *txn, &conn.id)?;
            for issue in issues {
                if !outgoing.contains_key(&issue.id) {
                    let Some(state) = txn.twin_by_local(&conn.id, &issue.id)? else {
                        continue;
                    };
                    let replica = rules.outgoing(&issue, origin_of(self, &issue), &conn.id);
                    if rules.fingerprints(&replica).whole == state.local_whole {
                        continue;
                    }
                }
                txn.enqueue(&QueueItem {
                    seq: 0,
                    connection: conn.id.clone(),
                    project: own.project.clone(),
                    issue: issue.id.clone(),
                    queued: self.now(),
                })?;
                if !active {
                    report.queued += 1;
                }
            }
            if let Some(newest) = newest {
                // Safe before sending: what changed is queued durably.
                txn.set_watermark(&conn.id, &own.project, newest)?;
            }
            txn.commit()?;
        }
        if !active {
            return Ok(report);
        }
        let queue = self.txn()?.queue(&conn.id, usize::MAX)?;
        for item in queue {
            // Read afresh: a search's snapshot may lag behind writes, and a
            // replica of an old snapshot would undo what was synced since.
            let issue = match self.tracker().issue(&item.issue).await {
                Ok(issue) => issue,
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    self.dequeue_seq(item.seq)?;
                    continue;
                }
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(error = %e, issue = %item.issue, "cannot read a queued issue");
                    continue;
                }
            };
            match self.push_issue(&conn, &link, &issue).await {
                Ok(Pushed::Acked { settled, .. }) => {
                    report.synced += 1;
                    if settled {
                        self.dequeue_seq(item.seq)?;
                    }
                }
                Ok(Pushed::UpToDate) => {
                    self.dequeue_seq(item.seq)?;
                    self.clear_twin_error(&conn, &issue.id)?;
                }
                Ok(Pushed::NotUnderSync | Pushed::Gone) => {
                    self.dequeue_seq(item.seq)?;
                }
                Ok(Pushed::Posted) => report.queued += 1,
                Ok(Pushed::Ignored) => {}
                Err(e) => {
                    if is_connection_wide(&e) {
                        return Err(self.remote_failure(&conn, e));
                    }
                    self.record_remote_error(&conn, &issue, &e)?;
                    report.failed += 1;
                }
            }
        }
        let now = self
            .now()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let mut txn = self.txn()?;
        txn.set_meta(&format!("last_sync/{}", conn.id), Some(now.as_bytes()))?;
        txn.commit()?;
        tracing::info!(?report, "remote cycle done");
        Ok(report)
    }

    /// Stops a connection the other side refuses as a whole (deleted there,
    /// or holding another secret).
    fn remote_failure(&self, conn: &Connection, err: Error) -> Error {
        if let Err(store) = self.fail_connection(&conn.id, err.to_string()) {
            return store;
        }
        err.with_connection(&conn.name)
    }

    fn dequeue_seq(&self, seq: u64) -> Result<()> {
        let mut txn = self.txn()?;
        txn.dequeue(seq)?;
        txn.commit()
    }

    pub(super) fn dequeue_issue(&self, conn: &Connection, issue: &IssueId) -> Result<()> {
        let mut txn = self.txn()?;
        for item in txn.queue(&conn.id, usize::MAX)? {
            if &item.issue == issue {
                txn.dequeue(item.seq)?;
            }
        }
        txn.commit()
    }

    /// Forgets the recorded error of the twin of our `issue` (it is in step).
    fn clear_twin_error(&self, conn: &Connection, issue: &IssueId) -> Result<()> {
        let mut txn = self.txn()?;
        if let Some(t) = txn.twin_by_local(&conn.id, issue)? {
            txn.clear_error(&conn.id, &t.remote.id)?;
        }
        txn.clear_error(&conn.id, &unsynced_key(issue))?;
        txn.commit()
    }

    /// Records why one of our issues did not reach the other side.
    pub(super) fn record_remote_error(
        &self,
        conn: &Connection,
        issue: &Issue,
        err: &Error,
    ) -> Result<()> {
        let mut txn = self.txn()?;
        let id = txn
            .twin_by_local(&conn.id, &issue.id)?
            .map_or_else(|| unsynced_key(&issue.id), |t| t.remote.id);
        let attempts = txn
            .errors(&conn.id)?
            .into_iter()
            .find(|e| e.issue == id)
            .map_or(0, |e| e.attempts);
        txn.put_error(&TwinError {
            connection: conn.id.clone(),
            issue: id,
            key: issue.key.clone(),
            kind: err.kind(),
            message: err.to_string(),
            at: self.now(),
            attempts: attempts + 1,
        })?;
        txn.commit()
    }

    /// Sends the replica of one of this side's issues if the other side does
    /// not have it yet.
    pub(super) async fn push_issue(
        &self,
        conn: &Connection,
        link: &Link,
        issue: &Issue,
    ) -> Result<Pushed> {
        let (state, flags) = {
            let mut txn = self.txn()?;
            let state = txn.twin_by_local(&conn.id, &issue.id)?;
            let flags = self.outgoing(&mut *txn, &conn.id)?.remove(&issue.id);
            (state, flags)
        };
        if state.is_none() && flags.is_none() {
            return Ok(Pushed::NotUnderSync);
        }
        let rules = self.rules_for(conn);
        let replica = rules.outgoing(issue, origin_of(self, issue), &conn.id);
        let fp = rules.fingerprints(&replica).whole;
        let failed = match &state {
            Some(s) => self
                .txn()?
                .errors(&conn.id)?
                .iter()
                .any(|e| e.issue == s.remote.id),
            None => false,
        };
        if flags.is_none() && !failed && state.as_ref().is_some_and(|s| s.local_whole == fp) {
            // In step. (With a failure on record it goes once more, so that
            // the other side clears the failure it recorded.)
            return Ok(Pushed::UpToDate);
        }
        let files = if self.reachable() {
            Vec::new()
        } else {
            // After a failure, every attachment: the other side may lack one
            // this side's state says it has (it lost its store, say).
            self.inline_files(issue, state.as_ref().filter(|_| !failed))
                .await?
        };
        let flags = flags.unwrap_or(Outgoing {
            key: issue.key.clone(),
            new: false,
            match_existing: false,
        });
        let message = ReplicaMessage {
            seq: self.next_seq(&conn.id)?,
            fp,
            exalate: flags.new,
            match_existing: flags.match_existing,
            replica,
            files,
        };
        let body = Body::Replica(Box::new(message));
        tracing::debug!(issue = %issue.key, fp, "sending a replica");
        if !link.peer_reachable {
            self.post(&conn.id, Some(&issue.id), body);
            return Ok(Pushed::Posted);
        }
        match self.exchange(conn, link, &body).await? {
            Body::Ack(ack) => {
                let writes = ack.writes;
                self.record_ack(conn, *ack)?;
                let settled = self
                    .txn()?
                    .twin_by_local(&conn.id, &issue.id)?
                    .is_some_and(|s| s.local_whole == fp);
                Ok(Pushed::Acked { writes, settled })
            }
            Body::Gone { issue: gone } => {
                self.peer_gone(conn, &gone)?;
                Ok(Pushed::Gone)
            }
            Body::Done => Ok(Pushed::Ignored),
            _ => Err(Error::new(
                ErrorKind::Incompatible,
                "the other node answered a replica with something else",
            )),
        }
    }

    /// The content of the attachments of `issue` that the twin state does not
    /// link yet (sent by a node the other cannot call).
    async fn inline_files(
        &self,
        issue: &Issue,
        state: Option<&TwinState>,
    ) -> Result<Vec<InlineFile>> {
        let mut files = Vec::new();
        for a in &issue.attachments {
            let linked = state.is_some_and(|s| s.attachments.iter().any(|l| l.local == a.id));
            if !linked {
                let content = self.tracker().download_attachment(&a.id).await?;
                files.push(InlineFile {
                    id: a.id.clone(),
                    content: Bytes(content),
                });
            }
        }
        Ok(files)
    }

    /// Pulls what waits for this node and answers it.
    async fn pull(&self, conn: &Connection, link: &Link, report: &mut CycleReport) -> Result<()> {
        let Body::Messages { items } = self.exchange(conn, link, &Body::Pull).await? else {
            return Err(Error::new(
                ErrorKind::Incompatible,
                "the other node answered a pull with something else",
            ));
        };
        let mut answers = Vec::new();
        for item in items {
            match item {
                Body::Replica(m) => {
                    let issue = m.replica.origin.id.clone();
                    match self.receive_replica(conn, link, *m).await {
                        Ok(Body::Ack(ack)) => {
                            report.synced += 1;
                            report.writes += ack.writes;
                            answers.push(Body::Ack(ack));
                        }
                        Ok(reply @ Body::Gone { .. }) => answers.push(reply),
                        Ok(_) => {}
                        Err(e) => {
                            report.failed += 1;
                            answers.push(Body::Failed {
                                issue,
                                refusal: Refusal::of(&e),
                            });
                        }
                    }
                }
                other => {
                    if let Err(e) = self.dispatch(conn, link, other).await {
                        tracing::warn!(error = %e, "a message from the other node failed");
                    }
                }
            }
        }
        if !answers.is_empty() {
            self.exchange(conn, link, &Body::Messages { items: answers })
                .await?;
        }
        Ok(())
    }

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
        let result = self.apply_replica(conn, link, &origin, message).await;
        if let Err(err) = &result {
            tracing::warn!(error = %err, issue = %origin.key, "applying a replica failed");
            let mut txn = self.txn()?;
            let attempts = txn
                .errors(&conn.id)?
                .into_iter()
                .find(|e| e.issue == origin.id)
                .map_or(0, |e| e.attempts);
            txn.put_error(&TwinError {
                connection: conn.id.clone(),
                issue: origin.id.clone(),
                key: origin.key.clone(),
                kind: err.kind(),
                message: err.to_string(),
                at: self.now(),
                attempts: attempts + 1,
            })?;
            txn.commit()?;
        }
        result
    }

    async fn apply_replica(
        &self,
        conn: &Connection,
        link: &Link,
        origin: &IssueRef,
        message: ReplicaMessage,
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
        let state = {
            let mut txn = self.txn()?;
            let last = read_u64(txn.meta(&in_key(&conn.id, &origin.id))?);
            if last.is_some_and(|l| message.seq <= l) {
                return Ok(Body::Done); // older than what was applied: ignored
            }
            if txn.meta(&gone_key(&conn.id, &origin.id))?.is_some() {
                if !message.exalate {
                    return Ok(Body::Gone {
                        issue: origin.id.clone(),
                    });
                }
                txn.set_meta(&gone_key(&conn.id, &origin.id), None)?;
            }
            // From now on older replicas are ignored, even if this one fails
            // halfway: what it changed already is newer than they are (the
            // sender sends again, with a new number).
            txn.set_meta(
                &in_key(&conn.id, &origin.id),
                Some(message.seq.to_string().as_bytes()),
            )?;
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
            txn.commit()?;
            state
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
        let rules = self.rules_for(conn);
        let fingerprints = rules.fingerprints(&message.replica);
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
                allow_mass_deletion: false,
                match_existing: message.match_existing,
            },
        })
        .map_err(|e| e.with_issue(&origin.key).with_connection(&conn.name))?;
        if !plan.refusals.is_empty() {
            tracing::warn!(plan = %plan, "deletions refused by the mass-deletion guard");
        }
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
            txn.set_meta(
                &conflict_key(&conn.id, &origin.id),
                Some(serde_json::to_string(&plan.conflicts)?.as_bytes()),
            )?;
        }
        txn.clear_error(&conn.id, &origin.id)?;
        let state = txn.twin_by_remote(&conn.id, &origin.id)?;
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
        let floor = read_u64(txn.meta(&seq_key(&conn.id))?).unwrap_or(0);
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
        let key = ack_key(&conn.id, &ack.issue);
        if read_u64(txn.meta(&key)?).is_some_and(|last| ack.seq <= last) {
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
        let mark = in_key(&conn.id, &mine.remote.id);
        let applied = read_u64(txn.meta(&mark)?).unwrap_or(0);
        let mut outgoing = self.outgoing(&mut *txn, &conn.id)?;
        if outgoing.remove(&ack.issue).is_some() {
            self.put_outgoing(&mut *txn, &conn.id, &outgoing)?;
        }
        txn.set_meta(&key, Some(ack.seq.to_string().as_bytes()))?;
        txn.clear_error(&conn.id, &mine.remote.id)?;
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
            txn.set_meta(&mark, Some(ack.floor.to_string().as_bytes()))?;
        }
        if let Some(cur) = &current {
            mine.revision = cur.revision + 1;
            mine.local.clone_from(&cur.local);
        }
        mine.local_whole = ack.fp;
        txn.put_twin(&mine)?;
        txn.set_meta(&gone_key(&conn.id, &mine.remote.id), None)?;
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
        txn.clear_error(&conn.id, &unsynced_key(issue))?;
        txn.commit()?;
        tracing::info!(connection = %conn.name, %issue, "the other side stopped syncing this twin");
        self.dequeue_issue(conn, issue)
    }

    /// The other side could not apply the replica of our `issue` it pulled.
    pub(super) async fn peer_failed(
        &self,
        conn: &Connection,
        link: &Link,
        issue: &IssueId,
        refusal: Refusal,
    ) -> Result<()> {
        let Some(peer) = &link.peer else {
            return Ok(());
        };
        let err = refusal.into_error(peer);
        match self.tracker().issue(issue).await {
            Ok(found) => {
                self.record_remote_error(conn, &found, &err)?;
                // It goes again (the error on record makes sure of it).
                let mut txn = self.txn()?;
                txn.enqueue(&QueueItem {
                    seq: 0,
                    connection: conn.id.clone(),
                    project: found.project.clone(),
                    issue: found.id.clone(),
                    queued: self.now(),
                })?;
                txn.commit()
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
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

/// The error key of one of our issues that has no twin yet: apart from the
/// other side's issue ids (which errors of twins are recorded under, and
/// which may equal ours).
fn unsynced_key(issue: &IssueId) -> IssueId {
    IssueId::new(format!("local:{issue}"))
}
