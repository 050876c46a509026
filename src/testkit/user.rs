//! [`User`]: a person editing a tracker in tests, by issue key, with no
//! ceremony. Every method panics on failure: it is for test set-ups.

use crate::model::Issue;
use crate::testkit::ids as lit;
use crate::tracker::{IssueUpdate, MemoryTracker, NewAttachment, NewComment, NewIssue, Tracker};

use super::block_on;

/// A person editing through a [`MemoryTracker`] handle (usually one made with
/// [`MemoryTracker::as_user`], so the engine's call counts stay its own).
#[derive(Clone, Copy, Debug)]
pub struct User<'a>(pub &'a MemoryTracker);

impl User<'_> {
    /// The issue with `key`, read directly.
    ///
    /// # Panics
    ///
    /// When there is none.
    pub fn issue(&self, key: impl AsRef<str>) -> Issue {
        let key = key.as_ref();
        self.0
            .inspect_issue(&lit::key(key))
            .unwrap_or_else(|| panic!("issue {key} exists"))
    }

    /// Creates an issue and returns it.
    ///
    /// # Panics
    ///
    /// When the tracker refuses.
    pub fn create(&self, project: &str, issue_type: &str, summary: &str) -> Issue {
        let created = block_on(self.0.create_issue(&NewIssue::new(
            lit::project(project),
            issue_type,
            summary,
        )))
        .unwrap_or_else(|e| panic!("create an issue in {project}: {e}"));
        self.issue(created.key)
    }

    /// Adds a public comment.
    ///
    /// # Panics
    ///
    /// When the tracker refuses.
    pub fn comment(&self, key: impl AsRef<str>, body: &str) {
        let issue = self.issue(key);
        block_on(self.0.add_comment(&issue.id, &NewComment::public(body)))
            .unwrap_or_else(|e| panic!("comment on {}: {e}", issue.key));
    }

    /// Attaches a text file.
    ///
    /// # Panics
    ///
    /// When the tracker refuses.
    pub fn attach(&self, key: impl AsRef<str>, file_name: &str, content: &[u8]) {
        let issue = self.issue(key);
        let file = NewAttachment {
            file_name: file_name.into(),
            mime_type: "text/plain".into(),
            content: content.to_vec(),
        };
        block_on(self.0.upload_attachment(&issue.id, &file))
            .unwrap_or_else(|e| panic!("attach to {}: {e}", issue.key));
    }

    /// Changes fields of an issue.
    ///
    /// # Panics
    ///
    /// When the tracker refuses.
    pub fn update(&self, key: impl AsRef<str>, update: IssueUpdate) {
        let issue = self.issue(key);
        block_on(self.0.update_issue(&issue.id, &update))
            .unwrap_or_else(|e| panic!("update {}: {e}", issue.key));
    }

    /// Changes the summary of an issue.
    ///
    /// # Panics
    ///
    /// When the tracker refuses.
    pub fn edit_summary(&self, key: impl AsRef<str>, summary: &str) {
        self.update(
            key,
            IssueUpdate {
                summary: Some(summary.into()),
                ..IssueUpdate::default()
            },
        );
    }

    /// Replaces the labels of an issue.
    ///
    /// # Panics
    ///
    /// When the tracker refuses.
    pub fn set_labels(&self, key: impl AsRef<str>, labels: &[&str]) {
        self.update(
            key,
            IssueUpdate {
                labels: Some(labels.iter().map(|l| (*l).to_owned()).collect()),
                ..IssueUpdate::default()
            },
        );
    }

    /// The plain text of an issue's comments, oldest first.
    ///
    /// # Panics
    ///
    /// When there is no such issue.
    pub fn bodies(&self, key: impl AsRef<str>) -> Vec<String> {
        self.issue(key)
            .comments
            .iter()
            .map(|c| c.body.to_plain_text())
            .collect()
    }

    /// What an issue's comments say, oldest first: their plain text with the
    /// attribution header of a twinsync copy left out (see [`super::said`]).
    ///
    /// # Panics
    ///
    /// When there is no such issue.
    pub fn said(&self, key: impl AsRef<str>) -> Vec<String> {
        super::said::said_all(&self.issue(key))
    }
}
