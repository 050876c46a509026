//! Bulk exalate and bulk connect, with progress events.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, Issue, IssueKey};
use crate::store::BulkProgress;
use crate::tracker::{Page, TrackerExt};

use super::batch;
use crate::engine::node::Node;

/// A page of a bulk exalate: its issues still under way, and the page after it.
struct PageLeft {
    issues: usize,
    next: Option<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

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
    /// Issues run in groups. When the tracker creates several issues in one
    /// call ([`Capabilities::batch_create`](crate::tracker::Capabilities::batch_create)
    /// above 1), a group is that many issues of one page (so pick a page size
    /// that is a multiple of it), which all start together so
    /// that their new twins are created in one call; as many groups run at
    /// once as [`concurrency`](crate::engine::NodeOptions::concurrency) holds
    /// (at least one). Each twin still records its own intent and marker
    /// before the call, so a lost answer is settled twin by twin by its
    /// marker, and an element the tracker refused alone is created again
    /// alone. Comments and attachments follow through the one apply path.
    ///
    /// Progress is saved page by page (a page once all its issues and those
    /// of the pages before it are done): calling it again with the same
    /// query after an interruption continues where it stopped. Creates are
    /// never repeated, whatever the interruption.
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
        let batch = self.tracker().capabilities().batch_create.max(1) as usize;
        let concurrency = self.options().concurrency.max(1);
        let (group_size, groups_at_once) = match batch {
            1 => (1, concurrency),
            n => (n, (concurrency / n).max(1)),
        };
        // Pages in the order they were read: how many of their issues are
        // still under way, and the page that follows each.
        let book: Mutex<BTreeMap<u64, PageLeft>> = Mutex::new(BTreeMap::new());
        let mut next_seq = 0u64;
        let mut failed = false;
        let groups = self
            .tracker()
            .search_pages(jql, first)
            .map_ok(|page| {
                let seq = next_seq;
                next_seq += 1;
                lock(&book).insert(
                    seq,
                    PageLeft {
                        issues: page.issues.len(),
                        next: page.next_page,
                    },
                );
                // A group never spans two pages: the next page is read when
                // a group of it is due, as a page's progress is saved.
                let mut issues = page.issues.into_iter().map(|i| (seq, i)).peekable();
                let mut groups = Vec::new();
                while issues.peek().is_some() {
                    groups.push(Ok(issues.by_ref().take(group_size).collect::<Vec<_>>()));
                }
                futures::stream::iter(groups)
            })
            .try_flatten()
            // Nothing after a failed page.
            .take_while(move |item| {
                let go = !failed;
                failed |= item.is_err();
                futures::future::ready(go)
            });
        let conn = &conn;
        let mut groups = groups
            .map(|group| self.bulk_group(conn, group, batch))
            .buffer_unordered(groups_at_once);
        let mut error = None;
        while let Some((done, err)) = groups.next().await {
            for (seq, event) in &done {
                report.count(event);
                progress(event);
                if let Some(page) = lock(&book).get_mut(seq) {
                    page.issues = page.issues.saturating_sub(1);
                }
            }
            if error.is_none() {
                error = err;
            }
            self.save_bulk_progress(conn, jql, &book)?;
        }
        self.save_bulk_progress(conn, jql, &book)?;
        if let Some(err) = error {
            return Err(err);
        }
        tracing::info!(connection = %conn.name, ?report, "bulk exalate done");
        Ok(report)
    }

    /// Runs one group of a bulk exalate (or passes on the error of the search
    /// that should have read it): its issues at once, their creates in calls
    /// of up to `batch` issues. Answers each issue's event with its page.
    async fn bulk_group(
        &self,
        conn: &Connection,
        group: Result<Vec<(u64, Issue)>>,
        batch: usize,
    ) -> (Vec<(u64, BulkEvent)>, Option<Error>) {
        let issues = match group {
            Ok(issues) => issues,
            Err(err) => return (Vec::new(), Some(err)),
        };
        // Without a batch call, each create is a call of its own as always.
        let seats = if batch > 1 { issues.len() } else { 0 };
        let (seats, driver) = batch::group(self.tracker().clone(), seats, batch);
        let seats = seats
            .into_iter()
            .map(Some)
            .chain(std::iter::repeat_with(|| None));
        let work = futures::future::join_all(issues.into_iter().zip(seats).map(
            |((seq, issue), seat)| async move {
                let key = issue.key.clone();
                if conn.side_of(&issue.project).is_none() {
                    let event = BulkEvent::Failed {
                        key,
                        kind: ErrorKind::InvalidInput,
                        error: format!("not in a project of connection {}", conn.name),
                    };
                    return (seq, event);
                }
                let result = self.exalate_issue(conn, issue, seat.as_ref()).await;
                // Whatever happened, this issue's create is no longer awaited.
                drop(seat);
                let event = match result {
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
                };
                (seq, event)
            },
        ));
        let (events, ()) = futures::future::join(work, driver).await;
        (events, None)
    }

    /// Saves how far a bulk exalate got: the page after the last page done
    /// with all those before it, or nothing once the last page is done.
    fn save_bulk_progress(
        &self,
        conn: &Connection,
        jql: &str,
        book: &Mutex<BTreeMap<u64, PageLeft>>,
    ) -> Result<()> {
        let mut last_done = None;
        {
            let mut book = lock(book);
            while let Some(entry) = book.first_entry() {
                if entry.get().issues > 0 {
                    break;
                }
                last_done = Some(entry.remove().next);
            }
        }
        let Some(next) = last_done else {
            return Ok(());
        };
        let mut txn = self.txn()?;
        match next {
            Some(token) => txn.put_bulk_progress(&BulkProgress {
                connection: conn.id.clone(),
                query: jql.to_owned(),
                next_page: token,
            })?,
            None => txn.delete_bulk_progress(&conn.id, jql)?,
        }
        txn.commit()
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
