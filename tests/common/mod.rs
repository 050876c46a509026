//! Helpers shared by several integration tests.

// Each test crate uses a part of this module.
#![allow(dead_code)]

pub mod http;
pub mod jira_spec;
