//! Creating and managing connections on a node.

use std::collections::HashSet;

use futures::TryStreamExt;

use crate::connection::{Connection, ConnectionStatus, Mode, Side};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, IssueId, IssueKey, IssueRef, ProjectKey};
use crate::plan::TwinState;
use crate::replica::Marker;
use crate::rules::RuleSetKind;
use crate::tracker::{Page, TrackerExt};

use crate::engine::node::Node;
use crate::engine::options::LocalConnectionOptions;

/// A connection id from a name: the name itself, with characters an id
/// cannot hold replaced by `-`.
fn id_from_name(name: &str) -> Result<ConnectionId> {
    let cleaned: String = name
        .chars()
        .take(ConnectionId::MAX_LEN)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    ConnectionId::parse(&cleaned)
}

impl Node {
    /// Creates a local connection between two projects of this node's tracker,
    /// with Basic rules, active at once.
    ///
    /// Twins made earlier by a connection of the same name (found by their
    /// markers) are brought back under sync, so re-creating a connection
    /// after its state was lost makes no duplicates. The connection and
    /// those twins are recorded in one transaction: if the call fails or the
    /// process dies before it returns, there is no connection, and calling
    /// it again is safe.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when both projects are the same; `NotFound` for a
    /// missing project; `AlreadyExists` when the name is taken; the
    /// tracker's errors while it searches both projects for marked issues.
    pub(in crate::engine) async fn create_local_connection(
        &self,
        a: &str,
        b: &str,
        options: LocalConnectionOptions,
    ) -> Result<Connection> {
        let (a, b) = (ProjectKey::new(a)?, ProjectKey::new(b)?);
        if a == b {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("a local connection needs two different projects, not {a} twice"),
            ));
        }
        self.tracker().project(&a).await?;
        self.tracker().project(&b).await?;
        let name = options
            .name
            .clone()
            .unwrap_or_else(|| format!("{a}_to_{b}"));
        let id = id_from_name(&name)?;
        let now = self.now();
        let conn = Connection {
            id: id.clone(),
            name: name.clone(),
            a: Side {
                instance: self.instance().clone(),
                project: a.clone(),
            },
            b: Side {
                instance: self.instance().clone(),
                project: b.clone(),
            },
            mode: Mode::Basic,
            rules: RuleSetKind::Basic,
            policy: options.policy,
            guard: options.guard,
            status: ConnectionStatus::Active,
            created: now,
            triggers: Vec::new(),
            users: Default::default(),
        };
        let taken = |txn: &mut dyn crate::store::StoreTxn| -> Result<()> {
            if txn
                .connections()?
                .into_iter()
                .any(|c| c.name == name || c.id == id)
            {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("a connection named {name:?} exists already; choose another name"),
                ));
            }
            Ok(())
        };
        taken(&mut *self.txn()?)?;
        // The connection and the twins its markers show are committed together:
        // a crash or a failed search in between leaves no connection that has
        // forgotten its twins (syncing it would create them again).
        let twins = self.rederive_twins(&conn).await?;
        let mut txn = self.txn()?;
        taken(&mut *txn)?;
        self.save_connection(&mut *txn, &conn)?;
        txn.set_watermark(&id, &a, now)?;
        txn.set_watermark(&id, &b, now)?;
        // Each twin found again syncs once: what changed while the store was
        // gone travels, though neither issue changes again.
        for twin in &twins {
            txn.put_twin(twin)?;
            self.enqueue_twin(&mut *txn, &conn, twin)?;
        }
        txn.commit()?;
        tracing::info!(connection = %conn.name, rederived = twins.len(), "local connection created");
        Ok(conn)
    }

    /// Finds the issues this connection created (by their markers): the twins
    /// to record for it. Reads only; the caller commits them.
    async fn rederive_twins(&self, conn: &Connection) -> Result<Vec<TwinState>> {
        let mut twins: Vec<TwinState> = Vec::new();
        let (mut origins, mut copies) = (HashSet::<IssueId>::new(), HashSet::<IssueId>::new());
        for side in [&conn.a, &conn.b] {
            let jql = format!("project = {}", side.project);
            let mut pages = self
                .tracker()
                .search_pages(&jql, Page::first(self.options().page_size));
            while let Some(result) = pages.try_next().await? {
                for issue in &result.issues {
                    let Some(marker) = Marker::find(&issue.properties, &conn.id) else {
                        continue;
                    };
                    // One twin per issue, also when earlier duplicates carry
                    // the same origin: the first found is kept.
                    if !origins.insert(marker.origin_issue.clone())
                        || !copies.insert(issue.id.clone())
                    {
                        continue;
                    }
                    let origin = IssueRef::new(
                        marker.origin_issue.clone(),
                        IssueKey::stand_in(&marker.origin_issue),
                    );
                    let mut twin = TwinState::new(conn.id.clone(), origin);
                    twin.local = Some(issue.reference());
                    twins.push(twin);
                }
            }
        }
        Ok(twins)
    }

    fn set_status(&self, id: &ConnectionId, status: ConnectionStatus) -> Result<Connection> {
        // In one transaction, so a concurrent edit (a trigger, say) is not overwritten.
        self.edit_connection(id, |conn| {
            conn.status = status;
            Ok(conn.clone())
        })
    }

    /// Pauses a connection: changes queue and nothing is written until
    /// [`activate`](crate::engine::Admin::activate).
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `InvalidInput` when it is pending.
    pub(in crate::engine) fn deactivate(&self, id: &ConnectionId) -> Result<Connection> {
        let conn = self.connection(id)?;
        if conn.status == ConnectionStatus::Pending {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "connection {} is pending; it cannot be deactivated before it is accepted",
                    conn.name
                ),
            ));
        }
        tracing::info!(connection = %conn.name, "deactivated");
        self.set_status(id, ConnectionStatus::Deactivated)
    }

    /// Resumes a deactivated connection (or one in error once its cause is
    /// fixed); the queued backlog is applied in order on the next
    /// [`sync`](Node::sync).
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `InvalidInput` when it is pending.
    pub(in crate::engine) fn activate(&self, id: &ConnectionId) -> Result<Connection> {
        let conn = self.connection(id)?;
        if conn.status == ConnectionStatus::Pending {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "connection {} is pending; it becomes active when it is accepted",
                    conn.name
                ),
            ));
        }
        tracing::info!(connection = %conn.name, "activated");
        self.set_status(id, ConnectionStatus::Active)
    }

    pub(in crate::engine) fn fail_connection(
        &self,
        id: &ConnectionId,
        cause: String,
    ) -> Result<()> {
        tracing::error!(connection = %id, %cause, "connection stopped");
        self.set_status(id, ConnectionStatus::Error { cause })
            .map(|_| ())
    }

    /// Turns a Basic connection into a custom one, whose rules can then be set
    /// with [`set_rules`](crate::engine::Admin::set_rules).
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection.
    pub(in crate::engine) fn upgrade_to_custom(&self, id: &ConnectionId) -> Result<Connection> {
        let conn = self.edit_connection(id, |conn| {
            conn.rules = RuleSetKind::Custom;
            Ok(conn.clone())
        })?;
        self.release_quarantines(id)?;
        Ok(conn)
    }

    /// Deletes a connection and all its state; both issues of every twin stay
    /// as they are and later edits no longer travel.
    ///
    /// The issues keep their markers, so a connection re-created under the
    /// same name finds its twins again (that is how a lost store is
    /// recovered); use a new name to start afresh.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection.
    pub(in crate::engine) fn delete_connection(&self, id: &ConnectionId) -> Result<()> {
        let conn = self.connection(id)?;
        let mut txn = self.txn()?;
        txn.delete_connection(id)?;
        txn.commit()?;
        self.after_delete(&conn)?;
        self.inner
            .rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        tracing::info!(connection = %conn.name, "connection deleted");
        Ok(())
    }
}
