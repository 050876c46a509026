//! The in-memory tracker's data and the rules for changing it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;

use crate::error::{Error, ErrorKind, Result};
use crate::model::{
    AttachmentId, AttachmentMeta, Comment, CommentId, Issue, IssueId, IssueKey, IssueLinkType,
    IssueType, ProjectInfo, ProjectKey, RemoteLink, RichText, Sha256, UserId, UserRef,
};
use crate::tracker::{CreatedIssue, IssueUpdate, NewAttachment, NewComment, NewIssue};

#[derive(Debug)]
pub(super) struct Record {
    pub(super) current: Issue,
    /// Earlier versions with the time each became current, kept only while
    /// search lag is on, so that searches can see the past.
    pub(super) history: Vec<(OffsetDateTime, Issue)>,
    pub(super) since: OffsetDateTime,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) projects: BTreeMap<ProjectKey, ProjectInfo>,
    pub(super) next_key: BTreeMap<ProjectKey, u64>,
    pub(super) issues: BTreeMap<u64, Record>,
    pub(super) keys: HashMap<IssueKey, u64>,
    pub(super) comment_owner: HashMap<CommentId, u64>,
    pub(super) attachments: HashMap<AttachmentId, (u64, Arc<[u8]>)>,
    pub(super) next_id: u64,
    pub(super) users: BTreeMap<UserId, UserRef>,
    /// Users' email addresses (a user without one here hides it).
    pub(super) emails: BTreeMap<UserId, String>,
    pub(super) global_admins: BTreeSet<UserId>,
    pub(super) project_admins: BTreeMap<ProjectKey, BTreeSet<UserId>>,
    pub(super) groups: BTreeMap<String, BTreeSet<UserId>>,
    pub(super) search_lag: Duration,
    /// Remote links by issue number, in the order they were added.
    pub(super) remote_links: BTreeMap<u64, Vec<RemoteLink>>,
    /// The kinds of links between issues.
    pub(super) link_types: Vec<IssueLinkType>,
    /// Workflows and the transitions refused on them.
    pub(super) workflows: super::workflows::Workflows,
}

/// The link types a new tracker has, as a new Jira site does.
pub(super) fn default_link_types() -> Vec<IssueLinkType> {
    vec![
        IssueLinkType::new("10000", "Blocks", "is blocked by", "blocks"),
        IssueLinkType::new("10001", "Cloners", "is cloned by", "clones"),
        IssueLinkType::new("10002", "Duplicate", "is duplicated by", "duplicates"),
        IssueLinkType::new("10003", "Relates", "relates to", "relates to"),
    ]
}

pub(super) fn not_found(what: &str, id: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::NotFound, format!("{what} {id} does not exist"))
}

fn numeric(id: &IssueId) -> Option<u64> {
    id.as_str().parse().ok()
}

impl State {
    pub(super) fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        10_000 + self.next_id
    }

    pub(super) fn project(&self, key: &ProjectKey) -> Result<&ProjectInfo> {
        self.projects
            .get(key)
            .ok_or_else(|| not_found("project", key))
    }

    pub(super) fn record(&self, id: &IssueId) -> Result<&Record> {
        numeric(id)
            .and_then(|n| self.issues.get(&n))
            .ok_or_else(|| not_found("issue", id))
    }

    pub(super) fn issue_number_by_key(&self, key: &IssueKey) -> Result<u64> {
        self.keys
            .get(key)
            .copied()
            .ok_or_else(|| not_found("issue", key))
    }

    /// Changes an issue through `change`, keeping history for lagging searches.
    /// `change` fails, if it does, before it changes anything.
    pub(super) fn modify<T>(
        &mut self,
        id: &IssueId,
        now: OffsetDateTime,
        change: impl FnOnce(&mut Issue) -> Result<T>,
    ) -> Result<T> {
        let lag = self.search_lag;
        let n = numeric(id).ok_or_else(|| not_found("issue", id))?;
        let record = self
            .issues
            .get_mut(&n)
            .ok_or_else(|| not_found("issue", id))?;
        if lag == Duration::ZERO {
            // No search looks into the past: change the issue in place rather
            // than copying it (and its comments) for each write.
            let out = change(&mut record.current)?;
            record.current.updated = now;
            record.history.clear();
            record.since = now;
            return Ok(out);
        }
        let mut next = record.current.clone();
        let out = change(&mut next)?;
        next.updated = now;
        let previous = std::mem::replace(&mut record.current, next);
        record.history.push((record.since, previous));
        let horizon = now - lag;
        // Keep the newest version older than the horizon, drop the ones before it.
        if let Some(keep) = record.history.iter().rposition(|(t, _)| *t <= horizon) {
            record.history.drain(..keep);
        }
        record.since = now;
        Ok(out)
    }

    /// The issue as a search at `now` sees it.
    pub(super) fn searchable<'a>(
        &self,
        record: &'a Record,
        now: OffsetDateTime,
    ) -> Option<&'a Issue> {
        if self.search_lag == Duration::ZERO {
            return Some(&record.current);
        }
        let horizon = now - self.search_lag;
        if record.since <= horizon {
            return Some(&record.current);
        }
        record
            .history
            .iter()
            .rev()
            .find(|(t, _)| *t <= horizon)
            .map(|(_, issue)| issue)
    }

    pub(super) fn create_issue(
        &mut self,
        new: &NewIssue,
        creator: &UserRef,
        now: OffsetDateTime,
    ) -> Result<CreatedIssue> {
        let project = self.project(&new.project)?;
        let Some(issue_type) = project.issue_type(&new.issue_type) else {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "issue type {:?} is not in project {}; available: {}",
                    new.issue_type,
                    new.project,
                    project.issue_type_names().join(", ")
                ),
            ));
        };
        let issue_type = issue_type.name.clone();
        let screen = project.for_issue_type(&issue_type);
        let mut fields = super::fields::new_fields(&screen, &issue_type, &new.fields, |p| {
            self.parent_ref(&p.id)
        })?;
        self.known_users(&mut fields, None)?;
        if new.summary.trim().is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "summary must not be empty",
            ));
        }
        let number = self.next_key.entry(new.project.clone()).or_insert(0);
        *number += 1;
        let key = IssueKey::new(format!("{}-{}", new.project, number))?;
        let n = self.fresh_id();
        let id = IssueId::new(n.to_string())?;
        let mut labels = new.labels.clone();
        labels.sort();
        labels.dedup();
        let status = self.initial_status(&new.project, &issue_type);
        let issue = Issue {
            id: id.clone(),
            key: key.clone(),
            project: new.project.clone(),
            issue_type,
            summary: new.summary.clone(),
            description: new.description.clone(),
            comments: Vec::new(),
            attachments: Vec::new(),
            labels,
            status,
            fields,
            creator: Some(creator.clone()),
            created: now,
            updated: now,
            properties: new.properties.clone(),
        };
        self.keys.insert(key.clone(), n);
        self.issues.insert(
            n,
            Record {
                current: issue,
                history: Vec::new(),
                since: now,
            },
        );
        Ok(CreatedIssue { id, key })
    }

    pub(super) fn update_issue(
        &mut self,
        id: &IssueId,
        update: &IssueUpdate,
        now: OffsetDateTime,
    ) -> Result<()> {
        let project_key = self.record(id)?.current.project.clone();
        let project = self.project(&project_key)?.clone();
        if let Some(summary) = &update.summary
            && summary.trim().is_empty()
        {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "summary must not be empty",
            ));
        }
        let issue_type = match &update.issue_type {
            Some(name) => Some(
                project
                    .issue_type(name)
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::InvalidInput,
                            format!(
                                "issue type {name:?} is not in project {}; available: {}",
                                project.key,
                                project.issue_type_names().join(", ")
                            ),
                        )
                    })?
                    .name
                    .clone(),
            ),
            None => None,
        };
        let status = match &update.status {
            Some(status) => Some(self.status_by_update(id, status)?),
            None => None,
        };
        let fields = {
            let current = &self.record(id)?.current;
            let kind = issue_type.as_deref().unwrap_or(&current.issue_type);
            let mut fields =
                super::fields::updated_fields(&project, kind, &current.fields, update, |p| {
                    self.parent_ref(p)
                })?;
            self.known_users(&mut fields, Some(&current.fields))?;
            self.check_no_parent_cycle(id, fields.parent.as_ref())?;
            fields
        };
        self.modify(id, now, |issue| {
            issue.fields = fields;
            if let Some(summary) = &update.summary {
                issue.summary = summary.clone();
            }
            if let Some(description) = &update.description {
                issue.description = description.clone();
            }
            if let Some(issue_type) = issue_type {
                issue.issue_type = issue_type;
            }
            if let Some(labels) = &update.labels {
                let mut labels = labels.clone();
                labels.sort();
                labels.dedup();
                issue.labels = labels;
            }
            if let Some(status) = status {
                issue.status = status;
            }
            Ok(())
        })
    }

    pub(super) fn add_comment(
        &mut self,
        issue: &IssueId,
        new: &NewComment,
        author: &UserRef,
        now: OffsetDateTime,
    ) -> Result<Comment> {
        self.record(issue)?;
        let id = CommentId::new(self.fresh_id().to_string())?;
        let comment = Comment {
            id: id.clone(),
            author: author.clone(),
            body: new.body.clone(),
            created: now,
            updated: now,
            visibility: new.visibility,
            properties: new.properties.clone(),
        };
        let stored = comment.clone();
        self.modify(issue, now, |i| {
            i.comments.push(stored);
            Ok(())
        })?;
        self.comment_owner
            .insert(id, numeric(issue).unwrap_or_default());
        Ok(comment)
    }

    fn comment_issue(&self, comment: &CommentId) -> Result<IssueId> {
        self.comment_owner
            .get(comment)
            .ok_or_else(|| not_found("comment", comment))
            .and_then(|n| IssueId::new(n.to_string()))
    }

    pub(super) fn update_comment(
        &mut self,
        issue: &IssueId,
        comment: &CommentId,
        body: &RichText,
        now: OffsetDateTime,
    ) -> Result<Comment> {
        if &self.comment_issue(comment)? != issue {
            return Err(not_found("comment", comment).with_issue(issue));
        }
        self.modify(issue, now, |i| {
            let c = i
                .comments
                .iter_mut()
                .find(|c| &c.id == comment)
                .ok_or_else(|| not_found("comment", comment))?;
            c.body = body.clone();
            c.updated = now;
            Ok(c.clone())
        })
    }

    pub(super) fn delete_comment(
        &mut self,
        issue: &IssueId,
        comment: &CommentId,
        now: OffsetDateTime,
    ) -> Result<()> {
        if &self.comment_issue(comment)? != issue {
            return Err(not_found("comment", comment).with_issue(issue));
        }
        self.modify(issue, now, |i| {
            i.comments.retain(|c| &c.id != comment);
            Ok(())
        })?;
        self.comment_owner.remove(comment);
        Ok(())
    }

    pub(super) fn upload(
        &mut self,
        issue: &IssueId,
        file: &NewAttachment,
        author: &UserRef,
        now: OffsetDateTime,
    ) -> Result<AttachmentMeta> {
        self.record(issue)?;
        if file.file_name.trim().is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "attachment file name must not be empty",
            ));
        }
        let id = AttachmentId::new(self.fresh_id().to_string())?;
        let meta = AttachmentMeta {
            id: id.clone(),
            file_name: file.file_name.clone(),
            mime_type: file.mime_type.clone(),
            size: file.content.len() as u64,
            sha256: Some(Sha256::of(&file.content)),
            created: now,
            author: author.clone(),
        };
        let stored = meta.clone();
        self.modify(issue, now, |i| {
            i.attachments.push(stored);
            Ok(())
        })?;
        self.attachments.insert(
            id,
            (
                numeric(issue).unwrap_or_default(),
                file.content.clone().into(),
            ),
        );
        Ok(meta)
    }

    pub(super) fn download(&self, id: &AttachmentId) -> Result<Vec<u8>> {
        self.attachments
            .get(id)
            .map(|(_, content)| content.to_vec())
            .ok_or_else(|| not_found("attachment", id))
    }

    pub(super) fn delete_attachment(
        &mut self,
        id: &AttachmentId,
        now: OffsetDateTime,
    ) -> Result<()> {
        let (owner, _) = self
            .attachments
            .get(id)
            .cloned()
            .ok_or_else(|| not_found("attachment", id))?;
        self.modify(&IssueId::new(owner.to_string())?, now, |i| {
            i.attachments.retain(|a| &a.id != id);
            Ok(())
        })?;
        self.attachments.remove(id);
        Ok(())
    }

    pub(super) fn remove_issue(&mut self, id: &IssueId) -> Result<()> {
        let n = numeric(id).ok_or_else(|| not_found("issue", id))?;
        let record = self
            .issues
            .remove(&n)
            .ok_or_else(|| not_found("issue", id))?;
        self.keys.retain(|_, owner| *owner != n);
        self.comment_owner.retain(|_, owner| *owner != n);
        self.attachments.retain(|_, (owner, _)| *owner != n);
        self.remote_links.remove(&n);
        // Links end with either of their issues.
        for other in self.issues.values_mut() {
            other.current.fields.links.retain(|l| &l.issue.id != id);
        }
        drop(record);
        Ok(())
    }

    pub(super) fn set_issue_property(
        &mut self,
        issue: &IssueId,
        key: &str,
        value: &Value,
    ) -> Result<()> {
        check_property(key, value)?;
        let n = numeric(issue).ok_or_else(|| not_found("issue", issue))?;
        let record = self
            .issues
            .get_mut(&n)
            .ok_or_else(|| not_found("issue", issue))?;
        // Entity properties do not change an issue's `updated` (as in Jira).
        record
            .current
            .properties
            .insert(key.to_owned(), value.clone());
        Ok(())
    }

    /// Replaces the issue's link with the same global id, or adds `link`.
    /// Like entity properties, links do not change an issue's `updated` (as
    /// in Jira).
    pub(super) fn put_remote_link(&mut self, issue: &IssueId, link: &RemoteLink) -> Result<()> {
        if link.global_id.is_empty() || link.url.is_empty() || link.title.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "a remote link needs a global id, a URL and a title",
            ));
        }
        let n = numeric(issue)
            .filter(|n| self.issues.contains_key(n))
            .ok_or_else(|| not_found("issue", issue))?;
        let links = self.remote_links.entry(n).or_default();
        match links.iter_mut().find(|l| l.global_id == link.global_id) {
            Some(existing) => *existing = link.clone(),
            None => links.push(link.clone()),
        }
        Ok(())
    }

    pub(super) fn remote_links(&self, issue: &IssueId) -> Result<Vec<RemoteLink>> {
        let n = numeric(issue)
            .filter(|n| self.issues.contains_key(n))
            .ok_or_else(|| not_found("issue", issue))?;
        Ok(self.remote_links.get(&n).cloned().unwrap_or_default())
    }

    pub(super) fn comment_property(&self, comment: &CommentId, key: &str) -> Result<Option<Value>> {
        let issue = self.comment_issue(comment)?;
        let record = self.record(&issue)?;
        let c = record
            .current
            .comment(comment)
            .ok_or_else(|| not_found("comment", comment))?;
        Ok(c.properties.get(key).cloned())
    }

    pub(super) fn set_comment_property(
        &mut self,
        comment: &CommentId,
        key: &str,
        value: &Value,
    ) -> Result<()> {
        check_property(key, value)?;
        let issue = self.comment_issue(comment)?;
        let n = numeric(&issue).ok_or_else(|| not_found("issue", &issue))?;
        let record = self
            .issues
            .get_mut(&n)
            .ok_or_else(|| not_found("issue", &issue))?;
        let c = record
            .current
            .comments
            .iter_mut()
            .find(|c| &c.id == comment)
            .ok_or_else(|| not_found("comment", comment))?;
        c.properties.insert(key.to_owned(), value.clone());
        Ok(())
    }

    pub(super) fn add_project(&mut self, project: ProjectInfo) -> Result<()> {
        if self.projects.contains_key(&project.key) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("project {} exists already", project.key),
            ));
        }
        self.projects.insert(project.key.clone(), project);
        Ok(())
    }

    pub(super) fn issue_types(names: &[&str]) -> Vec<IssueType> {
        names
            .iter()
            .enumerate()
            .map(|(i, name)| IssueType {
                id: (i + 1).to_string(),
                name: (*name).to_owned(),
            })
            .collect()
    }
}

/// Jira's limits on entity properties: a key of at most 255 characters and a
/// value of at most 32 KB.
fn check_property(key: &str, value: &Value) -> Result<()> {
    if key.is_empty() || key.len() > 255 {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "property key must have 1 to 255 characters, not {}",
                key.len()
            ),
        ));
    }
    let size = value.to_string().len();
    if size > 32_768 {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("property {key:?} is {size} bytes; the limit is 32768"),
        ));
    }
    Ok(())
}
