//! Conformance: remote links on an issue.

use crate::error::ErrorKind;
use crate::model::RemoteLink;
use crate::testkit::TrackerFixture;
use crate::testkit::ids as lit;

/// With the `remote_links` capability, links put on an issue read back in the
/// order they were added, a link put again with the same global id replaces
/// the first (one link, the new title), and a missing issue is `NotFound`;
/// without it, both calls are `Unsupported`.
pub async fn remote_links_round_trip(f: &TrackerFixture) {
    let t = &f.tracker;
    let (id, _) = super::create(f, &super::unique("links")).await;
    let first = RemoteLink::new(
        super::unique("twinsync-a"),
        "https://twin.example/browse/A-1",
        "A-1",
    );
    if !t.capabilities().remote_links {
        let result = t.put_remote_link(&id, &first).await;
        super::assert_unsupported(result, "put_remote_link()", "remote_links");
        let result = t.remote_links(&id).await;
        super::assert_unsupported(result, "remote_links()", "remote_links");
        return;
    }
    assert_eq!(
        t.remote_links(&id).await.expect("remote_links()"),
        Vec::new(),
        "a new issue has no remote links"
    );
    let second = RemoteLink::new(
        super::unique("twinsync-b"),
        "https://twin.example/browse/B-2",
        "B-2",
    );
    t.put_remote_link(&id, &first)
        .await
        .expect("put_remote_link()");
    t.put_remote_link(&id, &second)
        .await
        .expect("put_remote_link()");
    let titles = |links: Vec<RemoteLink>| {
        links
            .into_iter()
            .map(|l| (l.global_id, l.url, l.title))
            .collect::<Vec<_>>()
    };
    let read = t.remote_links(&id).await.expect("remote_links()");
    assert_eq!(
        titles(read),
        vec![
            (
                first.global_id.clone(),
                first.url.clone(),
                first.title.clone()
            ),
            (
                second.global_id.clone(),
                second.url.clone(),
                second.title.clone()
            ),
        ],
        "links read back in the order they were added"
    );

    let renamed = RemoteLink::new(first.global_id.clone(), first.url.clone(), "A-1 (moved)");
    t.put_remote_link(&id, &renamed)
        .await
        .expect("put_remote_link() again");
    let mut read = titles(t.remote_links(&id).await.expect("remote_links()"));
    read.sort();
    let mut want = vec![
        (renamed.global_id, renamed.url, renamed.title),
        (second.global_id, second.url, second.title),
    ];
    want.sort();
    assert_eq!(read, want, "the same global id replaces its link");

    let missing = lit::issue_id("999999999");
    let err = t.remote_links(&missing).await.expect_err("remote_links()");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err = t
        .put_remote_link(&missing, &first)
        .await
        .expect_err("put_remote_link()");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}
