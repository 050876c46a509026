use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::model::{CommentId, InstanceUrl, UserId, UserRef, Visibility};
#[cfg(feature = "jira")]
use crate::replica::rich_fingerprint;
use crate::replica::{MARKER_PROPERTY, Marker};
use crate::testkit::ids as lit;
#[cfg(feature = "jira")]
use crate::tracker::jira::markup::{adf_to_wiki, wiki_to_adf};

fn origin() -> Origin {
    Origin {
        instance: InstanceUrl::parse("https://support.example.net").unwrap(),
        project: lit::project("SUP"),
        id: lit::issue_id("10001"),
        key: lit::key("SUP-1"),
    }
}

fn header() -> Header {
    AttributionTemplate::default().render("Alice Smith", &origin())
}

fn adf_body() -> RichText {
    RichText::adf(json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "Extinguisher "},
            {"type": "text", "text": "applied", "marks": [{"type": "strong"}]}]},
        {"type": "bulletList", "content": [{"type": "listItem", "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "twice"}]}]}]}
    ]}))
    .unwrap()
}

fn copy(body: RichText, header: Option<Header>, connection: &str) -> Comment {
    let mut properties = BTreeMap::new();
    properties.insert(
        MARKER_PROPERTY.to_owned(),
        Marker {
            connection: ConnectionId::parse(connection).unwrap(),
            origin_issue: lit::issue_id("10001"),
            origin_comment: Some(lit::comment_id("7")),
            op: "op-1".into(),
            header,
        }
        .to_value(),
    );
    Comment {
        id: CommentId::new("9").unwrap(),
        author: UserRef::new(UserId::new("sync").unwrap(), "twinsync integration"),
        body,
        created: time::macros::datetime!(2026-01-01 0:00 UTC),
        updated: time::macros::datetime!(2026-01-01 0:00 UTC),
        visibility: Visibility::Public,
        properties,
    }
}

#[test]
fn the_default_header_names_the_author_and_links_the_key() {
    let h = header();
    assert_eq!(h.text(), "Alice Smith commented on SUP-1");
    assert_eq!(
        h.to_adf(),
        json!({"type": "paragraph", "content": [
            {"type": "text", "text": "Alice Smith commented on "},
            {"type": "text", "text": "SUP-1", "marks": [{"type": "link",
                "attrs": {"href": "https://support.example.net/browse/SUP-1"}}]}
        ]})
    );
}

#[test]
fn templates_refuse_unknown_placeholders_and_escape_braces() {
    let t = AttributionTemplate::new("{{{author}}} on {instance} ({key})").unwrap();
    assert_eq!(
        t.render("Bob", &origin()).text(),
        "{Bob} on https://support.example.net (SUP-1)"
    );
    for bad in ["{who} said", "{author", "a } b", "", "  ", "two\nlines"] {
        let err = AttributionTemplate::new(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{bad:?}: {err}");
    }
    let json = serde_json::to_string(&t).unwrap();
    assert_eq!(
        serde_json::from_str::<AttributionTemplate>(&json).unwrap(),
        t
    );
    assert!(serde_json::from_str::<AttributionTemplate>(r#""{who}""#).is_err());
}

#[test]
fn an_author_name_cannot_break_the_header_line() {
    let h = AttributionTemplate::default().render("Eve\nInjected", &origin());
    assert_eq!(h.text(), "Eve Injected commented on SUP-1");
    let h = AttributionTemplate::default().render("", &origin());
    assert_eq!(h.text(), "Someone commented on SUP-1");
}

#[test]
fn adf_compose_then_strip_gives_the_body_back() {
    let body = adf_body();
    let written = header().compose(&body);
    assert_eq!(
        written.to_plain_text(),
        "Alice Smith commented on SUP-1\nExtinguisher applied\n- twice"
    );
    assert_eq!(header().strip(&written), Some(body.clone()));
    // A body without the header is not stripped.
    assert_eq!(header().strip(&body), None);
    // An empty body: the header alone, stripped back to nothing.
    let empty = RichText::adf(json!({"type": "doc", "version": 1, "content": []})).unwrap();
    assert_eq!(header().strip(&header().compose(&empty)), Some(empty));
}

#[test]
fn plain_compose_then_strip_gives_the_body_back() {
    for body in ["", "one line", "first\n\nthird"] {
        let body = RichText::plain(body);
        let written = header().compose(&body);
        assert!(
            written
                .to_plain_text()
                .starts_with("Alice Smith commented on SUP-1")
        );
        assert_eq!(header().strip(&written), Some(body));
    }
    // A header that is only the start of the first line is not the header.
    assert_eq!(
        header().strip(&RichText::plain("Alice Smith commented on SUP-12\nx")),
        None
    );
}

#[cfg(feature = "jira")]
#[test]
fn the_header_survives_the_data_center_wiki_round_trip() {
    for author in [
        "Alice Smith",
        "Ann *bold* _it_ [x|y] {code} -strike- ^up^ \\ |",
    ] {
        let h = AttributionTemplate::default().render(author, &origin());
        let written = h.compose(&adf_body());
        let wiki = adf_to_wiki(&written.to_adf());
        assert!(
            wiki.contains("[SUP-1|https://support.example.net/browse/SUP-1]"),
            "{wiki}"
        );
        let back = RichText::adf(wiki_to_adf(&wiki)).unwrap();
        let stripped = h
            .strip(&back)
            .unwrap_or_else(|| panic!("{author:?}: {wiki}"));
        // What remains is the body as Data Center holds it.
        let body_there = RichText::adf(wiki_to_adf(&adf_to_wiki(&adf_body().to_adf()))).unwrap();
        assert_eq!(rich_fingerprint(&stripped), rich_fingerprint(&body_there));
    }
}

#[test]
fn a_copy_is_read_without_its_header_only_while_it_is_intact() {
    let conn = ConnectionId::parse("SUP_to_DEV").unwrap();
    let body = adf_body();
    let c = copy(header().compose(&body), Some(header()), "SUP_to_DEV");
    assert_eq!(*local_comment_body(&c, &conn), body);
    assert_eq!(recorded_header(&c, &conn), Some(header()));
    assert!(is_twinsync_copy(&c));

    // The user edited the header: nothing is stripped, nothing is lost.
    let edited = RichText::plain("Alice (support lead) commented on SUP-1\nExtinguisher applied");
    let mut e = copy(edited.clone(), Some(header()), "SUP_to_DEV");
    assert_eq!(*local_comment_body(&e, &conn), edited);
    assert_eq!(recorded_header(&e, &conn), None);
    // Removed it: the same.
    e.body = body.clone();
    assert_eq!(*local_comment_body(&e, &conn), body);

    // Another connection's copy keeps its header on this connection (it is
    // content here), but counts as attributed.
    let other = copy(header().compose(&body), Some(header()), "DEV_to_OPS");
    assert_eq!(*local_comment_body(&other, &conn), header().compose(&body));
    assert!(is_twinsync_copy(&other));

    // An older marker without a header: nothing stripped.
    let old = copy(header().compose(&body), None, "SUP_to_DEV");
    assert_eq!(*local_comment_body(&old, &conn), header().compose(&body));
}

#[test]
fn markers_of_older_versions_still_read() {
    let old =
        json!({"connection": "SUP_to_DEV", "origin_issue": "1", "origin_comment": "2", "op": "o"});
    let m: Marker = serde_json::from_value(old.clone()).unwrap();
    assert_eq!(m.header, None);
    assert_eq!(
        m.to_value(),
        old,
        "a marker without a header writes as before"
    );
}
