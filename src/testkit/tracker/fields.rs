//! Conformance: fields beyond Basic, and links between issues.

use crate::error::ErrorKind;
use crate::model::{CustomValue, FieldKind, FieldMeta, IssueFields, LinkDirection};
use crate::testkit::TrackerFixture;
use crate::tracker::{IssueUpdate, NewIssue, NewIssueLink};

/// A value of `meta`'s kind, the `n`th of its options for selects.
fn value_for(meta: &FieldMeta, n: usize) -> Option<CustomValue> {
    let option = |n: usize| meta.options.get(n % meta.options.len().max(1)).cloned();
    Some(match meta.kind {
        FieldKind::Text => CustomValue::Text(format!("text {n}")),
        FieldKind::Url => CustomValue::Url(format!("https://example.com/{n}")),
        FieldKind::Number => CustomValue::Number(serde_json::Number::from(n as u64 + 3)),
        FieldKind::Date => {
            CustomValue::Date(time::macros::date!(2026 - 12 - 01) + time::Duration::days(n as i64))
        }
        FieldKind::DateTime => CustomValue::DateTime(
            time::macros::datetime!(2026-12-01 10:30 UTC) + time::Duration::hours(n as i64),
        ),
        FieldKind::Select => CustomValue::Select(option(n)?),
        FieldKind::MultiSelect => CustomValue::MultiSelect(vec![option(n)?]),
        FieldKind::Labels => CustomValue::Labels(vec![format!("label-{n}")]),
        _ => return None,
    })
}

/// The project's fields beyond Basic (as [`Tracker::project`](crate::Tracker::project)
/// describes them) hold what a create and an edit set: priority, due date
/// and each custom field of a simple kind, read back equal; an edit changes
/// only what it names, and `None` clears a custom field. The fixture's
/// project must describe such fields (the MemoryTracker:
/// [`MemoryTracker::add_field`](crate::MemoryTracker::add_field)).
pub async fn fields_beyond_basic_round_trip(f: &TrackerFixture) {
    let t = &f.tracker;
    let project = t.project(&f.project).await.expect("project()");
    let custom: Vec<&FieldMeta> = project
        .fields
        .iter()
        .filter(|m| m.id.starts_with("customfield_") && m.on_create && m.on_edit)
        .filter(|m| value_for(m, 0).is_some())
        .collect();
    assert!(
        !custom.is_empty(),
        "project {} describes no custom fields of simple kinds on both screens; \
         the fixture must set some up",
        f.project
    );
    let mut fields = IssueFields::default();
    let priority = project
        .field("priority")
        .and_then(|p| p.options.first().cloned());
    fields.priority.clone_from(&priority);
    fields.due_date = Some(time::macros::date!(2026 - 12 - 24));
    for meta in &custom {
        fields
            .custom
            .insert(meta.id.clone(), value_for(meta, 0).expect("a value"));
    }
    let created = t
        .create_issue(
            &NewIssue::new(
                f.project.clone(),
                f.issue_type.clone(),
                super::unique("fields"),
            )
            .fields(fields.clone()),
        )
        .await
        .expect("create_issue() with fields");
    let read = t.issue(&created.id).await.expect("issue()");
    if priority.is_some() {
        assert_eq!(read.fields.priority, priority, "priority");
    }
    assert_eq!(read.fields.due_date, fields.due_date, "due date");
    for meta in &custom {
        assert_eq!(
            read.fields.custom.get(&meta.id),
            fields.custom.get(&meta.id),
            "{} ({}, {}) as created",
            meta.name,
            meta.id,
            meta.kind
        );
    }

    let (changed, cleared) = (custom[0], custom.get(1).copied());
    let mut update = IssueUpdate::new()
        .due_date(None)
        .custom(changed.id.clone(), value_for(changed, 1));
    if let Some(cleared) = cleared {
        update = update.custom(cleared.id.clone(), None);
    }
    t.update_issue(&created.id, &update)
        .await
        .expect("update_issue() with fields");
    let after = t.issue(&created.id).await.expect("issue()");
    assert_eq!(after.fields.due_date, None, "the due date was cleared");
    assert_eq!(
        after.fields.custom.get(&changed.id),
        value_for(changed, 1).as_ref(),
        "{} changed",
        changed.name
    );
    if let Some(cleared) = cleared {
        assert_eq!(
            after.fields.custom.get(&cleared.id),
            None,
            "{} cleared",
            cleared.name
        );
    }
    for meta in custom.iter().skip(2) {
        assert_eq!(
            after.fields.custom.get(&meta.id),
            read.fields.custom.get(&meta.id),
            "{} untouched by an edit naming other fields",
            meta.name
        );
    }
    assert_eq!(after.summary, read.summary, "the summary untouched");

    // A value the field does not allow is refused, naming the field.
    if let Some(select) = custom.iter().find(|m| m.kind == FieldKind::Select) {
        let bad = IssueUpdate::new().custom(
            select.id.clone(),
            Some(CustomValue::Select("no such option".into())),
        );
        let err = t
            .update_issue(&created.id, &bad)
            .await
            .expect_err("an option that does not exist");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(
            err.to_string().contains(&select.id) || err.to_string().contains(&select.name),
            "the error names the field: {err}"
        );
    }

    some_types_require_a_field(f, &project).await;
    some_create_screens_lack_a_field(f, &project).await;
}

/// A text field only some issue types' create screens show: an issue of
/// one of those types is created with it, one of another type is refused
/// (the error names the field).
async fn some_create_screens_lack_a_field(f: &TrackerFixture, project: &crate::model::ProjectInfo) {
    let t = &f.tracker;
    let meta = project
        .fields
        .iter()
        .find(|m| !m.create_types.is_empty() && m.kind == FieldKind::Text)
        .unwrap_or_else(|| {
            panic!(
                "project {} describes no text field only some create screens show; \
                 the fixture must set one up",
                f.project
            )
        });
    let shown = meta.create_types[0].clone();
    let other = project
        .issue_types
        .iter()
        .find(|k| !meta.on_create_for(&k.name))
        .expect("an issue type whose create screen lacks it");
    let mut filled = IssueFields::default();
    filled
        .custom
        .insert(meta.id.clone(), CustomValue::Text("Plug it in".into()));
    let new = |kind: &str| {
        NewIssue::new(f.project.clone(), kind, super::unique("screens")).fields(filled.clone())
    };
    t.create_issue(&new(&shown))
        .await
        .unwrap_or_else(|e| panic!("a {shown} with {}: {e}", meta.name));
    let err = t
        .create_issue(&new(&other.name))
        .await
        .expect_err("a field the create screen lacks");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(
        err.to_string().contains(&meta.id) || err.to_string().contains(&meta.name),
        "the error names the field: {err}"
    );
}

/// A text field only some issue types require: an issue of another type is
/// created without it, one of a type that requires it is refused (the
/// error names the field) until it has a value.
async fn some_types_require_a_field(f: &TrackerFixture, project: &crate::model::ProjectInfo) {
    let t = &f.tracker;
    let meta = project
        .fields
        .iter()
        .find(|m| !m.required && !m.required_for.is_empty() && m.kind == FieldKind::Text)
        .unwrap_or_else(|| {
            panic!(
                "project {} describes no text field only some issue types require; \
                 the fixture must set one up",
                f.project
            )
        });
    let needs = meta.required_for[0].clone();
    let other = project
        .issue_types
        .iter()
        .find(|k| !meta.required_in(&k.name))
        .expect("an issue type that does not require it");
    let new = |kind: &str| NewIssue::new(f.project.clone(), kind, super::unique("required"));
    t.create_issue(&new(&other.name))
        .await
        .unwrap_or_else(|e| panic!("a {} without {}: {e}", other.name, meta.name));
    let err = t
        .create_issue(&new(&needs))
        .await
        .expect_err("a required field missing");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(
        err.to_string().contains(&meta.id) || err.to_string().contains(&meta.name),
        "the error names the field: {err}"
    );
    let mut filled = IssueFields::default();
    filled
        .custom
        .insert(meta.id.clone(), CustomValue::Text("Printers".into()));
    t.create_issue(&new(&needs).fields(filled))
        .await
        .unwrap_or_else(|e| panic!("a {needs} with {}: {e}", meta.name));
}

/// With the `issue_links` capability: the link types include `Blocks`; a
/// link shows on both issues with the same id (outward on its "from" end,
/// inward on the other), adding it again adds none, deleting it removes it
/// from both, and deleting it again is `NotFound`. Without it, the calls are
/// `Unsupported`.
pub async fn issue_links_round_trip(f: &TrackerFixture) {
    let t = &f.tracker;
    let (a, _) = super::create(f, &super::unique("link-a")).await;
    let (b, _) = super::create(f, &super::unique("link-b")).await;
    let link = NewIssueLink::new("Blocks", a.clone(), b.clone());
    if !t.capabilities().issue_links {
        super::assert_unsupported(
            t.add_issue_link(&link).await,
            "add_issue_link()",
            "issue_links",
        );
        super::assert_unsupported(
            t.issue_link_types().await,
            "issue_link_types()",
            "issue_links",
        );
        return;
    }
    let types = t.issue_link_types().await.expect("issue_link_types()");
    assert!(
        types.iter().any(|t| t.name.eq_ignore_ascii_case("blocks")),
        "a Blocks link type: {types:?}"
    );
    t.add_issue_link(&link).await.expect("add_issue_link()");
    t.add_issue_link(&link)
        .await
        .expect("add_issue_link() again");
    let (ia, ib) = (
        t.issue(&a).await.expect("issue()"),
        t.issue(&b).await.expect("issue()"),
    );
    assert_eq!(
        ia.fields.links.len(),
        1,
        "one link on A: {:?}",
        ia.fields.links
    );
    assert_eq!(
        ib.fields.links.len(),
        1,
        "one link on B: {:?}",
        ib.fields.links
    );
    let (la, lb) = (&ia.fields.links[0], &ib.fields.links[0]);
    assert_eq!(
        (la.direction, &la.issue.id, la.link_type.to_lowercase()),
        (LinkDirection::Outward, &b, "blocks".to_owned()),
        "A blocks B"
    );
    assert_eq!(
        (lb.direction, &lb.issue.id, &lb.id),
        (LinkDirection::Inward, &a, &la.id),
        "B is blocked by A, the same link"
    );
    t.delete_issue_link(&la.id)
        .await
        .expect("delete_issue_link()");
    assert!(t.issue(&a).await.expect("issue()").fields.links.is_empty());
    assert!(t.issue(&b).await.expect("issue()").fields.links.is_empty());
    let err = t
        .delete_issue_link(&la.id)
        .await
        .expect_err("deleted twice");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}
