//! The Test Run page: the replica this side would send and the plan the
//! other side would execute, as the engine reports them.

use maud::{Markup, html};

use super::PageContext;
use super::layout::{connection_url, layout, value_text};
use crate::connection::Connection;
use crate::engine::{TestRunOutcome, TestRunResult};
use crate::replica::FieldValue;
use crate::server::console::Action;

/// The result of a Test Run of `key` on `connection`
/// (`GET /console/connections/{id}/test-run?key=K`), or why there is none
/// (`result` is `Err` with words, see [`explain`](super::explain)).
pub fn test_run(
    ctx: &PageContext<'_>,
    connection: &Connection,
    key: &str,
    result: Result<&TestRunResult, &str>,
) -> Markup {
    let back = connection_url(&connection.id);
    layout(
        Some(ctx),
        &format!("Test Run of {key}"),
        html! {
            p { "On connection " a href=(back) { (connection.name) } ". Nothing was written." }
            @match result {
                Err(message) => p.notice.bad role="alert" { "No Test Run: " (message) },
                Ok(run) => (report(run)),
            }
            @if ctx.role.may(Action::TestRun) {
                form method="get" action=(format!("{back}/test-run")) {
                    label { "Another issue key " input type="text" name="key" required value=(key); }
                    button type="submit" { "Test Run" }
                }
            }
        },
    )
}

fn report(run: &TestRunResult) -> Markup {
    let r = &run.replica;
    html! {
        p {
            strong { (run.issue.key) }
            @match (&run.twin, run.under_sync) {
                (Some(twin), _) => { " is under sync with " (twin.key) "." }
                (None, true) => " is under sync; its twin is not created yet.",
                (None, false) => " is not under sync yet.",
            }
            " Its twin is in project " (run.target) "."
        }
        p.notice.ok { (run.summary) }
        h2 { "Outgoing replica" }
        table {
            tbody {
                tr { th scope="row" { "Issue type" } td { (r.issue_type) } }
                tr { th scope="row" { "Summary" } td { (r.summary) } }
                tr { th scope="row" { "Description" } td {
                    @if r.description.is_empty() { "(empty)" } @else { (value_text(&FieldValue::Rich(r.description.clone()))) }
                } }
                @for (name, value) in &r.fields {
                    tr { th scope="row" { (name) } td { (value.to_string()) } }
                }
                tr { th scope="row" { "Comments" } td { (r.comments.len()) } }
                tr { th scope="row" { "Attachments" } td {
                    (r.attachments.len())
                    @if !r.attachments.is_empty() {
                        ": " (r.attachments.iter().map(|a| a.file_name.as_str()).collect::<Vec<_>>().join(", "))
                    }
                } }
            }
        }
        h2 { "Plan" }
        @match &run.outcome {
            TestRunOutcome::Plan(plan) => pre { (plan.to_string()) },
            TestRunOutcome::Error { kind, message } => {
                p.notice.bad role="alert" { "Syncing would fail (" (kind) "): " (message) }
            }
        }
        details {
            summary { "The whole report, as text" }
            pre { (run.to_string()) }
        }
    }
}
