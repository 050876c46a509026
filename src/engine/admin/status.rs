//! The sync panel: what a connection and each of its issues are doing.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, IssueId, IssueKey, IssueRef};
use crate::plan::{Conflict, TwinState, Winner};
use crate::store::{
    DeletionDecision, Intent, IntentKind, KeyMatch, RefusedDeletion, StoreTxn, TwinConflicts,
    TwinError, TwinQuery,
};

use super::peer_status::PeerStatus;
use crate::engine::node::Node;
use crate::engine::sync::recovery::Recovery;

/// The state of one issue under sync.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum IssueState {
    /// Waiting in the queue.
    Queued,
    /// A create is in flight or settling.
    InProgress,
    /// In step with its twin.
    Synchronized,
    /// The last sync failed.
    Error {
        /// The error's kind.
        kind: ErrorKind,
        /// What went wrong.
        cause: String,
        /// Failures in a row.
        attempts: u32,
        /// What happens next: a retry at a set time, or a quarantine.
        recovery: Recovery,
    },
    /// The mass-deletion guard refused deletions on this twin (the rest of
    /// its sync applied): confirm them with
    /// [`confirm_deletion`](crate::engine::Admin::confirm_deletion) or dismiss them with
    /// [`dismiss_deletion`](crate::engine::Admin::dismiss_deletion).
    Refused {
        /// What the refused deletions would delete.
        deletions: Vec<RefusedDeletion>,
        /// A user's decision, carried out by the next sync.
        decision: Option<DeletionDecision>,
    },
    /// The last sync met conflicts: each with the field, both values, the
    /// base both had before (when known) and the side whose value was kept.
    Conflict {
        /// The conflicts, as recorded.
        conflicts: Vec<Conflict>,
    },
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

impl fmt::Display for IssueState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IssueState::Queued => f.write_str("queued"),
            IssueState::InProgress => f.write_str("in progress"),
            IssueState::Synchronized => f.write_str("synchronized"),
            IssueState::Error {
                cause,
                attempts,
                recovery,
                ..
            } => match recovery {
                Recovery::Quarantined { action } => {
                    let s = if *attempts == 1 { "" } else { "s" };
                    write!(
                        f,
                        "quarantined after {attempts} attempt{s}: {cause}; {action}"
                    )
                }
                Recovery::Backoff { next_try } => write!(
                    f,
                    "error ({attempts}×): {cause}; next try at {}",
                    rfc3339(*next_try)
                ),
                Recovery::NextCycle => write!(f, "error ({attempts}×): {cause}"),
            },
            IssueState::Refused {
                deletions,
                decision,
            } => {
                for (i, d) in deletions.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{d}")?;
                }
                match decision {
                    None => f.write_str("; confirm or dismiss"),
                    Some(DeletionDecision::Confirmed) => {
                        f.write_str("; confirmed, deleted by the next sync")
                    }
                    Some(_) => f.write_str("; dismissed, kept by the next sync"),
                }
            }
            IssueState::Conflict { conflicts } => {
                f.write_str("synchronized with conflicts: ")?;
                for (i, c) in conflicts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    let kept = match c.winner {
                        Winner::Remote => "the other side's value",
                        Winner::Local => "this side's value",
                    };
                    write!(f, "{} (kept {kept})", c.subject)?;
                }
                Ok(())
            }
        }
    }
}

/// One issue of the panel: the issue, its twin and its state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IssueStatus {
    /// The issue that was exalated.
    pub origin: IssueRef,
    /// Its twin, once created.
    pub twin: Option<IssueRef>,
    /// What it is doing.
    pub state: IssueState,
}

/// How many issues a [`SyncPanel`] lists: the first page of
/// [`Node::issues`].
pub const PANEL_ISSUES: usize = 50;

/// The sync panel of a connection; prints as a compact table.
///
/// Its counts come from the store's indexes and it lists one page of issues
/// ([`PANEL_ISSUES`]) plus every issue that needs a person, so that it costs
/// the same with ten twins or a million; [`Node::issues`] pages through the
/// rest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SyncPanel {
    /// The connection.
    pub connection: Connection,
    /// Issues under sync (twins).
    pub twins: u64,
    /// Changes waiting in the queue.
    pub queued: u64,
    /// When the last cycle finished.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_sync: Option<OffsetDateTime>,
    /// Recorded errors, and deletions the mass-deletion guard refused (kind
    /// [`Refused`](ErrorKind::Refused)).
    pub errors: Vec<TwinError>,
    /// The first issues under sync (at most [`PANEL_ISSUES`], ordered as the
    /// store lists twins); [`next`](SyncPanel::next) says where the rest start.
    pub issues: Vec<IssueStatus>,
    /// Where the issues after [`issues`](SyncPanel::issues) start: pass it to
    /// [`Node::issues`] as [`TwinQuery::after`]; `None` when that was all.
    #[serde(default)]
    pub next: Option<IssueId>,
    /// Every issue under sync that needs a person (an error, a refused
    /// deletion or open conflicts), wherever it is in the listing.
    #[serde(default)]
    pub attention: Vec<IssueStatus>,
    /// Twins with open conflicts.
    #[serde(default)]
    pub conflicts: u64,
    /// Creates in flight (open intents).
    #[serde(default)]
    pub in_flight: u64,
    /// On a remote connection: whether the other node answers (since when
    /// it does not) and how many messages wait for it.
    pub peer: Option<PeerStatus>,
}

/// One page of a connection's issues ([`Node::issues`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IssuePage {
    /// The issues, ordered as the store lists twins (by the twin's remote
    /// issue id).
    pub issues: Vec<IssueStatus>,
    /// Where the next page starts (its [`TwinQuery::after`]); `None` on the
    /// last page.
    pub next: Option<IssueId>,
}

impl IssuePage {
    /// A page of `issues`, the next one starting after `next` (for tests and
    /// for stores' callers that build pages themselves).
    pub fn new(issues: Vec<IssueStatus>, next: Option<IssueId>) -> Self {
        IssuePage { issues, next }
    }
}

impl fmt::Display for SyncPanel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "connection {}", self.connection)?;
        let last = self
            .last_sync
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| "never".to_owned());
        let refused = self.errors.iter().filter(|e| e.is_refusal()).count();
        let quarantined = self
            .errors
            .iter()
            .filter(|e| !e.is_refusal() && e.quarantine.is_some())
            .count();
        writeln!(
            f,
            "  issues under sync: {}   queue: {}   errors: {} ({quarantined} quarantined)   \
             refused deletions: {refused}   last sync: {last}",
            self.twins,
            self.queued,
            self.errors.len() - refused,
        )?;
        if let Some(peer) = &self.peer {
            writeln!(f, "  {peer}")?;
        }
        let shown = |i: &&IssueStatus| !self.issues.contains(i);
        let more: Vec<&IssueStatus> = self.attention.iter().filter(shown).collect();
        let width = self
            .issues
            .iter()
            .chain(more.iter().copied())
            .map(|i| i.origin.key.as_str().len())
            .max()
            .unwrap_or(0);
        let row = |f: &mut fmt::Formatter<'_>, issue: &IssueStatus| {
            let twin = issue.twin.as_ref().map_or("—", |t| t.key.as_str());
            writeln!(
                f,
                "  {:<width$} ⇄ {:<width$}  {}",
                issue.origin.key.as_str(),
                twin,
                issue.state
            )
        };
        for issue in &self.issues {
            row(f, issue)?;
        }
        if self.next.is_some() {
            let rest = self.twins.saturating_sub(self.issues.len() as u64);
            writeln!(f, "  … and {rest} more")?;
        }
        if !more.is_empty() {
            writeln!(f, "  needing attention among them:")?;
            for issue in more {
                row(f, issue)?;
            }
        }
        Ok(())
    }
}

/// What the state of a twin is read from besides the twin itself: the
/// connection's errors and open intents (both bounded by what is failing or
/// in flight, not by the number of twins).
struct StateInputs {
    errors: HashMap<IssueId, TwinError>,
    intents: Vec<Intent>,
}

impl StateInputs {
    fn read(txn: &mut dyn StoreTxn, conn: &ConnectionId) -> Result<(Self, Vec<TwinError>)> {
        let errors = txn.errors(conn)?;
        let inputs = StateInputs {
            errors: errors
                .iter()
                .map(|e| (e.issue.clone(), e.clone()))
                .collect(),
            intents: txn.intents(conn)?,
        };
        Ok((inputs, errors))
    }
}

impl Node {
    /// The sync panel of a connection: status, issues under sync, queue,
    /// errors, last sync, the first [`PANEL_ISSUES`] issues' states, every
    /// issue that needs a person and, on a remote connection, whether the
    /// other node answers and what waits for it. Its cost does not grow
    /// with the number of twins (counts come from the store's indexes).
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `Storage`.
    pub fn status(&self, connection: &ConnectionId) -> Result<SyncPanel> {
        let conn = self.connection(connection)?;
        let mut txn = self.txn()?;
        let counts = txn.status_counts(&conn.id)?;
        let (inputs, errors) = StateInputs::read(&mut *txn, &conn.id)?;
        let last_sync = txn.last_sync(&conn.id)?;
        let page = self.page_in(&mut *txn, &conn, &inputs, &TwinQuery::first(PANEL_ISSUES))?;
        // Those needing a person: errors and conflicts, by twin.
        let mut wanted: BTreeSet<IssueId> = errors.iter().map(|e| e.issue.clone()).collect();
        wanted.extend(txn.conflicts(&conn.id)?.into_iter().map(|c| c.origin));
        let mut attention = Vec::new();
        for origin in wanted {
            if let Some(twin) = txn.twin_by_remote(&conn.id, &origin)? {
                let status = self.status_of(&mut *txn, &conn, &inputs, &twin)?;
                if !matches!(
                    status.state,
                    IssueState::Synchronized | IssueState::Queued | IssueState::InProgress
                ) {
                    attention.push(status);
                }
            }
        }
        drop(txn);
        let peer = self.peer_status(&conn.id)?;
        Ok(SyncPanel {
            peer,
            twins: counts.twins,
            queued: counts.queued,
            last_sync,
            errors,
            issues: page.issues,
            next: page.next,
            attention,
            conflicts: counts.conflicts,
            in_flight: counts.intents,
            connection: conn,
        })
    }

    /// One page of a connection's issues under sync, each with its state:
    /// [`TwinQuery::first`] for the first page, [`after`](TwinQuery::after)
    /// the previous page's [`next`](IssuePage::next) for the following ones,
    /// [`matching`](TwinQuery::matching) to search by key (either issue's
    /// key, exact or by prefix, ignoring case). A page costs about its
    /// length, wherever it is.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `Storage`.
    pub fn issues(&self, connection: &ConnectionId, query: &TwinQuery) -> Result<IssuePage> {
        let conn = self.connection(connection)?;
        let mut txn = self.txn()?;
        let (inputs, _) = StateInputs::read(&mut *txn, &conn.id)?;
        self.page_in(&mut *txn, &conn, &inputs, query)
    }

    fn page_in(
        &self,
        txn: &mut dyn StoreTxn,
        conn: &Connection,
        inputs: &StateInputs,
        query: &TwinQuery,
    ) -> Result<IssuePage> {
        // One more than asked: whether there is a next page.
        let mut ask = query.clone();
        ask.limit = query.limit.saturating_add(1);
        let mut twins = txn.twin_page(&conn.id, &ask)?;
        let next = if twins.len() > query.limit {
            twins.truncate(query.limit);
            twins.last().map(|t| t.remote.id.clone())
        } else {
            None
        };
        let issues = twins
            .iter()
            .map(|twin| self.status_of(txn, conn, inputs, twin))
            .collect::<Result<_>>()?;
        Ok(IssuePage { issues, next })
    }

    /// The state of one twin: from its error, the intents, the queue and its
    /// conflicts (one indexed lookup each).
    fn status_of(
        &self,
        txn: &mut dyn StoreTxn,
        conn: &Connection,
        inputs: &StateInputs,
        twin: &TwinState,
    ) -> Result<IssueStatus> {
        let queued = |txn: &mut dyn StoreTxn| -> Result<bool> {
            if txn.is_queued(&conn.id, &twin.remote.id)? {
                return Ok(true);
            }
            match &twin.local {
                Some(local) => txn.is_queued(&conn.id, &local.id),
                None => Ok(false),
            }
        };
        let state =
            if let Some(e) = inputs.errors.get(&twin.remote.id) {
                if e.is_refusal() {
                    IssueState::Refused {
                        deletions: e.refused.clone(),
                        decision: e.decision,
                    }
                } else {
                    IssueState::Error {
                        kind: e.kind,
                        cause: e.message.clone(),
                        attempts: e.attempts,
                        recovery: Recovery::of(e),
                    }
                }
            } else if inputs.intents.iter().any(|i| {
                i.origin == twin.remote.id && matches!(i.kind, IntentKind::CreateIssue { .. })
            }) || twin.local.is_none()
            {
                IssueState::InProgress
            } else if queued(txn)? {
                IssueState::Queued
            } else {
                let conflicts = txn.twin_conflicts(&conn.id, &twin.remote.id)?;
                if conflicts.is_empty() {
                    IssueState::Synchronized
                } else {
                    IssueState::Conflict { conflicts }
                }
            };
        let (origin, other) = if conn.is_local() {
            (twin.remote.clone(), twin.local.clone())
        } else {
            self.remote_pair(txn, twin)?
        };
        Ok(IssueStatus {
            origin,
            twin: other,
            state,
        })
    }

    /// The open conflicts of a connection: per twin, each conflicted field
    /// with both values, the base and the value kept, ordered by origin issue.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `Storage`.
    pub fn conflicts(&self, connection: &ConnectionId) -> Result<Vec<TwinConflicts>> {
        let conn = self.connection(connection)?;
        self.txn()?.conflicts(&conn.id)
    }

    /// The state of one issue (either issue of a twin, by key).
    ///
    /// # Errors
    ///
    /// `NotFound` when the issue is not under sync on the connection.
    pub fn issue_status(&self, connection: &ConnectionId, key: &IssueKey) -> Result<IssueStatus> {
        let twin = self.twin_of_key(connection, key)?;
        let conn = self.connection(connection)?;
        let mut txn = self.txn()?;
        let (inputs, _) = StateInputs::read(&mut *txn, &conn.id)?;
        self.status_of(&mut *txn, &conn, &inputs, &twin)
    }

    /// Forgets the recorded error of an issue (after fixing its cause by hand),
    /// a refused deletion and its recorded conflicts; the twin is queued, so
    /// the next cycle tries it again (a quarantine ends).
    ///
    /// # Errors
    ///
    /// `NotFound` when the issue is not under sync on the connection.
    pub(in crate::engine) fn resolve(
        &self,
        connection: &ConnectionId,
        key: &IssueKey,
    ) -> Result<()> {
        let twin = self.twin_of_key(connection, key)?;
        let conn = self.connection(connection)?;
        self.forget_projects(&conn);
        let mut txn = self.txn()?;
        txn.clear_error(connection, &twin.remote.id)?;
        self.enqueue_twin(&mut *txn, &conn, &twin)?;
        txn.put_conflicts(&TwinConflicts {
            connection: connection.clone(),
            origin: twin.remote.id.clone(),
            conflicts: Vec::new(),
        })?;
        txn.commit()
    }

    /// Forgets what this node knows of the projects of a connection (read
    /// afresh by the next sync: a user may just have fixed one).
    fn forget_projects(&self, conn: &Connection) {
        for side in [&conn.a, &conn.b] {
            self.forget_project(&side.project);
        }
    }

    /// The stored twin one of whose issues has `key`.
    pub(in crate::engine) fn twin_of_key(
        &self,
        connection: &ConnectionId,
        key: &IssueKey,
    ) -> Result<TwinState> {
        let conn = self.connection(connection)?;
        // The store matches ignoring case; the key as written wins.
        let found = self.txn()?.twin_page(
            &conn.id,
            &TwinQuery::first(16).matching(KeyMatch::Exact(key.clone())),
        )?;
        let exact =
            |t: &TwinState| &t.remote.key == key || t.local.as_ref().is_some_and(|l| &l.key == key);
        let position = found
            .iter()
            .position(exact)
            .or((!found.is_empty()).then_some(0));
        position.map(|i| found[i].clone()).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("issue {key} is not under sync on connection {connection}"),
            )
        })
    }

    /// Syncs one issue under sync again now (after a failure), both ways; a
    /// quarantine ends (the projects' metadata is read afresh). On a remote
    /// connection this node sends its issue, and asks the other node to send
    /// its issue again when a failure of it is on record here.
    ///
    /// # Errors
    ///
    /// `NotFound` when the issue is not under sync; the sync's errors.
    pub async fn retry(
        &self,
        connection: &ConnectionId,
        key: &IssueKey,
    ) -> Result<crate::engine::sync::types::TwinInfo> {
        let conn = self.connection(connection)?;
        self.forget_projects(&conn);
        let twin = match self.twin_of_key(connection, key) {
            Ok(twin) => twin,
            Err(e) if e.kind() == ErrorKind::NotFound && !conn.is_local() => {
                // One of this node's issues whose twin was never created.
                let issue = self.tracker().issue_by_key(key).await?;
                return self.exalate_remote(&conn, issue).await;
            }
            Err(e) => return Err(e),
        };
        if !conn.is_local() {
            let failed_here = self
                .txn()?
                .errors(&conn.id)?
                .iter()
                .any(|e| e.issue == twin.remote.id && !e.is_refusal());
            if failed_here {
                let mut txn = self.txn()?;
                txn.clear_error(&conn.id, &twin.remote.id)?;
                self.ask_resend_in(&mut *txn, &conn, &twin.remote.id)?;
                txn.commit()?;
            }
            // This side's issue is the one it sends.
            let own = twin.local.ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("issue {key} has no twin on this side of {connection} yet"),
                )
            })?;
            let issue = self.tracker().issue(&own.id).await?;
            return self.exalate_remote(&conn, issue).await;
        }
        let outcome = self
            .sync_twin_recorded(
                &conn,
                &twin.remote.id,
                &[
                    crate::engine::sync::types::Direction::Forward,
                    crate::engine::sync::types::Direction::Backward,
                ],
                crate::engine::sync::types::Hints::default(),
            )
            .await?;
        self.twin_info(&conn, &twin.remote.id, Some(outcome))
    }
}
