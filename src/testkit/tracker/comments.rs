//! Conformance: comments, their order, edits, deletes and markers.

use super::*;

/// Comments come back oldest first with their bodies and authors.
pub async fn comments_keep_creation_order(f: &TrackerFixture) {
    let (id, _) = create(f, &unique("comments")).await;
    let mut ids = Vec::new();
    for body in ["one", "two", "three"] {
        let c = f
            .tracker
            .add_comment(&id, &NewComment::public(body))
            .await
            .expect("add_comment()");
        assert_eq!(c.body.to_plain_text(), body);
        assert!(
            !c.author.id.as_str().is_empty(),
            "a comment names its author"
        );
        ids.push(c.id);
    }
    let issue = f.tracker.issue(&id).await.expect("issue()");
    assert!(
        issue
            .comments
            .windows(2)
            .all(|w| w[0].author.id == w[1].author.id),
        "the adapter's comments all have the adapter's user as author"
    );
    let got: Vec<_> = issue
        .comments
        .iter()
        .map(|c| c.body.to_plain_text())
        .collect();
    assert_eq!(got, ["one", "two", "three"]);
    let got_ids: Vec<_> = issue.comments.iter().map(|c| c.id.clone()).collect();
    assert_eq!(got_ids, ids);
}

/// A comment can be edited and deleted; the others stay.
pub async fn comment_update_and_delete(f: &TrackerFixture) {
    let (id, _) = create(f, &unique("edit comments")).await;
    let t = &f.tracker;
    let a = t
        .add_comment(&id, &NewComment::public("a"))
        .await
        .expect("add");
    let b = t
        .add_comment(&id, &NewComment::public("b"))
        .await
        .expect("add");
    let edited = t
        .update_comment(&id, &a.id, &RichText::plain("a, edited"))
        .await
        .expect("update_comment()");
    assert_eq!(edited.body.to_plain_text(), "a, edited");
    assert!(edited.updated >= edited.created);
    if !t.capabilities().delete_comments {
        let result = t.delete_comment(&id, &b.id).await;
        assert_unsupported(result, "delete_comment()", "delete_comments");
    } else {
        t.delete_comment(&id, &b.id)
            .await
            .expect("delete_comment()");
        let issue = t.issue(&id).await.expect("issue()");
        let bodies: Vec<_> = issue
            .comments
            .iter()
            .map(|c| c.body.to_plain_text())
            .collect();
        assert_eq!(bodies, ["a, edited"]);
        let err = t
            .delete_comment(&id, &b.id)
            .await
            .expect_err("deleted twice");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    }
}

/// An issue can be deleted with its comments: reading it, or deleting it
/// again, is `NotFound`; the others stay. An adapter without the
/// `delete_issues` capability says `Unsupported`.
pub async fn issue_delete_takes_its_comments(f: &TrackerFixture) {
    let (id, key) = create(f, &unique("delete issue")).await;
    let (other, _) = create(f, &unique("kept issue")).await;
    let t = &f.tracker;
    t.add_comment(&id, &NewComment::public("goes with it"))
        .await
        .expect("add");
    if !t.capabilities().delete_issues {
        let result = t.delete_issue(&id).await;
        assert_unsupported(result, "delete_issue()", "delete_issues");
        return;
    }
    t.delete_issue(&id).await.expect("delete_issue()");
    let err = t.issue(&id).await.expect_err("a deleted issue");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err = t
        .issue_by_key(&key)
        .await
        .expect_err("a deleted issue's key");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err = t.delete_issue(&id).await.expect_err("deleted twice");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    t.issue(&other).await.expect("the other issue stays");
}

/// Properties sent with a new comment are stored with it; an adapter without
/// comment properties refuses such a comment.
pub async fn comment_markers_are_stored(f: &TrackerFixture) {
    let (id, _) = create(f, &unique("comment marker")).await;
    let marker = json!({"origin": "42", "op": unique("op")});
    let new = NewComment::public("marked").property("twinsync.marker", marker.clone());
    if !f.tracker.capabilities().comment_properties {
        let result = f.tracker.add_comment(&id, &new).await;
        assert_unsupported(result, "add_comment() with a marker", "comment_properties");
        return;
    }
    let c = f
        .tracker
        .add_comment(&id, &new)
        .await
        .expect("add_comment() with a marker");
    let issue = f.tracker.issue(&id).await.expect("issue()");
    let read = issue.comment(&c.id).expect("comment on the issue");
    assert_eq!(
        read.properties.get("twinsync.marker"),
        Some(&marker),
        "marker on the snapshot"
    );
}
