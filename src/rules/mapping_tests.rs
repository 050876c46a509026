use super::*;
use crate::model::{CustomValue, FieldKind, FieldMeta};
use crate::rules::RuleSpec;
use crate::testkit::ids as lit;

const SEVERITY: &str = "customfield_10010";

fn sup() -> ProjectInfo {
    ProjectInfo {
        key: lit::project("SUP"),
        name: "Support".into(),
        issue_types: Vec::new(),
        default_issue_type: None,
        fields: vec![
            FieldMeta::new(SEVERITY, "Severity", FieldKind::Select).options(["S1", "S2", "S3"]),
            FieldMeta::new("customfield_10020", "Reviewer", FieldKind::User),
            FieldMeta::new("customfield_10030", "Found in", FieldKind::Text).on_edit(false),
        ],
    }
}

fn dev() -> ProjectInfo {
    ProjectInfo {
        key: lit::project("DEV"),
        fields: vec![
            FieldMeta::new("priority", "Priority", FieldKind::Select)
                .options(["Highest", "High", "Medium", "Low"]),
            FieldMeta::new("customfield_20000", "Estimate", FieldKind::Number),
        ],
        ..sup()
    }
}

fn severity_rule(dev_side: FieldSide) -> FieldRule {
    FieldRule::new("severity")
        .side("SUP", FieldSide::new(SEVERITY))
        .side("DEV", dev_side)
}

fn to_priority() -> FieldSide {
    FieldSide::new("priority")
        .map("S1", "Highest")
        .map("S2", "High")
        .map("S3", "Medium")
}

fn text(t: &str) -> FieldValue {
    FieldValue::Text(t.into())
}

#[test]
fn mapped_values_land_in_the_projects_field() {
    let rule = severity_rule(to_priority());
    assert_eq!(
        rule.incoming(&text("s1"), &dev()).unwrap(),
        Some(text("Highest"))
    );
    let mut update = IssueUpdate::default();
    rule.write_to(&text("Highest"), &dev(), &mut update);
    assert_eq!(update.priority.as_deref(), Some("Highest"));
    // The other way, the value lands as it is (no map on the SUP side).
    assert_eq!(
        rule.incoming(&text("S2"), &sup()).unwrap(),
        Some(text("S2"))
    );
    let mut update = IssueUpdate::default();
    rule.write_to(&text("S2"), &sup(), &mut update);
    assert_eq!(
        update.custom.get(SEVERITY),
        Some(&Some(CustomValue::Select("S2".into())))
    );
}

#[test]
fn unmapped_values_follow_the_fallback() {
    let keep = severity_rule(to_priority().fallback(Fallback::Keep));
    assert_eq!(keep.incoming(&text("S9"), &dev()).unwrap(), None);
    let default = severity_rule(
        to_priority()
            .fallback(Fallback::Default)
            .default_value("Low"),
    );
    assert_eq!(
        default.incoming(&text("S9"), &dev()).unwrap(),
        Some(text("Low"))
    );
    let error = severity_rule(to_priority().fallback(Fallback::Error));
    let err = error.incoming(&text("S9"), &dev()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let msg = err.to_string();
    assert!(
        msg.contains("\"severity\"") && msg.contains("priority") && msg.contains("\"S9\""),
        "names rule, field and value: {msg}"
    );
    // As-is: a value the field does not have is refused by name, not sent.
    let as_is = severity_rule(to_priority());
    let err = as_is.incoming(&text("S9"), &dev()).unwrap_err();
    assert!(
        err.to_string().contains("not an option of Priority"),
        "{err}"
    );
}

#[test]
fn constants_and_only_when_empty() {
    let rule = severity_rule(FieldSide::new("priority").constant("High"));
    assert_eq!(
        rule.incoming(&text("S3"), &dev()).unwrap(),
        Some(text("High"))
    );
    let rule = severity_rule(to_priority().only_when_empty());
    assert!(rule.lands_only_when_empty(&dev()));
    assert!(!rule.lands_only_when_empty(&sup()));
    let rule = severity_rule(to_priority().send_only());
    assert_eq!(rule.incoming(&text("S1"), &dev()).unwrap(), None);
}

#[test]
fn values_that_do_not_fit_the_field_are_refused() {
    let rule = FieldRule::new("estimate")
        .side("SUP", FieldSide::new("customfield_1"))
        .side("DEV", FieldSide::new("customfield_20000"));
    assert_eq!(
        rule.incoming(&text("2.5"), &dev()).unwrap(),
        Some(text("2.5"))
    );
    let err = rule.incoming(&text("soon"), &dev()).unwrap_err();
    assert!(
        err.to_string().contains("\"soon\" is not a number"),
        "{err}"
    );
    let mut update = IssueUpdate::default();
    rule.write_to(&text("2.5"), &dev(), &mut update);
    assert_eq!(
        update.custom.get("customfield_20000"),
        Some(&Some(CustomValue::Number("2.5".parse().unwrap())))
    );
}

#[test]
fn lists_map_item_by_item() {
    let rule = FieldRule::new("areas")
        .side("SUP", FieldSide::new("components"))
        .side(
            "DEV",
            FieldSide::new("fixVersions")
                .map("Printers", "2.0")
                .fallback(Fallback::Keep),
        );
    let got = rule
        .incoming(
            &FieldValue::List(vec!["Network".into(), "Printers".into()]),
            &dev(),
        )
        .unwrap();
    assert_eq!(got, Some(FieldValue::List(vec!["2.0".into()])));
}

/// An issue SUP-1 of `project`, with nothing set.
fn issue_of(project: &ProjectInfo) -> Issue {
    let at = time::macros::datetime!(2026-03-01 09:00 UTC);
    Issue {
        id: lit::issue_id("10001"),
        key: lit::key(format!("{}-1", project.key)),
        project: project.key.clone(),
        issue_type: "Bug".into(),
        summary: "Printer".into(),
        description: Default::default(),
        comments: Vec::new(),
        attachments: Vec::new(),
        labels: Vec::new(),
        status: "Open".into(),
        fields: Default::default(),
        creator: None,
        created: at,
        updated: at,
        properties: Default::default(),
    }
}

#[test]
fn values_travel_in_replicas_and_come_back_the_same() {
    let rule = severity_rule(to_priority());
    let mut issue = issue_of(&sup());
    issue
        .fields
        .custom
        .insert(SEVERITY.into(), CustomValue::Select("S1".into()));
    let mut replica = Replica::new(
        crate::replica::Origin {
            instance: crate::model::InstanceUrl::parse("https://a.example").unwrap(),
            project: lit::project("SUP"),
            id: issue.id.clone(),
            key: issue.key.clone(),
        },
        issue.updated,
    );
    rule.outgoing(&issue, &mut replica);
    assert_eq!(rule.received(&replica), Some(text("S1")));
    assert_eq!(rule.current(&issue), text("S1"));
}

#[test]
fn a_rule_document_reads_from_json_and_unknown_keys_are_refused() {
    let spec = RuleSpec::from_json(
        r#"{"labels": true, "fields": [{"name": "severity", "sides": {
            "SUP": {"field": "Severity"},
            "DEV": {"field": "priority", "map": {"S1": "Highest"}, "fallback": "default", "default": "Medium"}}}]}"#,
    )
    .unwrap();
    assert_eq!(spec.fields[0].sides["DEV"].fallback, Fallback::Default);
    let err = RuleSpec::from_json(
        r#"{"fields": [{"name": "x", "sides": {"DEV": {"feild": "priority"}}}]}"#,
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    assert!(err.to_string().contains("feild"), "{err}");
    // A mistyped top-level key too, rather than a rule silently missing.
    let err = RuleSpec::from_json(r#"{"lables": true}"#).unwrap_err();
    assert!(err.to_string().contains("lables"), "{err}");
}

#[cfg(feature = "toml")]
#[test]
fn a_rule_document_reads_from_toml() {
    let spec = RuleSpec::from_toml(
        r#"
labels = true
[status_mapping]
"In Progress" = "Doing"

[[fields]]
name = "severity"
[fields.sides.SUP]
field = "Severity"
[fields.sides.DEV]
field = "priority"
map = { S1 = "Highest", S2 = "High" }
fallback = "error"
"#,
    )
    .unwrap();
    assert_eq!(spec.fields[0].sides["DEV"].map["S2"], "High");
    let err = RuleSpec::from_toml("[[fields]]\nname = 3\n").unwrap_err();
    assert!(err.to_string().contains("line"), "names the line: {err}");
}

#[test]
fn checking_resolves_names_and_lists_every_problem() {
    let spec = RuleSpec::default().with_field(
        FieldRule::new("severity")
            .side("SUP", FieldSide::new("Severity"))
            .side("DEV", to_priority()),
    );
    let checked = spec.check(&[sup(), dev()]).unwrap();
    assert_eq!(
        checked.fields[0].sides["SUP"].field, SEVERITY,
        "the name became the id"
    );

    let bad = RuleSpec::default()
        .with_field(
            FieldRule::new("severity")
                .side("SUP", FieldSide::new("Sevrity"))
                .side(
                    "DEV",
                    to_priority()
                        .map("S4", "Urgent")
                        .fallback(Fallback::Default),
                ),
        )
        .with_field(FieldRule::new("reviewer").side("SUP", FieldSide::new("Reviewer")))
        .with_field(FieldRule::new("found").side("SUP", FieldSide::new("Found in")));
    // A user field is fine: users travel through the user mapping.
    let err = bad.check(&[sup(), dev()]).unwrap_err();
    let msg = err.to_string();
    for want in [
        "field rule \"severity\", project SUP, field Sevrity: no such field in SUP",
        "\"Urgent\" is not an option",
        "fallback \"default\" needs a default value",
        "Found in (customfield_10030): not on the edit screen",
    ] {
        assert!(msg.contains(want), "{want:?} in {msg}");
    }
    assert!(!msg.contains("reviewer"), "{msg}");
}

#[test]
fn basic_field_names_cannot_be_taken() {
    let spec = RuleSpec::default().with_field(FieldRule::new("summary"));
    assert_eq!(spec.build().unwrap_err().kind(), ErrorKind::InvalidInput);
}

/// A local connection whose SUP project has a Severity select and whose DEV
/// project uses Priority: a published rule maps one to the other both ways,
/// creates carry the value, edits travel, and an unmapped value is an error
/// on the twin, naming rule, field and value.
#[test]
fn a_published_field_rule_syncs_severity_to_priority_and_back() {
    use crate::testkit::block_on;
    use crate::testkit::rig::LocalRig;
    use crate::tracker::Tracker;

    let mut rig = LocalRig::new();
    rig.tracker
        .add_field(
            "SUP",
            FieldMeta::new(SEVERITY, "Severity", FieldKind::Select).options(["S1", "S2", "S3"]),
        )
        .unwrap();
    rig.tracker
        .add_field(
            "DEV",
            FieldMeta::new("priority", "Priority", FieldKind::Select)
                .options(["Highest", "High", "Medium", "Low"]),
        )
        .unwrap();
    rig.restart();
    block_on(rig.admin().upgrade_to_custom(&rig.conn.id)).unwrap();
    let mut rule = crate::testkit::severity_rule();
    if let Some(dev) = rule.sides.get_mut("DEV") {
        dev.fallback = Fallback::Error;
    }
    let spec = RuleSpec::default().with_field(rule);
    block_on(rig.admin().save_rule_draft(&rig.conn.id, spec)).unwrap();
    let version = block_on(rig.admin().publish_rules(&rig.conn.id)).unwrap();
    assert_eq!(
        version.spec.fields[0].sides["SUP"].field, SEVERITY,
        "the published version names the field by id"
    );

    let mut fields = crate::model::IssueFields::default();
    fields
        .custom
        .insert(SEVERITY.into(), CustomValue::Select("S1".into()));
    let sup = block_on(
        rig.human.create_issue(
            &crate::tracker::NewIssue::new(lit::project("SUP"), "Bug", "Printer on fire")
                .fields(fields),
        ),
    )
    .unwrap();
    // Test Run shows the value and the rule that maps it.
    let run = block_on(
        rig.node
            .test_run(&rig.conn.id, std::slice::from_ref(&sup.key)),
    )
    .unwrap();
    let shown = run[0].to_string();
    assert!(
        shown.contains("priority → \"Highest\"")
            && shown.contains("rule \"severity\": their \"S1\" → Priority (priority) \"Highest\""),
        "{shown}"
    );
    block_on(rig.node.exalate(&rig.conn.id, &sup.key)).unwrap();
    let dev = rig.issues("DEV");
    assert_eq!(dev.len(), 1);
    assert_eq!(
        dev[0].fields.priority.as_deref(),
        Some("Highest"),
        "created with it"
    );

    // An edit in DEV travels back through the SUP side's map.
    rig.user()
        .update(dev[0].key.as_str(), IssueUpdate::new().priority("Medium"));
    rig.advance(5);
    rig.sync();
    assert_eq!(
        rig.issue(sup.key.as_str()).fields.custom.get(SEVERITY),
        Some(&CustomValue::Select("S3".into()))
    );

    // A SUP value the DEV side does not map is an error on the twin.
    rig.tracker
        .add_field(
            "SUP",
            FieldMeta::new(SEVERITY, "Severity", FieldKind::Select)
                .options(["S1", "S2", "S3", "S4"]),
        )
        .unwrap();
    rig.user().update(
        sup.key.as_str(),
        IssueUpdate::new().custom(SEVERITY, Some(CustomValue::Select("S4".into()))),
    );
    rig.advance(5);
    rig.sync();
    let panel = rig.node.status(&rig.conn.id).unwrap();
    let text = panel.to_string();
    assert!(
        text.contains("\"severity\"") && text.contains("priority") && text.contains("\"S4\""),
        "the twin's error names rule, field and value: {text}"
    );
    assert_eq!(
        rig.issue(dev[0].key.as_str()).fields.priority.as_deref(),
        Some("Medium"),
        "nothing of the plan was applied"
    );
}

/// The assignee travels by account id: across a remote connection through
/// the user matches, an unmatched user being an error that names them, or
/// keeping ours with fallback keep.
#[test]
fn users_travel_through_the_user_mapping() {
    use crate::model::{UserId, UserProfile, UserRef};
    use crate::replica::Origin;
    use crate::rules::{RuleSet, UserMatches};

    let rule = FieldRule::new("assignee")
        .side("SUP", FieldSide::new("assignee"))
        .side("DEV", FieldSide::new("assignee"));
    let mut rules = RuleSet::custom();
    rules.add(rule.clone()).unwrap();
    let mut issue = issue_of(&sup());
    issue.fields.assignee = Some(UserRef::new(lit::user_id("a-ann"), "Ann Lee"));
    let origin = Origin {
        instance: crate::model::InstanceUrl::parse("https://a.example").unwrap(),
        project: lit::project("SUP"),
        id: issue.id.clone(),
        key: issue.key.clone(),
    };
    let connection = crate::model::ConnectionId::parse("SUP_to_DEV").unwrap();
    let mut replica = rules.outgoing(&issue, origin, &connection);
    assert_eq!(
        replica.fields["assignee"],
        serde_json::json!({"user": "a-ann"}),
        "marked as a user"
    );
    assert_eq!(
        crate::rules::mentioned_users(&replica),
        [lit::user_id("a-ann")].into_iter().collect(),
        "described to the other side like a mention"
    );
    replica.users = vec![UserProfile {
        id: lit::user_id("a-ann"),
        display_name: "Ann Lee".into(),
        email: Some("ann@example.com".into()),
    }];
    let fingerprints = rules.fingerprints(&replica);
    let target = ProjectInfo {
        issue_types: vec![crate::model::IssueType {
            id: "1".into(),
            name: "Bug".into(),
        }],
        ..dev()
    };
    let plan_with = |rules: &RuleSet, users: &UserMatches| {
        crate::plan::plan(&crate::plan::PlanInput {
            connection: &connection,
            replica: &replica,
            fingerprints: &fingerprints,
            previous: None,
            local: None,
            state: None,
            target: &target,
            rules,
            options: crate::plan::PlanOptions::default(),
            users: Some(users),
            issues: None,
        })
    };
    let mut matches = UserMatches::new();
    matches.insert(
        lit::user_id("a-ann"),
        UserRef::new(lit::user_id("b-ann"), "Ann Lee"),
    );
    let plan = plan_with(&rules, &matches).unwrap();
    let crate::plan::Op::CreateIssue { fields, .. } = &plan.ops[0] else {
        panic!("{plan}")
    };
    assert_eq!(
        fields.assignee.clone().flatten().map(|u| u.id),
        Some(UserId::new("b-ann").unwrap())
    );

    // No match: an error naming the user, or ours kept.
    let err = plan_with(&rules, &UserMatches::new()).unwrap_err();
    assert!(
        err.message().contains("Ann Lee <ann@example.com>") && err.message().contains("assignee"),
        "{err}"
    );
    let keep = rule.side("DEV", FieldSide::new("assignee").fallback(Fallback::Keep));
    let mut rules = RuleSet::custom();
    rules.add(keep).unwrap();
    let plan = plan_with(&rules, &UserMatches::new()).unwrap();
    let crate::plan::Op::CreateIssue { fields, .. } = &plan.ops[0] else {
        panic!("{plan}")
    };
    assert_eq!(fields.assignee, None, "not written");
}

/// On a local connection (one site) a published rule carries the assignee
/// as it is, both ways; an account the tracker does not know is an error
/// on the twin.
#[test]
fn a_field_rule_syncs_the_assignee_on_one_site() {
    use crate::model::UserRef;
    use crate::testkit::block_on;
    use crate::testkit::rig::LocalRig;
    use crate::tracker::Tracker;

    let rig = LocalRig::new();
    block_on(rig.admin().upgrade_to_custom(&rig.conn.id)).unwrap();
    let spec = RuleSpec::default().with_field(
        FieldRule::new("assignee")
            .side("SUP", FieldSide::new("assignee"))
            .side("DEV", FieldSide::new("assignee")),
    );
    block_on(rig.admin().save_rule_draft(&rig.conn.id, spec)).unwrap();
    block_on(rig.admin().publish_rules(&rig.conn.id)).unwrap();
    let uma = UserRef::new(lit::user_id("uma"), "Uma User");
    let pat = UserRef::new(lit::user_id("pat"), "Pat Project-Admin");
    let fields = crate::model::IssueFields {
        assignee: Some(uma.clone()),
        ..Default::default()
    };
    let sup = block_on(
        rig.human.create_issue(
            &crate::tracker::NewIssue::new(lit::project("SUP"), "Bug", "Printer on fire")
                .fields(fields),
        ),
    )
    .unwrap();
    block_on(rig.node.exalate(&rig.conn.id, &sup.key)).unwrap();
    let dev = rig.issues("DEV").remove(0);
    assert_eq!(
        dev.fields.assignee,
        Some(uma),
        "with the name the site knows"
    );

    rig.user().update(
        dev.key.as_str(),
        IssueUpdate::new().assignee(Some(pat.clone())),
    );
    rig.advance(5);
    rig.sync();
    assert_eq!(rig.issue(sup.key.as_str()).fields.assignee, Some(pat));
    rig.user()
        .update(dev.key.as_str(), IssueUpdate::new().assignee(None));
    rig.advance(5);
    rig.sync();
    assert_eq!(rig.issue(sup.key.as_str()).fields.assignee, None);
    assert!(rig.node.status(&rig.conn.id).unwrap().errors.is_empty());
}
