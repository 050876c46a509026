//! An in-memory model of one side for planner tests: applies plans to an issue
//! snapshot the way a tracker would, without any I/O.

use time::OffsetDateTime;

use crate::model::{
    AttachmentId, AttachmentMeta, Comment, CommentId, Issue, IssueRef, ProjectInfo, RichText,
    UserRef, Visibility,
};
use crate::plan::{Op, OpOutcome, Plan, TwinState};
use crate::replica::{MARKER_PROPERTY, Marker};
use crate::testkit::ids as lit;

/// One side of a twin in memory: a project, maybe its issue, and an id counter.
#[derive(Clone, Debug)]
pub struct ModelSide {
    /// The project.
    pub project: ProjectInfo,
    /// The issue, once created.
    pub issue: Option<Issue>,
    /// The sync user (author of what plans write).
    pub sync_user: UserRef,
    /// The issue's remote links (origin links the plans put), one per global id.
    pub links: Vec<crate::model::RemoteLink>,
    next: u64,
}

impl ModelSide {
    /// A side with `project` and no issue.
    pub fn new(project: ProjectInfo, id_base: u64) -> Self {
        ModelSide {
            project,
            issue: None,
            sync_user: UserRef::new(lit::user_id("sync"), "twinsync"),
            links: Vec::new(),
            next: id_base,
        }
    }

    /// A fresh id, unique on this side.
    pub fn fresh_id(&mut self) -> String {
        self.next += 1;
        self.next.to_string()
    }

    /// Creates the issue as a user would.
    pub fn create(&mut self, issue_type: &str, summary: &str, now: OffsetDateTime) -> IssueRef {
        let id = self.fresh_id();
        let key = format!("{}-{id}", self.project.key);
        let issue = Issue {
            id: lit::issue_id(id.clone()),
            key: lit::key(key),
            project: self.project.key.clone(),
            issue_type: issue_type.to_owned(),
            summary: summary.to_owned(),
            description: RichText::default(),
            comments: Vec::new(),
            attachments: Vec::new(),
            labels: Vec::new(),
            status: "Open".to_owned(),
            fields: Default::default(),
            creator: None,
            created: now,
            updated: now,
            properties: Default::default(),
        };
        let r = issue.reference();
        self.issue = Some(issue);
        r
    }

    /// Adds a comment as `author` would.
    pub fn add_comment(
        &mut self,
        author: &UserRef,
        body: &str,
        now: OffsetDateTime,
    ) -> Option<CommentId> {
        let id = lit::comment_id(self.fresh_id());
        let issue = self.issue.as_mut()?;
        issue.comments.push(Comment {
            id: id.clone(),
            author: author.clone(),
            body: RichText::plain(body),
            created: now,
            updated: now,
            visibility: Visibility::Public,
            properties: Default::default(),
        });
        issue.updated = now;
        Some(id)
    }

    /// Adds an attachment as a user would.
    pub fn add_attachment(
        &mut self,
        file_name: &str,
        size: u64,
        now: OffsetDateTime,
    ) -> Option<AttachmentId> {
        let id = lit::attachment_id(self.fresh_id());
        let author = self.sync_user.clone();
        let issue = self.issue.as_mut()?;
        issue.attachments.push(AttachmentMeta {
            id: id.clone(),
            file_name: file_name.to_owned(),
            mime_type: "application/octet-stream".to_owned(),
            size,
            sha256: None,
            created: now,
            author,
        });
        issue.updated = now;
        Some(id)
    }

    /// Executes `plan` here, recording each op in `state`, then finishes it.
    /// Returns the number of writes.
    ///
    /// # Panics
    ///
    /// When the plan does not fit this side (a test mistake or a planner bug).
    pub fn execute(&mut self, plan: &Plan, state: &mut TwinState, now: OffsetDateTime) -> usize {
        self.execute_prefix(plan, state, now, usize::MAX)
    }

    /// Executes only the first `limit` ops of `plan` (a crash after them), with
    /// the state recorded op by op; the plan is finished only if all ran.
    ///
    /// # Panics
    ///
    /// When the plan does not fit this side.
    pub fn execute_prefix(
        &mut self,
        plan: &Plan,
        state: &mut TwinState,
        now: OffsetDateTime,
        limit: usize,
    ) -> usize {
        if let Some(s) = &plan.state {
            *state = s.clone();
        }
        let connection = state.connection.clone();
        let remote_issue = state.remote.id.clone();
        for op in plan.ops.iter().take(limit) {
            let outcome = match op {
                Op::CreateIssue { fields, header, .. } => {
                    let r = self.create(
                        fields.issue_type.as_deref().expect("create has a type"),
                        fields.summary.as_deref().expect("create has a summary"),
                        now,
                    );
                    let issue = self.issue.as_mut().expect("just created");
                    if let Some(d) = &fields.description {
                        issue.description = crate::plan::bind_media(d, state);
                    }
                    if let Some(l) = &fields.labels {
                        issue.labels = l.clone();
                    }
                    if let Some(s) = &fields.status {
                        issue.status = s.clone();
                    }
                    issue.properties.insert(
                        MARKER_PROPERTY.to_owned(),
                        Marker {
                            connection: connection.clone(),
                            origin_issue: remote_issue.clone(),
                            origin_comment: None,
                            op: "model".to_owned(),
                            header: header.clone(),
                        }
                        .to_value(),
                    );
                    OpOutcome::Issue(r)
                }
                Op::UpdateIssue { update, .. } => {
                    let issue = self.issue.as_mut().expect("update needs the issue");
                    if let Some(v) = &update.summary {
                        issue.summary = v.clone();
                    }
                    if let Some(v) = &update.description {
                        issue.description = crate::plan::bind_media(v, state);
                    }
                    if let Some(v) = &update.issue_type {
                        issue.issue_type = v.clone();
                    }
                    if let Some(v) = &update.labels {
                        issue.labels = v.clone();
                    }
                    if let Some(v) = &update.status {
                        issue.status = v.clone();
                    }
                    issue.updated = now;
                    OpOutcome::Done
                }
                Op::AddComment { origin, header, .. } => {
                    let body = op.written_body().expect("a comment op has a body");
                    let id = lit::comment_id(self.fresh_id());
                    let author = self.sync_user.clone();
                    let issue = self.issue.as_mut().expect("comment needs the issue");
                    let mut properties = std::collections::BTreeMap::new();
                    properties.insert(
                        MARKER_PROPERTY.to_owned(),
                        Marker {
                            connection: connection.clone(),
                            origin_issue: remote_issue.clone(),
                            origin_comment: Some(origin.clone()),
                            op: "model".to_owned(),
                            header: header.clone(),
                        }
                        .to_value(),
                    );
                    issue.comments.push(Comment {
                        id: id.clone(),
                        author,
                        body: crate::plan::bind_media(&body, state),
                        created: now,
                        updated: now,
                        visibility: Visibility::Public,
                        properties,
                    });
                    issue.updated = now;
                    OpOutcome::Comment(id)
                }
                Op::UpdateComment { local, .. } => {
                    let body = op.written_body().expect("a comment op has a body");
                    let issue = self.issue.as_mut().expect("comment needs the issue");
                    let c = issue
                        .comments
                        .iter_mut()
                        .find(|c| &c.id == local)
                        .expect("updated comment exists");
                    c.body = crate::plan::bind_media(&body, state);
                    c.updated = now;
                    issue.updated = now;
                    OpOutcome::Done
                }
                Op::DeleteComment { local, .. } => {
                    let issue = self.issue.as_mut().expect("comment needs the issue");
                    issue.comments.retain(|c| &c.id != local);
                    issue.updated = now;
                    OpOutcome::Done
                }
                Op::AddAttachment {
                    file_name,
                    size,
                    mime_type,
                    ..
                } => {
                    let id = lit::attachment_id(self.fresh_id());
                    let author = self.sync_user.clone();
                    let issue = self.issue.as_mut().expect("attachment needs the issue");
                    issue.attachments.push(AttachmentMeta {
                        id: id.clone(),
                        file_name: file_name.clone(),
                        mime_type: mime_type.clone(),
                        size: *size,
                        sha256: None,
                        created: now,
                        author,
                    });
                    issue.updated = now;
                    OpOutcome::Attachment(id)
                }
                Op::DeleteAttachment { local, .. } => {
                    let issue = self.issue.as_mut().expect("attachment needs the issue");
                    issue.attachments.retain(|a| &a.id != local);
                    issue.updated = now;
                    OpOutcome::Done
                }
                Op::SetOrigin { link, .. } => {
                    self.links.retain(|l| l.global_id != link.global_id);
                    self.links.push(link.clone());
                    OpOutcome::Done
                }
                // The model's rules do not sync issue links.
                Op::AddLink { .. } | Op::DeleteLink { .. } => OpOutcome::Done,
            };
            state.apply(op, &outcome).expect("outcome fits op");
        }
        if limit >= plan.ops.len() {
            plan.finish(state);
        }
        plan.ops.len().min(limit)
    }
}

/// Two [`ModelSide`]s joined by one twin, planned like a local connection:
/// the twin state is kept from B's point of view and flipped for B → A.
#[derive(Clone, Debug)]
pub struct ModelPair {
    /// Side A (where the issue is exalated from).
    pub a: ModelSide,
    /// Side B.
    pub b: ModelSide,
    /// The twin state, seen from B (`None` before the first sync).
    pub state: Option<TwinState>,
    /// The rules of both sides.
    pub rules: crate::rules::RuleSet,
    /// The planner options of both sides.
    pub options: crate::plan::PlanOptions,
    /// The connection.
    pub connection: crate::model::ConnectionId,
}

fn origin(side: &ModelSide, url: &str) -> Option<crate::replica::Origin> {
    let issue = side.issue.as_ref()?;
    Some(crate::replica::Origin {
        instance: crate::model::InstanceUrl::parse(url).ok()?,
        project: issue.project.clone(),
        id: issue.id.clone(),
        key: issue.key.clone(),
    })
}

impl ModelPair {
    /// A pair of projects with no issues yet.
    pub fn new(a: ProjectInfo, b: ProjectInfo) -> Self {
        ModelPair {
            a: ModelSide::new(a, 1000),
            b: ModelSide::new(b, 5000),
            state: None,
            rules: crate::rules::RuleSet::basic(),
            options: crate::plan::PlanOptions::default(),
            connection: crate::model::ConnectionId::parse("A_to_B").expect("a valid id"),
        }
    }

    /// The plan for A → B.
    ///
    /// # Errors
    ///
    /// The planner's errors.
    ///
    /// # Panics
    ///
    /// When side A has no issue.
    pub fn plan_a_to_b(&self) -> crate::Result<Plan> {
        let issue = self.a.issue.as_ref().expect("side A has the issue");
        self.plan_from(
            issue,
            &self.a,
            "https://a.example",
            &self.b,
            self.state.as_ref(),
        )
    }

    /// Plans `issue` of side `from` (at `url`) onto side `to`, from `state`.
    fn plan_from(
        &self,
        issue: &Issue,
        from: &ModelSide,
        url: &str,
        to: &ModelSide,
        state: Option<&TwinState>,
    ) -> crate::Result<Plan> {
        let replica =
            self.rules
                .outgoing(issue, origin(from, url).expect("origin"), &self.connection);
        let fingerprints = self.rules.fingerprints(&replica);
        crate::plan::plan(&crate::plan::PlanInput {
            connection: &self.connection,
            replica: &replica,
            fingerprints: &fingerprints,
            previous: None,
            local: to.issue.as_ref(),
            state,
            target: &to.project,
            rules: &self.rules,
            options: self.options,
            users: None,
            issues: None,
        })
    }

    /// The plan for B → A, or `None` before the twin exists.
    ///
    /// # Errors
    ///
    /// The planner's errors.
    pub fn plan_b_to_a(&self) -> crate::Result<Option<Plan>> {
        let (Some(issue), Some(flipped)) = (
            self.b.issue.as_ref(),
            self.state.as_ref().and_then(TwinState::flipped),
        ) else {
            return Ok(None);
        };
        self.plan_from(issue, &self.b, "https://b.example", &self.a, Some(&flipped))
            .map(Some)
    }

    /// Plans and executes A → B; returns the plan.
    ///
    /// # Errors
    ///
    /// The planner's errors.
    pub fn sync_a_to_b(&mut self, now: OffsetDateTime) -> crate::Result<Plan> {
        let plan = self.plan_a_to_b()?;
        let mut state = plan
            .start_state(self.state.as_ref())
            .expect("a plan for a new twin carries its state");
        self.b.execute(&plan, &mut state, now);
        self.state = Some(state);
        Ok(plan)
    }

    /// Plans and executes B → A; returns the plan (`None` before the twin exists).
    ///
    /// # Errors
    ///
    /// The planner's errors.
    pub fn sync_b_to_a(&mut self, now: OffsetDateTime) -> crate::Result<Option<Plan>> {
        let Some(plan) = self.plan_b_to_a()? else {
            return Ok(None);
        };
        let given = self.state.as_ref().and_then(TwinState::flipped);
        let mut flipped = plan.start_state(given.as_ref()).expect("the twin exists");
        self.a.execute(&plan, &mut flipped, now);
        self.state = flipped.flipped();
        Ok(Some(plan))
    }

    /// A → B, then B → A; returns the number of writes.
    ///
    /// # Errors
    ///
    /// The planner's errors.
    pub fn sync(&mut self, now: OffsetDateTime) -> crate::Result<usize> {
        let ab = self.sync_a_to_b(now)?.ops.len();
        let ba = self.sync_b_to_a(now)?.map_or(0, |p| p.ops.len());
        Ok(ab + ba)
    }
}
