//! The parts of a connection's page that change it: triggers, Test Run,
//! bulk exalate, rule versions, and activate, deactivate and delete. Each
//! is offered only to roles that may use it; the others see what is there.

use maud::{Markup, html};

use super::PageContext;
use super::layout::{connection_url, csrf_field, post_button, when};
use crate::connection::{Connection, ConnectionStatus};
use crate::engine::{RuleHistory, RuleSpec};
use crate::server::console::Action;
use crate::trigger::{Trigger, TriggerId};

/// Which trigger form an error belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerForm {
    /// The form that adds a trigger.
    Add,
    /// The form that edits this trigger.
    Edit(TriggerId),
}

/// A trigger form the node refused (a query that is not valid JQL, or
/// selects another project): the page shows the error next to that form,
/// with what the operator typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TriggerFormError {
    /// The form.
    pub form: TriggerForm,
    /// The project as chosen (the add form only).
    pub project: String,
    /// The query as typed.
    pub query: String,
    /// The note as typed.
    pub note: String,
    /// What is wrong, in words (see [`explain`](super::explain)).
    pub message: String,
}

/// A rule draft the node refused, shown in place with its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DraftError {
    /// The draft's JSON as typed.
    pub spec: String,
    /// What is wrong, in words.
    pub message: String,
}

fn base(conn: &Connection) -> String {
    connection_url(&conn.id)
}

/// The error of `form`, when the last trigger form to fail was that one.
fn error_for(error: Option<&TriggerFormError>, form: TriggerForm) -> Option<&TriggerFormError> {
    error.filter(|e| e.form == form)
}

/// The triggers table, with edit, enable/disable and remove, and the add
/// form.
pub(super) fn triggers(
    ctx: &PageContext<'_>,
    conn: &Connection,
    triggers: &[Trigger],
    error: Option<&TriggerFormError>,
) -> Markup {
    let may = ctx.role.may(Action::Triggers);
    html! {
        section aria-labelledby="triggers" {
            h2 #triggers { "Triggers" }
            @if triggers.is_empty() { p { "No triggers: issues come under sync only when exalated by hand or in bulk." } } @else {
                table {
                    thead { tr {
                        th scope="col" { "Trigger" } th scope="col" { "Project" } th scope="col" { "Query (JQL)" }
                        th scope="col" { "Note" } th scope="col" { "State" }
                        @if may { th scope="col" { "Actions" } }
                    } }
                    tbody {
                        @for t in triggers {
                            tr {
                                th scope="row" { (t.id) }
                                td { (t.project) }
                                td { code { (t.query) } }
                                td { (t.note) }
                                td { @if t.enabled { "enabled" } @else { "disabled" } }
                                @if may { td { (trigger_actions(ctx, conn, t, error_for(error, TriggerForm::Edit(t.id)))) } }
                            }
                        }
                    }
                }
            }
            @if may { (add_trigger(ctx, conn, error_for(error, TriggerForm::Add))) }
        }
    }
}

fn query_error(id: &str, error: Option<&TriggerFormError>) -> Markup {
    html! {
        @if let Some(e) = error {
            p.error-text #(id) role="alert" { "Not saved: " (e.message) }
        }
    }
}

fn trigger_actions(
    ctx: &PageContext<'_>,
    conn: &Connection,
    t: &Trigger,
    error: Option<&TriggerFormError>,
) -> Markup {
    let url = format!("{}/triggers/{}", base(conn), t.id);
    let error_id = format!("trigger-{}-error", t.id);
    let (query, note) = match error {
        Some(e) => (e.query.as_str(), e.note.as_str()),
        None => (t.query.as_str(), t.note.as_str()),
    };
    html! {
        details open[error.is_some()] {
            summary { "Edit" }
            form method="post" action=(url) {
                (csrf_field(ctx))
                label { "Query (JQL) "
                    textarea name="query" rows="2" required aria-invalid=[error.map(|_| "true")]
                        aria-describedby=[error.map(|_| error_id.as_str())] { (query) }
                }
                (query_error(&error_id, error))
                label { "Note " input type="text" name="note" value=(note); }
                button type="submit" { "Save trigger " (t.id) }
            }
        }
        @if t.enabled {
            (post_button(ctx, &format!("{url}/disable"), "Disable"))
        } @else {
            (post_button(ctx, &format!("{url}/enable"), "Enable"))
        }
        " "
        (post_button(ctx, &format!("{url}/remove"), "Remove"))
    }
}

fn add_trigger(
    ctx: &PageContext<'_>,
    conn: &Connection,
    error: Option<&TriggerFormError>,
) -> Markup {
    let chosen = error.map_or(conn.a.project.as_str(), |e| e.project.as_str());
    let projects = if conn.a.project == conn.b.project {
        vec![&conn.a.project]
    } else {
        vec![&conn.a.project, &conn.b.project]
    };
    html! {
        h3 { "Add a trigger" }
        form method="post" action=(format!("{}/triggers", base(conn))) {
            (csrf_field(ctx))
            label { "Project "
                select name="project" {
                    @for p in projects {
                        option value=(p) selected[p.as_str() == chosen] { (p) }
                    }
                }
            }
            label { "Query (JQL) "
                textarea name="query" rows="2" required placeholder="labels = escalate"
                    aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| "trigger-add-error")] {
                    @if let Some(e) = error { (e.query) }
                }
            }
            (query_error("trigger-add-error", error))
            label { "Note " input type="text" name="note" value=[error.map(|e| e.note.as_str())]; }
            label { input type="checkbox" name="enabled" value="on" checked; " Enabled" }
            button type="submit" { "Add trigger" }
        }
    }
}

/// Test Run and bulk exalate.
pub(super) fn tools(ctx: &PageContext<'_>, conn: &Connection) -> Markup {
    html! {
        @if ctx.role.may(Action::TestRun) {
            section aria-labelledby="test-run" {
                h2 #test-run { "Test Run" }
                p { "See what syncing an issue would do, without writing anything." }
                form method="get" action=(format!("{}/test-run", base(conn))) {
                    label { "Issue key " input type="text" name="key" required placeholder="SUP-1"; }
                    button type="submit" { "Test Run" }
                }
            }
        }
        @if ctx.role.may(Action::BulkExalate) {
            section aria-labelledby="bulk" {
                h2 #bulk { "Bulk exalate" }
                p { "Bring every issue a query matches under sync." }
                form method="post" action=(format!("{}/bulk", base(conn))) {
                    (csrf_field(ctx))
                    label { "Query (JQL) " input type="text" name="jql" required size="60"; }
                    button type="submit" { "Exalate all matching issues" }
                }
            }
        }
    }
}

fn spec_json(spec: &RuleSpec) -> String {
    serde_json::to_string_pretty(spec).unwrap_or_else(|e| format!("(cannot show the rules: {e})"))
}

/// The rule versions of a custom connection: draft, publish, roll back.
pub(super) fn rules(
    ctx: &PageContext<'_>,
    conn: &Connection,
    history: &RuleHistory,
    error: Option<&DraftError>,
) -> Markup {
    let may = ctx.role.may(Action::Rules);
    let draft = match (error, &history.draft) {
        (Some(e), _) => e.spec.clone(),
        (None, Some(draft)) => spec_json(draft),
        (None, None) => history
            .active_version()
            .map_or_else(|| spec_json(&RuleSpec::default()), |v| spec_json(&v.spec)),
    };
    html! {
        section aria-labelledby="rules" {
            h2 #rules { "Rules" }
            @if history.versions.is_empty() { p { "No version published yet." } } @else {
                table {
                    thead { tr {
                        th scope="col" { "Version" } th scope="col" { "Published" } th scope="col" { "By" } th scope="col" { "State" }
                        @if may { th scope="col" { "Action" } }
                    } }
                    tbody {
                        @for v in &history.versions {
                            @let active = history.active == Some(v.number);
                            tr {
                                th scope="row" { (v.number) }
                                td { (when(v.published_at)) }
                                td { (v.published_by) }
                                td { @if active { "in use" } @else { "not in use" } }
                                @if may { td { @if !active {
                                    form.inline method="post" action=(format!("{}/rules/rollback", base(conn))) {
                                        (csrf_field(ctx))
                                        input type="hidden" name="version" value=(v.number);
                                        button type="submit" { "Roll back to version " (v.number) }
                                    }
                                } } }
                            }
                        }
                    }
                }
            }
            @if may {
                h3 { "Draft" }
                form method="post" action=(format!("{}/rules/draft", base(conn))) {
                    (csrf_field(ctx))
                    label { "Rules (JSON) "
                        textarea name="spec" rows="12" aria-invalid=[error.map(|_| "true")]
                            aria-describedby=[error.map(|_| "draft-error")] { (draft) }
                    }
                    @if let Some(e) = error { p.error-text #draft-error role="alert" { "Not saved: " (e.message) } }
                    button type="submit" { "Save draft" }
                }
                @if history.draft.is_some() {
                    (post_button(ctx, &format!("{}/rules/publish", base(conn)), "Publish the draft"))
                }
            } @else if let Some(d) = &history.draft {
                h3 { "Draft" }
                pre { (spec_json(d)) }
            }
        }
    }
}

/// Activate or deactivate, and delete.
pub(super) fn lifecycle(ctx: &PageContext<'_>, conn: &Connection) -> Markup {
    if !ctx.role.may(Action::Connections) {
        return html! {};
    }
    let url = base(conn);
    html! {
        section aria-labelledby="manage" {
            h2 #manage { "Manage the connection" }
            @match conn.status {
                ConnectionStatus::Active => (post_button(ctx, &format!("{url}/deactivate"), "Deactivate")),
                ConnectionStatus::Pending => {},
                _ => (post_button(ctx, &format!("{url}/activate"), "Activate")),
            }
            p { "Deleting stops the sync and forgets the connection on this node; it cannot be undone." }
            form method="post" action=(format!("{url}/delete")) {
                (csrf_field(ctx))
                label { input type="checkbox" name="unexalate" value="on"; " Also unexalate: unlink every twin (the issues stay)" }
                button type="submit" { "Delete connection " (conn.name) }
            }
        }
    }
}
