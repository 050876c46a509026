//! Conformance: creating issues in batches.

use serde_json::json;

use crate::error::ErrorKind;
use crate::testkit::TrackerFixture;
use crate::tracker::NewIssue;

/// `create_issues()` answers one result per element, in order: a batch of
/// three whose second element names an issue type the project lacks creates
/// the first and third (each with its marker property, in the same request)
/// and gives the second an `InvalidInput` error; `batch_create` is at least 1.
/// An empty batch creates nothing.
pub async fn create_issues_reports_each_element_in_order(f: &TrackerFixture) {
    let t = &f.tracker;
    assert!(
        t.capabilities().batch_create >= 1,
        "batch_create must be at least 1"
    );
    assert!(
        t.create_issues(&[])
            .await
            .expect("create_issues(&[])")
            .is_empty(),
        "an empty batch answers nothing"
    );
    let marker =
        |n: usize| json!({"connection": "conformance", "op": super::unique(&format!("batch{n}"))});
    let summaries: Vec<String> = (0..3)
        .map(|n| super::unique(&format!("batch {n}")))
        .collect();
    let mut batch: Vec<NewIssue> = summaries
        .iter()
        .enumerate()
        .map(|(n, summary)| {
            NewIssue::new(f.project.clone(), f.issue_type.clone(), summary.clone())
                .property("twinsync.marker", marker(n))
        })
        .collect();
    batch[1].issue_type = "NoSuchType".to_owned();
    if !t.capabilities().issue_properties {
        let result = t.create_issues(&batch).await;
        super::assert_unsupported(result, "create_issues() with markers", "issue_properties");
        return;
    }
    let results = t.create_issues(&batch).await.expect("create_issues()");
    assert_eq!(results.len(), 3, "one result per element: {results:?}");
    let err = results[1]
        .as_ref()
        .expect_err("the element with an unknown issue type must fail");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    for at in [0, 2] {
        let created = results[at]
            .as_ref()
            .unwrap_or_else(|e| panic!("element {at} must be created: {e}"));
        let issue = t.issue(&created.id).await.expect("issue()");
        assert_eq!(issue.key, created.key, "element {at}'s key");
        assert_eq!(
            issue.summary, summaries[at],
            "element {at}'s result is its own issue"
        );
        assert_eq!(
            issue.properties.get("twinsync.marker"),
            batch[at].properties.get("twinsync.marker"),
            "element {at}'s marker is stored with it"
        );
    }
    let pages = super::all_pages(f, &format!("project = {}", f.project), 100).await;
    assert!(
        pages
            .iter()
            .flat_map(|p| &p.issues)
            .all(|i| i.summary != summaries[1]),
        "a failed element must not leave an issue"
    );
}
