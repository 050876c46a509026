//! Syncing twins: detecting changes (the cycle), the one apply path that the
//! local cycle, remote receive and Test Run share, executing a plan, twin
//! operations (exalate, connect, unexalate), recovery and refused deletions.

pub(super) mod apply;
mod batch;
pub(super) mod bulk;
mod create;
pub(super) mod cycle;
pub(super) mod execute;
pub(super) mod recovery;
pub(super) mod refusals;
mod run;
mod settle;
mod status;
mod strays;
pub(super) mod twin;
pub(super) mod types;
pub(super) mod users;
