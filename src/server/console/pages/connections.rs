//! The connections page: one row per connection, from its sync panel.

use maud::{Markup, html};

use super::PageContext;
use super::layout::{connection_url, layout, notice, when};
use crate::connection::{Connection, Side};
use crate::engine::{PeerStatus, SyncPanel};
use crate::rules::RuleSetKind;
use crate::server::console::Action;

/// The connections page: for each connection its name, sides, mode, status,
/// issues under sync, last successful sync, queue, outbox, open errors and
/// conflicts, and whether the other node answers. `done` is the outcome of
/// the last action (a deleted connection, say), shown on top.
pub fn connections(ctx: &PageContext<'_>, panels: &[SyncPanel], done: Option<&str>) -> Markup {
    layout(
        Some(ctx),
        "Connections",
        html! {
            @if let Some(text) = done {
                (notice(true, text))
            }
            @if panels.is_empty() {
                p { "No connections yet." }
                @if ctx.role.may(Action::Connections) {
                    p {
                        a href="/console/initiate" { "Initiate a connection" }
                        " or "
                        a href="/console/accept" { "accept an invitation" }
                        "."
                    }
                } @else {
                    p { "An owner of this console can initiate a connection or accept an invitation." }
                }
            } @else {
                table {
                    caption { "Connections on this node" }
                    thead {
                        tr {
                            th scope="col" { "Name" }
                            th scope="col" { "Sides" }
                            th scope="col" { "Mode" }
                            th scope="col" { "Status" }
                            th scope="col" { "Issues under sync" }
                            th scope="col" { "Last successful sync" }
                            th scope="col" { "Queue" }
                            th scope="col" { "Outbox" }
                            th scope="col" { "Open errors" }
                            th scope="col" { "Open conflicts" }
                            th scope="col" { "Other node" }
                        }
                    }
                    tbody {
                        @for panel in panels { (row(panel)) }
                    }
                }
            }
        },
    )
}

fn row(panel: &SyncPanel) -> Markup {
    let conn = &panel.connection;
    html! {
        tr {
            th scope="row" { a href=(connection_url(&conn.id)) { (conn.name) } }
            td { (sides(conn)) }
            td { (mode(conn)) }
            td { (conn.status) }
            td { (panel.twins) }
            td {
                @match panel.last_sync {
                    Some(t) => (when(t)),
                    None => "never",
                }
            }
            td { (panel.queued) }
            td {
                @match &panel.peer {
                    Some(peer) => { (peer.waiting) " waiting" }
                    None => "—",
                }
            }
            td { (open_errors(panel)) }
            td { (open_conflicts(panel)) }
            td { (reachability(conn, panel.peer.as_ref())) }
        }
    }
}

/// Both sides, each as project and instance.
pub(super) fn sides(conn: &Connection) -> Markup {
    html! { (side(&conn.a)) " ⇄ " (side(&conn.b)) }
}

fn side(side: &Side) -> Markup {
    html! { (side.to_string()) }
}

/// Basic or custom rules.
pub(super) fn mode(conn: &Connection) -> &'static str {
    match conn.rules {
        RuleSetKind::Basic => "basic",
        RuleSetKind::Custom => "custom",
    }
}

/// Recorded errors that are not refused deletions.
pub(super) fn open_errors(panel: &SyncPanel) -> usize {
    panel.errors.iter().filter(|e| !e.is_refusal()).count()
}

/// Open conflicts, counted field by field.
pub(super) fn open_conflicts(panel: &SyncPanel) -> usize {
    panel
        .attention
        .iter()
        .map(|i| match &i.state {
            crate::engine::IssueState::Conflict { conflicts } => conflicts.len(),
            _ => 0,
        })
        .sum()
}

/// Whether the other node answers, in words.
pub(super) fn reachability(conn: &Connection, peer: Option<&PeerStatus>) -> Markup {
    html! {
        @match peer {
            None if conn.is_local() => "local (one instance)",
            None => "not known yet",
            Some(peer) => {
                @if let Some(since) = peer.unreachable_since {
                    span.error-text { "not answering since " (when(since)) }
                    @if let Some(cause) = &peer.cause { " (" (cause) ")" }
                } @else if peer.calls {
                    "answers"
                } @else {
                    "pulls from this node (private network)"
                }
            }
        }
    }
}
