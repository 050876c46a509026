//! The web console (feature `console`): the sync panel and connection
//! console in the browser, and the JSON API behind it.
//!
//! Nobody reaches a page or an API route without signing in; every form
//! carries a CSRF token; each action is allowed by the operator's [`Role`]
//! and then checked by the engine's own permission checks, for the tracker
//! user the operator acts as.

pub mod pages;
mod role;

pub use role::{Action, Role};
