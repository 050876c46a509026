//! The signed-in pages and their forms: each form posts to the same
//! operation as the JSON API ([`ops`](super::ops)); a success redirects back
//! with a notice, a failure shows the page again with the error in words
//! and what was typed.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;

use super::Inner;
use super::access::Caller;
use super::html::{page, refusal};
use super::ops::{self, TwinAction};
use super::pages::{
    self, AcceptView, ConnectionView, DraftError, InitiateView, Notice, PageContext, TriggerForm,
    TriggerFormError,
};
use super::session::{Ticket, clear_cookie, cookie, set_cookie};
use crate::connection::ConnectionId;
use crate::engine::RuleSpec;
use crate::error::{Error, ErrorKind, Result};

type Shared = State<Arc<Inner>>;

/// The cookie that carries a notice across the redirect after a form.
const NOTICE_COOKIE: &str = "twinsync_notice";
const NOTICE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// The signed-in pages.
pub(super) fn routes() -> Router<Arc<Inner>> {
    Router::new()
        .route("/console", get(home))
        .route("/console/connections/{id}", get(connection))
        .route("/console/connections/{id}/activate", post(activate))
        .route("/console/connections/{id}/deactivate", post(deactivate))
        .route("/console/connections/{id}/delete", post(delete))
        .route(
            "/console/connections/{id}/twins/{key}/{action}",
            post(twin_action),
        )
        .route("/console/connections/{id}/triggers", post(add_trigger))
        .route(
            "/console/connections/{id}/triggers/{tid}",
            post(edit_trigger),
        )
        .route(
            "/console/connections/{id}/triggers/{tid}/{action}",
            post(switch_trigger),
        )
        .route("/console/connections/{id}/test-run", get(test_run))
        .route("/console/connections/{id}/rules/draft", post(save_draft))
        .route("/console/connections/{id}/rules/publish", post(publish))
        .route("/console/connections/{id}/rules/rollback", post(rollback))
        .route("/console/connections/{id}/bulk", post(bulk))
        .route("/console/jobs/{job}", get(job))
        .route("/console/initiate", get(initiate_form).post(initiate))
        .route("/console/accept", get(accept_form).post(accept))
}

fn ctx(caller: &Caller) -> PageContext<'_> {
    PageContext {
        operator: &caller.name,
        role: caller.role,
        csrf: caller.csrf.as_deref().unwrap_or(""),
    }
}

/// An error as a page, in words.
fn failed(caller: &Caller, e: &Error) -> Response {
    let status = super::api::status_of(e.kind());
    page(
        status,
        pages::error_page(Some(&ctx(caller)), status.as_u16(), &pages::explain(e)),
    )
}

/// Back to `to`, with a notice for the next page.
fn back_with(inner: &Inner, to: &str, notice: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    let sealed = Ticket {
        operator: notice.to_owned(),
        csrf: String::new(),
        expires: time::OffsetDateTime::now_utc().unix_timestamp() + 60,
    }
    .seal(&inner.key, NOTICE_COOKIE);
    if let Ok(sealed) = sealed
        && let Ok(value) = HeaderValue::from_str(&set_cookie(
            NOTICE_COOKIE,
            &sealed,
            NOTICE_TTL,
            inner.secure,
        ))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The notice a redirect carried, if any.
fn take_notice(inner: &Inner, headers: &HeaderMap) -> Option<String> {
    cookie(headers, NOTICE_COOKIE)
        .and_then(|value| Ticket::open(&inner.key, NOTICE_COOKIE, value))
        .map(|ticket| ticket.operator)
}

/// A page, clearing the notice cookie when one was shown.
fn shown(inner: &Inner, status: StatusCode, markup: maud::Markup, noticed: bool) -> Response {
    let mut response = page(status, markup);
    if noticed && let Ok(value) = HeaderValue::from_str(&clear_cookie(NOTICE_COOKIE, inner.secure))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn connection_url(id: &ConnectionId) -> String {
    format!("/console/connections/{id}")
}

async fn home(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    let panels = inner.node.connections().and_then(|list| {
        list.iter()
            .map(|c| inner.node.status(&c.id))
            .collect::<Result<Vec<_>>>()
    });
    match panels {
        Ok(panels) => {
            let notice = take_notice(&inner, &headers);
            let markup = pages::connections(&ctx(&caller), &panels, notice.as_deref());
            shown(&inner, StatusCode::OK, markup, notice.is_some())
        }
        Err(e) => failed(&caller, &e),
    }
}

#[derive(Debug, Default, Deserialize)]
struct ConnectionQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    after: Option<String>,
}

/// The view of a connection's page, with everything it lists.
fn view(inner: &Inner, id: &ConnectionId) -> Result<ConnectionView> {
    let panel = inner.node.status(id)?;
    let custom = panel.connection.rules == crate::rules::RuleSetKind::Custom;
    let mut view = ConnectionView::new(panel);
    view.triggers = inner.node.triggers(id)?;
    view.rules = if custom {
        Some(inner.node.rule_history(id)?)
    } else {
        None
    };
    Ok(view)
}

async fn connection(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(query): Query<ConnectionQuery>,
    headers: HeaderMap,
) -> Response {
    let mut view = match ops::connection_id(&id).and_then(|id| view(&inner, &id)) {
        Ok(view) => view,
        Err(e) => return failed(&caller, &e),
    };
    view.query = query.q.unwrap_or_default();
    view.after = query
        .after
        .as_deref()
        .filter(|a| !a.is_empty())
        .and_then(|a| a.parse().ok());
    if !view.query.trim().is_empty() || view.after.is_some() {
        let listing = ops::twin_query(Some(&view.query), view.after.clone(), None);
        match inner.node.issues(&view.panel.connection.id, &listing) {
            Ok(page) => view.twins = Some(page),
            Err(e) => return failed(&caller, &e),
        }
    }
    view.notice = take_notice(&inner, &headers).map(Notice::Success);
    let noticed = view.notice.is_some();
    shown(
        &inner,
        StatusCode::OK,
        pages::connection(&ctx(&caller), &view),
        noticed,
    )
}

/// The connection's page again, with a failure and whatever the caller
/// sets on the view (a form's error in place).
fn again(
    inner: &Inner,
    caller: &Caller,
    id: &ConnectionId,
    e: &Error,
    set: impl FnOnce(&mut ConnectionView, String),
) -> Response {
    match view(inner, id) {
        Ok(mut view) => {
            let words = pages::explain(e);
            set(&mut view, words);
            page(
                super::api::status_of(e.kind()),
                pages::connection(&ctx(caller), &view),
            )
        }
        Err(_) => failed(caller, e),
    }
}

/// Runs an operation of a connection's page: back to the page with its
/// notice, or the page with the failure on top.
async fn on_connection<F>(
    inner: &Inner,
    caller: &Caller,
    id: &str,
    run: impl FnOnce(ConnectionId) -> F,
) -> Response
where
    F: std::future::Future<Output = Result<String>>,
{
    let id = match ops::connection_id(id) {
        Ok(id) => id,
        Err(e) => return failed(caller, &e),
    };
    match run(id.clone()).await {
        Ok(done) => back_with(inner, &connection_url(&id), &done),
        Err(e) => again(inner, caller, &id, &e, |view, words| {
            view.notice = Some(Notice::Failure(words));
        }),
    }
}

async fn activate(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let (inner, caller) = (&*inner, &caller);
    on_connection(inner, caller, &id, |id| async move {
        let conn = ops::activate(inner, caller, &id).await?;
        Ok(format!("Activated {}.", conn.name))
    })
    .await
}

async fn deactivate(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let (inner, caller) = (&*inner, &caller);
    on_connection(inner, caller, &id, |id| async move {
        let conn = ops::deactivate(inner, caller, &id).await?;
        Ok(format!(
            "Deactivated {}: nothing syncs until it is activated.",
            conn.name
        ))
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
struct DeleteForm {
    #[serde(default)]
    unexalate: Option<String>,
}

async fn delete(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Response {
    let id = match ops::connection_id(&id) {
        Ok(id) => id,
        Err(e) => return failed(&caller, &e),
    };
    match ops::delete(&inner, &caller, &id, form.unexalate.is_some()).await {
        Ok(done) => back_with(&inner, super::CONSOLE_PATH, &done),
        Err(e) => again(&inner, &caller, &id, &e, |view, words| {
            view.notice = Some(Notice::Failure(words));
        }),
    }
}

async fn twin_action(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path((id, key, action)): Path<(String, String, String)>,
) -> Response {
    let (inner, caller) = (&*inner, &caller);
    on_connection(inner, caller, &id, |id| async move {
        let action = TwinAction::parse(&action)?;
        ops::twin_action(inner, caller, &id, &key, action).await
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
struct TriggerFields {
    #[serde(default)]
    project: String,
    #[serde(default)]
    query: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    enabled: Option<String>,
}

async fn add_trigger(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Form(form): Form<TriggerFields>,
) -> Response {
    let id = match ops::connection_id(&id) {
        Ok(id) => id,
        Err(e) => return failed(&caller, &e),
    };
    let new = ops::NewTrigger {
        project: form.project.clone(),
        query: form.query.clone(),
        note: form.note.clone(),
        enabled: form.enabled.is_some(),
    };
    match ops::add_trigger(&inner, &caller, &id, new).await {
        Ok(t) => back_with(
            &inner,
            &connection_url(&id),
            &format!("Added trigger {} on {}.", t.id, t.project),
        ),
        Err(e) => again(&inner, &caller, &id, &e, |view, message| {
            view.trigger_error = Some(TriggerFormError {
                form: TriggerForm::Add,
                project: form.project,
                query: form.query,
                note: form.note,
                message,
            });
        }),
    }
}

async fn edit_trigger(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path((id, tid)): Path<(String, String)>,
    Form(form): Form<TriggerFields>,
) -> Response {
    let (id, tid) = match ops::connection_id(&id).and_then(|id| Ok((id, ops::trigger_id(&tid)?))) {
        Ok(ids) => ids,
        Err(e) => return failed(&caller, &e),
    };
    let edit = ops::TriggerEdit {
        query: Some(form.query.clone()),
        note: Some(form.note.clone()),
        enabled: None,
    };
    match ops::edit_trigger(&inner, &caller, &id, tid, edit).await {
        Ok(t) => back_with(
            &inner,
            &connection_url(&id),
            &format!("Saved trigger {}.", t.id),
        ),
        Err(e) => again(&inner, &caller, &id, &e, |view, message| {
            view.trigger_error = Some(TriggerFormError {
                form: TriggerForm::Edit(tid),
                project: form.project,
                query: form.query,
                note: form.note,
                message,
            });
        }),
    }
}

async fn switch_trigger(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path((id, tid, action)): Path<(String, String, String)>,
) -> Response {
    let (inner, caller) = (&*inner, &caller);
    on_connection(inner, caller, &id, |id| async move {
        let tid = ops::trigger_id(&tid)?;
        match action.as_str() {
            "enable" | "disable" => {
                let edit = ops::TriggerEdit {
                    enabled: Some(action == "enable"),
                    ..Default::default()
                };
                let t = ops::edit_trigger(inner, caller, &id, tid, edit).await?;
                Ok(format!("Trigger {} {}d.", t.id, action))
            }
            "remove" => {
                let t = ops::remove_trigger(inner, caller, &id, tid).await?;
                Ok(format!(
                    "Removed trigger {}; the issues it brought under sync stay under sync.",
                    t.id
                ))
            }
            other => Err(ops::unknown_action(other)),
        }
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
struct KeyQuery {
    #[serde(default)]
    key: String,
}

async fn test_run(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(query): Query<KeyQuery>,
) -> Response {
    let conn = match ops::connection_id(&id).and_then(|id| inner.node.connection(&id)) {
        Ok(conn) => conn,
        Err(e) => return failed(&caller, &e),
    };
    let key = query.key.trim();
    let result = ops::test_run(&inner, &caller, &conn.id, key).await;
    let (status, markup) = match &result {
        Ok(run) => (
            StatusCode::OK,
            pages::test_run(&ctx(&caller), &conn, key, Ok(run)),
        ),
        Err(e) => (
            super::api::status_of(e.kind()),
            pages::test_run(&ctx(&caller), &conn, key, Err(&pages::explain(e))),
        ),
    };
    page(status, markup)
}

#[derive(Debug, Default, Deserialize)]
struct DraftFields {
    #[serde(default)]
    spec: String,
}

async fn save_draft(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Form(form): Form<DraftFields>,
) -> Response {
    let id = match ops::connection_id(&id) {
        Ok(id) => id,
        Err(e) => return failed(&caller, &e),
    };
    let saved = async {
        let spec: RuleSpec = serde_json::from_str(&form.spec).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("the draft is not a valid rule spec (JSON): {e}"),
            )
        })?;
        ops::save_draft(&inner, &caller, &id, spec).await
    };
    match saved.await {
        Ok(()) => back_with(&inner, &connection_url(&id), "Saved the rule draft."),
        Err(e) => again(&inner, &caller, &id, &e, |view, message| {
            view.draft_error = Some(DraftError {
                spec: form.spec,
                message,
            });
        }),
    }
}

async fn publish(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let (inner, caller) = (&*inner, &caller);
    on_connection(inner, caller, &id, |id| async move {
        let v = ops::publish(inner, caller, &id).await?;
        Ok(format!("Published rule version {}.", v.number))
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
struct RollbackFields {
    #[serde(default)]
    version: String,
}

async fn rollback(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Form(form): Form<RollbackFields>,
) -> Response {
    let (inner, caller) = (&*inner, &caller);
    on_connection(inner, caller, &id, |id| async move {
        let version: u32 = form.version.trim().parse().map_err(|_| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("rule version {:?} is not a number", form.version),
            )
        })?;
        let v = ops::rollback(inner, caller, &id, version).await?;
        Ok(format!("Rolled back: version {} is active.", v.number))
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
struct BulkFields {
    #[serde(default)]
    jql: String,
}

async fn bulk(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Form(form): Form<BulkFields>,
) -> Response {
    let id = match ops::connection_id(&id) {
        Ok(id) => id,
        Err(e) => return failed(&caller, &e),
    };
    match ops::bulk(&inner, &caller, &id, &form.jql).await {
        Ok(job) => Redirect::to(&format!("/console/jobs/{job}")).into_response(),
        Err(e) => again(&inner, &caller, &id, &e, |view, words| {
            view.notice = Some(Notice::Failure(words));
        }),
    }
}

async fn job(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(job): Path<String>,
) -> Response {
    match inner.jobs.get(&job) {
        Some(view) => page(StatusCode::OK, pages::job(&ctx(&caller), &view)),
        None => refusal(
            StatusCode::NOT_FOUND,
            "There is no such bulk exalate on this node (jobs are forgotten when it restarts).",
        ),
    }
}

async fn initiate_form(Extension(caller): Extension<Caller>) -> Response {
    page(
        StatusCode::OK,
        pages::initiate(&ctx(&caller), &InitiateView::default()),
    )
}

#[derive(Debug, Default, Deserialize)]
struct InitiateFields {
    #[serde(default)]
    local_project: String,
    #[serde(default)]
    destination_url: String,
    #[serde(default)]
    destination_project: String,
    #[serde(default)]
    admin_access: String,
    #[serde(default)]
    establish_token: String,
}

async fn initiate(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Form(form): Form<InitiateFields>,
) -> Response {
    let admin_access = form.admin_access == "yes";
    let request = ops::InitiateForm {
        local_project: form.local_project.clone(),
        destination_url: Some(form.destination_url.clone()),
        destination_project: Some(form.destination_project.clone()),
        admin_access,
        establish_token: Some(form.establish_token),
        name: None,
    };
    let mut view = InitiateView {
        form: pages::InitiateForm {
            local_project: form.local_project,
            destination_url: form.destination_url,
            destination_project: form.destination_project,
            admin_access,
        },
        ..InitiateView::default()
    };
    let status = match ops::initiate(&inner, &caller, request).await {
        Ok(made) => {
            view.result = Some(made);
            StatusCode::CREATED
        }
        Err(e) => {
            view.error = Some(pages::explain(&e));
            super::api::status_of(e.kind())
        }
    };
    page(status, pages::initiate(&ctx(&caller), &view))
}

/// The projects an operator may pick when accepting: those of this node's
/// connections (the tracker is not asked); empty means a text field.
fn known_projects(inner: &Inner) -> Vec<crate::model::ProjectKey> {
    let instance = inner.node.instance();
    let mut projects: Vec<_> = inner
        .node
        .connections()
        .unwrap_or_default()
        .into_iter()
        .flat_map(|c| [c.a, c.b])
        .filter(|side| &side.instance == instance)
        .map(|side| side.project)
        .collect();
    projects.sort();
    projects.dedup();
    projects
}

async fn accept_form(State(inner): Shared, Extension(caller): Extension<Caller>) -> Response {
    let view = AcceptView {
        projects: known_projects(&inner),
        ..AcceptView::default()
    };
    page(StatusCode::OK, pages::accept(&ctx(&caller), &view))
}

#[derive(Debug, Default, Deserialize)]
struct AcceptFields {
    #[serde(default)]
    code: String,
    #[serde(default)]
    project: String,
}

async fn accept(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Form(form): Form<AcceptFields>,
) -> Response {
    let mut view = AcceptView {
        projects: known_projects(&inner),
        project: form.project.clone(),
        ..AcceptView::default()
    };
    let request = ops::AcceptForm {
        code: form.code,
        project: form.project,
    };
    let status = match ops::accept(&inner, &caller, request).await {
        Ok(conn) => {
            view.accepted = Some(conn);
            StatusCode::CREATED
        }
        Err(e) => {
            view.error = Some(pages::explain(&e));
            super::api::status_of(e.kind())
        }
    };
    page(status, pages::accept(&ctx(&caller), &view))
}
