//! The pages as a user sees them, rendered from a real node's reports.

use std::collections::HashSet;

use super::*;
use crate::clock::ManualClock;
use crate::connection::{ConnectionId, Invitation, InvitationError, NewInvitation};
use crate::engine::{IssuePage, IssueState, IssueStatus};
use crate::error::{Error, ErrorKind};
use crate::model::{InstanceUrl, IssueRef};
use crate::plan::{Conflict, Winner};
use crate::replica::FieldValue;
use crate::server::console::Role;
use crate::store::{DeletedItems, RefusedDeletion};
use crate::testkit::block_on;
use crate::testkit::ids as lit;
use crate::testkit::rig::LocalRig;
use crate::tracker::memory::{Fault, OpKind};
use crate::trigger::TriggerSpec;

const CSRF: &str = "csrf-token-42";

fn ctx(role: Role) -> PageContext<'static> {
    PageContext {
        operator: "olga",
        role,
        csrf: CSRF,
    }
}

/// A node with a custom connection SUP ↔ DEV: SUP-1 synchronized, SUP-2
/// failed to sync (its twin could not be created), one trigger, a published
/// rule version and a draft; the panel also shows a conflict and a refused
/// deletion, as the engine reports them.
fn fixture() -> (LocalRig, ConnectionView) {
    let rig = LocalRig::new();
    let id = rig.conn.id.clone();
    rig.user().create("SUP", "Bug", "Printer on fire");
    block_on(rig.node.exalate(&id, &lit::key("SUP-1"))).expect("exalate SUP-1");
    rig.sync();
    rig.user().create("SUP", "Bug", "Second printer");
    rig.tracker
        .inject(OpKind::CreateIssue, Fault::Fail(ErrorKind::InvalidInput));
    block_on(rig.node.exalate(&id, &lit::key("SUP-2"))).expect_err("the create fails");
    block_on(rig.admin().add_trigger(
        &id,
        TriggerSpec::new(lit::project("SUP"), "labels = escalate"),
    ))
    .expect("trigger");
    block_on(rig.admin().upgrade_to_custom(&id)).expect("custom");
    block_on(rig.admin().save_rule_draft(&id, Default::default())).expect("draft");
    block_on(rig.admin().publish_rules(&id)).expect("publish");
    let labels = crate::engine::RuleSpec {
        labels: true,
        ..Default::default()
    };
    block_on(rig.admin().save_rule_draft(&id, labels)).expect("draft");
    block_on(rig.admin().publish_rules(&id)).expect("publish 2");
    block_on(rig.admin().save_rule_draft(&id, Default::default())).expect("draft");

    let mut panel = rig.node.status(&id).expect("status");
    panel.issues.push(IssueStatus {
        origin: IssueRef::new(lit::issue_id("901"), lit::key("SUP-901")),
        twin: Some(IssueRef::new(lit::issue_id("902"), lit::key("DEV-902"))),
        state: IssueState::Conflict {
            conflicts: vec![Conflict {
                subject: "summary".into(),
                remote: FieldValue::Text("Their title".into()),
                local: FieldValue::Text("Our title".into()),
                base: Some(FieldValue::Text("Old title".into())),
                winner: Winner::Remote,
            }],
        },
    });
    panel.issues.push(IssueStatus {
        origin: IssueRef::new(lit::issue_id("903"), lit::key("SUP-903")),
        twin: Some(IssueRef::new(lit::issue_id("904"), lit::key("DEV-904"))),
        state: IssueState::Refused {
            deletions: vec![RefusedDeletion::new(DeletedItems::Comments, 5, 6)],
            decision: None,
        },
    });
    // They need a person, so the panel lists them among those too.
    let added: Vec<IssueStatus> = panel.issues[panel.issues.len() - 2..].to_vec();
    panel.attention.extend(added);
    let mut view = ConnectionView::new(panel);
    view.triggers = rig.node.triggers(&id).expect("triggers");
    view.rules = Some(rig.node.rule_history(&id).expect("rules"));
    (rig, view)
}

/// The text of each table cell of `html`, tags removed.
fn cells(html: &str) -> Vec<String> {
    html.split("<td")
        .skip(1)
        .map(|rest| {
            let inner = &rest[rest.find('>').map_or(0, |at| at + 1)..];
            let inner = &inner[..inner.find("</td>").unwrap_or(inner.len())];
            strip_tags(inner)
        })
        .collect()
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}

fn post_forms(html: &str) -> usize {
    html.matches(r#"<form method="post""#).count()
        + html
            .matches(r#"<form class="inline" method="post""#)
            .count()
}

fn csrf_inputs(html: &str) -> usize {
    html.matches(&format!(
        r#"<input type="hidden" name="csrf" value="{CSRF}">"#
    ))
    .count()
}

#[test]
fn a_connection_row_shows_its_name_status_and_counts() {
    let (rig, view) = fixture();
    let panel = rig.node.status(&rig.conn.id).expect("status");
    let html = connections(&ctx(Role::Viewer), &[panel], None).into_string();
    assert!(
        html.contains(&format!(
            r#"<a href="/console/connections/{}">SUP_to_DEV</a>"#,
            rig.conn.id
        )),
        "{html}"
    );
    let row = cells(&html);
    assert_eq!(
        row[0],
        "SUP on https://rig.example ⇄ DEV on https://rig.example"
    );
    assert_eq!(row[1], "custom", "mode");
    assert_eq!(row[2], "active", "status");
    assert_eq!(row[3], "2", "issues under sync");
    assert!(row[4].ends_with("UTC"), "last sync: {}", row[4]);
    assert_eq!(row[6], "—", "a local connection has no outbox");
    assert_eq!(row[7], "1", "open errors");
    assert_eq!(row[8], "0", "open conflicts");
    assert_eq!(row[9], "local (one instance)");
    assert_eq!(view.panel.connection.name, "SUP_to_DEV");

    let empty = connections(&ctx(Role::Owner), &[], None).into_string();
    assert!(empty.contains("No connections yet"));
    assert!(empty.contains(r#"href="/console/initiate""#));
    let viewer = connections(&ctx(Role::Viewer), &[], None).into_string();
    assert!(!viewer.contains(r#"href="/console/accept">accept"#));
}

#[test]
fn the_connection_page_shows_twins_errors_conflicts_and_refusals() {
    let (rig, view) = fixture();
    let html = connection(&ctx(Role::Owner), &view).into_string();
    assert!(
        html.contains(r#"<a href="https://rig.example/browse/SUP-1">SUP-1</a>"#),
        "{html}"
    );
    assert!(html.contains(r#"<a href="https://rig.example/browse/DEV-1">DEV-1</a>"#));
    assert!(html.contains("synchronized"));
    assert!(
        html.contains(r#"<span class="state-error">error</span>: injected invalid input failure"#),
        "the state and its cause"
    );
    for cell in [
        "Our title",
        "Their title",
        "Old title",
        "the other side's value",
    ] {
        assert!(cells(&html).iter().any(|c| c == cell), "{cell}");
    }
    assert!(html.contains("would delete 5 of 6 comments"));
    assert!(html.contains("labels = escalate"));
    let rollback = format!(
        r#"action="/console/connections/{}/rules/rollback">"#,
        rig.conn.id
    );
    assert!(html.contains(&rollback), "{html}");
    assert!(html.contains(r#"<input type="hidden" name="version" value="1">"#));
    assert!(html.contains(">Roll back to version 1</button>"));
    assert!(!html.contains("Roll back to version 2"), "2 is in use");
    assert!(html.contains(">Publish the draft</button>"));
}

#[test]
fn a_viewer_sees_no_form_that_changes_anything() {
    let (_rig, view) = fixture();
    let html = connection(&ctx(Role::Viewer), &view).into_string();
    assert_eq!(post_forms(&html), 1, "only sign-out: {html}");
    assert!(html.contains(r#"action="/console/logout""#));
    for word in [
        "Retry",
        "Resolve",
        "Confirm deletion",
        "Add trigger",
        "Delete connection",
    ] {
        assert!(!html.contains(word), "{word}");
    }
    assert!(!html.contains("<textarea"), "no editable draft");
}

#[test]
fn a_collaborator_may_retry_but_not_delete() {
    let (rig, view) = fixture();
    let html = connection(&ctx(Role::Collaborator), &view).into_string();
    let retry = format!(
        r#"action="/console/connections/{}/twins/SUP-2/retry""#,
        rig.conn.id
    );
    assert!(html.contains(&retry), "{html}");
    assert!(html.contains(">Retry</button>"));
    assert!(html.contains(">Add trigger</button>"));
    assert!(!html.contains("/delete\""), "no delete");
    assert!(
        !html.contains("Confirm deletion"),
        "deletions are for owners"
    );
    let owner = connection(&ctx(Role::Owner), &view).into_string();
    assert!(owner.contains(">Delete connection SUP_to_DEV</button>"));
    assert!(owner.contains(r#"name="unexalate""#));
    assert!(owner.contains("Confirm deletion"));
}

#[test]
fn every_post_form_carries_the_csrf_token() {
    let (rig, view) = fixture();
    let pages = [
        connection(&ctx(Role::Owner), &view).into_string(),
        connections(&ctx(Role::Owner), std::slice::from_ref(&view.panel), None).into_string(),
        initiate(&ctx(Role::Owner), &InitiateView::default()).into_string(),
        accept(&ctx(Role::Owner), &AcceptView::default()).into_string(),
        job(
            &ctx(Role::Owner),
            &JobView::new("j1", &rig.conn, "project = SUP"),
        )
        .into_string(),
    ];
    for html in &pages {
        assert!(post_forms(html) >= 1);
        assert_eq!(post_forms(html), csrf_inputs(html), "{html}");
    }
    assert!(
        post_forms(&pages[0]) > 10,
        "the owner's page has many forms"
    );
}

#[test]
fn the_trigger_error_shows_next_to_its_form_with_the_query_typed() {
    let (rig, mut view) = fixture();
    let typed = "labels = ";
    let err = block_on(
        rig.admin()
            .add_trigger(&rig.conn.id, TriggerSpec::new(lit::project("SUP"), typed)),
    )
    .expect_err("not JQL");
    view.trigger_error = Some(TriggerFormError {
        form: TriggerForm::Add,
        project: "SUP".into(),
        query: typed.into(),
        note: "for escalations".into(),
        message: explain(&err),
    });
    let html = connection(&ctx(Role::Collaborator), &view).into_string();
    let add = format!(r#"action="/console/connections/{}/triggers">"#, rig.conn.id);
    let start = html.find(&add).expect("the add form");
    let form = &html[start..start + html[start..].find("</form>").expect("end")];
    assert!(
        form.contains("Not saved: The query is not valid JQL"),
        "{form}"
    );
    assert!(form.contains(&format!(">{typed}</textarea>")), "{form}");
    assert!(form.contains(r#"value="for escalations""#));
    assert_eq!(html.matches("Not saved:").count(), 1, "only there");

    let trigger = view.triggers[0].id;
    view.trigger_error = Some(TriggerFormError {
        form: TriggerForm::Edit(trigger),
        project: String::new(),
        query: "labels ==".into(),
        note: String::new(),
        message: "the query is wrong".into(),
    });
    let html = connection(&ctx(Role::Collaborator), &view).into_string();
    let edit = format!(
        r#"action="/console/connections/{}/triggers/{trigger}">"#,
        rig.conn.id
    );
    let start = html.find(&edit).expect("the edit form");
    let form = &html[start..start + html[start..].find("</form>").expect("end")];
    assert!(form.contains("Not saved: the query is wrong"), "{form}");
    assert!(form.contains(">labels ==</textarea>"));
    assert!(html.contains("<details open>"), "the edit form is open");
}

#[test]
fn what_users_typed_or_trackers_said_is_escaped() {
    let (rig, mut view) = fixture();
    view.query = "<script>alert(1)</script>".into();
    view.notice = Some(Notice::Failure("<b>bold</b>".into()));
    view.trigger_error = Some(TriggerFormError {
        form: TriggerForm::Add,
        project: "SUP\"><x".into(),
        query: "</textarea><script>x()</script>".into(),
        note: "\"><img src=x>".into(),
        message: "<i>no</i>".into(),
    });
    let html = connection(&ctx(Role::Owner), &view).into_string();
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<b>bold"));
    assert!(!html.contains("</textarea><script>"));
    assert!(!html.contains("<img src=x>"));
    assert!(!html.contains("<i>no</i>"));

    rig.user().create("SUP", "Bug", "<script>steal()</script>");
    let run = block_on(rig.node.test_run(&rig.conn.id, &[lit::key("SUP-3")])).expect("run");
    let html = test_run(&ctx(Role::Owner), &rig.conn, "SUP-3", Ok(&run[0])).into_string();
    assert!(
        html.contains("&lt;script&gt;steal()&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>steal"));
    let html = test_run(&ctx(Role::Owner), &rig.conn, "<em>K", Err("<u>no</u>")).into_string();
    assert!(!html.contains("<em>K") && !html.contains("<u>no"));
}

#[test]
fn test_run_shows_the_replica_and_the_plan() {
    let rig = LocalRig::new();
    rig.user().create("SUP", "Bug", "Printer on fire");
    let run = block_on(rig.node.test_run(&rig.conn.id, &[lit::key("SUP-1")])).expect("run");
    let html = test_run(&ctx(Role::Collaborator), &rig.conn, "SUP-1", Ok(&run[0])).into_string();
    assert!(html.contains("is not under sync yet"), "{html}");
    assert!(html.contains(&maud::html! { (run[0].summary) }.into_string()));
    assert!(html.contains("Printer on fire"));
    let plan = run[0].plan().expect("a plan").to_string();
    let first = plan.lines().next().expect("a line");
    assert!(
        html.contains(first.split('"').next().expect("text")),
        "{plan}"
    );
    let failed = test_run(
        &ctx(Role::Collaborator),
        &rig.conn,
        "SUP-9",
        Err("issue SUP-9 does not exist"),
    )
    .into_string();
    assert!(failed.contains("No Test Run: issue SUP-9 does not exist"));
}

fn twin(n: usize) -> IssueStatus {
    IssueStatus {
        origin: IssueRef::new(lit::issue_id(format!("{n}")), lit::key(format!("SUP-{n}"))),
        twin: Some(IssueRef::new(
            lit::issue_id(format!("9{n}")),
            lit::key(format!("DEV-{n}")),
        )),
        state: IssueState::Synchronized,
    }
}

#[test]
fn twins_are_paged_fifty_at_a_time_from_the_last_shown() {
    let (rig, mut view) = fixture();
    view.panel.twins = 120;
    view.after = Some(lit::issue_id("50"));
    view.twins = Some(IssuePage::new(
        (51..=100).map(twin).collect(),
        Some(lit::issue_id("100")),
    ));
    let html = connection(&ctx(Role::Viewer), &view).into_string();
    assert!(html.contains("120 twins · 50 on this page"), "{html}");
    assert!(html.contains(">SUP-51</a>") && html.contains(">SUP-100</a>"));
    assert!(!html.contains(">SUP-50</a>") && !html.contains(">SUP-101</a>"));
    let base = format!("/console/connections/{}", rig.conn.id);
    assert!(html.contains(&format!(r#"<a href="{base}?q=">First page</a>"#)));
    assert!(
        html.contains(&format!(
            r#"<a href="{base}?q=&amp;after=100">Next page</a>"#
        )),
        "{html}"
    );

    view.query = "sup-11".into();
    view.after = None;
    view.twins = Some(IssuePage::new((110..=119).map(twin).collect(), None));
    let html = connection(&ctx(Role::Viewer), &view).into_string();
    assert!(
        html.contains("Twins with a key starting with “sup-11” · 10 on this page"),
        "{html}"
    );
    assert!(
        html.contains(r#"value="sup-11""#),
        "the search box keeps the query"
    );
    assert!(!html.contains("Next page") && !html.contains("First page"));
    view.twins = Some(IssuePage::new(Vec::new(), None));
    let html = connection(&ctx(Role::Viewer), &view).into_string();
    assert!(html.contains("No twin has a key starting with “sup-11”."));
}

#[test]
fn a_remote_connection_says_whether_the_other_node_answers() {
    let (_rig, mut view) = fixture();
    view.panel.peer = Some(crate::engine::PeerStatus {
        peer: Some(InstanceUrl::parse("https://b.example").expect("url")),
        node: None,
        calls: true,
        unreachable_since: Some(time::macros::datetime!(2026-01-02 3:04:05 UTC)),
        next_try: None,
        attempts: 3,
        cause: Some("no node is reachable at https://b.example".into()),
        waiting: 3,
    });
    let html =
        connections(&ctx(Role::Viewer), std::slice::from_ref(&view.panel), None).into_string();
    let row = cells(&html);
    assert_eq!(row[6], "3 waiting", "outbox");
    assert_eq!(
        row[9],
        "not answering since 2026-01-02 03:04:05 UTC (no node is reachable at https://b.example)"
    );
    view.panel.peer.as_mut().expect("peer").unreachable_since = None;
    let html =
        connections(&ctx(Role::Viewer), std::slice::from_ref(&view.panel), None).into_string();
    assert_eq!(cells(&html)[9], "answers");
}

mod setup;
