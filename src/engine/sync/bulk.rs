//! Bulk exalate and bulk connect, with progress events.

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, IssueKey};
use crate::store::BulkProgress;
use crate::tracker::{Page, TrackerExt};

use crate::engine::node::Node;

/// Progress of a bulk operation, reported as it goes.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BulkEvent {
    /// The operation started; `total` when it is known in advance.
    Started {
        /// How many issues it will look at, when known.
        total: Option<u64>,
    },
    /// One issue is under sync (its twin created or updated).
    Synced {
        /// The issue.
        key: IssueKey,
        /// Its twin.
        twin: Option<IssueKey>,
        /// Writes it took.
        writes: usize,
    },
    /// One issue was skipped (already under sync, with nothing to do).
    Skipped {
        /// The issue.
        key: IssueKey,
    },
    /// One issue (or pair) failed; the others go on.
    Failed {
        /// The issue.
        key: IssueKey,
        /// The error's kind.
        kind: ErrorKind,
        /// What went wrong.
        error: String,
    },
}

/// The result of a bulk operation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BulkReport {
    /// Issues looked at.
    pub total: u64,
    /// Issues synced.
    pub synced: u64,
    /// Issues skipped.
    pub skipped: u64,
    /// Issues that failed.
    pub failed: u64,
    /// Writes made.
    pub writes: u64,
    /// Whether it continued an earlier, interrupted run.
    pub resumed: bool,
}

impl BulkReport {
    fn count(&mut self, event: &BulkEvent) {
        match event {
            BulkEvent::Synced { writes, .. } => {
                self.synced += 1;
                self.writes += *writes as u64;
            }
            BulkEvent::Skipped { .. } => self.skipped += 1,
            BulkEvent::Failed { .. } => self.failed += 1,
            BulkEvent::Started { .. } => return,
        }
        self.total += 1;
    }
}

impl Node {
    /// Brings every issue matching `jql` under sync (issues already under sync
    /// are synced again), reporting progress through `progress`.
    ///
    /// Progress is saved page by page: calling it again with the same query
    /// after an interruption continues where it stopped. Creates are never
    /// repeated, whatever the interruption.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a query the tracker rejects; a connection-wide
    /// failure. Per-issue failures are reported as [`BulkEvent::Failed`] and
    /// the others go on.
    pub async fn bulk_exalate(
        &self,
        connection: &ConnectionId,
        jql: &str,
        mut progress: impl FnMut(&BulkEvent),
    ) -> Result<BulkReport> {
        let conn = self.connection(connection)?;
        let saved = self.txn()?.bulk_progress(&conn.id, jql)?;
        let mut report = BulkReport {
            resumed: saved.is_some(),
            ..BulkReport::default()
        };
        let size = self.options().page_size;
        let first = match saved {
            Some(p) if !p.next_page.is_empty() => Page::next(p.next_page, size),
            _ => Page::first(size),
        };
        progress(&BulkEvent::Started { total: None });
        // Learn both projects once, before many twins ask at the same time.
        for side in [&conn.a, &conn.b] {
            self.project_info(&side.project).await?;
        }
        let mut pages = self.tracker().search_pages(jql, first);
        while let Some(result) = pages.try_next().await? {
            let conn = &conn;
            let events: Vec<BulkEvent> = futures::stream::iter(result.issues)
                .map(|issue| async move {
                    let key = issue.key.clone();
                    if conn.side_of(&issue.project).is_none() {
                        return BulkEvent::Failed {
                            key,
                            kind: ErrorKind::InvalidInput,
                            error: format!("not in a project of connection {}", conn.name),
                        };
                    }
                    match self.exalate_issue(conn, issue).await {
                        Ok(info) if info.writes == 0 && info.twin.is_some() => {
                            BulkEvent::Skipped { key }
                        }
                        Ok(info) => BulkEvent::Synced {
                            key,
                            twin: info.twin.map(|t| t.key),
                            writes: info.writes,
                        },
                        Err(err) => BulkEvent::Failed {
                            key,
                            kind: err.kind(),
                            error: err.to_string(),
                        },
                    }
                })
                .buffer_unordered(self.options().concurrency)
                .collect()
                .await;
            for event in &events {
                report.count(event);
                progress(event);
            }
            let mut txn = self.txn()?;
            match result.next_page {
                Some(token) => {
                    txn.put_bulk_progress(&BulkProgress {
                        connection: conn.id.clone(),
                        query: jql.to_owned(),
                        next_page: token.clone(),
                    })?;
                    txn.commit()?;
                }
                None => {
                    txn.delete_bulk_progress(&conn.id, jql)?;
                    txn.commit()?;
                    break;
                }
            }
        }
        tracing::info!(connection = %conn.name, ?report, "bulk exalate done");
        Ok(report)
    }

    /// Connects each pair (an issue of one side, an issue of the other) like
    /// [`connect`](Node::connect); a bad pair is reported and the others go on.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection. Per-pair failures are reported
    /// as [`BulkEvent::Failed`].
    pub async fn bulk_connect(
        &self,
        connection: &ConnectionId,
        pairs: &[(IssueKey, IssueKey)],
        mut progress: impl FnMut(&BulkEvent),
    ) -> Result<BulkReport> {
        self.connection(connection)?;
        let mut report = BulkReport::default();
        progress(&BulkEvent::Started {
            total: Some(pairs.len() as u64),
        });
        let events: Vec<BulkEvent> = futures::stream::iter(pairs)
            .map(|(a, b)| async move {
                match self.connect(connection, a, b).await {
                    Ok(info) => BulkEvent::Synced {
                        key: a.clone(),
                        twin: info.twin.map(|t| t.key),
                        writes: info.writes,
                    },
                    Err(err) => BulkEvent::Failed {
                        key: a.clone(),
                        kind: err.kind(),
                        error: Error::to_string(&err),
                    },
                }
            })
            .buffered(self.options().concurrency)
            .collect()
            .await;
        for event in &events {
            report.count(event);
            progress(event);
        }
        Ok(report)
    }
}
