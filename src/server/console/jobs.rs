//! Bulk exalate jobs started from the console: each runs as its own task
//! while its progress is read by the job page and `GET /api/v1/jobs/{id}`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use super::pages::JobView as Job;
use crate::connection::Connection;
use crate::engine::Node;
use crate::error::Result;

/// How many jobs are remembered; the oldest finished ones go first.
const KEPT: usize = 64;
/// The console's jobs.
#[derive(Debug, Default)]
pub(super) struct Jobs {
    jobs: Mutex<VecDeque<Arc<Mutex<Job>>>>,
}

impl Jobs {
    /// Starts bulk exalating `jql` on `conn` as its own task; the job's id.
    pub fn start(&self, node: &Node, conn: &Connection, jql: &str, by: &str) -> Result<String> {
        let mut id = [0u8; 12];
        crate::connection::secret::fill_random(&mut id)?;
        let id = hex::encode(id);
        let job = Arc::new(Mutex::new(Job::new(id.clone(), conn, jql)));
        tracing::info!(connection = %conn.name, operator = %by, job = %id, "bulk exalate started");
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
        jobs.iter()
            .find(|j| lock(j).id == id)
            .map(|j| lock(j).clone())
    }
}

fn lock(job: &Mutex<Job>) -> std::sync::MutexGuard<'_, Job> {
    job.lock().unwrap_or_else(PoisonError::into_inner)
}
