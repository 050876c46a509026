//! The page of a bulk exalate: its progress, live while it runs.

use maud::{Markup, PreEscaped, html};
use serde::Serialize;

use super::PageContext;
use super::layout::{connection_url, layout};
use crate::connection::{Connection, ConnectionId};
use crate::engine::BulkEvent;

/// One issue a bulk exalate could not bring under sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JobFailure {
    /// The issue's key.
    pub key: String,
    /// What went wrong.
    pub error: String,
}

/// A bulk exalate's progress. It serializes as the job's JSON
/// (`GET /api/v1/jobs/{job}`):
/// `{"id","connection" (the name),"jql","done","total","synced","skipped","failed","failures":[{"key","error"}],"error"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JobView {
    /// The job's id, as in its URL.
    pub id: String,
    /// The connection's name.
    pub connection: String,
    /// The connection's id, for the link back (not in the JSON).
    #[serde(skip)]
    pub connection_id: ConnectionId,
    /// The query.
    pub jql: String,
    /// Whether it has ended (finished, or stopped by `error`).
    pub done: bool,
    /// How many issues it will look at, once known.
    pub total: Option<u64>,
    /// Issues brought under sync.
    pub synced: u64,
    /// Issues already in step.
    pub skipped: u64,
    /// Issues that failed.
    pub failed: u64,
    /// Each failure.
    pub failures: Vec<JobFailure>,
    /// Why the whole job stopped, when it did (in words).
    pub error: Option<String>,
}

impl JobView {
    /// A job that has not started, on `connection`.
    pub fn new(id: impl Into<String>, connection: &Connection, jql: impl Into<String>) -> Self {
        JobView {
            id: id.into(),
            connection: connection.name.clone(),
            connection_id: connection.id.clone(),
            jql: jql.into(),
            done: false,
            total: None,
            synced: 0,
            skipped: 0,
            failed: 0,
            failures: Vec::new(),
            error: None,
        }
    }

    /// Counts one of the engine's progress events.
    pub fn record(&mut self, event: &BulkEvent) {
        match event {
            BulkEvent::Started { total } => self.total = *total,
            BulkEvent::Synced { .. } => self.synced += 1,
            BulkEvent::Skipped { .. } => self.skipped += 1,
            BulkEvent::Failed { key, error, .. } => {
                self.failed += 1;
                self.failures.push(JobFailure {
                    key: key.to_string(),
                    error: error.clone(),
                });
            }
        }
    }

    /// Issues looked at so far.
    pub fn processed(&self) -> u64 {
        self.synced + self.skipped + self.failed
    }
}

/// Polls the job's JSON every 500 ms and updates the page; reloads it when
/// the job is done. It writes text only (`textContent`), never HTML.
const POLL: &str = r#"
(function () {
  var root = document.getElementById('job');
  var url = '/api/v1/jobs/' + encodeURIComponent(root.dataset.job);
  function set(id, v) { var e = document.getElementById(id); if (e) { e.textContent = String(v); } }
  function tick() {
    fetch(url, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
      .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.json(); })
      .then(function (j) {
        var done = j.synced + j.skipped + j.failed;
        set('job-synced', j.synced); set('job-skipped', j.skipped); set('job-failed', j.failed);
        set('job-processed', done); set('job-total', j.total == null ? 'not known yet' : j.total);
        var bar = document.getElementById('job-progress');
        if (j.total != null) { bar.max = Math.max(j.total, 1); bar.value = done; }
        var list = document.getElementById('job-failures');
        list.replaceChildren();
        j.failures.forEach(function (f) {
          var li = document.createElement('li'); li.textContent = f.key + ': ' + f.error; list.appendChild(li);
        });
        if (j.done) { window.location.reload(); } else { setTimeout(tick, 500); }
      })
      .catch(function (e) { set('job-status', 'Cannot read the progress (' + e.message + '); trying again'); setTimeout(tick, 2000); });
  }
  setTimeout(tick, 500);
})();
"#;

/// The page of a bulk exalate (`GET /console/jobs/{job}`): a progress bar,
/// counts and failures; live while it runs, "Finished" with the totals when
/// done.
pub fn job(ctx: &PageContext<'_>, view: &JobView) -> Markup {
    let processed = view.processed();
    let back = connection_url(&view.connection_id);
    layout(
        Some(ctx),
        "Bulk exalate",
        html! {
            div #job data-job=(view.id) {
                p { "Connection " a href=(back) { (view.connection) } ", query " code { (view.jql) } }
                p #job-status role="status" {
                    @if let Some(error) = &view.error {
                        span.error-text { "Stopped: " (error) }
                    } @else if view.done {
                        "Finished: " (processed) " issues looked at, " (view.synced) " synced, "
                        (view.skipped) " already in step, " (view.failed) " failed."
                    } @else { "Running…" }
                }
                label for="job-progress" { "Progress" }
                " "
                @match view.total {
                    Some(total) => progress #job-progress max=(total.max(1)) value=(processed.min(total)) { (processed) " of " (total) },
                    None => progress #job-progress { "total not known yet" },
                }
                table {
                    tbody {
                        tr { th scope="row" { "Looked at" } td #job-processed { (processed) } }
                        tr { th scope="row" { "Total" } td #job-total { @match view.total { Some(t) => (t), None => "not known yet" } } }
                        tr { th scope="row" { "Synced" } td #job-synced { (view.synced) } }
                        tr { th scope="row" { "Already in step" } td #job-skipped { (view.skipped) } }
                        tr { th scope="row" { "Failed" } td #job-failed { (view.failed) } }
                    }
                }
                h2 { "Failures" }
                ul #job-failures {
                    @for f in &view.failures { li { (f.key) ": " (f.error) } }
                }
                @if view.done {
                    p { a href=(back) { "Back to connection " (view.connection) } }
                } @else {
                    script { (PreEscaped(POLL)) }
                    noscript { meta http-equiv="refresh" content="2"; }
                }
            }
        },
    )
}
