//! Saving a [`MemoryTracker`](super::MemoryTracker)'s contents to a file and
//! loading them back, so that examples and tests can keep a tracker between
//! runs of a process.
//!
//! The file is JSON: a header naming the format and its version, then the
//! projects, issues (with comments, attachment metadata and entity
//! properties), attachment contents (base64), users, admins, groups and
//! remote links (absent in files of older versions, which load with none). Call
//! counts, faults and latency belong to handles, not to the contents, and are
//! not saved.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::model::{
    AttachmentId, InstanceUrl, Issue, IssueId, ProjectInfo, ProjectKey, RemoteLink, Sha256, UserId,
    UserRef, Workflow,
};

use super::state::{Record, State};

/// The `format` field of every file; anything else is not ours.
const FORMAT: &str = "twinsync-memory-tracker";
/// The version this twinsync writes and the newest it reads.
pub(super) const VERSION: u32 = 1;

/// Enough of a file to tell whether it is ours and which version it is.
#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<u32>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Snapshot {
    format: String,
    version: u32,
    pub(super) url: InstanceUrl,
    next_id: u64,
    projects: Vec<SavedProject>,
    issues: Vec<Issue>,
    attachments: Vec<SavedContent>,
    users: Vec<UserRef>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    emails: BTreeMap<UserId, String>,
    global_admins: BTreeSet<UserId>,
    project_admins: BTreeMap<ProjectKey, BTreeSet<UserId>>,
    groups: BTreeMap<String, BTreeSet<UserId>>,
    search_lag_ms: u64,
    /// Remote links by issue id (absent in files written before links).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    remote_links: BTreeMap<IssueId, Vec<RemoteLink>>,
    /// Workflows (absent in files written before workflows).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    workflows: Vec<SavedWorkflow>,
    /// Refused transitions: (project, transition id, message).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    refused_transitions: Vec<(ProjectKey, String, String)>,
}

#[derive(Serialize, Deserialize)]
struct SavedWorkflow {
    project: ProjectKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issue_type: Option<String>,
    workflow: Workflow,
}

#[derive(Serialize, Deserialize)]
struct SavedProject {
    #[serde(flatten)]
    info: ProjectInfo,
    /// The number of the last key given out (`SUP-7` → 7).
    last_key: u64,
}

#[derive(Serialize, Deserialize)]
struct SavedContent {
    id: AttachmentId,
    base64: String,
}

impl Snapshot {
    /// The contents of `state`, ready to be written.
    pub(super) fn of(url: &InstanceUrl, state: &State) -> Snapshot {
        let mut attachments: Vec<SavedContent> = state
            .attachments
            .iter()
            .map(|(id, (_, content))| SavedContent {
                id: id.clone(),
                base64: STANDARD.encode(content),
            })
            .collect();
        attachments.sort_by(|a, b| a.id.cmp(&b.id));
        Snapshot {
            format: FORMAT.to_owned(),
            version: VERSION,
            url: url.clone(),
            next_id: state.next_id,
            projects: state
                .projects
                .values()
                .map(|info| SavedProject {
                    info: info.clone(),
                    last_key: state.next_key.get(&info.key).copied().unwrap_or(0),
                })
                .collect(),
            issues: state.issues.values().map(|r| r.current.clone()).collect(),
            attachments,
            users: state.users.values().cloned().collect(),
            emails: state.emails.clone(),
            global_admins: state.global_admins.clone(),
            project_admins: state.project_admins.clone(),
            groups: state.groups.clone(),
            search_lag_ms: u64::try_from(state.search_lag.as_millis()).unwrap_or(u64::MAX),
            remote_links: state
                .remote_links
                .iter()
                .filter_map(|(n, links)| {
                    let record = state.issues.get(n)?;
                    Some((record.current.id.clone(), links.clone()))
                })
                .collect(),
            workflows: state
                .workflows
                .by_scope
                .iter()
                .map(|((project, issue_type), workflow)| SavedWorkflow {
                    project: project.clone(),
                    issue_type: issue_type.clone(),
                    workflow: workflow.clone(),
                })
                .collect(),
            refused_transitions: state
                .workflows
                .refusals
                .iter()
                .map(|((p, t), m)| (p.clone(), t.clone(), m.clone()))
                .collect(),
        }
    }

    /// Reads a snapshot from the bytes of the file at `path`.
    pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<Snapshot> {
        let header: Header = serde_json::from_slice(bytes).map_err(|e| {
            damaged(
                path,
                &format!("is not a twinsync memory tracker file ({e})"),
            )
        })?;
        if header.format.as_deref() != Some(FORMAT) {
            return Err(damaged(
                path,
                &format!(
                    "is not a twinsync memory tracker file (its format is {:?}, not {FORMAT:?})",
                    header.format.unwrap_or_default()
                ),
            ));
        }
        match header.version {
            Some(v) if v > VERSION => {
                return Err(damaged(
                    path,
                    &format!(
                        "was written by a newer twinsync (file version {v}; this one reads up \
                         to version {VERSION}); upgrade twinsync to read it"
                    ),
                ));
            }
            Some(_) => {}
            None => return Err(damaged(path, "has no version")),
        }
        serde_json::from_slice(bytes).map_err(|e| damaged(path, &format!("is damaged: {e}")))
    }

    /// The tracker state the snapshot describes, checked for consistency.
    pub(super) fn into_state(self, path: &Path) -> Result<State> {
        let bad = |what: String| damaged(path, &format!("is damaged: {what}"));
        let mut state = State {
            next_id: self.next_id,
            global_admins: self.global_admins,
            project_admins: self.project_admins,
            groups: self.groups,
            search_lag: Duration::from_millis(self.search_lag_ms),
            link_types: super::state::default_link_types(),
            ..State::default()
        };
        for project in self.projects {
            state
                .next_key
                .insert(project.info.key.clone(), project.last_key);
            if state
                .projects
                .insert(project.info.key.clone(), project.info)
                .is_some()
            {
                return Err(bad("a project appears twice".to_owned()));
            }
        }
        for user in self.users {
            state.users.insert(user.id.clone(), user);
        }
        for saved in self.workflows {
            state.workflows.by_scope.insert(
                (saved.project, saved.issue_type.map(|t| t.to_lowercase())),
                saved.workflow,
            );
        }
        for (project, transition, message) in self.refused_transitions {
            state
                .workflows
                .refusals
                .insert((project, transition), message);
        }
        state.emails = self.emails;
        let mut contents: HashMap<AttachmentId, Arc<[u8]>> = HashMap::new();
        for saved in self.attachments {
            let content = STANDARD
                .decode(saved.base64.as_bytes())
                .map_err(|e| bad(format!("attachment {} content: {e}", saved.id)))?;
            contents.insert(saved.id, content.into());
        }
        // Ids are numbers below the next fresh id, so new ones never collide.
        let limit = 10_000 + state.next_id;
        let number = |kind: &str, id: &str| -> Result<u64> {
            match id.parse::<u64>() {
                Ok(n) if n <= limit => Ok(n),
                _ => Err(bad(format!(
                    "{kind} id {id:?} is not one this tracker gives out"
                ))),
            }
        };
        for issue in self.issues {
            let n = number("issue", issue.id.as_str())?;
            let project = state.projects.get(&issue.project).ok_or_else(|| {
                bad(format!(
                    "issue {} is in unknown project {}",
                    issue.key, issue.project
                ))
            })?;
            let key_number = issue
                .key
                .as_str()
                .strip_prefix(&format!("{}-", project.key))
                .and_then(|k| k.parse::<u64>().ok())
                .ok_or_else(|| {
                    bad(format!(
                        "issue key {} does not belong to its project",
                        issue.key
                    ))
                })?;
            if key_number > state.next_key.get(&issue.project).copied().unwrap_or(0) {
                return Err(bad(format!("issue key {} was never given out", issue.key)));
            }
            for comment in &issue.comments {
                number("comment", comment.id.as_str())?;
                if state.comment_owner.insert(comment.id.clone(), n).is_some() {
                    return Err(bad(format!("comment {} appears twice", comment.id)));
                }
            }
            for meta in &issue.attachments {
                number("attachment", meta.id.as_str())?;
                let content = contents
                    .remove(&meta.id)
                    .ok_or_else(|| bad(format!("attachment {} has no content", meta.id)))?;
                if meta.sha256.is_some_and(|s| s != Sha256::of(&content)) {
                    return Err(bad(format!(
                        "attachment {} does not match its SHA-256",
                        meta.id
                    )));
                }
                state.attachments.insert(meta.id.clone(), (n, content));
            }
            if state.keys.insert(issue.key.clone(), n).is_some() {
                return Err(bad(format!("issue key {} appears twice", issue.key)));
            }
            let since = issue.updated;
            let record = Record {
                current: issue,
                history: Vec::new(),
                since,
            };
            if state.issues.insert(n, record).is_some() {
                return Err(bad(format!("issue id {n} appears twice")));
            }
        }
        for (issue, links) in self.remote_links {
            match issue.as_str().parse::<u64>() {
                Ok(n) if state.issues.contains_key(&n) => {
                    state.remote_links.insert(n, links);
                }
                _ => return Err(bad(format!("remote links of unknown issue {issue}"))),
            }
        }
        Ok(state)
    }
}

fn damaged(path: &Path, what: &str) -> Error {
    Error::new(
        ErrorKind::Storage,
        format!("memory tracker file {} {what}", path.display()),
    )
}

/// Reads the file at `path`.
pub(super) fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| {
        let kind = if e.kind() == io::ErrorKind::NotFound {
            ErrorKind::NotFound
        } else {
            ErrorKind::Storage
        };
        Error::new(
            kind,
            format!("cannot read memory tracker file {}: {e}", path.display()),
        )
        .with_source(e)
    })
}

/// Tells apart the temporary files of saves running at the same time.
static SAVES: AtomicU64 = AtomicU64::new(0);

/// Replaces the file at `path` with `bytes` as one step: the bytes go to a
/// temporary file next to it, are flushed to disk, and the temporary file is
/// renamed over `path`. A crash leaves the old file or the new one, never a
/// mix; a failed save leaves no temporary file behind.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let fail = |e: io::Error| {
        Error::new(
            ErrorKind::Storage,
            format!("cannot save memory tracker file {}: {e}", path.display()),
        )
        .with_source(e)
    };
    let name = path.file_name().ok_or_else(|| {
        fail(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a file name",
        ))
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        SAVES.fetch_add(1, Ordering::Relaxed)
    ));
    let written = File::create_new(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(fail(e));
    }
    // Makes the rename itself durable. Best effort: not every platform can
    // open a directory, and the new file is complete either way.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::testkit::ids as lit;
    use std::sync::Arc;

    use futures::executor::block_on;
    use serde_json::json;

    use crate::clock::{Clock, SystemClock};
    use crate::error::ErrorKind;
    use crate::model::UserRef;
    use crate::tracker::{MemoryTracker, NewAttachment, NewComment, NewIssue, Tracker};

    fn clock() -> Arc<dyn Clock> {
        Arc::new(SystemClock)
    }

    /// A tracker with a bit of everything: projects, an issue with a comment,
    /// an attachment and properties, users, admins and a group.
    fn filled() -> MemoryTracker {
        let t = MemoryTracker::new("https://acme.example").expect("url");
        t.add_project("SUP", "Support", &["Bug", "Task"], Some("Task"))
            .expect("project");
        t.add_project("DEV", "Development", &["Story"], None)
            .expect("project");
        let alice = t.as_user(UserRef::new(lit::user_id("alice"), "Alice"));
        t.set_project_admin(&lit::project("SUP"), &lit::user_id("alice"), true);
        t.set_group("support", &[lit::user_id("alice")]);
        block_on(async {
            let issue = alice
                .create_issue(
                    &NewIssue::new(lit::project("SUP"), "Bug", "Printer on fire")
                        .description("Smoke on floor 3.")
                        .labels(["urgent"]),
                )
                .await
                .expect("create");
            let mut marked = NewComment::public("Extinguisher applied.");
            marked
                .properties
                .insert("twinsync.marker".into(), json!({"op": "1"}));
            alice
                .add_comment(&issue.id, &marked)
                .await
                .expect("comment");
            alice
                .upload_attachment(
                    &issue.id,
                    &NewAttachment {
                        file_name: "photo.bin".into(),
                        mime_type: "application/octet-stream".into(),
                        content: vec![0, 1, 2, 255, 254],
                    },
                )
                .await
                .expect("attach");
            t.set_issue_property(&issue.id, "flag", &json!(true))
                .await
                .expect("property");
            t.create_issue(&NewIssue::new(
                lit::project("DEV"),
                "Story",
                "Fix the printer",
            ))
            .await
            .expect("create");
        });
        t
    }

    #[test]
    fn a_saved_tracker_loads_with_the_same_contents_and_carries_on_numbering() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("tracker.json");
        let t = filled();
        t.save(&path).expect("save");

        let loaded = MemoryTracker::load(&path, clock()).expect("load");
        assert_eq!(loaded.url(), t.url());
        assert!(t.calls().total() > 0);
        assert_eq!(loaded.calls().total(), 0, "call counts start afresh");
        for project in ["SUP", "DEV"] {
            let key = lit::project(project);
            assert_eq!(loaded.inspect_issues(&key), t.inspect_issues(&key));
        }
        block_on(async {
            let sup = loaded
                .issue_by_key(&lit::key("SUP-1"))
                .await
                .expect("SUP-1");
            assert_eq!(sup.comments[0].author.display_name, "Alice");
            assert_eq!(
                loaded
                    .download_attachment(&sup.attachments[0].id)
                    .await
                    .expect("content"),
                vec![0, 1, 2, 255, 254]
            );
            let project = loaded.project(&lit::project("SUP")).await.expect("SUP");
            assert_eq!(project.default_issue_type.as_deref(), Some("Task"));
            assert!(
                loaded
                    .is_project_admin(&lit::user_id("alice"), &lit::project("SUP"))
                    .await
                    .expect("admin")
            );
            assert_eq!(
                loaded.group_members("support").await.expect("group"),
                Some(vec![lit::user_id("alice")])
            );
            // New keys and ids follow the saved ones instead of reusing them.
            let next = loaded
                .create_issue(&NewIssue::new(lit::project("SUP"), "Task", "Second"))
                .await
                .expect("create");
            assert_eq!(next.key.as_str(), "SUP-2");
            let ids: Vec<String> = loaded
                .inspect_issues(&lit::project("SUP"))
                .iter()
                .chain(loaded.inspect_issues(&lit::project("DEV")).iter())
                .flat_map(|i| {
                    std::iter::once(i.id.to_string())
                        .chain(i.comments.iter().map(|c| c.id.to_string()))
                        .chain(i.attachments.iter().map(|a| a.id.to_string()))
                })
                .collect();
            let unique: std::collections::BTreeSet<_> = ids.iter().collect();
            assert_eq!(unique.len(), ids.len(), "ids collide: {ids:?}");
            let comment = loaded
                .add_comment(&sup.id, &NewComment::public("Still smoking"))
                .await
                .expect("comment");
            assert!(!ids.contains(&comment.id.to_string()));
        });
    }

    #[test]
    fn saving_replaces_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("tracker.json");
        let t = filled();
        t.save(&path).expect("first save");
        block_on(t.create_issue(&NewIssue::new(lit::project("DEV"), "Story", "Another")))
            .expect("create");
        t.save(&path).expect("second save");

        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec!["tracker.json"]);
        let loaded = MemoryTracker::load(&path, clock()).expect("load");
        assert_eq!(loaded.inspect_issues(&lit::project("DEV")).len(), 2);
    }

    #[test]
    fn a_failed_save_names_the_file_and_keeps_the_previous_one() {
        let dir = tempfile::tempdir().expect("dir");
        let missing = dir.path().join("no-such-dir").join("tracker.json");
        let err = filled().save(&missing).expect_err("no directory");
        assert_eq!(err.kind(), ErrorKind::Storage);
        assert!(err.to_string().contains("no-such-dir"), "{err}");

        // A directory where the file should be: the rename fails, nothing is left over.
        let occupied = dir.path().join("occupied");
        std::fs::create_dir(&occupied).expect("dir");
        std::fs::write(occupied.join("keep"), b"x").expect("file");
        let err = filled().save(&occupied).expect_err("a directory");
        assert_eq!(err.kind(), ErrorKind::Storage);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec!["occupied"]);
    }

    fn load_error(bytes: &[u8]) -> crate::Error {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("tracker.json");
        std::fs::write(&path, bytes).expect("write");
        let err = MemoryTracker::load(&path, clock()).expect_err("a bad file");
        assert!(err.to_string().contains("tracker.json"), "{err}");
        err
    }

    #[test]
    fn missing_truncated_foreign_newer_and_damaged_files_give_clear_errors() {
        let dir = tempfile::tempdir().expect("dir");
        let err = MemoryTracker::load(dir.path().join("none.json"), clock()).expect_err("missing");
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains("none.json"), "{err}");

        let saved = {
            let path = dir.path().join("good.json");
            filled().save(&path).expect("save");
            std::fs::read(&path).expect("read")
        };
        let err = load_error(&saved[..saved.len() / 2]);
        assert_eq!(err.kind(), ErrorKind::Storage);
        assert!(
            err.to_string()
                .contains("is not a twinsync memory tracker file"),
            "{err}"
        );

        let err = load_error(&[0xff, 0x00, 0x13, 0x37]);
        assert_eq!(err.kind(), ErrorKind::Storage);

        let err = load_error(br#"{"format": "something-else", "version": 1}"#);
        assert!(
            err.to_string()
                .contains(r#"its format is "something-else""#),
            "{err}"
        );

        let mut newer: serde_json::Value = serde_json::from_slice(&saved).expect("json");
        newer["version"] = json!(super::VERSION + 1);
        let err = load_error(&serde_json::to_vec(&newer).expect("json"));
        assert!(
            err.to_string().contains("was written by a newer twinsync"),
            "{err}"
        );

        let mut lost_content: serde_json::Value = serde_json::from_slice(&saved).expect("json");
        lost_content["attachments"] = json!([]);
        let err = load_error(&serde_json::to_vec(&lost_content).expect("json"));
        assert!(err.to_string().contains("has no content"), "{err}");

        let mut keyless: serde_json::Value = serde_json::from_slice(&saved).expect("json");
        keyless["issues"][0]["key"] = json!("");
        let err = load_error(&serde_json::to_vec(&keyless).expect("json"));
        assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
        assert!(
            err.to_string().contains(r#"issue key "" is empty"#),
            "{err}"
        );

        let mut colliding: serde_json::Value = serde_json::from_slice(&saved).expect("json");
        colliding["next_id"] = json!(0);
        let err = load_error(&serde_json::to_vec(&colliding).expect("json"));
        assert!(
            err.to_string()
                .contains("is not one this tracker gives out"),
            "{err}"
        );
    }
}
