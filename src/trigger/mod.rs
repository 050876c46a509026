//! Triggers: which issues to bring under sync.
//!
//! A trigger selects issues with a query in [`jql`], a subset of Jira's query
//! language that twinsync parses itself, so a mistake in a query is reported
//! with its position before any tracker is called.

pub mod jql;

pub use jql::{Jql, JqlError};
