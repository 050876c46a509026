//! The in-memory tracker's rules for fields beyond Basic, as a Jira project
//! enforces them: required fields on create, fields missing from a screen,
//! select options that do not exist, values of the wrong kind.
//!
//! A project that describes none of its fields (no [`FieldMeta`]) takes any
//! standard field as it is and no custom field.

use crate::error::{Error, ErrorKind, Result};
use crate::model::{CustomValue, FieldMeta, IssueFields, IssueRef, ProjectInfo, field_ids};
use crate::tracker::IssueUpdate;

/// Where a value is being set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Screen {
    Create,
    Edit,
}

impl Screen {
    fn name(self) -> &'static str {
        match self {
            Screen::Create => "create",
            Screen::Edit => "edit",
        }
    }
}

fn invalid(project: &ProjectInfo, message: String) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("project {}: {message}", project.key),
    )
}

/// Checks that `id` may be set on `screen` of `project` and returns its
/// metadata, if the project describes it.
fn settable<'a>(
    project: &'a ProjectInfo,
    id: &str,
    screen: Screen,
) -> Result<Option<&'a FieldMeta>> {
    let Some(meta) = project.field(id) else {
        if is_custom(id) {
            return Err(invalid(
                project,
                format!("field {id:?} cannot be set: it is unknown"),
            ));
        }
        return Ok(None);
    };
    let on = match screen {
        Screen::Create => meta.on_create,
        Screen::Edit => meta.on_edit,
    };
    if !on {
        return Err(invalid(
            project,
            format!(
                "field {} ({}) cannot be set: it is not on the {} screen",
                meta.name,
                meta.id,
                screen.name()
            ),
        ));
    }
    Ok(Some(meta))
}

fn is_custom(id: &str) -> bool {
    !field_ids::ALL.contains(&id)
}

/// `value` in the project's spelling, when `meta` lists options.
fn option(project: &ProjectInfo, meta: Option<&FieldMeta>, value: &str) -> Result<String> {
    let Some(meta) = meta.filter(|m| !m.options.is_empty()) else {
        return Ok(value.to_owned());
    };
    meta.option(value).map(str::to_owned).ok_or_else(|| {
        invalid(
            project,
            format!(
                "{value:?} is not an option of field {} ({}); options: {}",
                meta.name,
                meta.id,
                meta.options.join(", ")
            ),
        )
    })
}

fn options(
    project: &ProjectInfo,
    meta: Option<&FieldMeta>,
    values: &[String],
) -> Result<Vec<String>> {
    let mut out = values
        .iter()
        .map(|v| option(project, meta, v))
        .collect::<Result<Vec<_>>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// A custom field's value checked against its metadata, normalized.
fn custom(
    project: &ProjectInfo,
    id: &str,
    value: &CustomValue,
    screen: Screen,
) -> Result<CustomValue> {
    let meta = settable(project, id, screen)?.ok_or_else(|| {
        invalid(
            project,
            format!("field {id:?} cannot be set: it is unknown"),
        )
    })?;
    if meta.kind != value.kind() {
        return Err(invalid(
            project,
            format!(
                "field {} ({}) holds a {}, not a {}",
                meta.name,
                meta.id,
                meta.kind,
                value.kind()
            ),
        ));
    }
    Ok(match value {
        CustomValue::Select(v) => CustomValue::Select(option(project, Some(meta), v)?),
        CustomValue::MultiSelect(v) => CustomValue::MultiSelect(options(project, Some(meta), v)?),
        other => other.clone().normalized(),
    })
}

/// The fields of a new issue of `project`, checked and normalized; `parent`
/// resolves a parent's id to its current reference.
pub(super) fn new_fields(
    project: &ProjectInfo,
    issue_type: &str,
    fields: &IssueFields,
    parent: impl Fn(&IssueRef) -> Result<IssueRef>,
) -> Result<IssueFields> {
    let screen = Screen::Create;
    let mut out = IssueFields::default();
    if let Some(p) = &fields.priority {
        let meta = settable(project, field_ids::PRIORITY, screen)?;
        out.priority = Some(option(project, meta, p)?);
    }
    if fields.assignee.is_some() {
        settable(project, field_ids::ASSIGNEE, screen)?;
        out.assignee.clone_from(&fields.assignee);
    }
    if fields.reporter.is_some() {
        settable(project, field_ids::REPORTER, screen)?;
        out.reporter.clone_from(&fields.reporter);
    }
    if fields.due_date.is_some() {
        settable(project, field_ids::DUE_DATE, screen)?;
        out.due_date = fields.due_date;
    }
    if !fields.components.is_empty() {
        let meta = settable(project, field_ids::COMPONENTS, screen)?;
        out.components = options(project, meta, &fields.components)?;
    }
    if !fields.fix_versions.is_empty() {
        let meta = settable(project, field_ids::FIX_VERSIONS, screen)?;
        out.fix_versions = options(project, meta, &fields.fix_versions)?;
    }
    if let Some(p) = &fields.parent {
        settable(project, field_ids::PARENT, screen)?;
        out.parent = Some(parent(p)?);
    }
    for (id, value) in &fields.custom {
        out.custom
            .insert(id.clone(), custom(project, id, value, screen)?);
    }
    for meta in project.fields.iter().filter(|m| m.required_in(issue_type)) {
        if !holds(&out, &meta.id) {
            return Err(invalid(
                project,
                format!(
                    "field {} ({}) is required to create a {issue_type}",
                    meta.name, meta.id
                ),
            ));
        }
    }
    Ok(out)
}

/// Whether `fields` hold a value of the field `id`.
fn holds(fields: &IssueFields, id: &str) -> bool {
    match id {
        field_ids::PRIORITY => fields.priority.is_some(),
        field_ids::ASSIGNEE => fields.assignee.is_some(),
        field_ids::REPORTER => fields.reporter.is_some(),
        field_ids::DUE_DATE => fields.due_date.is_some(),
        field_ids::COMPONENTS => !fields.components.is_empty(),
        field_ids::FIX_VERSIONS => !fields.fix_versions.is_empty(),
        field_ids::PARENT => fields.parent.is_some(),
        custom => fields.custom.contains_key(custom),
    }
}

/// `update`'s changes to the fields beyond Basic, checked against `project`
/// and applied to a copy of `current`; the issue itself is changed only when
/// every change is valid.
pub(super) fn updated_fields(
    project: &ProjectInfo,
    issue_type: &str,
    current: &IssueFields,
    update: &IssueUpdate,
    parent: impl Fn(&crate::model::IssueId) -> Result<IssueRef>,
) -> Result<IssueFields> {
    let screen = Screen::Edit;
    let mut out = current.clone();
    if let Some(p) = &update.priority {
        let meta = settable(project, field_ids::PRIORITY, screen)?;
        out.priority = Some(option(project, meta, p)?);
    }
    if let Some(a) = &update.assignee {
        settable(project, field_ids::ASSIGNEE, screen)?;
        out.assignee.clone_from(a);
    }
    if let Some(r) = &update.reporter {
        settable(project, field_ids::REPORTER, screen)?;
        out.reporter = Some(r.clone());
    }
    if let Some(d) = &update.due_date {
        settable(project, field_ids::DUE_DATE, screen)?;
        out.due_date = *d;
    }
    if let Some(c) = &update.components {
        let meta = settable(project, field_ids::COMPONENTS, screen)?;
        out.components = options(project, meta, c)?;
    }
    if let Some(v) = &update.fix_versions {
        let meta = settable(project, field_ids::FIX_VERSIONS, screen)?;
        out.fix_versions = options(project, meta, v)?;
    }
    if let Some(p) = &update.parent {
        settable(project, field_ids::PARENT, screen)?;
        out.parent = p.as_ref().map(&parent).transpose()?;
    }
    for (id, value) in &update.custom {
        match value {
            Some(value) => {
                let value = custom(project, id, value, screen)?;
                out.custom.insert(id.clone(), value);
            }
            None => {
                settable(project, id, screen)?;
                out.custom.remove(id);
            }
        }
    }
    // A required field holding a value keeps one.
    for meta in project.fields.iter().filter(|m| m.required_in(issue_type)) {
        if holds(current, &meta.id) && !holds(&out, &meta.id) {
            return Err(invalid(
                project,
                format!(
                    "field {} ({}) is required and cannot be cleared",
                    meta.name, meta.id
                ),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::ErrorKind;
    use crate::model::{CustomValue, FieldKind, FieldMeta, IssueFields, ProjectKey, UserRef};
    use crate::testkit::{block_on, ids as lit};
    use crate::tracker::memory::MemoryTracker;
    use crate::tracker::{IssueUpdate, NewIssue, Tracker};

    const SEVERITY: &str = "customfield_10010";

    fn tracker() -> MemoryTracker {
        let t = MemoryTracker::new("https://memory.example").unwrap();
        t.add_project("SUP", "Support", &["Bug", "Epic"], None)
            .unwrap();
        t.add_field(
            "SUP",
            FieldMeta::new(SEVERITY, "Severity", FieldKind::Select)
                .options(["S1", "S2", "S3"])
                .required(),
        )
        .unwrap();
        t.add_field(
            "SUP",
            FieldMeta::new("priority", "Priority", FieldKind::Select)
                .options(["Highest", "High", "Low"]),
        )
        .unwrap();
        t.add_field(
            "SUP",
            FieldMeta::new("customfield_10020", "Root cause", FieldKind::Paragraph)
                .on_create(false),
        )
        .unwrap();
        t
    }

    fn sup() -> ProjectKey {
        lit::project("SUP")
    }

    fn severity(v: &str) -> IssueFields {
        let mut f = IssueFields::default();
        f.custom
            .insert(SEVERITY.into(), CustomValue::Select(v.into()));
        f
    }

    fn create(t: &MemoryTracker, fields: IssueFields) -> crate::Result<crate::model::Issue> {
        let created =
            block_on(t.create_issue(&NewIssue::new(sup(), "Bug", "Printer").fields(fields)))?;
        block_on(t.issue(&created.id))
    }

    fn refused(result: crate::Result<impl std::fmt::Debug>, names: &[&str]) {
        let err = result.expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        for name in names {
            assert!(err.to_string().contains(name), "{err} names {name}");
        }
    }

    #[test]
    fn fields_are_kept_in_the_projects_spelling_and_order() {
        let t = tracker();
        let mut f = severity("s1");
        f.priority = Some("high".into());
        f.components = vec!["b".into(), "a".into(), "b".into()];
        f.due_date = Some(time::macros::date!(2026 - 12 - 24));
        f.assignee = Some(UserRef::new(lit::user_id("ann"), "Ann"));
        let issue = create(&t, f).unwrap();
        assert_eq!(issue.fields.priority.as_deref(), Some("High"));
        assert_eq!(
            issue.fields.custom[SEVERITY],
            CustomValue::Select("S1".into())
        );
        assert_eq!(issue.fields.components, ["a", "b"]);
        assert_eq!(
            issue.fields.due_date,
            Some(time::macros::date!(2026 - 12 - 24))
        );
    }

    #[test]
    fn bad_values_are_refused_by_field_and_value_and_nothing_is_created() {
        let t = tracker();
        refused(
            create(&t, IssueFields::default()),
            &["Severity", SEVERITY, "required"],
        );
        refused(
            create(&t, severity("S9")),
            &["\"S9\"", "Severity", "S1, S2, S3"],
        );
        let mut f = severity("S1");
        f.custom
            .insert(SEVERITY.into(), CustomValue::Text("S1".into()));
        refused(create(&t, f), &["Severity", "select", "text"]);
        let mut f = severity("S1");
        f.custom
            .insert("customfield_99".into(), CustomValue::Text("x".into()));
        refused(create(&t, f), &["customfield_99", "unknown"]);
        let mut f = severity("S1");
        f.custom.insert(
            "customfield_10020".into(),
            CustomValue::Paragraph("why".into()),
        );
        refused(create(&t, f), &["Root cause", "create screen"]);
        let mut f = severity("S1");
        f.priority = Some("Urgent".into());
        refused(create(&t, f), &["\"Urgent\"", "Priority"]);
        assert!(t.inspect_issues(&sup()).is_empty(), "nothing was created");
    }

    #[test]
    fn an_update_with_one_bad_field_changes_nothing() {
        let t = tracker();
        let issue = create(&t, severity("S2")).unwrap();
        let update = IssueUpdate::new()
            .summary("Printer on fire")
            .priority("Low")
            .custom(SEVERITY, Some(CustomValue::Select("S7".into())));
        refused(block_on(t.update_issue(&issue.id, &update)), &["S7"]);
        let after = block_on(t.issue(&issue.id)).unwrap();
        assert_eq!(after.summary, "Printer");
        assert_eq!(after.fields, issue.fields);
        refused(
            block_on(t.update_issue(&issue.id, &IssueUpdate::new().custom(SEVERITY, None))),
            &["Severity", "required"],
        );
        let update = IssueUpdate::new()
            .priority("low")
            .due_date(Some(time::macros::date!(2027 - 01 - 02)))
            .custom(
                "customfield_10020",
                Some(CustomValue::Paragraph("toner".into())),
            );
        block_on(t.update_issue(&issue.id, &update)).unwrap();
        let after = block_on(t.issue(&issue.id)).unwrap();
        assert_eq!(after.fields.priority.as_deref(), Some("Low"));
        assert_eq!(
            after.fields.due_date,
            Some(time::macros::date!(2027 - 01 - 02))
        );
        block_on(t.update_issue(&issue.id, &IssueUpdate::new().due_date(None))).unwrap();
        assert_eq!(block_on(t.issue(&issue.id)).unwrap().fields.due_date, None);
        t.add_field(
            "SUP",
            FieldMeta::new("duedate", "Due date", FieldKind::Date).required(),
        )
        .unwrap();
        let dated = IssueUpdate::new().due_date(Some(time::macros::date!(2027 - 01 - 01)));
        block_on(t.update_issue(&issue.id, &dated)).unwrap();
        // A required standard field cannot be cleared either.
        refused(
            block_on(t.update_issue(&issue.id, &IssueUpdate::new().due_date(None))),
            &["Due date (duedate) is required"],
        );
    }

    /// A field only Bugs require: an Epic goes without, a Bug does not.
    #[test]
    fn a_field_can_be_required_for_some_issue_types_only() {
        let t = tracker();
        t.add_field(
            "SUP",
            FieldMeta::new("duedate", "Due date", FieldKind::Date).required_for(["bug"]),
        )
        .unwrap();
        let epic = NewIssue::new(sup(), "Epic", "Printers").fields(severity("S1"));
        block_on(t.create_issue(&epic)).unwrap();
        refused(
            create(&t, severity("S1")),
            &["Due date (duedate) is required to create a Bug"],
        );
    }

    #[test]
    fn parents_must_exist_and_never_form_a_cycle() {
        let t = tracker();
        let epic = create(&t, severity("S3")).unwrap();
        let mut f = severity("S3");
        f.parent = Some(epic.reference());
        let child = create(&t, f).unwrap();
        assert_eq!(child.fields.parent, Some(epic.reference()));
        refused(
            block_on(t.update_issue(&epic.id, &IssueUpdate::new().parent(Some(child.id.clone())))),
            &["cycle", child.key.as_str()],
        );
        refused(
            block_on(t.update_issue(&epic.id, &IssueUpdate::new().parent(Some(epic.id.clone())))),
            &["cycle"],
        );
        refused(
            block_on(t.update_issue(
                &child.id,
                &IssueUpdate::new().parent(Some(lit::issue_id("999"))),
            )),
            &["parent 999 does not exist"],
        );
        block_on(t.update_issue(&child.id, &IssueUpdate::new().parent(None))).unwrap();
        assert_eq!(block_on(t.issue(&child.id)).unwrap().fields.parent, None);
    }

    #[test]
    fn links_show_on_both_ends_once_and_go_with_either() {
        use crate::model::LinkDirection;
        use crate::tracker::NewIssueLink;
        let t = tracker();
        let a = create(&t, severity("S1")).unwrap();
        let b = create(&t, severity("S1")).unwrap();
        let link = NewIssueLink::new("blocks", a.id.clone(), b.id.clone());
        block_on(t.add_issue_link(&link)).unwrap();
        block_on(t.add_issue_link(&link)).unwrap();
        let (a1, b1) = (
            block_on(t.issue(&a.id)).unwrap(),
            block_on(t.issue(&b.id)).unwrap(),
        );
        assert_eq!(
            a1.fields.links.len(),
            1,
            "added once: {:?}",
            a1.fields.links
        );
        let (la, lb) = (&a1.fields.links[0], &b1.fields.links[0]);
        assert_eq!(
            (la.link_type.as_str(), la.direction, &la.issue),
            ("Blocks", LinkDirection::Outward, &b.reference())
        );
        assert_eq!(
            (lb.direction, &lb.issue, &lb.id),
            (LinkDirection::Inward, &a.reference(), &la.id)
        );
        refused(
            block_on(t.add_issue_link(&NewIssueLink::new("Causes", a.id.clone(), b.id.clone()))),
            &["\"Causes\"", "Blocks, Cloners, Duplicate, Relates"],
        );
        refused(
            block_on(t.add_issue_link(&NewIssueLink::new("Relates", a.id.clone(), a.id.clone()))),
            &["linked to itself"],
        );
        block_on(t.delete_issue_link(&la.id)).unwrap();
        assert!(block_on(t.issue(&b.id)).unwrap().fields.links.is_empty());
        assert_eq!(
            block_on(t.delete_issue_link(&la.id)).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        block_on(t.add_issue_link(&link)).unwrap();
        block_on(t.delete_issue(&a.id)).unwrap();
        assert!(
            block_on(t.issue(&b.id)).unwrap().fields.links.is_empty(),
            "gone with its issue"
        );
        let types = block_on(t.issue_link_types()).unwrap();
        assert!(
            types
                .iter()
                .any(|t| t.name == "Blocks" && t.inward == "is blocked by")
        );
    }
}
