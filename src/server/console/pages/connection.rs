//! The page of one connection: its summary, its twins, what needs a
//! person (errors, conflicts, refused deletions), and the forms that manage
//! it (in [`manage`](super::manage)).

use maud::{Markup, html};

use super::PageContext;
use super::connections::{mode, open_conflicts, open_errors, reachability, sides};
use super::layout::{connection_url, encode, layout, notice, post_button, value_text, when};
use super::manage::{self, DraftError, TriggerFormError};
use crate::connection::Connection;
use crate::engine::{IssuePage, IssueState, IssueStatus, Recovery, RuleHistory, SyncPanel};
use crate::model::{IssueId, IssueKey};
use crate::plan::Winner;
use crate::rules::RuleSetKind;
use crate::server::console::Action;
use crate::store::DeletionDecision;
use crate::trigger::Trigger;

/// How many twins a page of the twins table shows.
pub const TWINS_PER_PAGE: usize = crate::engine::PANEL_ISSUES;

/// The outcome of the operator's last action, shown at the top of the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// It worked: what was done, such as `Retried SUP-3`.
    Success(String),
    /// It failed: why, in words (see [`explain`](super::explain)).
    Failure(String),
}

/// What the page of a connection shows.
#[derive(Clone, Debug)]
pub struct ConnectionView {
    /// The connection's sync panel ([`Node::status`](crate::engine::Node::status)).
    pub panel: SyncPanel,
    /// Its triggers on this node ([`Node::triggers`](crate::engine::Node::triggers)).
    pub triggers: Vec<Trigger>,
    /// Its rule versions, for a custom connection
    /// ([`Node::rule_history`](crate::engine::Node::rule_history)); `None`
    /// for a basic one.
    pub rules: Option<RuleHistory>,
    /// The twins search, as typed (`q`): keys starting with it, ignoring case.
    pub query: String,
    /// Where the shown page of twins starts (`after`: the last twin of the
    /// page before); `None` for the first page.
    pub after: Option<IssueId>,
    /// The page of twins to show ([`Node::issues`](crate::engine::Node::issues)
    /// for `query` and `after`); `None` shows the panel's first page.
    pub twins: Option<IssuePage>,
    /// The outcome of the last action.
    pub notice: Option<Notice>,
    /// A trigger form that failed, shown in place with what was typed.
    pub trigger_error: Option<TriggerFormError>,
    /// A rule draft that could not be saved, shown in place with its text.
    pub draft_error: Option<DraftError>,
}

impl ConnectionView {
    /// A view of `panel` with no triggers, no rules, no search, the
    /// panel's first page of twins and no notice; fill in the rest.
    pub fn new(panel: SyncPanel) -> Self {
        ConnectionView {
            panel,
            triggers: Vec::new(),
            rules: None,
            query: String::new(),
            after: None,
            twins: None,
            notice: None,
            trigger_error: None,
            draft_error: None,
        }
    }
}

/// The page of a connection (`GET /console/connections/{id}`).
pub fn connection(ctx: &PageContext<'_>, view: &ConnectionView) -> Markup {
    let panel = &view.panel;
    let conn = &panel.connection;
    layout(
        Some(ctx),
        &format!("Connection {}", conn.name),
        html! {
            @match &view.notice {
                Some(Notice::Success(text)) => (notice(true, text)),
                Some(Notice::Failure(text)) => (notice(false, text)),
                None => {}
            }
            (summary(panel))
            (twins(view))
            (conflicts(ctx, conn, &panel.attention))
            (errors(ctx, panel))
            (refused(ctx, conn, &panel.attention))
            (manage::triggers(ctx, conn, &view.triggers, view.trigger_error.as_ref()))
            (manage::tools(ctx, conn))
            @if let (Some(rules), RuleSetKind::Custom) = (&view.rules, conn.rules) {
                (manage::rules(ctx, conn, rules, view.draft_error.as_ref()))
            }
            (manage::lifecycle(ctx, conn))
        },
    )
}

fn summary(panel: &SyncPanel) -> Markup {
    let conn = &panel.connection;
    html! {
        section aria-labelledby="summary" {
            h2 #summary { "Summary" }
            table {
                tbody {
                    tr { th scope="row" { "Sides" } td { (sides(conn)) } }
                    tr { th scope="row" { "Mode" } td { (mode(conn)) } }
                    tr { th scope="row" { "Status" } td { (conn.status) } }
                    tr { th scope="row" { "Issues under sync" } td { (panel.twins) } }
                    tr { th scope="row" { "Queue" } td { (panel.queued) } }
                    tr {
                        th scope="row" { "Last successful sync" }
                        td { @match panel.last_sync { Some(t) => (when(t)), None => "never" } }
                    }
                    tr { th scope="row" { "Open errors" } td { (open_errors(panel)) } }
                    tr { th scope="row" { "Open conflicts" } td { (open_conflicts(panel)) } }
                    tr { th scope="row" { "Other node" } td { (reachability(conn, panel.peer.as_ref())) } }
                    @if let Some(peer) = &panel.peer {
                        tr { th scope="row" { "Outbox" } td { (peer.waiting) " waiting" } }
                    }
                }
            }
        }
    }
}

/// The instance an issue key is on: the side whose project the key names,
/// when exactly one side does.
fn browse_url(conn: &Connection, key: &IssueKey) -> Option<String> {
    let (project, _) = key.as_str().rsplit_once('-')?;
    let mut sides = [&conn.a, &conn.b]
        .into_iter()
        .filter(|s| s.project.as_str() == project);
    let side = sides.next()?;
    let same = sides
        .next()
        .is_none_or(|other| other.instance == side.instance);
    same.then(|| format!("{}/browse/{}", side.instance, encode(key.as_str())))
}

fn key_link(conn: &Connection, key: &IssueKey) -> Markup {
    html! {
        @match browse_url(conn, key) {
            Some(url) => a href=(url) { (key.as_str()) },
            None => (key.as_str()),
        }
    }
}

fn twin_url(conn: &Connection, key: &IssueKey, what: &str) -> String {
    format!(
        "{}/twins/{}/{what}",
        connection_url(&conn.id),
        encode(key.as_str())
    )
}

/// The state in one word (and its cause).
fn state(state: &IssueState) -> Markup {
    html! {
        @match state {
            IssueState::Queued => "queued",
            IssueState::InProgress => "in progress",
            IssueState::Synchronized => "synchronized",
            IssueState::Error { cause, recovery, .. } => {
                span.state-error {
                    @if matches!(recovery, Recovery::Quarantined { .. }) { "error (quarantined)" } @else { "error" }
                }
                ": " (cause)
            }
            IssueState::Conflict { conflicts } => {
                span.state-conflict { "conflict" }
                ": " (conflicts.iter().map(|c| c.subject.as_str()).collect::<Vec<_>>().join(", "))
            }
            IssueState::Refused { .. } => span.state-refused { "refused deletion" },
        }
    }
}

/// The page of twins a view shows: its own, or the panel's first.
fn shown_page(view: &ConnectionView) -> (Vec<&IssueStatus>, Option<&IssueId>) {
    match &view.twins {
        Some(page) => (page.issues.iter().collect(), page.next.as_ref()),
        None => (view.panel.issues.iter().collect(), view.panel.next.as_ref()),
    }
}

fn twins(view: &ConnectionView) -> Markup {
    let conn = &view.panel.connection;
    let query = view.query.trim();
    let (shown, next) = shown_page(view);
    let base = connection_url(&conn.id);
    let page_url = |after: &IssueId| {
        format!(
            "{base}?q={}&after={}",
            encode(query),
            encode(after.as_str())
        )
    };
    let first_url = format!("{base}?q={}", encode(query));
    html! {
        section aria-labelledby="twins" {
            h2 #twins { "Twins" }
            form method="get" action=(base) role="search" {
                label { "Issue key starts with " input type="search" name="q" value=(view.query); }
                button type="submit" { "Search" }
            }
            @if shown.is_empty() && view.after.is_none() {
                p { @if query.is_empty() { "No issues under sync yet." } @else { "No twin has a key starting with “" (query) "”." } }
            } @else {
                table {
                    caption {
                        @if query.is_empty() { (view.panel.twins) " twins" } @else { "Twins with a key starting with “" (query) "”" }
                        " · " (shown.len()) " on this page"
                    }
                    thead { tr { th scope="col" { "Issue" } th scope="col" { "Twin" } th scope="col" { "State" } } }
                    tbody {
                        @for issue in &shown {
                            tr {
                                td { (key_link(conn, &issue.origin.key)) }
                                td { @match &issue.twin { Some(t) => (key_link(conn, &t.key)), None => "not created yet" } }
                                td { (state(&issue.state)) }
                            }
                        }
                    }
                }
                nav aria-label="Pages of twins" {
                    @if view.after.is_some() { a href=(first_url) { "First page" } " " }
                    @if let Some(after) = next { a href=(page_url(after)) { "Next page" } }
                }
            }
        }
    }
}

fn conflicts(ctx: &PageContext<'_>, conn: &Connection, issues: &[IssueStatus]) -> Markup {
    let open: Vec<_> = issues
        .iter()
        .filter_map(|i| match &i.state {
            IssueState::Conflict { conflicts } => Some((i, conflicts)),
            _ => None,
        })
        .collect();
    let may = ctx.role.may(Action::RetryResolve);
    html! {
        section aria-labelledby="conflicts" {
            h2 #conflicts { "Open conflicts" }
            @if open.is_empty() { p { "No open conflicts." } } @else {
                table {
                    thead { tr {
                        th scope="col" { "Issue" } th scope="col" { "Field" } th scope="col" { "This side" }
                        th scope="col" { "Other side" } th scope="col" { "Before (base)" } th scope="col" { "Kept" }
                        @if may { th scope="col" { "Action" } }
                    } }
                    tbody {
                        @for (issue, list) in &open {
                            @for c in list.iter() {
                                tr {
                                    td { (key_link(conn, &issue.origin.key)) }
                                    td { (c.subject) }
                                    td { (value_text(&c.local)) }
                                    td { (value_text(&c.remote)) }
                                    td { @match &c.base { Some(b) => (value_text(b)), None => "not known" } }
                                    td { @match c.winner { Winner::Local => "this side's value", Winner::Remote => "the other side's value" } }
                                    @if may { td { (post_button(ctx, &twin_url(conn, &issue.origin.key, "resolve"), "Resolve")) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn errors(ctx: &PageContext<'_>, panel: &SyncPanel) -> Markup {
    let conn = &panel.connection;
    let list: Vec<_> = panel.errors.iter().filter(|e| !e.is_refusal()).collect();
    let may = ctx.role.may(Action::RetryResolve);
    html! {
        section aria-labelledby="errors" {
            h2 #errors { "Errors" }
            @if list.is_empty() { p { "No errors." } } @else {
                table {
                    thead { tr {
                        th scope="col" { "Issue" } th scope="col" { "Kind" } th scope="col" { "Cause" }
                        th scope="col" { "Attempts" } th scope="col" { "Next" }
                        @if may { th scope="col" { "Actions" } }
                    } }
                    tbody {
                        @for e in list {
                            tr {
                                td { (key_link(conn, &e.key)) }
                                td { (e.kind) }
                                td { (e.message) }
                                td { (e.attempts) }
                                td {
                                    @if e.quarantine.is_some() {
                                        "quarantined: fix the cause, then Retry or Resolve"
                                    } @else if let Some(t) = e.next_try {
                                        "next try at " (when(t))
                                    } @else { "when the issue next changes" }
                                }
                                @if may { td {
                                    (post_button(ctx, &twin_url(conn, &e.key, "retry"), "Retry")) " "
                                    (post_button(ctx, &twin_url(conn, &e.key, "resolve"), "Resolve"))
                                } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn refused(ctx: &PageContext<'_>, conn: &Connection, issues: &[IssueStatus]) -> Markup {
    let list: Vec<_> = issues
        .iter()
        .filter_map(|i| match &i.state {
            IssueState::Refused {
                deletions,
                decision,
            } => Some((i, deletions, decision)),
            _ => None,
        })
        .collect();
    let may = ctx.role.may(Action::Deletions);
    html! {
        section aria-labelledby="refused" {
            h2 #refused { "Refused deletions" }
            @if list.is_empty() { p { "No refused deletions." } } @else {
                table {
                    thead { tr {
                        th scope="col" { "Issue" } th scope="col" { "What the guard refused" } th scope="col" { "Decision" }
                        @if may { th scope="col" { "Actions" } }
                    } }
                    tbody {
                        @for (issue, deletions, decision) in list {
                            tr {
                                td { (key_link(conn, &issue.origin.key)) }
                                td { (deletions.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")) }
                                td { @match decision {
                                    None => "waiting for a decision",
                                    Some(DeletionDecision::Confirmed) => "confirmed: the next sync deletes them",
                                    Some(DeletionDecision::Dismissed) => "dismissed: the next sync keeps them",
                                } }
                                @if may { td {
                                    (post_button(ctx, &twin_url(conn, &issue.origin.key, "confirm-deletion"), "Confirm deletion")) " "
                                    (post_button(ctx, &twin_url(conn, &issue.origin.key, "dismiss-deletion"), "Dismiss"))
                                } }
                            }
                        }
                    }
                }
            }
        }
    }
}
