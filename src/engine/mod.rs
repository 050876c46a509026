//! The sync engine: a [`Node`] attached to one tracker and one store.
//!
//! A node holds connections and their twins, detects changes by polling (or
//! by being told, as a webhook handler would), plans each changed twin with the
//! pure [`planner`](crate::plan) and executes the plan through the tracker,
//! recording state after every write. See the README for the guarantees:
//! no duplicates across retries, lost answers and crashes; no echo; nothing
//! lost on a rate limit.
//!
//! # Layout
//!
//! The engine is split by concept; imports between its files form no cycle.
//!
//! - [`Node`] itself (`node`, `builder`, `options`): the handle, what its
//!   clones share, and how it is made.
//! - `sync`: detecting changes (the cycle), the one apply path that the
//!   local cycle, remote receive and Test Run share, executing a plan,
//!   operations on twins, recovery (backoff and quarantine) and refused
//!   deletions. Its words (`Direction`, [`TwinInfo`], [`CycleReport`], the
//!   apply request) live in a leaf module every other file may import.
//! - `admin`: connections and their lifecycle, triggers, rule versions, the
//!   status views, Test Run, and [`Admin`], which checks its caller's
//!   permission before every change.
//! - `peer`: the node-to-node protocol: messages and refusals on the wire,
//!   the setup handshake (initiate, accept, answer, rejoin), the endpoint,
//!   and sending and receiving replicas (receive applies through `sync`).

mod admin;
mod builder;
mod health;
mod locks;
mod node;
mod observe;
mod options;
mod peer;
mod schedule;
mod sync;
mod txn;
pub mod worker;

pub use crate::rules::{RuleHistory, RuleSpec, RuleVersion};
pub use admin::handle::Admin;
pub use admin::lifecycle::DeleteOptions;
pub use admin::peer_status::PeerStatus;
pub use admin::status::{IssuePage, IssueState, IssueStatus, PANEL_ISSUES, SyncPanel};
pub use admin::test_run::{TestRunOutcome, TestRunResult};
pub use builder::NodeBuilder;
pub use node::Node;
pub use options::{LocalConnectionOptions, NodeOptions, Pacing};
pub use peer::setup::{InitiateRequest, Initiated};
pub use schedule::RunReport;
pub use schedule::hints::Hinted;
pub use sync::bulk::{BulkEvent, BulkReport};
pub use sync::recovery::Recovery;
pub use sync::types::{CycleReport, TwinInfo};
pub use worker::Worker;
