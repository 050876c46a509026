//! Setting up a connection: initiate (and hand over the invitation code) and
//! accept an invitation.

use maud::{Markup, PreEscaped, html};

use super::PageContext;
use super::layout::{connection_url, csrf_field, layout};
use crate::connection::Connection;
use crate::engine::Initiated;
use crate::model::ProjectKey;
use crate::server::console::Action;

/// The initiate form as the operator filled it (never the establish token,
/// which is not shown again).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InitiateForm {
    /// The project on this node's instance.
    pub local_project: String,
    /// The destination's URL; empty for "no URL" (a private network).
    pub destination_url: String,
    /// The project on the destination.
    pub destination_project: String,
    /// Whether the operator has admin access on the destination.
    pub admin_access: bool,
}

/// What the initiate page shows: the form, the last error, or what was made.
///
/// `Debug` never shows the invitation code's secret.
#[derive(Clone, Debug, Default)]
pub struct InitiateView {
    /// The form's fields, as typed.
    pub form: InitiateForm,
    /// Why initiating failed, in words (see [`explain`](super::explain)).
    pub error: Option<String>,
    /// What initiating made: shown once, with the invitation code.
    pub result: Option<Initiated>,
}

/// What the accept page shows.
#[derive(Clone, Debug, Default)]
pub struct AcceptView {
    /// The projects the operator may pick; empty: they type the key.
    pub projects: Vec<ProjectKey>,
    /// The project as picked.
    pub project: String,
    /// Why accepting failed, in words (see [`explain`](super::explain)).
    pub error: Option<String>,
    /// The connection accepting set up.
    pub accepted: Option<Connection>,
}

/// Copies the invitation code to the clipboard.
const COPY: &str = r#"
document.getElementById('copy-code').addEventListener('click', function () {
  var code = document.getElementById('invitation-code');
  var said = document.getElementById('copy-status');
  navigator.clipboard.writeText(code.value).then(
    function () { said.textContent = 'Copied.'; },
    function () { code.select(); said.textContent = 'Select the code and copy it (Ctrl+C).'; });
});
"#;

fn owners_only(ctx: &PageContext<'_>, what: &str) -> Option<Markup> {
    (!ctx.role.may(Action::Connections)).then(|| {
        html! { p { "Only an owner of this console can " (what) "; you are a " (ctx.role) "." } }
    })
}

fn error(message: Option<&str>) -> Markup {
    html! { @if let Some(m) = message { p.notice.bad role="alert" { (m) } } }
}

/// The initiate page (`GET` and `POST /console/initiate`).
pub fn initiate(ctx: &PageContext<'_>, view: &InitiateView) -> Markup {
    let body = match (&view.result, owners_only(ctx, "initiate connections")) {
        (Some(made), _) => initiated(made),
        (None, Some(refusal)) => refusal,
        (None, None) => initiate_form(ctx, view),
    };
    layout(Some(ctx), "Initiate a connection", body)
}

fn initiated(made: &Initiated) -> Markup {
    let conn = made.connection();
    let link = html! { a href=(connection_url(&conn.id)) { (conn.name) } };
    html! {
        @match made {
            Initiated::Local(_) => p.notice.ok role="status" { "Local connection " (link) " is set up and active." },
            Initiated::Established(_) => p.notice.ok role="status" { "Connection " (link) " is set up on both sides and active." },
            Initiated::Invitation { code, .. } => {
                p.notice.ok role="status" { "Connection " (link) " is pending until the destination's admin accepts this invitation code." }
                label { "Invitation code "
                    textarea #invitation-code readonly rows="4" spellcheck="false" { (code.as_str()) }
                }
                button #copy-code type="button" { "Copy" }
                " " span #copy-status role="status" {}
                p { strong { "This code is shown once: copy it now. " }
                    "It carries the connection's secret: give it only to the destination's admin, over a channel you trust. "
                    "It works once, and expires (after seven days unless set otherwise)." }
                script { (PreEscaped(COPY)) }
            }
        }
        p { a href="/console/initiate" { "Initiate another connection" } }
    }
}

fn initiate_form(ctx: &PageContext<'_>, view: &InitiateView) -> Markup {
    let f = &view.form;
    html! {
        (error(view.error.as_deref()))
        form method="post" action="/console/initiate" {
            (csrf_field(ctx))
            label { "Project on this instance " input type="text" name="local_project" required value=(f.local_project) placeholder="SUP"; }
            label { "Destination URL (optional) "
                input type="url" name="destination_url" value=(f.destination_url) placeholder="https://partner.example" aria-describedby="url-help";
            }
            p #url-help { "Leave it empty when the destination is in a private network: you get an invitation code for its admin." }
            label { "Project on the destination " input type="text" name="destination_project" value=(f.destination_project) placeholder="DEV"; }
            fieldset {
                legend { "I have admin access on the destination" }
                label { input #admin-yes type="radio" name="admin_access" value="yes" checked[f.admin_access]; " Yes: set it up there directly with an establish token" }
                label { input #admin-no type="radio" name="admin_access" value="no" checked[!f.admin_access]; " No: make an invitation code for its admin" }
            }
            div.token {
                label { "Establish token (issued by an admin of the destination for its project) "
                    input type="password" name="establish_token" autocomplete="off";
                }
            }
            button type="submit" { "Initiate" }
        }
    }
}

/// The accept page (`GET` and `POST /console/accept`).
pub fn accept(ctx: &PageContext<'_>, view: &AcceptView) -> Markup {
    let body = match (&view.accepted, owners_only(ctx, "accept invitations")) {
        (Some(conn), _) => html! {
            p.notice.ok role="status" {
                "Connection " a href=(connection_url(&conn.id)) { (conn.name) } " is set up on both sides and active."
            }
        },
        (None, Some(refusal)) => refusal,
        (None, None) => accept_form(ctx, view),
    };
    layout(Some(ctx), "Accept an invitation", body)
}

fn accept_form(ctx: &PageContext<'_>, view: &AcceptView) -> Markup {
    html! {
        (error(view.error.as_deref()))
        form method="post" action="/console/accept" {
            (csrf_field(ctx))
            label { "Invitation code (paste the whole code, starting with twinsync-invite-) "
                textarea name="code" rows="4" required spellcheck="false" autocomplete="off" {}
            }
            label { "Project for incoming issues "
                @if view.projects.is_empty() {
                    input type="text" name="project" required value=(view.project) placeholder="DEV";
                } @else {
                    select name="project" required {
                        @for p in &view.projects {
                            option value=(p) selected[p.as_str() == view.project] { (p) }
                        }
                    }
                }
            }
            button type="submit" { "Accept and set up the connection" }
        }
    }
}
