//! Administering a node: connections and their lifecycle, triggers, rule
//! versions, the status views, Test Run, and [`Admin`](handle::Admin), the
//! handle that checks its caller's permission before every change.

pub(super) mod connections;
pub(super) mod handle;
pub(super) mod lifecycle;
pub(super) mod peer_status;
mod remote;
pub(super) mod rule_versions;
mod rules;
pub(super) mod status;
pub(super) mod test_run;
pub(super) mod triggers;
mod users;
