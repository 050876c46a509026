//! What the simulated node syncs through: an in-memory tracker, or (feature
//! `jira-emulator`) a Jira adapter over HTTP against the loopback emulator.
//! Either way the users' edits and the final checks go to the tracker's
//! contents directly, and faults hit only the node's calls.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::model::Issue;
use crate::tracker::memory::{Fault, RandomFaults};
use crate::tracker::{MemoryTracker, Tracker};

#[cfg(feature = "jira-emulator")]
use super::super::jira::{JiraFlavor, JiraSite};

pub(super) enum Backend {
    /// The node's handle on an in-memory tracker: its calls are counted and
    /// its faults injected there.
    Memory(MemoryTracker),
    /// A Jira adapter against the emulator; faults are injected into the
    /// HTTP answers and calls are counted as requests.
    #[cfg(feature = "jira-emulator")]
    Jira {
        /// The emulator and its runtime.
        site: JiraSite,
        /// The node's adapter.
        adapter: Arc<dyn Tracker>,
    },
}

impl Backend {
    /// A fresh in-memory tracker with projects `projects` (types Bug, Task).
    pub(super) fn memory(clock: Arc<dyn Clock>, projects: &[&str]) -> Self {
        let engine = MemoryTracker::with_clock("https://sim.example", clock).expect("url");
        for p in projects {
            engine
                .add_project(p, p, &["Bug", "Task"], None)
                .expect("project");
        }
        Backend::Memory(engine)
    }

    /// The loopback Jira emulator (its projects SUP and DEV have Bug and Task).
    #[cfg(feature = "jira-emulator")]
    pub(super) fn jira(flavor: JiraFlavor, clock: Arc<dyn Clock>) -> Self {
        let site = JiraSite::start(flavor, clock);
        let adapter = site.adapter();
        Backend::Jira { site, adapter }
    }

    /// The tracker the node is built on.
    pub(super) fn node_tracker(&self) -> Arc<dyn Tracker> {
        match self {
            Backend::Memory(engine) => Arc::new(engine.clone()),
            #[cfg(feature = "jira-emulator")]
            Backend::Jira { adapter, .. } => adapter.clone(),
        }
    }

    /// The tracker's contents, for users' edits and inspection.
    pub(super) fn contents(&self) -> &MemoryTracker {
        match self {
            Backend::Memory(engine) => engine,
            #[cfg(feature = "jira-emulator")]
            Backend::Jira { site, .. } => site.contents(),
        }
    }

    /// Runs a future that may call the node.
    pub(super) fn run<F: Future>(&self, future: F) -> F::Output {
        match self {
            Backend::Memory(_) => super::super::block_on(future),
            #[cfg(feature = "jira-emulator")]
            Backend::Jira { site, .. } => site.block_on(future),
        }
    }

    /// Makes the node's calls fail at random with `probability`.
    pub(super) fn random_faults(&self, seed: u64, probability: f64) {
        match self {
            Backend::Memory(engine) => engine.random_faults(Some(RandomFaults {
                seed,
                probability,
                faults: vec![
                    Fault::ServerError,
                    Fault::LoseResponse,
                    Fault::RateLimited(Duration::from_secs(2)),
                ],
            })),
            #[cfg(feature = "jira-emulator")]
            Backend::Jira { site, .. } => {
                use crate::tracker::jira::emulator::{self as e, RateLimitReason as R};
                let limited = |reason| e::Fault::RateLimited {
                    reason,
                    retry_after: Duration::from_secs(2),
                };
                site.emulator().random_faults(Some(e::RandomFaults {
                    seed,
                    probability,
                    faults: vec![
                        e::Fault::ServerError {
                            status: 500,
                            retry_after: None,
                        },
                        e::Fault::ServerError {
                            status: 503,
                            retry_after: Some(Duration::from_secs(1)),
                        },
                        e::Fault::LoseResponse,
                        limited(R::PerIssueOnWrite),
                        limited(R::Burst),
                        limited(R::QuotaGlobal),
                    ],
                }));
            }
        }
    }

    /// Faults heal.
    pub(super) fn heal(&self) {
        match self {
            Backend::Memory(engine) => {
                engine.random_faults(None);
                engine.clear_faults();
            }
            #[cfg(feature = "jira-emulator")]
            Backend::Jira { site, .. } => {
                site.emulator().random_faults(None);
                site.emulator().clear_faults();
            }
        }
    }

    /// Forgets the node's calls so far.
    pub(super) fn reset_calls(&self) {
        match self {
            Backend::Memory(engine) => engine.reset_calls(),
            #[cfg(feature = "jira-emulator")]
            Backend::Jira { site, .. } => site.reset_calls(),
        }
    }

    /// The node's writes since the last reset, and a description of its calls.
    pub(super) fn writes(&self) -> (u64, String) {
        match self {
            Backend::Memory(engine) => {
                let calls = engine.calls();
                (calls.writes(), calls.to_string())
            }
            #[cfg(feature = "jira-emulator")]
            Backend::Jira { site, .. } => {
                let calls = site.calls();
                (calls.writes() as u64, calls.to_string())
            }
        }
    }

    /// `issues` as the tracker's users see them. Jira shows every
    /// description as ADF (Cloud) or wiki markup (Data Center), whether a
    /// user typed plain text or the sync wrote a document, so descriptions
    /// are read through an adapter of the node's flavor.
    pub(super) fn shown(&self, issues: Vec<Issue>) -> Result<Vec<Issue>, String> {
        match self {
            Backend::Memory(_) => Ok(issues),
            #[cfg(feature = "jira-emulator")]
            Backend::Jira { site, .. } => {
                let reader = site.adapter();
                issues
                    .into_iter()
                    .map(|mut issue| {
                        let read = site
                            .block_on(reader.issue(&issue.id))
                            .map_err(|e| format!("reading {} through jira: {e}", issue.key))?;
                        issue.description = read.description;
                        // Comments as the adapter reads them too, with their
                        // markers (the attribution check reads both).
                        issue.comments = read.comments;
                        Ok(issue)
                    })
                    .collect()
            }
        }
    }
}
