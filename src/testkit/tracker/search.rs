//! Conformance: searches, paging and changes since a time.

use super::*;

/// Paging through a search returns every matching issue exactly once.
pub async fn paging_returns_every_issue_once(f: &TrackerFixture) {
    let label = unique("paging").replace('-', "_");
    let mut want = BTreeSet::new();
    for i in 0..7 {
        let created = f
            .tracker
            .create_issue(
                &NewIssue::new(f.project.clone(), f.issue_type.clone(), format!("page {i}"))
                    .labels([label.clone()]),
            )
            .await
            .expect("create_issue()");
        want.insert(created.key);
    }
    let jql = format!("project = {} AND labels = {label}", f.project);
    eventually(
        f,
        "every issue in pages of 3",
        || all_pages(f, &jql, 3),
        |pages| {
            let keys: Vec<_> = pages
                .iter()
                .flat_map(|p| &p.issues)
                .map(|i| i.key.clone())
                .collect();
            let unique: BTreeSet<_> = keys.iter().cloned().collect();
            assert_eq!(
                keys.len(),
                unique.len(),
                "an issue appeared on two pages: {keys:?}"
            );
            unique == want
        },
    )
    .await;
    let pages = all_pages(f, &jql, 3).await;
    assert!(
        pages.len() >= 3,
        "7 issues in pages of 3 take 3 pages, got {}",
        pages.len()
    );
    assert!(pages.last().is_some_and(|p| p.next_page.is_none()));
}

/// `project = X` finds an issue created in X, with its comments.
pub async fn search_by_project_finds_new_issue(f: &TrackerFixture) {
    let (id, key) = create(f, &unique("search")).await;
    f.tracker
        .add_comment(&id, &NewComment::public("in the snapshot"))
        .await
        .expect("add_comment()");
    let jql = format!("project = {}", f.project);
    eventually(
        f,
        "a new issue by project",
        || all_pages(f, &jql, 100),
        |pages| {
            pages.iter().flat_map(|p| &p.issues).any(|i| {
                i.key == key
                    && i.comments
                        .iter()
                        .any(|c| c.body.to_plain_text() == "in the snapshot")
            })
        },
    )
    .await;
}

/// `updated_since` finds an issue changed at or after the time, and not before.
pub async fn updated_since_finds_changed_issues(f: &TrackerFixture) {
    let (id, key) = create(f, &unique("changed")).await;
    f.tracker
        .update_issue(
            &id,
            &IssueUpdate {
                summary: Some(unique("changed again")),
                ..IssueUpdate::default()
            },
        )
        .await
        .expect("update_issue()");
    let changed_at = f.tracker.issue(&id).await.expect("issue()").updated;
    let since = changed_at - Duration::from_secs(1);
    eventually(
        f,
        "the changed issue by updated_since",
        || async {
            vec![
                f.tracker
                    .updated_since(&f.project, since, &Page::first(100))
                    .await
                    .expect("updated_since()"),
            ]
        },
        |pages| pages.iter().flat_map(|p| &p.issues).any(|i| i.key == key),
    )
    .await;
    let later = changed_at + Duration::from_secs(24 * 3600);
    let none = f
        .tracker
        .updated_since(&f.project, later, &Page::first(100))
        .await
        .expect("updated_since()");
    assert!(
        none.issues.iter().all(|i| i.key != key),
        "an issue not changed since a time must not be returned"
    );
}
