//! The console's pages: pure functions from what the engine reports to HTML
//! ([`maud::Markup`]), so that each is tested without a server.

use super::Role;

/// What every page of a signed-in operator needs.
#[derive(Clone, Copy, Debug)]
pub struct PageContext<'a> {
    /// The operator's name.
    pub operator: &'a str,
    /// Their role: pages offer only the actions it allows.
    pub role: Role,
    /// The session's CSRF token, for the hidden `csrf` field of every form.
    pub csrf: &'a str,
}
