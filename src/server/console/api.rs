//! The JSON API under `/api/v1`: every operation of the console's pages, for
//! scripts and alerting. Errors answer `{"error": {"kind", "message"}}` (the
//! kind as `ErrorKind` serializes, e.g. `"NotFound"`) with
//! a status that fits the kind.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Inner;
use super::access::Caller;
use super::ops::{self, TwinPage, TwinQuery};
use crate::connection::{Connection, ConnectionId};
use crate::engine::{Initiated, PeerStatus, RuleHistory, RuleSpec, SyncPanel, TestRunResult};
use crate::error::{Error, ErrorKind, Result};
use crate::store::{TwinConflicts, TwinError};
use crate::trigger::Trigger;

type Shared = State<Arc<Inner>>;
type Answer<T> = std::result::Result<Json<T>, ApiError>;

/// The API's routes (gated by the caller).
pub(super) fn routes() -> Router<Arc<Inner>> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/connections", get(connections))
        .route("/api/v1/connections/initiate", post(initiate))
        .route("/api/v1/connections/accept", post(accept))
        .route("/api/v1/connections/{id}", get(connection).delete(delete))
        .route("/api/v1/connections/{id}/activate", post(activate))
        .route("/api/v1/connections/{id}/deactivate", post(deactivate))
        .route("/api/v1/connections/{id}/panel", get(panel))
        .route("/api/v1/connections/{id}/twins", get(twins))
        .route("/api/v1/connections/{id}/errors", get(errors))
        .route("/api/v1/connections/{id}/conflicts", get(conflicts))
        .route(
            "/api/v1/connections/{id}/twins/{key}/{action}",
            post(twin_action),
        )
        .route(
            "/api/v1/connections/{id}/triggers",
            get(triggers).post(add_trigger),
        )
        .route(
            "/api/v1/connections/{id}/triggers/{tid}",
            axum::routing::put(edit_trigger).delete(remove_trigger),
        )
        .route(
            "/api/v1/connections/{id}/triggers/{tid}/{action}",
            post(switch_trigger),
        )
        .route("/api/v1/connections/{id}/test-run", get(test_run))
        .route("/api/v1/connections/{id}/rules", get(rules))
        .route("/api/v1/connections/{id}/rules/draft", post(save_draft))
        .route("/api/v1/connections/{id}/rules/publish", post(publish))
        .route("/api/v1/connections/{id}/rules/rollback", post(rollback))
        .route("/api/v1/connections/{id}/bulk", post(bulk))
        .route("/api/v1/jobs/{job}", get(job))
}

/// An error, as the API answers it.
pub(super) struct ApiError(Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(&self.0)
    }
}

/// The HTTP status that fits an error's kind.
pub(super) fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::AlreadyExists
        | ErrorKind::Conflict
        | ErrorKind::Incompatible
        | ErrorKind::Refused
        | ErrorKind::Superseded => StatusCode::CONFLICT,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::InvalidInput | ErrorKind::InvalidConfig => StatusCode::BAD_REQUEST,
        ErrorKind::Unsupported => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `{"error": {"kind", "message"}}` with the status that fits.
pub(super) fn error_response(e: &Error) -> Response {
    let body = json!({"error": {"kind": e.kind(), "message": e.to_string()}});
    (status_of(e.kind()), Json(body)).into_response()
}

#[derive(Serialize)]
struct Me {
    name: String,
    role: super::Role,
    /// The session's CSRF token (for `X-CSRF-Token`); none for tokens.
    csrf: Option<String>,
}

async fn me(Extension(caller): Extension<Caller>) -> Json<Me> {
    Json(Me {
        name: caller.name,
        role: caller.role,
        csrf: caller.csrf,
    })
}

/// A connection with its counts, as listed.
#[derive(Serialize)]
pub(super) struct Summary {
    #[serde(flatten)]
    connection: Connection,
    twins: u64,
    queued: u64,
    #[serde(with = "time::serde::rfc3339::option")]
    last_sync: Option<time::OffsetDateTime>,
    errors: usize,
    refused_deletions: usize,
    conflicts: usize,
    peer: Option<PeerStatus>,
}

impl Summary {
    fn of(inner: &Inner, id: &ConnectionId) -> Result<Summary> {
        let panel = inner.node.status(id)?;
        let refused = panel.errors.iter().filter(|e| e.is_refusal()).count();
        Ok(Summary {
            twins: panel.twins,
            queued: panel.queued,
            last_sync: panel.last_sync,
            errors: panel.errors.len() - refused,
            refused_deletions: refused,
            conflicts: ops::open_conflicts(&panel),
            peer: panel.peer,
            connection: panel.connection,
        })
    }
}

async fn connections(State(inner): Shared) -> Answer<Vec<Summary>> {
    let list = inner.node.connections()?;
    let summaries = list
        .iter()
        .map(|c| Summary::of(&inner, &c.id))
        .collect::<Result<Vec<_>>>()?;
    Ok(Json(summaries))
}

async fn connection(State(inner): Shared, Path(id): Path<String>) -> Answer<Summary> {
    Ok(Json(Summary::of(&inner, &ops::connection_id(&id)?)?))
}

/// The whole sync panel, as `twinsync status --json` prints it.
async fn panel(State(inner): Shared, Path(id): Path<String>) -> Answer<SyncPanel> {
    Ok(Json(inner.node.status(&ops::connection_id(&id)?)?))
}

async fn twins(
    State(inner): Shared,
    Path(id): Path<String>,
    Query(query): Query<TwinQuery>,
) -> Answer<TwinPage> {
    let id = ops::connection_id(&id)?;
    Ok(Json(TwinPage::of(&inner.node, &id, &query)?))
}

async fn errors(State(inner): Shared, Path(id): Path<String>) -> Answer<Vec<TwinError>> {
    Ok(Json(inner.node.status(&ops::connection_id(&id)?)?.errors))
}

async fn conflicts(State(inner): Shared, Path(id): Path<String>) -> Answer<Vec<TwinConflicts>> {
    Ok(Json(inner.node.conflicts(&ops::connection_id(&id)?)?))
}

#[derive(Serialize)]
struct Done {
    /// What was done, in words.
    done: String,
}

async fn twin_action(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path((id, key, action)): Path<(String, String, String)>,
) -> Answer<Done> {
    let action = ops::TwinAction::parse(&action)?;
    let done = ops::twin_action(&inner, &caller, &ops::connection_id(&id)?, &key, action).await?;
    Ok(Json(Done { done }))
}

async fn activate(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Answer<Connection> {
    let id = ops::connection_id(&id)?;
    Ok(Json(ops::activate(&inner, &caller, &id).await?))
}

async fn deactivate(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Answer<Connection> {
    let id = ops::connection_id(&id)?;
    Ok(Json(ops::deactivate(&inner, &caller, &id).await?))
}

#[derive(Deserialize)]
struct DeleteQuery {
    #[serde(default)]
    unexalate: bool,
}

async fn delete(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(query): Query<DeleteQuery>,
) -> Answer<Done> {
    let done = ops::delete(&inner, &caller, &ops::connection_id(&id)?, query.unexalate).await?;
    Ok(Json(Done { done }))
}

async fn triggers(State(inner): Shared, Path(id): Path<String>) -> Answer<Vec<Trigger>> {
    Ok(Json(inner.node.triggers(&ops::connection_id(&id)?)?))
}

async fn add_trigger(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Json(form): Json<ops::NewTrigger>,
) -> std::result::Result<(StatusCode, Json<Trigger>), ApiError> {
    let trigger = ops::add_trigger(&inner, &caller, &ops::connection_id(&id)?, form).await?;
    Ok((StatusCode::CREATED, Json(trigger)))
}

async fn edit_trigger(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path((id, tid)): Path<(String, String)>,
    Json(form): Json<ops::TriggerEdit>,
) -> Answer<Trigger> {
    let id = ops::connection_id(&id)?;
    Ok(Json(
        ops::edit_trigger(&inner, &caller, &id, ops::trigger_id(&tid)?, form).await?,
    ))
}

async fn remove_trigger(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path((id, tid)): Path<(String, String)>,
) -> Answer<Trigger> {
    let id = ops::connection_id(&id)?;
    Ok(Json(
        ops::remove_trigger(&inner, &caller, &id, ops::trigger_id(&tid)?).await?,
    ))
}

async fn switch_trigger(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path((id, tid, action)): Path<(String, String, String)>,
) -> Answer<Trigger> {
    let enabled = match action.as_str() {
        "enable" => true,
        "disable" => false,
        other => return Err(ops::unknown_action(other).into()),
    };
    let edit = ops::TriggerEdit {
        enabled: Some(enabled),
        ..Default::default()
    };
    let id = ops::connection_id(&id)?;
    Ok(Json(
        ops::edit_trigger(&inner, &caller, &id, ops::trigger_id(&tid)?, edit).await?,
    ))
}

#[derive(Deserialize)]
struct KeyQuery {
    key: String,
}

async fn test_run(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(query): Query<KeyQuery>,
) -> Answer<TestRunResult> {
    let id = ops::connection_id(&id)?;
    Ok(Json(ops::test_run(&inner, &caller, &id, &query.key).await?))
}

async fn rules(State(inner): Shared, Path(id): Path<String>) -> Answer<RuleHistory> {
    Ok(Json(inner.node.rule_history(&ops::connection_id(&id)?)?))
}

async fn save_draft(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Json(spec): Json<RuleSpec>,
) -> Answer<RuleHistory> {
    let id = ops::connection_id(&id)?;
    ops::save_draft(&inner, &caller, &id, spec).await?;
    Ok(Json(inner.node.rule_history(&id)?))
}

async fn publish(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Answer<RuleHistory> {
    let id = ops::connection_id(&id)?;
    ops::publish(&inner, &caller, &id).await?;
    Ok(Json(inner.node.rule_history(&id)?))
}

#[derive(Deserialize)]
struct Rollback {
    version: u32,
}

async fn rollback(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Json(to): Json<Rollback>,
) -> Answer<RuleHistory> {
    let id = ops::connection_id(&id)?;
    ops::rollback(&inner, &caller, &id, to.version).await?;
    Ok(Json(inner.node.rule_history(&id)?))
}

#[derive(Deserialize)]
struct BulkRequest {
    jql: String,
}

#[derive(Serialize)]
struct Started {
    job: String,
    url: String,
}

async fn bulk(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Json(request): Json<BulkRequest>,
) -> std::result::Result<(StatusCode, Json<Started>), ApiError> {
    let id = ops::connection_id(&id)?;
    let job = ops::bulk(&inner, &caller, &id, &request.jql).await?;
    let url = format!("/api/v1/jobs/{job}");
    Ok((StatusCode::ACCEPTED, Json(Started { job, url })))
}

async fn job(State(inner): Shared, Path(job): Path<String>) -> Response {
    match inner.jobs.get(&job) {
        Some(job) => Json(job).into_response(),
        None => error_response(&Error::new(
            ErrorKind::NotFound,
            format!("no bulk exalate job {job:?} on this node (jobs end when it restarts)"),
        )),
    }
}

/// What initiating answers; the invitation code only here, once.
#[derive(Serialize)]
struct InitiateAnswer {
    outcome: &'static str,
    connection: Connection,
    /// The invitation code (it carries the secret): hand it to the other
    /// side's admin.
    invitation_code: Option<String>,
}

async fn initiate(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Json(form): Json<ops::InitiateForm>,
) -> std::result::Result<(StatusCode, Json<InitiateAnswer>), ApiError> {
    let answer = match ops::initiate(&inner, &caller, form).await? {
        Initiated::Local(connection) => InitiateAnswer {
            outcome: "local",
            connection,
            invitation_code: None,
        },
        Initiated::Established(connection) => InitiateAnswer {
            outcome: "established",
            connection,
            invitation_code: None,
        },
        Initiated::Invitation { connection, code } => InitiateAnswer {
            outcome: "invitation",
            connection,
            invitation_code: Some(code.as_str().to_owned()),
        },
    };
    Ok((StatusCode::CREATED, Json(answer)))
}

async fn accept(
    State(inner): Shared,
    Extension(caller): Extension<Caller>,
    Json(form): Json<ops::AcceptForm>,
) -> std::result::Result<(StatusCode, Json<Connection>), ApiError> {
    let connection = ops::accept(&inner, &caller, form).await?;
    Ok((StatusCode::CREATED, Json(connection)))
}
