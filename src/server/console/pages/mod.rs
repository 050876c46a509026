//! The console's pages: pure functions from what the engine reports to HTML
//! ([`maud::Markup`]), so that each is tested without a server.
//!
//! Every page of a signed-in operator takes a [`PageContext`]; each offers
//! only the forms its operator's [`Role`] allows, and every form that posts
//! carries the session's CSRF token in a hidden `csrf` field. Data from
//! users, trackers and other nodes is always escaped.
//!
//! The routes the pages link and post to (`{id}` is a connection id,
//! `{key}` an issue key, `{tid}` a trigger's number):
//!
//! ```text
//! GET  /console/login            POST /console/login (name, password)   POST /console/logout
//! GET  /console                  GET  /console/connections/{id}?q=KEY&page=N
//! POST /console/connections/{id}/activate | /deactivate | /delete (unexalate=on)
//! POST /console/connections/{id}/twins/{key}/retry | /resolve | /confirm-deletion | /dismiss-deletion
//! POST /console/connections/{id}/triggers (project, query, note, enabled=on)
//! POST /console/connections/{id}/triggers/{tid} (query, note) | /enable | /disable | /remove
//! GET  /console/connections/{id}/test-run?key=K
//! POST /console/connections/{id}/rules/draft (spec) | /rules/publish | /rules/rollback (version)
//! POST /console/connections/{id}/bulk (jql)      GET /console/jobs/{job} (JSON: /api/v1/jobs/{job})
//! GET|POST /console/initiate (local_project, destination_url, destination_project,
//!                             admin_access=yes|no, establish_token)
//! GET|POST /console/accept (code, project)
//! ```
//!
//! | page | function | view |
//! |---|---|---|
//! | sign-in | [`login`] | — |
//! | connections | [`connections`] | the engine's [`SyncPanel`](crate::engine::SyncPanel)s |
//! | a connection | [`connection`] | [`ConnectionView`] |
//! | Test Run | [`test_run`] | the engine's [`TestRunResult`](crate::engine::TestRunResult) |
//! | bulk exalate progress | [`job`] | [`JobView`] |
//! | initiate | [`initiate`] | [`InitiateView`] |
//! | accept | [`accept`] | [`AcceptView`] |
//! | an error | [`error_page`] | — |
//!
//! [`explain`] turns the engine's errors into words for the people who run
//! the trackers, saying what to do next.

use std::fmt;

use super::Role;

mod connection;
mod connections;
mod explain;
mod job;
mod layout;
mod manage;
mod setup;
mod test_run;

pub use connection::connection;
pub use connection::{ConnectionView, Notice, TWINS_PER_PAGE};
pub use connections::connections;
pub use explain::explain;
pub use job::{JobFailure, JobView, job};
pub use layout::{error_page, login};
pub use manage::{DraftError, TriggerForm, TriggerFormError};
pub use setup::{AcceptView, InitiateForm, InitiateView, accept, initiate};
pub use test_run::test_run;

/// What every page of a signed-in operator needs.
///
/// `Debug` leaves the CSRF token out.
#[derive(Clone, Copy)]
pub struct PageContext<'a> {
    /// The operator's name.
    pub operator: &'a str,
    /// Their role: pages offer only the actions it allows.
    pub role: Role,
    /// The session's CSRF token, for the hidden `csrf` field of every form.
    pub csrf: &'a str,
}

impl fmt::Debug for PageContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PageContext")
            .field("operator", &self.operator)
            .field("role", &self.role)
            .field("csrf", &"***")
            .finish()
    }
}

#[cfg(test)]
mod tests;
