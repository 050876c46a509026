//! Executing a plan: one tracker call per op, state recorded after each, and an
//! intent plus a marker around every create.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{AttachmentId, IssueId, IssueKey};
use crate::plan::{Op, OpOutcome, Plan, TwinState};
use crate::replica::{MARKER_PROPERTY, Marker};
use crate::store::{Intent, IntentKind};
use crate::tracker::{NewAttachment, NewComment, NewIssue, Tracker};

use super::Node;
use super::twin::Direction;

/// Where the content of the other side's attachments comes from.
#[async_trait]
pub(super) trait AttachmentSource: Send + Sync {
    /// The content of the other side's attachment `id`.
    async fn content(&self, id: &AttachmentId) -> Result<Vec<u8>>;
}

/// Both sides on this node's tracker (a local connection).
pub(super) struct SameTracker<'a>(pub(super) &'a dyn Tracker);

#[async_trait]
impl AttachmentSource for SameTracker<'_> {
    async fn content(&self, id: &AttachmentId) -> Result<Vec<u8>> {
        self.0.download_attachment(id).await
    }
}

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

fn ignore_not_found(result: Result<()>) -> Result<()> {
    match result {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

impl Node {
    /// Executes `plan` from `perspective` (the state seen in direction `dir`)
    /// for the replica of `source`, taking attachment content from `files`;
    /// returns the number of writes.
    pub(super) async fn execute(
        &self,
        conn: &Connection,
        plan: &Plan,
        perspective: &TwinState,
        dir: Direction,
        source: &IssueKey,
        files: &dyn AttachmentSource,
    ) -> Result<usize> {
        let mut state = plan
            .start_state(Some(perspective))
            .ok_or_else(|| Error::new(ErrorKind::Unexpected, "a plan without a twin state"))?;
        let mut writes = 0;
        for op in &plan.ops {
            let target = state.local.as_ref().map(|l| l.id.clone());
            let result = self
                .execute_op(conn, op, &state, target.as_ref(), source, files)
                .await;
            match result {
                Ok((outcome, intent)) => {
                    writes += 1;
                    state.apply(op, &outcome)?;
                    let mut txn = self.txn()?;
                    txn.put_twin(&stored_form(&state, dir)?)?;
                    if let Some(intent) = intent {
                        txn.delete_intent(&intent)?;
                    }
                    txn.commit()?;
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
        plan.finish(&mut state);
        let mut txn = self.txn()?;
        txn.put_twin(&stored_form(&state, dir)?)?;
        txn.commit()?;
        Ok(writes)
    }

    /// Records an intent for a create, durably, before it is sent.
    fn open_intent(&self, conn: &Connection, origin: &IssueId, kind: IntentKind) -> Result<Intent> {
        let intent = Intent {
            id: self.op_id(),
            connection: conn.id.clone(),
            origin: origin.clone(),
            kind,
            created: self.now(),
            indeterminate_since: None,
        };
        let mut txn = self.txn()?;
        txn.put_intent(&intent)?;
        txn.commit()?;
        Ok(intent)
    }

    /// Closes an intent whose create failed: kept (marked indeterminate) when
    /// the create may have happened, deleted when it surely did not.
    fn fail_intent(&self, mut intent: Intent, err: &Error) -> Result<()> {
        let mut txn = self.txn()?;
        if err.may_have_applied() {
            intent.indeterminate_since = Some(self.now());
            txn.put_intent(&intent)?;
        } else {
            txn.delete_intent(&intent.id)?;
        }
        txn.commit()
    }

    async fn execute_op(
        &self,
        conn: &Connection,
        op: &Op,
        state: &TwinState,
        target: Option<&IssueId>,
        source: &IssueKey,
        files: &dyn AttachmentSource,
    ) -> Result<(OpOutcome, Option<String>)> {
        let origin = &state.remote.id;
        let need_target = || {
            target.cloned().ok_or_else(|| {
                Error::new(
                    ErrorKind::Unexpected,
                    "an operation on a twin that is not created",
                )
            })
        };
        let marker = |intent: &Intent, comment| {
            let mut properties = BTreeMap::new();
            properties.insert(
                MARKER_PROPERTY.to_owned(),
                Marker {
                    connection: conn.id.clone(),
                    origin_issue: origin.clone(),
                    origin_comment: comment,
                    op: intent.id.clone(),
                }
                .to_value(),
            );
            properties
        };
        let tracker = self.tracker();
        match op {
            Op::CreateIssue {
                project, fields, ..
            } => {
                let intent = self.open_intent(
                    conn,
                    origin,
                    IntentKind::CreateIssue {
                        project: project.clone(),
                    },
                )?;
                let new = NewIssue {
                    project: project.clone(),
                    issue_type: fields.issue_type.clone().unwrap_or_default(),
                    summary: fields.summary.clone().unwrap_or_default(),
                    description: fields.description.clone().unwrap_or_default(),
                    labels: fields.labels.clone().unwrap_or_default(),
                    properties: marker(&intent, None),
                };
                match tracker.create_issue(&new).await {
                    Ok(created) => {
                        if let Some(status) = &fields.status {
                            let update = crate::tracker::IssueUpdate {
                                status: Some(status.clone()),
                                ..Default::default()
                            };
                            tracker.update_issue(&created.id, &update).await?;
                        }
                        let r = crate::model::IssueRef::new(created.id, created.key);
                        Ok((OpOutcome::Issue(r), Some(intent.id)))
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
                tracker.update_issue(&need_target()?, update).await?;
                Ok((OpOutcome::Done, None))
            }
            Op::AddComment {
                origin: remote_comment,
                body,
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
                let comment = NewComment {
                    body: body.clone(),
                    visibility: crate::model::Visibility::Public,
                    properties: marker(&intent, Some(remote_comment.clone())),
                };
                match tracker.add_comment(&issue, &comment).await {
                    Ok(c) => Ok((OpOutcome::Comment(c.id), Some(intent.id))),
                    Err(err) => {
                        self.fail_intent(intent, &err)?;
                        Err(err)
                    }
                }
            }
            Op::UpdateComment { local, body, .. } => {
                tracker.update_comment(&need_target()?, local, body).await?;
                Ok((OpOutcome::Done, None))
            }
            Op::DeleteComment { local, .. } => {
                ignore_not_found(tracker.delete_comment(&need_target()?, local).await)?;
                Ok((OpOutcome::Done, None))
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
                    Ok(meta) => Ok((OpOutcome::Attachment(meta.id), Some(intent.id))),
                    Err(err) => {
                        self.fail_intent(intent, &err)?;
                        Err(err)
                    }
                }
            }
            Op::DeleteAttachment { local, .. } => {
                ignore_not_found(tracker.delete_attachment(local).await)?;
                Ok((OpOutcome::Done, None))
            }
        }
    }
}
