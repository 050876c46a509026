//! Triggers: which issues to bring under sync.
//!
//! A [`Trigger`] selects issues of one side of a connection with a query in
//! [`jql`], a subset of Jira's query language that twinsync parses itself, so
//! a mistake in a query is reported with its position before anything is
//! stored or any tracker is called. The engine manages triggers
//! ([`Admin::add_trigger`](crate::engine::Admin::add_trigger) and its siblings)
//! and runs them on every sync cycle.

mod definition;
pub mod jql;

pub(crate) use definition::foreign_project;
pub use definition::{Trigger, TriggerId, TriggerSpec, TriggerUpdate};
pub use jql::{Jql, JqlError};
