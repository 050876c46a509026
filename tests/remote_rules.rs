//! Rules beyond Basic across two nodes: a value kept on one side because
//! the other side has none travels back, as on a local connection.

use twinsync::model::{CustomValue, FieldKind, FieldMeta, IssueFields};
use twinsync::rules::RuleSpec;
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::remote_rig::RemoteRig;
use twinsync::tracker::{IssueUpdate, NewIssue, Tracker};

const SEVERITY: &str = "customfield_10010";

fn severity(issue: &twinsync::model::Issue) -> Option<String> {
    match issue.fields.custom.get(SEVERITY) {
        Some(CustomValue::Select(s)) => Some(s.clone()),
        _ => None,
    }
}

/// SUP's node keeps a Severity select, DEV's node a Priority; both publish
/// one document mapping them. A severity cleared in SUP cannot clear DEV's
/// priority (Jira always has one): DEV keeps it, and it comes back to SUP
/// as its severity.
#[test]
fn a_priority_kept_on_the_other_node_travels_back() {
    let rig = RemoteRig::new();
    rig.a
        .tracker
        .add_field(
            "SUP",
            FieldMeta::new(SEVERITY, "Severity", FieldKind::Select).options(["S1", "S2", "S3"]),
        )
        .unwrap();
    rig.b
        .tracker
        .add_field(
            "DEV",
            FieldMeta::new("priority", "Priority", FieldKind::Select)
                .options(["Highest", "High", "Medium"]),
        )
        .unwrap();
    let conn = rig.connect();
    let spec = RuleSpec::default().with_field(twinsync::testkit::severity_rule());
    let ada = lit::user_id("ada");
    for node in [&rig.a.node, &rig.b.node] {
        block_on(node.admin(&ada).upgrade_to_custom(&conn.id)).unwrap();
        block_on(node.admin(&ada).save_rule_draft(&conn.id, spec.clone())).unwrap();
        block_on(node.admin(&ada).publish_rules(&conn.id)).unwrap();
    }
    let mut fields = IssueFields::default();
    fields
        .custom
        .insert(SEVERITY.into(), CustomValue::Select("S2".into()));
    let sup = block_on(
        rig.a
            .human
            .create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "Printer").fields(fields)),
    )
    .unwrap();
    block_on(rig.a.node.exalate(&conn.id, &sup.key)).unwrap();
    let dev = rig.b.issues("DEV");
    assert_eq!(dev[0].fields.priority.as_deref(), Some("High"), "{dev:?}");

    block_on(
        rig.a
            .human
            .update_issue(&sup.id, &IssueUpdate::new().custom(SEVERITY, None)),
    )
    .unwrap();
    for _ in 0..3 {
        rig.advance(60);
        rig.sync(&conn);
    }
    assert_eq!(
        rig.b.issues("DEV")[0].fields.priority.as_deref(),
        Some("High"),
        "a priority cannot be cleared"
    );
    assert_eq!(
        severity(&rig.a.issue(sup.key.as_str())).as_deref(),
        Some("S2"),
        "DEV's priority came back as SUP's severity"
    );
    let (a, b) = rig.sync(&conn);
    assert_eq!((a.writes, b.writes), (0, 0), "in step: {a:?} {b:?}");
}
