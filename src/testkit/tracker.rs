//! The tracker conformance suite: one public async function per behaviour the
//! sync engine relies on. Each panics with a message naming what broke.
//!
//! Run them all as named tests with [`tracker_conformance!`](crate::tracker_conformance).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use serde_json::json;

use super::TrackerFixture;
use crate::error::{ErrorKind, Result};
use crate::model::{IssueId, IssueKey, RichText, Sha256};
use crate::testkit::ids as lit;
use crate::tracker::{
    IssueUpdate, NewAttachment, NewComment, NewIssue, Page, SearchPage, TrackerExt,
};

/// Generates one `#[test]` per conformance case.
///
/// `$fixture` is a function (or closure) returning a future of a
/// [`TrackerFixture`](crate::testkit::TrackerFixture); `$block_on` (optional,
/// default [`testkit::block_on`](crate::testkit::block_on)) runs a future to
/// completion on the runtime your adapter needs.
#[macro_export]
macro_rules! tracker_conformance {
    ($fixture:expr) => {
        $crate::tracker_conformance!($fixture, $crate::testkit::block_on);
    };
    ($fixture:expr, $block_on:path) => {
        $crate::tracker_conformance!(@cases $fixture, $block_on;
            instance_reports_normalized_url,
            project_lists_issue_types,
            missing_project_is_not_found,
            create_then_read_back,
            create_stores_marker_properties,
            issue_properties_round_trip,
            update_changes_only_given_fields,
            bad_issue_type_is_invalid_input,
            comments_keep_creation_order,
            comment_update_and_delete,
            issue_delete_takes_its_comments,
            comment_markers_are_stored,
            attachment_content_round_trips,
            attachment_references_round_trip,
            paging_returns_every_issue_once,
            search_by_project_finds_new_issue,
            updated_since_finds_changed_issues,
            missing_things_are_not_found,
            permission_queries,
            user_lookups,
            remote_links_round_trip,
            create_issues_reports_each_element_in_order,
            fields_beyond_basic_round_trip,
            issue_links_round_trip,
            workflow_transitions_round_trip,
        );
    };
    (@cases $fixture:expr, $block_on:path; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $block_on(async {
                    let fixture = ($fixture)().await;
                    $crate::testkit::tracker::$case(&fixture).await;
                });
            }
        )*
    };
}

mod batch;
mod comments;
mod fields;
mod links;
mod media;
mod people;
mod search;
mod workflows;
pub use batch::create_issues_reports_each_element_in_order;
pub use comments::{
    comment_markers_are_stored, comment_update_and_delete, comments_keep_creation_order,
    issue_delete_takes_its_comments,
};
pub use fields::{fields_beyond_basic_round_trip, issue_links_round_trip};
pub use links::remote_links_round_trip;
pub use media::attachment_references_round_trip;
pub use people::{permission_queries, user_lookups};
pub use search::{
    paging_returns_every_issue_once, search_by_project_finds_new_issue,
    updated_since_finds_changed_issues,
};
pub use workflows::workflow_transitions_round_trip;

fn unique(tag: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{tag}-{nanos:x}-{}", N.fetch_add(1, Ordering::Relaxed))
}

async fn create(f: &TrackerFixture, summary: &str) -> (IssueId, IssueKey) {
    let created = f
        .tracker
        .create_issue(&NewIssue::new(
            f.project.clone(),
            f.issue_type.clone(),
            summary,
        ))
        .await
        .unwrap_or_else(|e| panic!("create issue {summary:?} in {}: {e}", f.project));
    (created.id, created.key)
}

/// Runs `search` until `done` accepts its result, for up to the fixture's search lag.
async fn eventually<S, Fut>(
    f: &TrackerFixture,
    what: &str,
    mut search: S,
    done: impl Fn(&[SearchPage]) -> bool,
) where
    S: FnMut() -> Fut,
    Fut: std::future::Future<Output = Vec<SearchPage>>,
{
    let start = Instant::now();
    loop {
        let pages = search().await;
        if done(&pages) {
            return;
        }
        if start.elapsed() >= f.search_lag {
            panic!(
                "{what}: not seen within the search lag of {:?}",
                f.search_lag
            );
        }
        futures_timer::Delay::new(Duration::from_millis(250)).await;
    }
}

async fn all_pages(f: &TrackerFixture, jql: &str, page_size: u32) -> Vec<SearchPage> {
    f.tracker
        .search_pages(jql, Page::first(page_size))
        .take(10_000)
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("search {jql:?}: {e}"))
}

/// Asserts that `result` is the `Unsupported` error of an operation whose
/// capability is off.
fn assert_unsupported<T: std::fmt::Debug>(result: Result<T>, what: &str, capability: &str) {
    match result {
        Err(err) => assert_eq!(
            err.kind(),
            ErrorKind::Unsupported,
            "{what} without capability {capability} must be Unsupported: {err}"
        ),
        Ok(value) => panic!(
            "{what} without capability {capability} must be Unsupported, it answered {value:?}"
        ),
    }
}

/// `instance()` answers with a normalized URL and names the product.
pub async fn instance_reports_normalized_url(f: &TrackerFixture) {
    let info = f.tracker.instance().await.expect("instance()");
    let reparsed = crate::model::InstanceUrl::parse(info.url.as_str()).expect("url parses");
    assert_eq!(
        reparsed, info.url,
        "instance url must already be normalized"
    );
    assert!(!info.product.is_empty(), "instance must name its product");
}

/// `project()` lists the project's issue types, including the fixture's type.
pub async fn project_lists_issue_types(f: &TrackerFixture) {
    let project = f.tracker.project(&f.project).await.expect("project()");
    assert_eq!(project.key, f.project);
    assert!(
        project.issue_type(&f.issue_type).is_some(),
        "project {} must offer issue type {:?}; it lists {:?}",
        f.project,
        f.issue_type,
        project.issue_type_names()
    );
    if let Some(default) = &project.default_issue_type {
        assert!(
            project.issue_type(default).is_some(),
            "default type {default:?} must be listed"
        );
    }
}

/// A project that does not exist is `NotFound`, and permanent.
pub async fn missing_project_is_not_found(f: &TrackerFixture) {
    let err = f
        .tracker
        .project(&lit::project("NOSUCHPROJECT"))
        .await
        .expect_err("a missing project must fail");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(!err.is_temporary(), "not found must be permanent: {err}");
}

/// What is created reads back equal, by id and by key.
pub async fn create_then_read_back(f: &TrackerFixture) {
    let summary = unique("read back");
    let description = RichText::plain("first line\nsecond line");
    let created = f
        .tracker
        .create_issue(
            &NewIssue::new(f.project.clone(), f.issue_type.clone(), summary.clone())
                .description(description.clone())
                .labels(["beta", "alpha"]),
        )
        .await
        .expect("create_issue()");
    let by_id = f.tracker.issue(&created.id).await.expect("issue()");
    let by_key = f
        .tracker
        .issue_by_key(&created.key)
        .await
        .expect("issue_by_key()");
    assert_eq!(by_id, by_key, "reading by id and by key must agree");
    assert_eq!(by_id.id, created.id);
    assert_eq!(by_id.key, created.key);
    assert_eq!(by_id.project, f.project);
    assert!(by_id.issue_type.eq_ignore_ascii_case(&f.issue_type));
    assert_eq!(by_id.summary, summary);
    assert_eq!(
        by_id.description.to_plain_text(),
        description.to_plain_text()
    );
    assert_eq!(
        by_id.labels,
        vec!["alpha".to_owned(), "beta".to_owned()],
        "labels sorted"
    );
    assert!(by_id.comments.is_empty() && by_id.attachments.is_empty());
    assert!(by_id.updated >= by_id.created);
}

/// Properties sent with a create are on the issue at once (the sync marker);
/// an adapter without issue properties refuses such a create.
pub async fn create_stores_marker_properties(f: &TrackerFixture) {
    let marker = json!({"connection": "conformance", "origin": "SUP-1", "op": unique("op")});
    let new = NewIssue::new(f.project.clone(), f.issue_type.clone(), unique("marker"))
        .property("twinsync.marker", marker.clone());
    if !f.tracker.capabilities().issue_properties {
        let result = f.tracker.create_issue(&new).await;
        assert_unsupported(result, "create_issue() with a marker", "issue_properties");
        return;
    }
    let created = f
        .tracker
        .create_issue(&new)
        .await
        .expect("create_issue() with a marker");
    let issue = f.tracker.issue(&created.id).await.expect("issue()");
    assert_eq!(
        issue.properties.get("twinsync.marker"),
        Some(&marker),
        "marker on the snapshot"
    );
}

/// Issue properties can be set, replaced and cleared (set to null), and the
/// snapshot shows them.
pub async fn issue_properties_round_trip(f: &TrackerFixture) {
    let (id, _) = create(f, &unique("props")).await;
    let t = &f.tracker;
    if !t.capabilities().issue_properties {
        let result = t
            .set_issue_property(&id, "twinsync.state", &json!({"v": 1}))
            .await;
        assert_unsupported(result, "set_issue_property()", "issue_properties");
        return;
    }
    t.set_issue_property(&id, "twinsync.state", &json!({"v": 1}))
        .await
        .expect("set");
    t.set_issue_property(&id, "twinsync.state", &json!({"v": 2}))
        .await
        .expect("replace");
    let issue = t.issue(&id).await.expect("issue()");
    assert_eq!(
        issue.properties.get("twinsync.state"),
        Some(&json!({"v": 2}))
    );
    // The engine clears a marker by setting it to null.
    t.set_issue_property(&id, "twinsync.state", &serde_json::Value::Null)
        .await
        .expect("clear");
    let issue = t.issue(&id).await.expect("issue()");
    assert!(
        issue
            .properties
            .get("twinsync.state")
            .is_none_or(serde_json::Value::is_null),
        "a property set to null is gone: {:?}",
        issue.properties.get("twinsync.state")
    );
}

/// An update changes the given fields and leaves the others alone.
pub async fn update_changes_only_given_fields(f: &TrackerFixture) {
    let (id, _) = create(f, &unique("before")).await;
    let before = f.tracker.issue(&id).await.expect("issue()");
    let summary = unique("after");
    f.tracker
        .update_issue(
            &id,
            &IssueUpdate {
                summary: Some(summary.clone()),
                ..IssueUpdate::default()
            },
        )
        .await
        .expect("update_issue()");
    let after = f.tracker.issue(&id).await.expect("issue()");
    assert_eq!(after.summary, summary);
    assert_eq!(after.description, before.description);
    assert_eq!(after.issue_type, before.issue_type);
    assert!(after.updated >= before.updated);
}

/// Creating an issue of a type the project lacks is `InvalidInput`, and nothing is created.
pub async fn bad_issue_type_is_invalid_input(f: &TrackerFixture) {
    let summary = unique("bad type");
    let err = f
        .tracker
        .create_issue(&NewIssue::new(
            f.project.clone(),
            "NoSuchType",
            summary.clone(),
        ))
        .await
        .expect_err("an unknown issue type must fail");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let pages = all_pages(f, &format!("project = {}", f.project), 100).await;
    assert!(
        pages
            .iter()
            .flat_map(|p| &p.issues)
            .all(|i| i.summary != summary),
        "a failed create must not leave an issue"
    );
}

/// Uploaded content downloads byte for byte; deleting removes it.
pub async fn attachment_content_round_trips(f: &TrackerFixture) {
    let (id, _) = create(f, &unique("attachments")).await;
    let content: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    let file = NewAttachment {
        file_name: "trace.bin".to_owned(),
        mime_type: "application/octet-stream".to_owned(),
        content: content.clone(),
    };
    if !f.tracker.capabilities().attachments {
        let result = f.tracker.upload_attachment(&id, &file).await;
        assert_unsupported(result, "upload_attachment()", "attachments");
        return;
    }
    let meta = f
        .tracker
        .upload_attachment(&id, &file)
        .await
        .expect("upload_attachment()");
    assert_eq!(meta.file_name, "trace.bin");
    assert_eq!(meta.size, content.len() as u64);
    let issue = f.tracker.issue(&id).await.expect("issue()");
    assert_eq!(
        issue.attachments.iter().map(|a| &a.id).collect::<Vec<_>>(),
        [&meta.id],
        "the snapshot lists the attachment"
    );
    let downloaded = f
        .tracker
        .download_attachment(&meta.id)
        .await
        .expect("download");
    assert_eq!(
        Sha256::of(&downloaded),
        Sha256::of(&content),
        "same content hash"
    );
    if let Some(hash) = meta.sha256 {
        assert_eq!(hash, Sha256::of(&content), "reported hash is the content's");
    }
    f.tracker
        .delete_attachment(&meta.id)
        .await
        .expect("delete_attachment()");
    assert!(
        f.tracker
            .issue(&id)
            .await
            .expect("issue()")
            .attachments
            .is_empty(),
        "the snapshot no longer lists a deleted attachment"
    );
    let err = f
        .tracker
        .download_attachment(&meta.id)
        .await
        .expect_err("deleted");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

/// Missing issues, comments and attachments are `NotFound` everywhere, and permanent.
pub async fn missing_things_are_not_found(f: &TrackerFixture) {
    let t = &f.tracker;
    let missing = lit::issue_id("999999999");
    let mut errors = vec![
        t.issue(&missing).await.expect_err("issue()"),
        t.issue_by_key(&lit::key(format!("{}-999999", f.project)))
            .await
            .expect_err("issue_by_key()"),
        t.update_issue(
            &missing,
            &IssueUpdate {
                summary: Some("x".into()),
                ..Default::default()
            },
        )
        .await
        .expect_err("update_issue()"),
        t.add_comment(&missing, &NewComment::public("x"))
            .await
            .expect_err("add_comment()"),
    ];
    let (id, _) = create(f, &unique("not found")).await;
    errors.push(
        t.update_comment(&id, &lit::comment_id("999999999"), &RichText::plain("x"))
            .await
            .expect_err("update_comment()"),
    );
    if t.capabilities().attachments {
        errors.push(
            t.download_attachment(&lit::attachment_id("999999999"))
                .await
                .expect_err("download_attachment()"),
        );
    }
    for err in errors {
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(!err.is_temporary(), "{err}");
    }
}
