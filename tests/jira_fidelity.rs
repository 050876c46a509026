//! Fidelity checks against material nobody on this project wrote: every
//! request body `JiraCloud` sends and every answer the emulator gives, for the
//! operations twinsync uses, is validated against the JSON schemas of
//! Atlassian's OpenAPI spec, and every ADF document against Atlassian's ADF
//! JSON schema.
//!
//! The spec is read from `../shared/reference/jira/` beside the crate, or from
//! `TWINSYNC_JIRA_SPEC_DIR`. Without it the checks are skipped with a note,
//! except under `CI=true`, where a missing spec fails the run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::{Value, json};
use twinsync::model::{CustomValue, FieldKind, FieldMeta, RichText, Transition, Workflow};
use twinsync::testkit::ids as lit;
use twinsync::tracker::jira::emulator::{Exchange, JiraEmulator};
use twinsync::tracker::{IssueUpdate, NewAttachment, NewComment, NewIssue, Page, Tracker};

mod common;
use common::jira_spec::{
    SPEC, Spec, adf_documents, adf_validator, find_dir, load, missing_message,
};

/// The reference directory, or `None` (after saying so) when it is missing
/// outside CI.
fn spec_dir() -> Option<PathBuf> {
    if let Some(dir) = find_dir() {
        return Some(dir);
    }
    let message = missing_message();
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}; CI needs it");
    }
    eprintln!("note: skipping the jira fidelity checks: {message}");
    None
}

/// Runs every operation twinsync uses through `JiraCloud` against the emulator.
async fn exercise(emulator: &JiraEmulator) {
    let jira = emulator.cloud().expect("adapter");
    let sup = lit::project("SUP");
    jira.instance().await.expect("instance");
    jira.project(&sup).await.expect("project");
    let created = jira
        .create_issue(
            &NewIssue::new(lit::project("SUP"), "Bug", "Printer on fire")
                .description(common::rich_text())
                .labels(["printer"])
                .property("twinsync.marker", json!({"op": "1"})),
        )
        .await
        .expect("create");
    let id = created.id.clone();
    jira.update_issue(
        &id,
        &IssueUpdate {
            summary: Some("Printer still on fire".into()),
            description: Some(RichText::plain("short now")),
            labels: Some(vec!["printer".into(), "urgent".into()]),
            status: Some("In Progress".into()),
            ..IssueUpdate::default()
        },
    )
    .await
    .expect("update");
    let comment = jira
        .add_comment(
            &id,
            &NewComment::public(common::rich_text())
                .property("twinsync.marker", json!({"op": "2"})),
        )
        .await
        .expect("comment");
    jira.add_comment(&id, &NewComment::public("second"))
        .await
        .expect("comment");
    jira.update_comment(&id, &comment.id, &RichText::plain("edited"))
        .await
        .expect("edit comment");
    jira.set_comment_property(&comment.id, "twinsync.state", &json!({"n": 1}))
        .await
        .expect("set comment property");
    jira.comment_property(&comment.id, "twinsync.state")
        .await
        .expect("comment property");
    jira.comment_property(&comment.id, "twinsync.absent")
        .await
        .expect("missing comment property");
    jira.set_issue_property(&id, "twinsync.state", &json!([1, 2]))
        .await
        .expect("set property");
    jira.issue_property(&id, "twinsync.state")
        .await
        .expect("property");
    jira.issue_property(&id, "twinsync.absent")
        .await
        .expect("missing property");
    let file = NewAttachment {
        file_name: "log.txt".into(),
        mime_type: "text/plain".into(),
        content: b"line one\nline two\n".to_vec(),
    };
    let meta = jira.upload_attachment(&id, &file).await.expect("upload");
    jira.attachments(&id).await.expect("attachments");
    jira.download_attachment(&meta.id).await.expect("download");
    let mut link = twinsync::model::RemoteLink::new(
        "twinsync:origin:SUP_to_DEV",
        "https://a.example/browse/DEV-1",
        "DEV-1",
    );
    link.summary = Some("DEV-1 on https://a.example".into());
    link.relationship = Some("synced from".into());
    jira.put_remote_link(&id, &link).await.expect("remote link");
    jira.put_remote_link(&id, &link)
        .await
        .expect("remote link again");
    let links = jira.remote_links(&id).await.expect("remote links");
    assert_eq!(links, [link], "one link per global id");
    // A batch with one bad element (201 with its error), and one of bad elements only (400).
    let bulk = |summary: &str, issue_type: &str| {
        NewIssue::new(lit::project("SUP"), issue_type, summary)
            .description(common::rich_text())
            .property("twinsync.marker", json!({"op": summary}))
    };
    let results = jira
        .create_issues(&[bulk("batch a", "Bug"), bulk("batch b", "NoSuchType")])
        .await
        .expect("create issues");
    assert!(results[0].is_ok() && results[1].is_err(), "{results:?}");
    let results = jira
        .create_issues(&[bulk("batch c", "NoSuchType")])
        .await
        .expect("create issues, all refused");
    assert!(results[0].is_err(), "{results:?}");
    jira.issue(&id).await.expect("issue");
    jira.issue_by_key(&created.key).await.expect("issue by key");
    for n in 0..3 {
        jira.create_issue(&NewIssue::new(
            lit::project("SUP"),
            "Task",
            format!("filler {n}"),
        ))
        .await
        .expect("create");
    }
    let first = jira
        .search("project = SUP", &Page::first(2))
        .await
        .expect("search");
    let token = first.next_page.expect("a second page");
    jira.search("project = SUP", &Page::next(token, 2))
        .await
        .expect("search page 2");
    jira.updated_since(
        &sup,
        time::OffsetDateTime::now_utc() - std::time::Duration::from_secs(3600),
        &Page::first(50),
    )
    .await
    .expect("updated since");
    jira.delete_comment(&id, &comment.id)
        .await
        .expect("delete comment");
    jira.delete_attachment(&meta.id)
        .await
        .expect("delete attachment");
    jira.myself().await.expect("myself");
    jira.is_global_admin(&lit::user_id("ada"))
        .await
        .expect("global admin");
    jira.is_project_admin(&lit::user_id("pat"), &sup)
        .await
        .expect("project admin");
    jira.group_members("sync-admins").await.expect("group");
    jira.group_members("no-such-group")
        .await
        .expect("missing group");
    exercise_workflows(emulator, &jira).await;
    // Answers that are errors are checked too.
    let _ = jira.project(&lit::project("NOPE")).await;
    let _ = jira
        .create_issue(&NewIssue::new(lit::project("SUP"), "Nope", "bad type"))
        .await;
}

/// DEV's bugs follow a workflow whose Resolve screen requires a resolution:
/// its preview, the transitions with their screens' fields, and taking them
/// with fields, without a required one, and refused.
async fn exercise_workflows(emulator: &JiraEmulator, jira: &impl Tracker) {
    let dev = lit::project("DEV");
    let flow = Workflow::new("To Do")
        .with(Transition::new("11", "Start", "In Progress").from(["To Do"]))
        .with(
            Transition::new("31", "Resolve", "Done")
                .from(["In Progress"])
                .field(
                    FieldMeta::new("resolution", "Resolution", FieldKind::Select)
                        .options(["Fixed", "Won't Do"])
                        .required(),
                )
                .field(FieldMeta::new(
                    "customfield_10030",
                    "Fix note",
                    FieldKind::Text,
                )),
        )
        .with(Transition::new("41", "Reopen", "To Do"));
    emulator
        .set_workflow("DEV", Some("Bug"), flow)
        .expect("set workflow");
    let told = jira
        .workflow(&dev, "Bug")
        .await
        .expect("workflow preview")
        .expect("cloud tells the workflow");
    assert_eq!(told.initial, "To Do");
    assert_eq!(
        jira.workflow(&dev, "Task")
            .await
            .expect("preview of a type following no workflow"),
        None
    );
    let bug = jira
        .create_issue(&NewIssue::new(dev.clone(), "Bug", "Needs resolving"))
        .await
        .expect("create in DEV");
    jira.transitions(&bug.id).await.expect("transitions");
    jira.transition_issue(&bug.id, "11", &BTreeMap::new())
        .await
        .expect("start");
    let offered = jira.transitions(&bug.id).await.expect("transitions");
    assert!(
        offered
            .iter()
            .any(|t| t.id == "31" && t.required_fields().count() == 1),
        "Resolve with its required field: {offered:?}"
    );
    let _ = jira
        .transition_issue(&bug.id, "31", &BTreeMap::new())
        .await
        .expect_err("a required field missing");
    let fields = BTreeMap::from([
        ("resolution".to_owned(), CustomValue::Select("Fixed".into())),
        (
            "customfield_10030".to_owned(),
            CustomValue::Text("Replaced the fuser".into()),
        ),
    ]);
    jira.transition_issue(&bug.id, "31", &fields)
        .await
        .expect("resolve with fields");
    emulator
        .refuse_transition("DEV", "41", Some("Reopening needs a reason"))
        .expect("refuse");
    let _ = jira
        .transition_issue(&bug.id, "41", &BTreeMap::new())
        .await
        .expect_err("a refused transition");
}

/// What the labels of [`Spec::check`] cannot tell apart: a transitions
/// answer listing their screens' fields (`expand=transitions.fields`), and
/// a transition taken with fields.
fn detail(x: &Exchange) -> Option<&'static str> {
    let transitions = x.route.as_deref() == Some("/rest/api/3/issue/{issueIdOrKey}/transitions");
    let non_empty = |v: Option<&Value>| v.and_then(Value::as_object).is_some_and(|f| !f.is_empty());
    let listed = |body: &Value| {
        body.get("transitions")
            .and_then(Value::as_array)
            .is_some_and(|ts| ts.iter().any(|t| non_empty(t.get("fields"))))
    };
    match (transitions, x.method.as_str()) {
        (true, "GET") if x.response.as_ref().is_some_and(listed) => Some("with transitions.fields"),
        (true, "POST") if non_empty(x.request.as_ref().and_then(|r| r.get("fields"))) => {
            Some("with fields")
        }
        _ => None,
    }
}

#[test]
fn adapter_requests_and_emulator_answers_follow_atlassians_spec() {
    let Some(dir) = spec_dir() else { return };
    let mut spec = Spec::new(load(&dir, SPEC));
    let adf = adf_validator(&dir);

    // The validators are live: they reject what Jira would.
    let create = spec
        .operation("POST", "/rest/api/3/issue")
        .cloned()
        .expect("create issue");
    let schema = create
        .pointer("/requestBody/content/application~1json/schema")
        .expect("a request schema")
        .clone();
    assert!(
        !spec
            .validator("probe".into(), &schema)
            .is_valid(&json!({"properties": [{"key": "k", "value": 1, "extra": true}]})),
        "an entity property with an unknown member must be refused"
    );
    assert!(
        !adf.is_valid(&json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}]})),
        "an empty text node is not valid adf"
    );

    let exchanges = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let emulator = JiraEmulator::start().await.expect("emulator");
            exercise(&emulator).await;
            emulator.exchanges()
        });

    // And they look at the emulator's answers: a member Jira never sends is caught.
    let mut tampered = exchanges
        .iter()
        .find(|x| x.route.as_deref() == Some("/rest/api/3/serverInfo"))
        .cloned()
        .expect("server info was asked");
    tampered.response.as_mut().expect("a json answer")["licenseOwner"] = json!("nobody");
    assert!(
        spec.check(&tampered).is_err(),
        "an unknown server info member must be refused"
    );

    let mut failures = Vec::new();
    let mut checked = BTreeSet::new();
    let mut documents = 0;
    for x in exchanges
        .iter()
        .filter(|x| x.path.starts_with("/rest/api/3/"))
    {
        match spec.check(x) {
            Ok(done) => {
                if let Some(detail) = detail(x) {
                    checked.extend(done.iter().map(|d| format!("{d} {detail}")));
                }
                checked.extend(done);
            }
            Err(errors) => failures.extend(errors),
        }
        let mut docs = Vec::new();
        for body in [&x.request, &x.response].into_iter().flatten() {
            adf_documents(body, &mut docs);
        }
        for doc in docs {
            documents += 1;
            for e in adf.iter_errors(doc).take(3) {
                failures.push(format!(
                    "adf in {} {}: {e} at {}",
                    x.method,
                    x.path,
                    e.instance_path()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for needed in [
        "request POST /rest/api/3/issue",
        "response 201 POST /rest/api/3/issue",
        "request PUT /rest/api/3/issue/{issueIdOrKey}",
        "response 200 GET /rest/api/3/issue/{issueIdOrKey}",
        "request POST /rest/api/3/issue/{issueIdOrKey}/comment",
        "response 201 POST /rest/api/3/issue/{issueIdOrKey}/comment",
        "response 200 GET /rest/api/3/issue/{issueIdOrKey}/comment",
        "response 200 PUT /rest/api/3/issue/{issueIdOrKey}/comment/{id}",
        "response 200 POST /rest/api/3/issue/{issueIdOrKey}/attachments",
        "response 200 GET /rest/api/3/search/jql",
        "response 200 GET /rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes",
        "response 200 GET /rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}",
        "response 200 GET /rest/api/3/serverInfo",
        "response 200 GET /rest/api/3/myself",
        "response 200 GET /rest/api/3/project/{projectIdOrKey}",
        "request POST /rest/api/3/permissions/check",
        "response 200 POST /rest/api/3/permissions/check",
        "response 200 GET /rest/api/3/group/member",
        "response 200 GET /rest/api/3/issue/{issueIdOrKey}/transitions",
        "request POST /rest/api/3/issue/{issueIdOrKey}/transitions",
        "response 200 GET /rest/api/3/issue/{issueIdOrKey}/transitions with transitions.fields",
        "request POST /rest/api/3/issue/{issueIdOrKey}/transitions with fields",
        "request POST /rest/api/3/workflows/preview",
        "response 200 POST /rest/api/3/workflows/preview",
        "request POST /rest/api/3/issue/bulk",
        "response 201 POST /rest/api/3/issue/bulk",
        "response 400 POST /rest/api/3/issue/bulk",
    ] {
        assert!(
            checked.contains(needed),
            "{needed} was not checked; checked: {checked:#?}"
        );
    }
    assert!(
        documents >= 6,
        "only {documents} adf documents were checked"
    );
    let redirects = exchanges
        .iter()
        .filter(|x| x.route.as_deref() == Some("/rest/api/3/attachment/content/{id}"))
        .map(|x| x.status)
        .collect::<Vec<_>>();
    assert_eq!(redirects, [303], "downloads are answered with a redirect");
}
