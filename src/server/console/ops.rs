//! The console's operations, shared by the JSON API and the pages: each
//! checks the caller's role, then goes through the engine (whose own
//! permission checks run for the tracker user the caller acts as).

use serde::{Deserialize, Serialize};

use super::access::Caller;
use super::{Action, Inner};
use crate::connection::{Connection, ConnectionId, EstablishToken};
use crate::engine::{
    DeleteOptions, InitiateRequest, Initiated, IssueState, IssueStatus, RuleSpec, RuleVersion,
    SyncPanel, TestRunResult,
};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{IssueId, IssueKey, ProjectKey};
use crate::trigger::{Trigger, TriggerId, TriggerSpec, TriggerUpdate};

/// Twins per page unless asked.
pub(super) const PER_PAGE: usize = 50;
/// The most twins a page holds.
const MAX_PER_PAGE: usize = 500;

/// A connection id from a path.
pub(super) fn connection_id(text: &str) -> Result<ConnectionId> {
    ConnectionId::parse(text)
}

/// A trigger id from a path.
pub(super) fn trigger_id(text: &str) -> Result<TriggerId> {
    text.trim().parse::<u32>().map(TriggerId).map_err(|_| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("trigger id {text:?} is not a number"),
        )
    })
}

/// An issue key from a path or form.
pub(super) fn issue_key(text: &str) -> Result<IssueKey> {
    text.trim().parse()
}

/// A project key from a form.
pub(super) fn project_key(text: &str, what: &str) -> Result<ProjectKey> {
    text.trim().parse().map_err(|e: Error| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("{what} {:?}: {}", text.trim(), e),
        )
    })
}

pub(super) fn unknown_action(action: &str) -> Error {
    Error::new(ErrorKind::NotFound, format!("no such action {action:?}"))
}

/// How many twins have open conflicts (every one is among the panel's
/// issues needing attention, unless it is queued or failing).
pub(super) fn open_conflicts(panel: &SyncPanel) -> usize {
    panel
        .attention
        .iter()
        .filter(|i| matches!(i.state, IssueState::Conflict { .. }))
        .count()
}

/// The engine's query for a page of twins: keys starting with `q` (either
/// twin's key, any case), after the twin `after`, `per_page` of them.
pub(super) fn twin_query(
    q: Option<&str>,
    after: Option<IssueId>,
    per_page: Option<usize>,
) -> crate::store::TwinQuery {
    let per_page = per_page.unwrap_or(PER_PAGE).clamp(1, MAX_PER_PAGE);
    let mut query = crate::store::TwinQuery::first(per_page);
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        query = query.matching(crate::store::KeyMatch::Prefix(q.to_owned()));
    }
    if let Some(after) = after {
        query = query.after(after);
    }
    query
}

/// Which twins to list: a key (the start of either twin's key, any case),
/// where to start (`after`: the `next` of the page before) and how many.
#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct TwinQuery {
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub per_page: Option<usize>,
}

/// One page of a connection's twins.
#[derive(Clone, Debug, Serialize)]
pub(super) struct TwinPage {
    /// Twins under sync on the connection (all of them, not the matches).
    pub total: u64,
    pub per_page: usize,
    pub twins: Vec<IssueStatus>,
    /// Where the next page starts (pass it as `after`); absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<IssueId>,
}

impl TwinPage {
    /// The page `query` asks for.
    pub fn of(node: &crate::engine::Node, id: &ConnectionId, query: &TwinQuery) -> Result<Self> {
        let after = match query.after.as_deref().filter(|a| !a.is_empty()) {
            Some(a) => Some(a.parse::<IssueId>()?),
            None => None,
        };
        let listing = twin_query(query.q.as_deref(), after, query.per_page);
        let page = node.issues(id, &listing)?;
        let total = node.status(id)?.twins;
        Ok(TwinPage {
            total,
            per_page: listing.limit,
            twins: page.issues,
            next: page.next,
        })
    }
}

/// What may be done to one twin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TwinAction {
    Retry,
    Resolve,
    ConfirmDeletion,
    DismissDeletion,
}

impl TwinAction {
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "retry" => Ok(TwinAction::Retry),
            "resolve" => Ok(TwinAction::Resolve),
            "confirm-deletion" => Ok(TwinAction::ConfirmDeletion),
            "dismiss-deletion" => Ok(TwinAction::DismissDeletion),
            other => Err(unknown_action(other)),
        }
    }
}

/// Retries, resolves, confirms or dismisses; what was done, in words.
pub(super) async fn twin_action(
    inner: &Inner,
    caller: &Caller,
    id: &ConnectionId,
    key: &str,
    action: TwinAction,
) -> Result<String> {
    let key = issue_key(key)?;
    let admin = inner.node.admin(&caller.acts_as);
    match action {
        TwinAction::Retry => {
            caller.require(Action::RetryResolve)?;
            admin.connection(id).await?;
            inner.node.retry(id, &key).await?;
            Ok(format!("Retried {key}: it synced."))
        }
        TwinAction::Resolve => {
            caller.require(Action::RetryResolve)?;
            admin.resolve(id, &key).await?;
            Ok(format!("Marked {key} resolved."))
        }
        TwinAction::ConfirmDeletion => {
            caller.require(Action::Deletions)?;
            admin.confirm_deletion(id, &key).await?;
            Ok(format!(
                "Confirmed the deletions on {key}: the next sync carries them out."
            ))
        }
        TwinAction::DismissDeletion => {
            caller.require(Action::Deletions)?;
            admin.dismiss_deletion(id, &key).await?;
            Ok(format!(
                "Dismissed the deletions on {key}: nothing is deleted."
            ))
        }
    }
}

/// Deletes a connection (unexalating its twins first when asked).
pub(super) async fn delete(
    inner: &Inner,
    caller: &Caller,
    id: &ConnectionId,
    unexalate: bool,
) -> Result<String> {
    caller.require(Action::Connections)?;
    let name = inner.node.connection(id)?.name;
    let options = if unexalate {
        DeleteOptions::unexalating()
    } else {
        DeleteOptions::default()
    };
    inner
        .node
        .admin(&caller.acts_as)
        .delete_connection(id, options)
        .await?;
    Ok(if unexalate {
        format!("Deleted connection {name} and unexalated its twins.")
    } else {
        format!("Deleted connection {name}; its twins keep their markers.")
    })
}

/// A trigger to add.
#[derive(Clone, Debug, Deserialize)]
pub(super) struct NewTrigger {
    pub project: String,
    pub query: String,
    #[serde(default)]
    pub note: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// A change to a trigger: what is given changes.
#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct TriggerEdit {
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

pub(super) async fn add_trigger(
    inner: &Inner,
    caller: &Caller,
    id: &ConnectionId,
    form: NewTrigger,
) -> Result<Trigger> {
    caller.require(Action::Triggers)?;
    let spec = TriggerSpec::new(project_key(&form.project, "project")?, form.query)
        .note(form.note)
        .enabled(form.enabled);
    inner
        .node
        .admin(&caller.acts_as)
        .add_trigger(id, spec)
        .await
}

pub(super) async fn edit_trigger(
    inner: &Inner,
    caller: &Caller,
    id: &ConnectionId,
    trigger: TriggerId,
    edit: TriggerEdit,
) -> Result<Trigger> {
    caller.require(Action::Triggers)?;
    let mut update = TriggerUpdate::default();
    if let Some(query) = edit.query {
        update = update.query(query);
    }
    if let Some(note) = edit.note {
        update = update.note(note);
    }
    update.enabled = edit.enabled;
    inner
        .node
        .admin(&caller.acts_as)
        .update_trigger(id, trigger, update)
        .await
}

pub(super) async fn test_run(
    inner: &Inner,
    caller: &Caller,
    id: &ConnectionId,
    key: &str,
) -> Result<TestRunResult> {
    caller.require(Action::TestRun)?;
    let key = issue_key(key)?;
    inner.node.admin(&caller.acts_as).connection(id).await?;
    let mut results = inner.node.test_run(id, std::slice::from_ref(&key)).await?;
    results.pop().ok_or_else(|| {
        Error::new(
            ErrorKind::Unexpected,
            format!("Test Run gave no result for {key}"),
        )
    })
}

/// Starts a bulk exalate job; its id.
pub(super) async fn bulk(
    inner: &Inner,
    caller: &Caller,
    id: &ConnectionId,
    jql: &str,
) -> Result<String> {
    caller.require(Action::BulkExalate)?;
    if jql.trim().is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "give a JQL query to pick the issues to bring under sync",
        ));
    }
    let conn = inner.node.admin(&caller.acts_as).connection(id).await?;
    inner
        .jobs
        .start(&inner.node, &conn, jql.trim(), &caller.name)
}

/// Initiating a connection, as the form or the API gives it.
#[derive(Clone, Default, Deserialize)]
pub(super) struct InitiateForm {
    pub local_project: String,
    #[serde(default)]
    pub destination_url: Option<String>,
    #[serde(default)]
    pub destination_project: Option<String>,
    #[serde(default)]
    pub admin_access: bool,
    #[serde(default)]
    pub establish_token: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

impl std::fmt::Debug for InitiateForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitiateForm")
            .field("local_project", &self.local_project)
            .field("destination_url", &self.destination_url)
            .field("destination_project", &self.destination_project)
            .field("admin_access", &self.admin_access)
            .finish_non_exhaustive()
    }
}

fn given(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

pub(super) async fn initiate(
    inner: &Inner,
    caller: &Caller,
    form: InitiateForm,
) -> Result<Initiated> {
    caller.require(Action::Connections)?;
    let mut request = InitiateRequest::new(project_key(&form.local_project, "local project")?);
    request.destination = given(&form.destination_url).map(str::to_owned);
    request.destination_project = given(&form.destination_project)
        .map(|p| project_key(p, "destination project"))
        .transpose()?;
    request.admin_access_to_destination = form.admin_access;
    request.establish_token = given(&form.establish_token)
        .map(EstablishToken::parse)
        .transpose()?;
    request.name = given(&form.name).map(str::to_owned);
    inner.node.admin(&caller.acts_as).initiate(request).await
}

/// Accepting an invitation.
#[derive(Clone, Deserialize)]
pub(super) struct AcceptForm {
    pub code: String,
    pub project: String,
}

impl std::fmt::Debug for AcceptForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptForm")
            .field("project", &self.project)
            .finish_non_exhaustive()
    }
}

pub(super) async fn accept(inner: &Inner, caller: &Caller, form: AcceptForm) -> Result<Connection> {
    caller.require(Action::Connections)?;
    let project = project_key(&form.project, "project")?;
    inner
        .node
        .admin(&caller.acts_as)
        .accept(form.code.trim(), &project)
        .await
}

pub(super) async fn activate(
    inner: &Inner,
    caller: &Caller,
    id: &ConnectionId,
) -> Result<Connection> {
    caller.require(Action::Connections)?;
    inner.node.admin(&caller.acts_as).activate(id).await
}

pub(super) async fn deactivate(
    inner: &Inner,
    caller: &Caller,
    id: &ConnectionId,
) -> Result<Connection> {
    caller.require(Action::Connections)?;
    inner.node.admin(&caller.acts_as).deactivate(id).await
}

pub(super) async fn remove_trigger(
    inner: &Inner,
    caller: &Caller,
    id: &ConnectionId,
    trigger: TriggerId,
) -> Result<Trigger> {
    caller.require(Action::Triggers)?;
    inner
        .node
        .admin(&caller.acts_as)
        .remove_trigger(id, trigger)
        .await
}

pub(super) async fn save_draft(
    inner: &Inner,
    caller: &Caller,
    id: &ConnectionId,
    spec: RuleSpec,
) -> Result<()> {
    caller.require(Action::Rules)?;
    inner
        .node
        .admin(&caller.acts_as)
        .save_rule_draft(id, spec)
        .await
}

pub(super) async fn publish(
    inner: &Inner,
    caller: &Caller,
    id: &ConnectionId,
) -> Result<RuleVersion> {
    caller.require(Action::Rules)?;
    inner.node.admin(&caller.acts_as).publish_rules(id).await
}

pub(super) async fn rollback(
    inner: &Inner,
    caller: &Caller,
    id: &ConnectionId,
    version: u32,
) -> Result<RuleVersion> {
    caller.require(Action::Rules)?;
    inner
        .node
        .admin(&caller.acts_as)
        .rollback_rules(id, version)
        .await
}
