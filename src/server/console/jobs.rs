//! Bulk exalate jobs started from the console: each runs as its own task
//! while its progress is read by the job page and `GET /api/v1/jobs/{id}`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

use crate::connection::{Connection, ConnectionId};
use crate::engine::{BulkEvent, Node};
use crate::error::Result;

/// How many jobs are remembered; the oldest finished ones go first.
const KEPT: usize = 64;
/// How many failures a job lists (all are counted).
const FAILURES_LISTED: usize = 200;

/// One failed issue of a job.
#[derive(Clone, Debug, Serialize)]
pub(super) struct JobFailure {
    pub key: String,
    pub error: String,
}

/// A job's progress, as the API reports it.
#[derive(Clone, Debug, Serialize)]
pub(super) struct Job {
    pub id: String,
    /// The connection's name.
    pub connection: String,
    pub connection_id: ConnectionId,
    pub jql: String,
    /// Who started it.
    pub started_by: String,
    pub done: bool,
    pub total: Option<u64>,
    pub synced: u64,
    pub skipped: u64,
    pub failed: u64,
    pub failures: Vec<JobFailure>,
    /// Why the whole job stopped, when it did.
    pub error: Option<String>,
}

impl Job {
    fn record(&mut self, event: &BulkEvent) {
        match event {
            BulkEvent::Started { total } => self.total = *total,
            BulkEvent::Synced { .. } => self.synced += 1,
            BulkEvent::Skipped { .. } => self.skipped += 1,
            BulkEvent::Failed { key, error, .. } => {
                self.failed += 1;
                if self.failures.len() < FAILURES_LISTED {
                    self.failures.push(JobFailure {
                        key: key.to_string(),
                        error: error.clone(),
                    });
                }
            }
        }
    }
}

/// The console's jobs.
#[derive(Debug, Default)]
pub(super) struct Jobs {
    jobs: Mutex<VecDeque<Arc<Mutex<Job>>>>,
}

impl Jobs {
    /// Starts bulk exalating `jql` on `conn` as its own task; the job's id.
    pub fn start(&self, node: &Node, conn: &Connection, jql: &str, by: &str) -> Result<String> {
        let mut id = [0u8; 12];
        crate::connection::fill_random(&mut id)?;
        let job = Arc::new(Mutex::new(Job {
            id: hex::encode(id),
            connection: conn.name.clone(),
            connection_id: conn.id.clone(),
            jql: jql.to_owned(),
            started_by: by.to_owned(),
            done: false,
            total: None,
            synced: 0,
            skipped: 0,
            failed: 0,
            failures: Vec::new(),
            error: None,
        }));
        let id = hex::encode(id);
        {
            let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
            if jobs.len() >= KEPT
                && let Some(oldest_done) = jobs.iter().position(|j| lock(j).done)
            {
                jobs.remove(oldest_done);
            }
            jobs.push_back(job.clone());
        }
        let node = node.clone();
        let (conn_id, jql) = (conn.id.clone(), jql.to_owned());
        tokio::spawn(async move {
            let progress = job.clone();
            let result = node
                .bulk_exalate(&conn_id, &jql, move |event| lock(&progress).record(event))
                .await;
            let mut job = lock(&job);
            if let Err(e) = result {
                tracing::warn!(connection = %job.connection, error = %e, "bulk exalate stopped");
                job.error = Some(e.to_string());
            }
            job.done = true;
        });
        Ok(id)
    }

    /// A job's progress.
    pub fn get(&self, id: &str) -> Option<Job> {
        let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        jobs.iter().map(|j| lock(j).clone()).find(|j| j.id == id)
    }
}

fn lock(job: &Mutex<Job>) -> std::sync::MutexGuard<'_, Job> {
    job.lock().unwrap_or_else(PoisonError::into_inner)
}
