//! [`MemoryTracker`]'s calls: the [`Tracker`] trait and the reads and
//! writes the engine does not need, each a counted call subject to faults.

use super::*;

impl MemoryTracker {
    /// Runs one call: counts it, waits the latency, applies a fault if one is due.
    async fn call<T>(
        &self,
        op: OpKind,
        apply: impl FnOnce(&mut State, OffsetDateTime, &UserRef) -> Result<T>,
    ) -> Result<T> {
        self.call_on(op, None, apply).await
    }

    /// Like `call`, for a write to one issue (which per-issue rate limits count).
    async fn call_on<T>(
        &self,
        op: OpKind,
        issue: Option<&IssueId>,
        apply: impl FnOnce(&mut State, OffsetDateTime, &UserRef) -> Result<T>,
    ) -> Result<T> {
        lock(&self.calls).record(op);
        let latency = *lock(&self.latency);
        if latency > Duration::ZERO {
            self.shared.clock.sleep(latency).await;
        }
        let now = self.shared.clock.now();
        let admitted = match lock(&self.limiter).as_mut() {
            Some(limiter) => limiter.admit(op, issue, now),
            None => Ok(()),
        };
        if let Err(e) = admitted {
            lock(&self.calls).record_rate_limited();
            return Err(e.with_operation(op));
        }
        let fault = lock(&self.faults).next(op, now);
        if let Some(Fault::RateLimited(_)) = fault {
            lock(&self.calls).record_rate_limited();
        }
        match fault {
            None => apply(&mut lock(&self.shared.state), now, &self.user),
            Some(Fault::LoseResponse) => {
                // The write happens; only the answer is lost.
                let _applied = apply(&mut lock(&self.shared.state), now, &self.user);
                Err(Fault::LoseResponse.error(op))
            }
            Some(fault) => Err(fault.error(op)),
        }
    }

    fn page_of(mut matching: Vec<(String, &Issue)>, page: &Page) -> SearchPage {
        let size = page_size(page);
        if let Some(token) = &page.token {
            matching.retain(|(k, _)| k > token);
        }
        let more = matching.len() > size;
        matching.truncate(size);
        SearchPage {
            next_page: if more {
                matching.last().map(|(k, _)| k.clone())
            } else {
                None
            },
            issues: matching.into_iter().map(|(_, i)| i.clone()).collect(),
        }
    }
}

fn page_size(page: &Page) -> usize {
    match page.max_results {
        0 => 50,
        n => n.min(MAX_PAGE_SIZE) as usize,
    }
}

fn check_token(page: &Page) -> Result<()> {
    match &page.token {
        Some(t) if t.len() != 40 || !t.bytes().all(|b| b.is_ascii_digit()) => Err(Error::new(
            ErrorKind::InvalidInput,
            format!("page token {t:?} was not issued by this tracker"),
        )),
        _ => Ok(()),
    }
}

/// A sort key that orders by (timestamp, id) as text: 20 digits each.
fn sort_key(at: Option<OffsetDateTime>, n: u64) -> String {
    let nanos = at.map_or(0, |t| {
        u64::try_from(t.unix_timestamp_nanos().max(0)).unwrap_or(u64::MAX)
    });
    format!("{nanos:020}{n:020}")
}

/// Reads and writes the engine does not need (so [`Tracker`] does not ask
/// for them), for tests and the Jira emulator. Each is a counted call, subject
/// to faults like the trait's methods.
impl MemoryTracker {
    /// The attachments' metadata of an issue, oldest first.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing issue.
    pub async fn attachments(&self, issue: &IssueId) -> Result<Vec<AttachmentMeta>> {
        self.call(OpKind::ListAttachments, |s, _, _| {
            Ok(s.record(issue)?.current.attachments.clone())
        })
        .await
    }

    /// An issue's entity property, `None` when it is not set.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing issue.
    pub async fn issue_property(&self, issue: &IssueId, key: &str) -> Result<Option<Value>> {
        self.call(OpKind::GetProperty, |s, _, _| {
            Ok(s.record(issue)?.current.properties.get(key).cloned())
        })
        .await
    }

    /// A comment's entity property, `None` when it is not set.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing comment.
    pub async fn comment_property(&self, comment: &CommentId, key: &str) -> Result<Option<Value>> {
        self.call(OpKind::GetProperty, |s, _, _| {
            s.comment_property(comment, key)
        })
        .await
    }

    /// Sets a comment's entity property.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing comment.
    pub async fn set_comment_property(
        &self,
        comment: &CommentId,
        key: &str,
        value: &Value,
    ) -> Result<()> {
        self.call(OpKind::SetProperty, |s, _, _| {
            s.set_comment_property(comment, key, value)
        })
        .await
    }

    /// The user this handle acts as, as a counted call.
    ///
    /// # Errors
    ///
    /// Only injected faults.
    pub async fn myself(&self) -> Result<UserRef> {
        self.call(OpKind::User, |_, _, user| Ok(user.clone())).await
    }
}

#[async_trait]
impl Tracker for MemoryTracker {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            batch_create: MAX_BATCH_CREATE,
            // The limits it enforces, if any, so that a node paces to them.
            rate_limits: lock(&self.limiter).as_ref().map(|l| l.limits()),
            ..Capabilities::all(MAX_PAGE_SIZE)
        }
    }

    async fn instance(&self) -> Result<InstanceInfo> {
        let url = self.shared.url.clone();
        self.call(OpKind::Instance, |_, _, _| {
            Ok(InstanceInfo {
                url,
                product: "memory".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            })
        })
        .await
    }

    async fn project(&self, key: &ProjectKey) -> Result<ProjectInfo> {
        self.call(OpKind::Project, |s, _, _| s.project(key).cloned())
            .await
    }

    async fn issue(&self, id: &IssueId) -> Result<Issue> {
        self.call(OpKind::GetIssue, |s, _, _| {
            Ok(s.record(id)?.current.clone())
        })
        .await
    }

    async fn issue_by_key(&self, key: &IssueKey) -> Result<Issue> {
        self.call(OpKind::GetIssue, |s, _, _| {
            let n = s.issue_number_by_key(key)?;
            s.issues
                .get(&n)
                .map(|r| r.current.clone())
                .ok_or_else(|| not_found("issue", key))
        })
        .await
    }

    async fn search(&self, jql: &str, page: &Page) -> Result<SearchPage> {
        // A malformed query fails here, before the call is counted.
        let query = Jql::parse(jql)?;
        check_token(page)?;
        self.call(OpKind::Search, |s, now, _| {
            // Issues are in id order: start after the token, stop one past the page.
            let after: u64 = page
                .token
                .as_deref()
                .and_then(|t| t.get(20..))
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let matching = s
                .issues
                .range(after.saturating_add(1)..)
                .filter_map(|(n, r)| s.searchable(r, now).map(|i| (*n, i)))
                .filter(|(_, i)| query.matches(i, now))
                .take(page_size(page) + 1)
                .map(|(n, i)| (sort_key(None, n), i))
                .collect();
            Ok(Self::page_of(matching, page))
        })
        .await
    }

    async fn updated_since(
        &self,
        project: &ProjectKey,
        since: OffsetDateTime,
        page: &Page,
    ) -> Result<SearchPage> {
        check_token(page)?;
        self.call(OpKind::Search, |s, now, _| {
            s.project(project)?;
            let mut matching: Vec<(String, &Issue)> = s
                .issues
                .iter()
                .filter_map(|(n, r)| s.searchable(r, now).map(|i| (*n, i)))
                .filter(|(_, i)| &i.project == project && i.updated >= since)
                .map(|(n, i)| (sort_key(Some(i.updated), n), i))
                .collect();
            matching.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(Self::page_of(matching, page))
        })
        .await
    }

    async fn create_issue(&self, issue: &NewIssue) -> Result<CreatedIssue> {
        self.call(OpKind::CreateIssue, |s, now, user| {
            s.create_issue(issue, user, now)
        })
        .await
    }

    /// One counted call ([`OpKind::CreateIssues`]) per 50 issues; a fault
    /// applies to the whole call (a lost answer: all created, then `Timeout`).
    async fn create_issues(&self, issues: &[NewIssue]) -> Result<Vec<Result<CreatedIssue>>> {
        let mut results = Vec::with_capacity(issues.len());
        for chunk in issues.chunks(MAX_BATCH_CREATE as usize) {
            let created = self
                .call(OpKind::CreateIssues, |s, now, user| {
                    Ok(chunk
                        .iter()
                        .map(|issue| s.create_issue(issue, user, now))
                        .collect::<Vec<_>>())
                })
                .await;
            match created {
                Ok(created) => results.extend(created),
                Err(err) if results.is_empty() => return Err(err),
                Err(err) => results.extend(
                    chunk
                        .iter()
                        .map(|_| Err(crate::tracker::batch_call_failed(&err))),
                ),
            }
        }
        Ok(results)
    }

    async fn update_issue(&self, id: &IssueId, update: &IssueUpdate) -> Result<()> {
        self.call_on(OpKind::UpdateIssue, Some(id), |s, now, _| {
            s.update_issue(id, update, now)
        })
        .await
    }

    async fn add_comment(&self, issue: &IssueId, comment: &NewComment) -> Result<Comment> {
        self.call_on(OpKind::AddComment, Some(issue), |s, now, user| {
            s.add_comment(issue, comment, user, now)
        })
        .await
    }

    async fn update_comment(
        &self,
        issue: &IssueId,
        comment: &CommentId,
        body: &RichText,
    ) -> Result<Comment> {
        self.call_on(OpKind::UpdateComment, Some(issue), |s, now, _| {
            s.update_comment(issue, comment, body, now)
        })
        .await
    }

    async fn delete_comment(&self, issue: &IssueId, comment: &CommentId) -> Result<()> {
        self.call_on(OpKind::DeleteComment, Some(issue), |s, now, _| {
            s.delete_comment(issue, comment, now)
        })
        .await
    }

    async fn delete_issue(&self, id: &IssueId) -> Result<()> {
        self.call_on(OpKind::DeleteIssue, Some(id), |s, _, _| s.remove_issue(id))
            .await
    }

    async fn issue_link_types(&self) -> Result<Vec<IssueLinkType>> {
        self.call(OpKind::LinkTypes, |s, _, _| Ok(s.link_types.clone()))
            .await
    }

    async fn add_issue_link(&self, link: &NewIssueLink) -> Result<()> {
        self.call_on(OpKind::AddIssueLink, Some(&link.outward), |s, now, _| {
            s.add_issue_link(link, now)
        })
        .await
    }

    async fn delete_issue_link(&self, id: &str) -> Result<()> {
        self.call(OpKind::DeleteIssueLink, |s, now, _| {
            s.delete_issue_link(id, now)
        })
        .await
    }

    async fn workflow(&self, project: &ProjectKey, issue_type: &str) -> Result<Option<Workflow>> {
        self.call(OpKind::Workflow, |s, _, _| {
            let info = s.project(project)?;
            if info.issue_type(issue_type).is_none() {
                return Err(not_found(
                    "issue type",
                    format!("{issue_type:?} of project {project}"),
                ));
            }
            Ok(s.workflows.of(project, issue_type).cloned())
        })
        .await
    }

    async fn transitions(&self, issue: &IssueId) -> Result<Vec<Transition>> {
        self.call_on(OpKind::Transitions, Some(issue), |s, _, _| {
            s.transitions(issue)
        })
        .await
    }

    async fn transition_issue(
        &self,
        issue: &IssueId,
        transition: &str,
        fields: &BTreeMap<String, CustomValue>,
    ) -> Result<()> {
        self.call_on(OpKind::TransitionIssue, Some(issue), |s, now, _| {
            s.transition_issue(issue, transition, fields, now)
        })
        .await
    }

    async fn download_attachment(&self, id: &AttachmentId) -> Result<Vec<u8>> {
        self.call(OpKind::DownloadAttachment, |s, _, _| s.download(id))
            .await
    }

    async fn upload_attachment(
        &self,
        issue: &IssueId,
        file: &NewAttachment,
    ) -> Result<AttachmentMeta> {
        self.call_on(OpKind::UploadAttachment, Some(issue), |s, now, user| {
            s.upload(issue, file, user, now)
        })
        .await
    }

    async fn delete_attachment(&self, id: &AttachmentId) -> Result<()> {
        self.call(OpKind::DeleteAttachment, |s, now, _| {
            s.delete_attachment(id, now)
        })
        .await
    }

    async fn set_issue_property(&self, issue: &IssueId, key: &str, value: &Value) -> Result<()> {
        self.call(OpKind::SetProperty, |s, _, _| {
            s.set_issue_property(issue, key, value)
        })
        .await
    }

    async fn is_global_admin(&self, user: &UserId) -> Result<bool> {
        self.call(OpKind::User, |s, _, _| Ok(s.global_admins.contains(user)))
            .await
    }

    async fn is_project_admin(&self, user: &UserId, project: &ProjectKey) -> Result<bool> {
        self.call(OpKind::User, |s, _, _| {
            s.project(project)?;
            Ok(s.project_admins
                .get(project)
                .is_some_and(|admins| admins.contains(user)))
        })
        .await
    }

    async fn group_members(&self, group: &str) -> Result<Option<Vec<UserId>>> {
        self.call(OpKind::User, |s, _, _| {
            Ok(s.groups.get(group).map(|m| m.iter().cloned().collect()))
        })
        .await
    }

    async fn user_profile(&self, id: &UserId) -> Result<UserProfile> {
        self.call(OpKind::User, |s, _, _| {
            let user = s.users.get(id).ok_or_else(|| not_found("user", id))?;
            Ok(UserProfile {
                id: user.id.clone(),
                display_name: user.display_name.clone(),
                email: s.emails.get(id).cloned(),
            })
        })
        .await
    }

    async fn put_remote_link(&self, issue: &IssueId, link: &RemoteLink) -> Result<()> {
        self.call_on(OpKind::PutRemoteLink, Some(issue), |s, _, _| {
            s.put_remote_link(issue, link)
        })
        .await
    }

    async fn remote_links(&self, issue: &IssueId) -> Result<Vec<RemoteLink>> {
        self.call(OpKind::GetRemoteLinks, |s, _, _| s.remote_links(issue))
            .await
    }

    async fn users_by_email(&self, email: &str) -> Result<Vec<UserProfile>> {
        self.call(OpKind::User, |s, _, _| {
            Ok(s.emails
                .iter()
                .filter(|(_, e)| e.eq_ignore_ascii_case(email))
                .filter_map(|(id, e)| {
                    let user = s.users.get(id)?;
                    Some(UserProfile {
                        id: id.clone(),
                        display_name: user.display_name.clone(),
                        email: Some(e.clone()),
                    })
                })
                .collect())
        })
        .await
    }
}
