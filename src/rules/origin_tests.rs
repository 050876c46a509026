use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::model::{InstanceUrl, RichText};
use crate::replica::MARKER_PROPERTY;
use crate::testkit::ids as lit;

fn origin() -> Origin {
    Origin {
        instance: InstanceUrl::parse("https://support.example.net").unwrap(),
        project: lit::project("SUP"),
        id: lit::issue_id("10001"),
        key: lit::key("SUP-1"),
    }
}

fn conn(name: &str) -> ConnectionId {
    ConnectionId::parse(name).unwrap()
}

fn twin(description: RichText, line: Option<Header>, connection: &str) -> Issue {
    let mut properties = BTreeMap::new();
    properties.insert(
        MARKER_PROPERTY.to_owned(),
        Marker {
            connection: conn(connection),
            origin_issue: lit::issue_id("10001"),
            origin_comment: None,
            op: "op-1".into(),
            header: line,
        }
        .to_value(),
    );
    let at = time::macros::datetime!(2026-01-01 0:00 UTC);
    Issue {
        id: lit::issue_id("20001"),
        key: lit::key("DEV-1"),
        project: lit::project("DEV"),
        issue_type: "Task".into(),
        summary: "Printer on fire".into(),
        description,
        comments: Vec::new(),
        attachments: Vec::new(),
        labels: Vec::new(),
        status: "Open".into(),
        fields: Default::default(),
        creator: None,
        created: at,
        updated: at,
        properties,
    }
}

#[test]
fn the_default_line_names_the_key_linked_and_the_site() {
    let line = OriginTemplate::default().render(&origin());
    assert_eq!(
        line.text(),
        "Synced from SUP-1 on https://support.example.net"
    );
    let linked: Vec<_> = line.runs.iter().filter_map(|r| r.link.as_deref()).collect();
    assert_eq!(linked, ["https://support.example.net/browse/SUP-1"]);
}

#[test]
fn templates_naming_an_author_or_unknown_placeholders_are_refused() {
    for bad in ["{author} filed {key}", "{who}", "line\nbreak", "  "] {
        let err = OriginTemplate::new(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{bad}");
        assert!(err.to_string().contains("origin template"), "{err}");
    }
    let literal = OriginTemplate::new("{{author}} of {key}").unwrap();
    assert_eq!(literal.render(&origin()).text(), "{author} of SUP-1");
}

#[test]
fn settings_read_as_json_the_way_the_docs_say() {
    let parse = |s: &str| serde_json::from_str::<IssueOrigin>(s).unwrap();
    assert_eq!(parse(r#""off""#), IssueOrigin::Off);
    assert_eq!(parse(r#""remote_link""#), IssueOrigin::RemoteLink);
    assert_eq!(
        parse(r#"{"description_line": "From {key}"}"#),
        IssueOrigin::DescriptionLine(OriginTemplate::new("From {key}").unwrap())
    );
    assert!(serde_json::from_str::<IssueOrigin>(r#"{"description_line": "{x}"}"#).is_err());
}

#[test]
fn a_remote_link_falls_back_to_the_default_line_where_links_cannot_be_held() {
    assert_eq!(
        IssueOrigin::RemoteLink.on_tracker(false),
        IssueOrigin::DescriptionLine(OriginTemplate::default())
    );
    assert_eq!(
        IssueOrigin::RemoteLink.on_tracker(true),
        IssueOrigin::RemoteLink
    );
    assert_eq!(IssueOrigin::Off.on_tracker(false), IssueOrigin::Off);
}

#[test]
fn the_origin_link_is_one_per_connection_and_points_at_the_original() {
    let a = origin_link(&origin(), &conn("SUP_to_DEV"));
    assert_eq!(a.url, "https://support.example.net/browse/SUP-1");
    assert_eq!(a.title, "SUP-1");
    assert_eq!(a.relationship.as_deref(), Some(ORIGIN_RELATIONSHIP));
    let b = origin_link(&origin(), &conn("other"));
    assert_ne!(a.global_id, b.global_id);
    let mut moved = origin();
    moved.key = lit::key("SUP-9");
    let c = origin_link(&moved, &conn("SUP_to_DEV"));
    assert_eq!(a.global_id, c.global_id, "the same twin, the same link");
    assert_ne!(origin_link_fingerprint(&a), origin_link_fingerprint(&c));
}

#[test]
fn a_twins_line_is_stripped_only_while_it_is_as_recorded_and_only_for_its_connection() {
    let line = OriginTemplate::default().render(&origin());
    let body = RichText::adf(json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "It smokes."}]}]}))
    .unwrap();
    let issue = twin(line.compose(&body), Some(line.clone()), "SUP_to_DEV");
    assert_eq!(
        local_description(&issue, &conn("SUP_to_DEV")).description,
        body
    );
    // Another connection's view, and an original without a marker, keep it all.
    assert_eq!(
        local_description(&issue, &conn("other")).description,
        issue.description
    );
    // A user who removed the line loses nothing: nothing is stripped.
    let edited = twin(body.clone(), Some(line.clone()), "SUP_to_DEV");
    assert_eq!(
        local_description(&edited, &conn("SUP_to_DEV")).description,
        body
    );
    let plain = twin(
        RichText::plain(format!("{}\nIt smokes.", line.text())),
        Some(line.clone()),
        "SUP_to_DEV",
    );
    assert_eq!(
        local_description(&plain, &conn("SUP_to_DEV")).description,
        RichText::plain("It smokes.")
    );
    // A twin written without a line (a remote link instead) is read as it is.
    let linked = twin(plain.description.clone(), None, "SUP_to_DEV");
    assert_eq!(
        local_description(&linked, &conn("SUP_to_DEV")).description,
        plain.description
    );
}
