//! Executing a plan: one tracker call per op, state recorded after each, and an
//! intent plus a marker around every create.

use std::collections::BTreeMap;

use crate::error::{Error, ErrorKind, Result};
use crate::model::IssueId;
use crate::plan::{Op, OpOutcome, Plan, TwinState, UNSYNCED, bind_media};
use crate::replica::{FieldValue, MARKER_PROPERTY, Marker};
use crate::store::{Intent, IntentKind, RefusedTransition};
use crate::tracker::{IssueUpdate, NewAttachment, NewComment, NewIssue};

use super::create::split_create_fields;
use super::recovery::Seen;
use super::types::{ApplyRequest, AttachmentSource, Direction};
use crate::engine::node::Node;

fn stored_form(state: &TwinState, dir: Direction) -> Result<TwinState> {
    match dir {
        Direction::Forward => Ok(state.clone()),
        Direction::Backward => state.flipped().ok_or_else(|| {
            Error::new(
                ErrorKind::Unexpected,
                "a twin synced backwards lost its origin issue",
            )
        }),
    }
}

/// What executing one op did: its outcome, the intent it closes, and a
/// further call the op still needs once its outcome is recorded (a created
/// issue's status).
struct Executed {
    outcome: OpOutcome,
    intent: Option<String>,
    then: Option<IssueUpdate>,
    /// A workflow transition refused on the way to the op's status.
    refused: Option<RefusedTransition>,
}

impl Executed {
    fn done() -> Self {
        Executed {
            outcome: OpOutcome::Done,
            intent: None,
            then: None,
            refused: None,
        }
    }

    fn created(outcome: OpOutcome, intent: Intent) -> Self {
        Executed {
            outcome,
            intent: Some(intent.id),
            then: None,
            refused: None,
        }
    }
}

/// After a transition was refused: the status is recorded as what the
/// issue shows, and as not yet received, so that the next sync of the twin
/// tries it again (and a person's own move of it is noticed).
fn status_not_reached(state: &mut TwinState, refused: &RefusedTransition) {
    let shown = FieldValue::Text(refused.reached.clone()).fingerprint();
    state.set_field(STATUS, UNSYNCED, shown);
}

/// The field name status rules sync under.
const STATUS: &str = "status";

/// `state` with the field bases `op` records marked unknown: what is stored
/// while a follow-up call of the op is still to come (a crash then leaves
/// nothing claimed as written that was not).
fn with_unknown_bases(state: &TwinState, op: &Op) -> TwinState {
    let mut state = state.clone();
    if let Op::CreateIssue { bases, .. } = op {
        for b in bases {
            state.set_field(&b.field, UNSYNCED, UNSYNCED);
        }
    }
    state
}

fn ignore_not_found(result: Result<()>) -> Result<()> {
    match result {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

impl Node {
    /// Executes `plan` from `perspective` (the state seen in direction `dir`)
    /// for the replica `req` applies, taking attachment content from `files`;
    /// adds each write it makes to `seen` (also those made before it fails),
    /// and each workflow transition the tracker refused.
    pub(in crate::engine) async fn execute(
        &self,
        req: &ApplyRequest<'_>,
        plan: &Plan,
        perspective: &TwinState,
        dir: Direction,
        files: &dyn AttachmentSource,
        seen: &mut Seen,
    ) -> Result<()> {
        let writes = &mut seen.writes;
        let mut refusals = Vec::new();
        let conn = req.conn;
        // A batch of creates waits for each of its seats: give it up at
        // once when this plan creates no issue.
        if let Some(seat) = req.batch
            && !plan
                .ops
                .iter()
                .any(|op| matches!(op, Op::CreateIssue { .. }))
        {
            seat.leave();
        }
        let mut state = plan
            .start_state(Some(perspective))
            .ok_or_else(|| Error::new(ErrorKind::Unexpected, "a plan without a twin state"))?;
        for op in &plan.ops {
            let target = state.local.as_ref().map(|l| l.id.clone());
            let result = self
                .execute_op(req, op, &state, target.as_ref(), files)
                .await;
            match result {
                Ok(Executed {
                    outcome,
                    intent,
                    then,
                    refused,
                }) => {
                    *writes += 1;
                    state.apply(op, &outcome)?;
                    if let Some(r) = refused {
                        status_not_reached(&mut state, &r);
                        refusals.push(r);
                    }
                    // The outcome (a created twin's id) is recorded and the
                    // intent closed before any further call of this op can
                    // fail: a failure after it must not leave the create to be
                    // settled by a search.
                    let recorded = match &then {
                        Some(_) => with_unknown_bases(&state, op),
                        None => state.clone(),
                    };
                    let mut txn = self.txn()?;
                    txn.put_twin(&stored_form(&recorded, dir)?)?;
                    if let Some(intent) = intent {
                        txn.delete_intent(&intent)?;
                    }
                    txn.commit()?;
                    if let (Some(update), Some(twin)) = (then, state.local.clone()) {
                        match self.follow_up(conn, req.project, &twin.id, update).await {
                            Ok(refused) => {
                                *writes += 1;
                                if let Some(r) = refused {
                                    status_not_reached(&mut state, &r);
                                    refusals.push(r);
                                }
                            }
                            Err(err) => {
                                let mut kept = recorded;
                                self.confirm_bases(conn, op, &twin.id, &mut kept).await;
                                let mut txn = self.txn()?;
                                txn.put_twin(&stored_form(&kept, dir)?)?;
                                txn.commit()?;
                                return Err(err
                                    .with_operation("set the status of a created issue")
                                    .with_issue(&twin.key));
                            }
                        }
                    }
                    tracing::debug!(op = %op, "done");
                }
                Err(err) => {
                    let mut txn = self.txn()?;
                    txn.put_twin(&stored_form(&state, dir)?)?;
                    txn.commit()?;
                    return Err(err.with_operation(op.name()));
                }
            }
        }
        // With a transition refused, the replica stays unapplied: the next
        // sync of the twin tries its status again.
        if refusals.is_empty() {
            plan.finish(&mut state);
        }
        let mut txn = self.txn()?;
        txn.put_twin(&stored_form(&state, dir)?)?;
        txn.commit()?;
        seen.transitions.extend(refusals);
        Ok(())
    }

    async fn execute_op(
        &self,
        req: &ApplyRequest<'_>,
        op: &Op,
        state: &TwinState,
        target: Option<&IssueId>,
        files: &dyn AttachmentSource,
    ) -> Result<Executed> {
        let conn = req.conn;
        let source = &req.replica.origin.key;
        let batch = req.batch;
        let origin = &state.remote.id;
        let need_target = || {
            target.cloned().ok_or_else(|| {
                Error::new(
                    ErrorKind::Unexpected,
                    "an operation on a twin that is not created",
                )
            })
        };
        let marker = |intent: &Intent, comment, header| {
            let mut properties = BTreeMap::new();
            properties.insert(
                MARKER_PROPERTY.to_owned(),
                Marker {
                    connection: conn.id.clone(),
                    origin_issue: origin.clone(),
                    origin_comment: comment,
                    op: intent.id.clone(),
                    header,
                }
                .to_value(),
            );
            properties
        };
        let tracker = self.tracker();
        match op {
            Op::CreateIssue {
                project,
                fields,
                header,
                ..
            } => {
                let intent = self.open_intent(
                    conn,
                    origin,
                    IntentKind::CreateIssue {
                        project: project.clone(),
                    },
                )?;
                // Fields beyond Basic go with the create when the screen of
                // its issue type has them, else in an edit right after.
                let issue_type = fields.issue_type.clone().unwrap_or_default();
                let info = self.project_info(project).await?;
                let (beyond, mut then) =
                    split_create_fields(fields, &info.for_issue_type(&issue_type));
                let new = NewIssue {
                    project: project.clone(),
                    issue_type,
                    summary: fields.summary.clone().unwrap_or_default(),
                    description: fields
                        .description
                        .as_ref()
                        .map(|d| bind_media(d, state))
                        .unwrap_or_default(),
                    labels: fields.labels.clone().unwrap_or_default(),
                    fields: beyond,
                    // The origin line goes in the same request as the marker that records it.
                    properties: marker(&intent, None, header.clone()),
                };
                match self.create_issue(&new, batch).await {
                    Ok(created) => {
                        // A status is set by a transition after the create.
                        then.status.clone_from(&fields.status);
                        let then = (!then.is_empty()).then_some(then);
                        let r = crate::model::IssueRef::new(created.id, created.key);
                        Ok(Executed {
                            outcome: OpOutcome::Issue(r),
                            intent: Some(intent.id),
                            then,
                            refused: None,
                        })
                    }
                    Err(err) => {
                        if err.kind() == ErrorKind::InvalidInput {
                            self.forget_project(project);
                        }
                        self.fail_intent(intent, &err)?;
                        Err(err)
                    }
                }
            }
            Op::UpdateIssue { update, .. } => {
                // Images name this side's copies, uploaded by the ops before.
                let mut update = update.clone();
                update.description = update.description.map(|d| bind_media(&d, state));
                let refused = self
                    .follow_up(req.conn, req.project, &need_target()?, update)
                    .await?;
                Ok(Executed {
                    refused,
                    ..Executed::done()
                })
            }
            Op::AddComment {
                origin: remote_comment,
                header,
                ..
            } => {
                let issue = need_target()?;
                let intent = self.open_intent(
                    conn,
                    origin,
                    IntentKind::AddComment {
                        issue: issue.clone(),
                        origin: remote_comment.clone(),
                    },
                )?;
                // The header goes in the same request as the marker that records it.
                let comment = NewComment {
                    body: bind_media(&op.written_body().unwrap_or_default(), state),
                    visibility: crate::model::Visibility::Public,
                    properties: marker(&intent, Some(remote_comment.clone()), header.clone()),
                };
                match tracker.add_comment(&issue, &comment).await {
                    Ok(c) => Ok(Executed::created(OpOutcome::Comment(c.id), intent)),
                    Err(err) => {
                        self.fail_intent(intent, &err)?;
                        Err(err)
                    }
                }
            }
            Op::UpdateComment { local, .. } => {
                let body = bind_media(&op.written_body().unwrap_or_default(), state);
                tracker
                    .update_comment(&need_target()?, local, &body)
                    .await?;
                Ok(Executed::done())
            }
            Op::DeleteComment { local, .. } => {
                ignore_not_found(tracker.delete_comment(&need_target()?, local).await)?;
                Ok(Executed::done())
            }
            Op::AddAttachment {
                origin: remote_file,
                file_name,
                mime_type,
                ..
            } => {
                let issue = need_target()?;
                let content = files
                    .content(remote_file)
                    .await
                    .map_err(|e| e.with_context("attachment", file_name).with_issue(source))?;
                let intent = self.open_intent(
                    conn,
                    origin,
                    IntentKind::AddAttachment {
                        issue: issue.clone(),
                        origin: remote_file.clone(),
                    },
                )?;
                let file = NewAttachment {
                    file_name: file_name.clone(),
                    mime_type: mime_type.clone(),
                    content,
                };
                match tracker.upload_attachment(&issue, &file).await {
                    Ok(meta) => Ok(Executed::created(OpOutcome::Attachment(meta.id), intent)),
                    Err(err) => {
                        self.fail_intent(intent, &err)?;
                        Err(err)
                    }
                }
            }
            Op::DeleteAttachment { local, .. } => {
                ignore_not_found(tracker.delete_attachment(local).await)?;
                Ok(Executed::done())
            }
            Op::AddLink {
                link_type,
                direction,
                other,
                ..
            } => {
                let here = need_target()?;
                let link = match direction {
                    crate::model::LinkDirection::Outward => {
                        crate::tracker::NewIssueLink::new(link_type, here, other.clone())
                    }
                    crate::model::LinkDirection::Inward => {
                        crate::tracker::NewIssueLink::new(link_type, other.clone(), here)
                    }
                };
                // Adding a link both issues have already changes nothing.
                tracker.add_issue_link(&link).await?;
                Ok(Executed::done())
            }
            Op::DeleteLink { id, .. } => {
                ignore_not_found(tracker.delete_issue_link(id).await)?;
                Ok(Executed::done())
            }
            Op::SetOrigin { link, .. } => {
                // Replaces the link with the same global id: a repeat adds nothing.
                tracker.put_remote_link(&need_target()?, link).await?;
                Ok(Executed::done())
            }
        }
    }
}
