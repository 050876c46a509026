//! Test Run: what syncing chosen issues would do, without writing anything.

use std::fmt;

use serde::Serialize;

use crate::connection::Connection;
use crate::error::{Error, ErrorKind, ErrorScope, Result};
use crate::model::{ConnectionId, IssueKey, IssueRef, ProjectInfo, ProjectKey};
use crate::plan::{Op, Plan, TwinState};
use crate::replica::{FieldValue, Origin, Replica};
use crate::store::IntentKind;

use crate::engine::node::Node;
use crate::engine::sync::recovery::Seen;
use crate::engine::sync::types::ApplyRequest;
use crate::engine::sync::types::refuse_sync_copy;

/// What a [Test Run](Node::test_run) shows for one issue: the replica this
/// side would send, and the plan the other side would execute.
///
/// It prints readably (`Display`) and serializes (`Serialize`):
///
/// ```text
/// test run of SUP-1 (not under sync yet)
///   would create a DEV issue of type "Task" because "Epic" is missing in DEV and it has no default type, with 1 comment
///   outgoing replica: type "Epic", summary "Migrate billing", 1 comment
///   plan: SUP-1 → DEV (new twin)
///     create DEV issue: type "Task", summary "Migrate billing"
///     add comment 10002 by Alice: "Customer asks for a date."
///     note: issue type "Epic" is not in DEV; using "Task"
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TestRunResult {
    /// The chosen issue.
    pub issue: IssueRef,
    /// The project its twin is (or would be) in.
    pub target: ProjectKey,
    /// Its twin, when it is under sync and the twin exists.
    pub twin: Option<IssueRef>,
    /// Whether the issue is under sync on the connection.
    pub under_sync: bool,
    /// In plain words, what the other side would do.
    pub summary: String,
    /// The outgoing replica: what this side would send.
    pub replica: Replica,
    /// The plan the other side would execute, or why syncing would fail.
    pub outcome: TestRunOutcome,
}

/// The plan of a [`TestRunResult`], or why there is none.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TestRunOutcome {
    /// The plan the other side would execute (it may be empty).
    Plan(Box<Plan>),
    /// Syncing would fail with this error, before writing anything.
    Error {
        /// The error's kind.
        kind: ErrorKind,
        /// What would go wrong.
        message: String,
    },
}

impl TestRunResult {
    /// The plan, when there is one.
    pub fn plan(&self) -> Option<&Plan> {
        match &self.outcome {
            TestRunOutcome::Plan(plan) => Some(plan),
            TestRunOutcome::Error { .. } => None,
        }
    }
}

impl Node {
    /// Test Run: for each issue in `keys`, the outgoing replica and the plan
    /// the other side of the connection would execute — for issues under sync
    /// and for issues not under sync yet — **without writing anything**: no
    /// tracker write and no store write (it reads the issues, their twins and
    /// the target project).
    ///
    /// A sync that would fail (an issue type with no fallback, an issue the
    /// connection created itself) is shown as [`TestRunOutcome::Error`], not
    /// returned as an error.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use twinsync::engine::{LocalConnectionOptions, Node};
    /// # use twinsync::store::MemoryStore;
    /// # use twinsync::tracker::{NewIssue, Tracker};
    /// # use twinsync::MemoryTracker;
    /// # futures::executor::block_on(async {
    /// # let tracker = MemoryTracker::new("https://acme.example")?;
    /// # tracker.add_project("SUP", "Support", &["Bug", "Epic"], None)?;
    /// # tracker.add_project("DEV", "Development", &["Bug", "Task"], None)?;
    /// # tracker.set_global_admin(&"ada".parse()?, true);
    /// # let node = Node::builder().tracker(Arc::new(tracker.clone())).store(Arc::new(MemoryStore::new())).build().await?;
    /// let conn = node
    ///     .admin(&"ada".parse()?)
    ///     .create_local_connection("SUP", "DEV", LocalConnectionOptions::default())
    ///     .await?;
    /// tracker.create_issue(&NewIssue::new("SUP".parse()?, "Epic", "Migrate billing")).await?;
    ///
    /// let results = node.test_run(&conn.id, &["SUP-1".parse()?]).await?;
    /// assert_eq!(
    ///     results[0].summary,
    ///     r#"would create a DEV issue of type "Task" because "Epic" is missing in DEV and it has no default type"#
    /// );
    /// assert_eq!(tracker.inspect_issues(&"DEV".parse()?).len(), 0, "nothing written");
    /// # Ok::<(), twinsync::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection or issue; `InvalidInput` for an
    /// issue in neither project of the connection; the tracker's read errors.
    pub async fn test_run(
        &self,
        connection: &ConnectionId,
        keys: &[IssueKey],
    ) -> Result<Vec<TestRunResult>> {
        let conn = self.connection(connection)?;
        let mut results = Vec::with_capacity(keys.len());
        for key in keys {
            let result = self
                .test_run_one(&conn, key)
                .await
                .map_err(|e| e.with_connection(&conn.name))?;
            results.push(result);
        }
        Ok(results)
    }

    async fn test_run_one(&self, conn: &Connection, key: &IssueKey) -> Result<TestRunResult> {
        let issue = self.tracker().issue_by_key(key).await?;
        let other = conn.other_side(&issue.project).cloned().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "issue {} is in project {}, which connection {} does not sync ({} ↔ {})",
                    issue.key, issue.project, conn.name, conn.a.project, conn.b.project
                ),
            )
        })?;
        // Read-only: the transaction is dropped, never committed.
        let (state, twin_key, settling) = {
            let mut txn = self.txn()?;
            // The state seen from this issue, and the twin's key in the store
            // (the exalated issue: this one, or its twin).
            let (state, twin_key) = match txn.twin_by_remote(&conn.id, &issue.id)? {
                Some(s) => (Some(s), issue.id.clone()),
                None => match txn.twin_by_local(&conn.id, &issue.id)? {
                    Some(t) => {
                        let key = t.remote.id.clone();
                        (t.flipped(), key)
                    }
                    None => (None, issue.id.clone()),
                },
            };
            let settling = match &state {
                Some(s) if s.local.is_none() => txn.intents(&conn.id)?.iter().any(|i| {
                    i.origin == issue.id && matches!(i.kind, IntentKind::CreateIssue { .. })
                }),
                _ => false,
            };
            (state, twin_key, settling)
        };
        let rules = self.rules_for(conn)?;
        let origin = Origin {
            instance: self.instance().clone(),
            project: issue.project.clone(),
            id: issue.id.clone(),
            key: issue.key.clone(),
        };
        let replica = rules.outgoing(&issue, origin, &conn.id);
        let preview = match state
            .as_ref()
            .map_or_else(|| refuse_sync_copy(conn, &issue), |_| Ok(()))
        {
            Err(err) => Err(err),
            Ok(()) if &other.instance != self.instance() => Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "the plan for {} is made by the node of {}; run the test there",
                    other.project, other.instance
                ),
            )),
            Ok(()) => {
                // The state a sync would start from: a new twin's is what
                // exalating records before its first sync.
                let perspective = state
                    .clone()
                    .unwrap_or_else(|| TwinState::new(conn.id.clone(), issue.reference()));
                let request = ApplyRequest {
                    conn,
                    twin: &twin_key,
                    replica: &replica,
                    state: perspective,
                    project: &other.project,
                    match_existing: false,
                    source: None,
                    decision: self.deletion_decision(&conn.id, &twin_key)?,
                    batch: None,
                };
                // What the preview reads is not remembered: it changes nothing.
                let mut seen = Seen::default();
                match self.plan_apply(&request, &mut seen).await {
                    Ok(prepared) => {
                        let info = self.project_info(&other.project).await?;
                        let summary = describe(&prepared.plan, &replica, &info, settling);
                        Ok((summary, prepared.plan))
                    }
                    // What would stop the sync of this issue is shown; what
                    // stops every sync (an outage, a refused sign-in) is returned.
                    Err(err) if err.is_temporary() || err.scope() == ErrorScope::Connection => {
                        return Err(err);
                    }
                    Err(err) => Err(err),
                }
            }
        };
        let (summary, outcome) = match preview {
            Ok((summary, plan)) => (summary, TestRunOutcome::Plan(Box::new(plan))),
            Err(err) => (
                format!("would fail, writing nothing: {err}"),
                TestRunOutcome::Error {
                    kind: err.kind(),
                    message: err.to_string(),
                },
            ),
        };
        Ok(TestRunResult {
            issue: issue.reference(),
            target: other.project,
            twin: state.as_ref().and_then(|s| s.local.clone()),
            under_sync: state.is_some(),
            summary,
            replica,
            outcome,
        })
    }
}

/// What a plan would do, in one sentence.
fn describe(plan: &Plan, replica: &Replica, project: &ProjectInfo, settling: bool) -> String {
    let count = |f: fn(&Op) -> bool| plan.ops.iter().filter(|op| f(op)).count();
    let comments = count(|op| matches!(op, Op::AddComment { .. }));
    let attachments = count(|op| matches!(op, Op::AddAttachment { .. }));
    let mut text = match (&plan.local, plan.ops.first()) {
        (
            _,
            Some(Op::CreateIssue {
                project: p, fields, ..
            }),
        ) => {
            let used = fields.issue_type.clone().unwrap_or_default();
            let mut text = format!("would create a {p} issue of type {}", quote(&used));
            let wanted = &replica.issue_type;
            if !used.eq_ignore_ascii_case(wanted) {
                let why = match &project.default_issue_type {
                    Some(d) if d.eq_ignore_ascii_case(&used) => {
                        format!("{} is its default type", quote(d))
                    }
                    Some(d) => format!("its default type {} is not available", quote(d)),
                    None => "it has no default type".to_owned(),
                };
                text += &format!(" because {} is missing in {p} and {why}", quote(wanted));
            }
            let mut with = Vec::new();
            if comments > 0 {
                with.push(plural(comments, "comment"));
            }
            if attachments > 0 {
                with.push(plural(attachments, "attachment"));
            }
            if !with.is_empty() {
                text += &format!(", with {}", with.join(" and "));
            }
            text
        }
        (local, Some(_)) => format!(
            "would write {} on {}",
            plural(plan.ops.len(), "change"),
            local
                .as_ref()
                .map_or_else(|| "its twin".to_owned(), ToString::to_string)
        ),
        (Some(local), None) if plan.notes.is_empty() => {
            format!("nothing to do: {local} already has every change of this issue")
        }
        (_, None) => "nothing would be written".to_owned(),
    };
    if !plan.conflicts.is_empty() {
        text += &format!(
            "; {} (both values kept in the record)",
            plural(plan.conflicts.len(), "conflict")
        );
    }
    if settling {
        text += "; a create of its twin is settling: the engine looks for it before creating again";
    }
    text
}

fn quote(text: &str) -> String {
    FieldValue::Text(text.to_owned()).preview()
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

impl fmt::Display for TestRunResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "test run of {} ", self.issue.key)?;
        match (&self.twin, self.under_sync) {
            (Some(twin), _) => writeln!(f, "(under sync with {twin})")?,
            (None, true) => writeln!(f, "(under sync, its twin not created yet)")?,
            (None, false) => writeln!(f, "(not under sync yet)")?,
        }
        writeln!(f, "  {}", self.summary)?;
        let r = &self.replica;
        write!(
            f,
            "  outgoing replica: type {}, summary {}",
            quote(&r.issue_type),
            quote(&r.summary)
        )?;
        if !r.description.is_empty() {
            write!(
                f,
                ", description {}",
                FieldValue::Rich(r.description.clone()).preview()
            )?;
        }
        if !r.comments.is_empty() {
            write!(f, ", {}", plural(r.comments.len(), "comment"))?;
        }
        if !r.attachments.is_empty() {
            let names: Vec<String> = r.attachments.iter().map(|a| quote(&a.file_name)).collect();
            write!(
                f,
                ", {} ({})",
                plural(r.attachments.len(), "attachment"),
                names.join(", ")
            )?;
        }
        match &self.outcome {
            TestRunOutcome::Plan(plan) => {
                let preview = plan.to_string();
                let mut lines = preview.lines();
                if let Some(first) = lines.next() {
                    write!(f, "\n  plan: {first}")?;
                }
                for line in lines {
                    write!(f, "\n  {line}")?;
                }
                Ok(())
            }
            TestRunOutcome::Error { kind, .. } => write!(f, "\n  no plan ({kind})"),
        }
    }
}
