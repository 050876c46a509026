//! Exalate, connect and unexalate on a remote connection, and what the other
//! side's notices do here.

use futures::TryStreamExt;

use crate::connection::{Connection, ConnectionStatus};
use crate::error::{Error, ErrorKind, ErrorScope, Result};
use crate::model::{Issue, IssueId, IssueKey, IssueRef};
use crate::plan::TwinState;
use crate::replica::Marker;
use crate::store::{SeqMark, TwinConflicts};
use crate::tracker::{Page, TrackerExt};

use super::link::Outgoing;
use super::send::Pushed;
use super::wire::Body;
use crate::engine::node::Node;
use crate::engine::node::own_side;
use crate::engine::sync::types::TwinInfo;

impl Node {
    fn check_own_project(&self, conn: &Connection, issue: &Issue) -> Result<()> {
        let own = own_side(conn, self.instance())?;
        if issue.project != own.project {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "issue {} is in project {}, but connection {} syncs project {} on this side",
                    issue.key, issue.project, conn.name, own.project
                ),
            ));
        }
        Ok(())
    }

    /// Exalates one of this side's issues on a remote connection: its replica
    /// goes to the other node, which creates (or updates) the twin.
    /// Marks `issue` of this side for sending as a new twin, unless it is
    /// under sync already, and queues it.
    pub(in crate::engine) fn mark_outgoing(&self, conn: &Connection, issue: &Issue) -> Result<()> {
        let mut txn = self.txn()?;
        if txn.twin_by_local(&conn.id, &issue.id)?.is_none() {
            self.mark_origin(&mut *txn, &conn.id, &issue.id, true)?;
            let mut outgoing = self.outgoing(&mut *txn, &conn.id)?;
            outgoing
                .entry(issue.id.clone())
                .or_insert_with(|| Outgoing {
                    key: issue.key.clone(),
                    new: true,
                    match_existing: false,
                })
                .new = true;
            self.put_outgoing(&mut *txn, &conn.id, &outgoing)?;
        }
        self.enqueue_in(&mut *txn, conn, issue)?;
        txn.commit()
    }

    pub(in crate::engine) async fn exalate_remote(
        &self,
        conn: &Connection,
        issue: Issue,
    ) -> Result<TwinInfo> {
        self.check_own_project(conn, &issue)?;
        let link = self.link(&conn.id)?;
        self.mark_outgoing(conn, &issue)?;
        let mut writes = 0;
        if conn.status == ConnectionStatus::Active {
            // What waits for the other node goes first (an unexalate of this
            // very issue, say); a person asked, so it is tried even while
            // cycles back off.
            let pushed = match self.flush_outbox(conn, &link).await {
                Err(e) if e.scope() == ErrorScope::Peer => Err(e),
                flushed => {
                    if let Err(e) = flushed {
                        tracing::warn!(error = %e, "a message for the other node waits");
                    }
                    self.push_issue(conn, &link, &issue).await
                }
            };
            match pushed {
                Ok(Pushed::Acked { writes: w, settled }) => {
                    writes = w;
                    if settled {
                        self.dequeue_issue(conn, &issue.id)?;
                    }
                }
                Ok(Pushed::UpToDate | Pushed::NotUnderSync | Pushed::Gone) => {
                    self.dequeue_issue(conn, &issue.id)?;
                }
                Ok(Pushed::Posted | Pushed::Ignored) => {}
                // The other node cannot be reached: it stays queued.
                Err(e) if e.scope() == ErrorScope::Peer => {
                    tracing::info!(error = %e, issue = %issue.key, "exalated; the other node gets it when it answers again");
                }
                Ok(Pushed::Refused { error: e, .. }) | Err(e) => {
                    return Err(e.with_issue(&issue.key).with_connection(&conn.name));
                }
            }
        }
        let mut txn = self.txn()?;
        let (origin, twin) = match txn.twin_by_local(&conn.id, &issue.id)? {
            Some(state) => self.remote_pair(&mut *txn, &state)?,
            None => (issue.reference(), None),
        };
        Ok(TwinInfo {
            connection: conn.id.clone(),
            origin,
            waiting: twin.is_none(),
            twin,
            writes,
            conflicts: Vec::new(),
            plans: Vec::new(),
        })
    }

    /// Connects one of this side's issues with an issue of the other side
    /// (named by its key there).
    pub(in crate::engine) async fn connect_remote(
        &self,
        conn: &Connection,
        origin: &IssueKey,
        twin: &IssueKey,
    ) -> Result<TwinInfo> {
        let issue = self.tracker().issue_by_key(origin).await?;
        self.check_own_project(conn, &issue)?;
        let taken = |txn: &mut dyn crate::store::StoreTxn| -> Result<()> {
            if txn.twin_by_local(&conn.id, &issue.id)?.is_some()
                || self.outgoing(txn, &conn.id)?.contains_key(&issue.id)
            {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!(
                        "issue {} is already under sync on connection {}",
                        issue.key, conn.name
                    ),
                ));
            }
            Ok(())
        };
        taken(&mut *self.txn()?)?;
        let link = self.link(&conn.id)?;
        if !link.peer_reachable {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "the other node is in a private network and cannot be called; connect the two \
                 issues from its side",
            ));
        }
        let connect = Body::Connect {
            origin: issue.reference(),
            twin: twin.clone(),
        };
        let Body::Connected { twin: theirs } = self.exchange(conn, &link, &connect).await? else {
            return Err(Error::new(
                ErrorKind::Incompatible,
                "the other node answered a connect with something else",
            ));
        };
        {
            let mut txn = self.txn()?;
            taken(&mut *txn)?;
            self.record_connected(&mut *txn, conn, &theirs, &issue, true)?;
            txn.commit()?;
        }
        let mut info = self.exalate_remote(conn, issue).await?;
        info.twin = Some(theirs);
        info.waiting = false;
        Ok(info)
    }

    /// Records our `issue` as connected to their `theirs`: the twin (whose
    /// origin is ours when the connect was made `here`), and the first send
    /// that matches comments present on both sides.
    fn record_connected(
        &self,
        txn: &mut dyn crate::store::StoreTxn,
        conn: &Connection,
        theirs: &IssueRef,
        issue: &Issue,
        here: bool,
    ) -> Result<()> {
        let mut state = TwinState::new(conn.id.clone(), theirs.clone());
        state.local = Some(issue.reference());
        txn.put_twin(&state)?;
        self.mark_origin(txn, &conn.id, &issue.id, here)?;
        txn.set_peer_gone(&conn.id, &theirs.id, false)?;
        let mut outgoing = self.outgoing(txn, &conn.id)?;
        outgoing.insert(
            issue.id.clone(),
            Outgoing {
                key: issue.key.clone(),
                new: false,
                match_existing: true,
            },
        );
        self.put_outgoing(txn, &conn.id, &outgoing)?;
        self.enqueue_in(txn, conn, issue)
    }

    /// The other side connects its `origin` with our issue `twin`.
    pub(super) async fn answer_connect(
        &self,
        conn: &Connection,
        origin: IssueRef,
        twin: &IssueKey,
    ) -> Result<Body> {
        let issue = self.tracker().issue_by_key(twin).await?;
        self.check_own_project(conn, &issue)?;
        let mut txn = self.txn()?;
        if txn.twin_by_local(&conn.id, &issue.id)?.is_some()
            || txn.twin_by_remote(&conn.id, &origin.id)?.is_some()
            || self.outgoing(&mut *txn, &conn.id)?.contains_key(&issue.id)
        {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "issue {} or {} is already under sync on connection {}",
                    issue.key, origin.key, conn.name
                ),
            ));
        }
        self.record_connected(&mut *txn, conn, &origin, &issue, false)?;
        txn.commit()?;
        Ok(Body::Connected {
            twin: issue.reference(),
        })
    }

    /// Stops syncing one of this side's issues on a remote connection; the
    /// other node is told (now, or when it next sends the twin).
    pub(in crate::engine) async fn unexalate_remote(
        &self,
        conn: &Connection,
        key: &IssueKey,
    ) -> Result<TwinInfo> {
        let issue = self.tracker().issue_by_key(key).await?;
        let (state, shown) = {
            let mut txn = self.txn()?;
            let state = txn.twin_by_local(&conn.id, &issue.id)?;
            let shown = match &state {
                Some(s) => self.remote_pair(&mut *txn, s)?,
                None => (issue.reference(), None),
            };
            self.mark_origin(&mut *txn, &conn.id, &issue.id, false)?;
            let mut outgoing = self.outgoing(&mut *txn, &conn.id)?;
            let flagged = outgoing.remove(&issue.id).is_some();
            if state.is_none() && !flagged {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("issue {key} is not under sync on connection {}", conn.name),
                ));
            }
            self.put_outgoing(&mut *txn, &conn.id, &outgoing)?;
            if let Some(s) = &state {
                txn.delete_twin(&conn.id, &s.remote.id)?;
                txn.set_peer_gone(&conn.id, &s.remote.id, true)?;
                txn.clear_error(&conn.id, &s.remote.id)?;
                txn.put_conflicts(&TwinConflicts {
                    connection: conn.id.clone(),
                    origin: s.remote.id.clone(),
                    conflicts: Vec::new(),
                })?;
                for intent in txn.intents(&conn.id)? {
                    if intent.origin == s.remote.id {
                        txn.delete_intent(&intent.id)?;
                    }
                }
            }
            txn.clear_error(&conn.id, &issue.id)?;
            if let Some(s) = &state {
                // Told in order with the rest, even after a crash.
                let notice = Body::Unexalate {
                    origin: issue.id.clone(),
                    twin: s.remote.id.clone(),
                    seq: self.next_seq_in(&mut *txn, &conn.id)?,
                };
                self.post(&mut *txn, &conn.id, None, &notice)?;
            }
            txn.commit()?;
            (state, shown)
        };
        self.dequeue_issue(conn, &issue.id)?;
        if state.is_some() && conn.status == ConnectionStatus::Active {
            let link = self.link(&conn.id)?;
            if let Err(e) = self.flush_outbox(conn, &link).await {
                tracing::info!(error = %e, "the other node learns of the unexalate when it answers again");
            }
        }
        tracing::info!(connection = %conn.name, issue = %key, "unexalated");
        Ok(TwinInfo {
            connection: conn.id.clone(),
            origin: shown.0,
            twin: shown.1,
            writes: 0,
            conflicts: Vec::new(),
            waiting: false,
            plans: Vec::new(),
        })
    }

    /// The other side stopped syncing its `origin` with our `twin` (its
    /// message numbered `seq`; 0 from an older node). A replica of `origin`
    /// applied after it makes it old: the issue was exalated again, and the
    /// notice is one delivered again.
    pub(super) fn peer_unexalated(
        &self,
        conn: &Connection,
        origin: &IssueId,
        twin: &IssueId,
        seq: u64,
    ) -> Result<()> {
        let mut txn = self.txn()?;
        if seq != 0 {
            let mark = SeqMark::Applied(origin.clone());
            if txn
                .seq_mark(&conn.id, &mark)?
                .is_some_and(|last| seq <= last)
            {
                return Ok(());
            }
            txn.set_seq_mark(&conn.id, &mark, Some(seq))?;
        }
        if let Some(s) = txn.twin_by_remote(&conn.id, origin)?
            && s.local.as_ref().is_none_or(|l| &l.id == twin)
        {
            txn.delete_twin(&conn.id, origin)?;
            txn.clear_error(&conn.id, origin)?;
            txn.put_conflicts(&TwinConflicts {
                connection: conn.id.clone(),
                origin: origin.clone(),
                conflicts: Vec::new(),
            })?;
        }
        txn.set_peer_gone(&conn.id, origin, true)?;
        let mut outgoing = self.outgoing(&mut *txn, &conn.id)?;
        if outgoing.remove(twin).is_some() {
            self.put_outgoing(&mut *txn, &conn.id, &outgoing)?;
        }
        self.mark_origin(&mut *txn, &conn.id, twin, false)?;
        txn.commit()?;
        self.dequeue_issue(conn, twin)
    }

    /// The other side deleted the connection: it stops here with that cause.
    pub(super) async fn peer_closed(&self, conn: &Connection, unexalate: bool) -> Result<()> {
        if unexalate {
            let twins = self.txn()?.twins(&conn.id)?;
            self.release_markers(conn, &twins).await?;
            let mut txn = self.txn()?;
            for t in &twins {
                txn.delete_twin(&conn.id, &t.remote.id)?;
            }
            txn.commit()?;
        }
        let peer = self
            .link(&conn.id)?
            .peer
            .map_or_else(|| "the other side".to_owned(), |p| p.to_string());
        self.fail_connection(
            &conn.id,
            format!("the other side ({peer}) deleted the connection; delete it here too"),
        )
    }

    /// Tells the other node that this side deleted the connection (best effort).
    pub(in crate::engine) async fn notify_closed(&self, conn: &Connection, unexalate: bool) {
        let Ok(link) = self.link(&conn.id) else {
            return;
        };
        if conn.status == ConnectionStatus::Pending || !link.peer_reachable {
            return;
        }
        if let Err(e) = self
            .exchange(conn, &link, &Body::Closed { unexalate })
            .await
        {
            tracing::info!(error = %e, "the other node learns of the deletion when it next sends");
        }
    }

    /// Finds this side's issues the connection created (by their markers)
    /// and records their twins; returns how many.
    pub(super) async fn rederive_remote_twins(&self, conn: &Connection) -> Result<usize> {
        let own = own_side(conn, self.instance())?.clone();
        let jql = format!("project = {}", own.project);
        let mut pages = self
            .tracker()
            .search_pages(&jql, Page::first(self.options().page_size));
        let mut found = 0;
        while let Some(result) = pages.try_next().await? {
            let mut txn = self.txn()?;
            for issue in &result.issues {
                let Some(marker) = Marker::find(&issue.properties, &conn.id) else {
                    continue;
                };
                if txn
                    .twin_by_remote(&conn.id, &marker.origin_issue)?
                    .is_some()
                    || txn.twin_by_local(&conn.id, &issue.id)?.is_some()
                {
                    continue;
                }
                let origin = IssueRef::new(
                    marker.origin_issue.clone(),
                    IssueKey::stand_in(&marker.origin_issue),
                );
                let mut twin = TwinState::new(conn.id.clone(), origin);
                twin.local = Some(issue.reference());
                txn.put_twin(&twin)?;
                // Sent once, so a change made while the store was gone travels.
                self.enqueue_twin(&mut *txn, conn, &twin)?;
                found += 1;
            }
            txn.commit()?;
        }
        Ok(found)
    }
}
