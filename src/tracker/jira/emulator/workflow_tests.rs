//! Workflows over HTTP: the emulator's transitions and workflow preview in
//! Jira's shapes, and the adapters reading and taking them, on Cloud and
//! Data Center.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};

use super::tests::call;
use super::{Deployment, EmulatorOptions, JiraEmulator};
use crate::error::ErrorKind;
use crate::model::{CustomValue, FieldKind, FieldMeta, IssueId, Transition, Workflow};
use crate::testkit::ids as lit;
use crate::tracker::{IssueUpdate, NewIssue, Tracker};

/// To Do → (Start) In Progress → (Resolve, needs a resolution) Done; Reopen
/// leads back to To Do from anywhere.
fn resolve_flow() -> Workflow {
    Workflow::new("To Do")
        .named("Support flow")
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
        .with(Transition::new("41", "Reopen", "To Do"))
}

async fn emulator(deployment: Deployment) -> JiraEmulator {
    let e = JiraEmulator::start_with(EmulatorOptions::default().deployment(deployment))
        .await
        .unwrap();
    e.set_workflow("SUP", None, resolve_flow()).unwrap();
    e
}

/// The adapter of the emulator's flavor.
fn adapter(e: &JiraEmulator) -> Box<dyn Tracker> {
    match e.deployment() {
        Deployment::DataCenter => Box::new(e.data_center().unwrap()),
        _ => Box::new(e.cloud().unwrap()),
    }
}

fn api(e: &JiraEmulator) -> &'static str {
    match e.deployment() {
        Deployment::DataCenter => "/rest/api/2",
        _ => "/rest/api/3",
    }
}

async fn create(jira: &dyn Tracker, project: &str, issue_type: &str) -> IssueId {
    jira.create_issue(&NewIssue::new(
        lit::project(project),
        issue_type,
        "Printer on fire",
    ))
    .await
    .unwrap()
    .id
}

fn resolution(value: &str) -> BTreeMap<String, CustomValue> {
    BTreeMap::from([("resolution".to_owned(), CustomValue::Select(value.into()))])
}

fn ids(transitions: &[Transition]) -> Vec<&str> {
    transitions.iter().map(|t| t.id.as_str()).collect()
}

fn previews(e: &JiraEmulator) -> usize {
    e.exchanges()
        .iter()
        .filter(|x| x.path.ends_with("/workflows/preview"))
        .count()
}

#[tokio::test]
async fn cloud_reads_the_workflow_from_its_preview() {
    let e = emulator(Deployment::Cloud).await;
    e.set_workflow(
        "DEV",
        Some("Bug"),
        Workflow::new("Open").with(Transition::new("5", "Close", "Closed")),
    )
    .unwrap();
    let jira = e.cloud().unwrap();
    assert!(jira.capabilities().workflows);
    let flow = jira
        .workflow(&lit::project("SUP"), "bug")
        .await
        .unwrap()
        .expect("cloud tells the workflow");
    let configured = resolve_flow();
    assert_eq!(flow.name, "Support flow");
    assert_eq!(flow.initial, "To Do");
    assert_eq!(flow.statuses, configured.statuses);
    // The preview shows no screens: transitions come without their fields.
    let without_fields: Vec<Transition> = configured
        .transitions
        .iter()
        .map(|t| Transition::new(t.id.clone(), t.name.clone(), t.to.clone()).from(t.from.clone()))
        .collect();
    assert_eq!(flow.transitions, without_fields);
    let path: Vec<&str> = flow
        .path("To Do", "Done")
        .unwrap()
        .iter()
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(path, ["11", "31"]);
    // Asked again: from the cache.
    let before = previews(&e);
    jira.workflow(&lit::project("SUP"), "Bug").await.unwrap();
    assert_eq!(previews(&e), before);
    // A type with its own workflow, and one following none (Jira would
    // not know the preview: the adapter says it cannot tell).
    let bug = jira.workflow(&lit::project("DEV"), "Bug").await.unwrap();
    assert_eq!(bug.map(|f| f.initial), Some("Open".to_owned()));
    assert_eq!(
        jira.workflow(&lit::project("DEV"), "Task").await.unwrap(),
        None
    );
    let err = jira
        .workflow(&lit::project("SUP"), "Saga")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.message().contains("Saga"), "{err}");
}

#[tokio::test]
async fn data_center_tells_no_workflow_and_has_no_preview() {
    let e = emulator(Deployment::DataCenter).await;
    let jira = e.data_center().unwrap();
    assert!(jira.capabilities().workflows);
    assert_eq!(
        jira.workflow(&lit::project("SUP"), "Bug").await.unwrap(),
        None
    );
    assert_eq!(previews(&e), 0, "no call for a resource data center lacks");
    let (status, _) = call(
        &e,
        Method::POST,
        "/rest/api/2/workflows/preview",
        Some(json!({"projectId": "10000", "issueTypeIds": ["10000"]})),
    )
    .await;
    assert_eq!(status, 404);
}

async fn transitions_need_their_fields(d: Deployment) {
    let e = emulator(d).await;
    let jira = adapter(&e);
    let issue = create(jira.as_ref(), "SUP", "Bug").await;
    assert_eq!(jira.issue(&issue).await.unwrap().status, "To Do");
    let offered = jira.transitions(&issue).await.unwrap();
    assert_eq!(ids(&offered), ["11", "41"]);
    jira.transition_issue(&issue, "11", &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(jira.issue(&issue).await.unwrap().status, "In Progress");

    let offered = jira.transitions(&issue).await.unwrap();
    assert_eq!(ids(&offered), ["31", "41"]);
    let resolve = &offered[0];
    assert_eq!(
        (resolve.name.as_str(), resolve.to.as_str()),
        ("Resolve", "Done")
    );
    let required: Vec<&FieldMeta> = resolve.required_fields().collect();
    assert_eq!(required.len(), 1, "{resolve:?}");
    assert_eq!(
        (required[0].id.as_str(), required[0].kind),
        ("resolution", FieldKind::Select)
    );
    assert_eq!(required[0].options, ["Fixed", "Won't Do"]);
    assert!(
        resolve
            .fields
            .iter()
            .any(|f| f.id == "customfield_10030" && !f.required)
    );

    let err = jira
        .transition_issue(&issue, "31", &BTreeMap::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("resolution"), "{err}");
    let err = jira
        .transition_issue(&issue, "31", &resolution("Bogus"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("Bogus"), "{err}");
    assert_eq!(jira.issue(&issue).await.unwrap().status, "In Progress");

    let mut fields = resolution("fixed");
    fields.insert(
        "customfield_10030".into(),
        CustomValue::Text("new toner".into()),
    );
    jira.transition_issue(&issue, "31", &fields).await.unwrap();
    assert_eq!(jira.issue(&issue).await.unwrap().status, "Done");

    // Start does not start from Done.
    let err = jira
        .transition_issue(&issue, "11", &BTreeMap::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused, "{err}");
    assert!(
        err.message().contains("is not valid for this issue"),
        "{err}"
    );

    // A validator's refusal keeps its message.
    e.refuse_transition("SUP", "41", Some("Only QA may reopen an issue."))
        .unwrap();
    let err = jira
        .transition_issue(&issue, "41", &BTreeMap::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused, "{err}");
    assert!(
        err.message().contains("Only QA may reopen an issue."),
        "{err}"
    );
    assert_eq!(jira.issue(&issue).await.unwrap().status, "Done");

    // An update's status still takes the one transition leading there.
    e.refuse_transition("SUP", "41", None).unwrap();
    let err = jira
        .update_issue(&issue, &IssueUpdate::new().status("In Progress"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    jira.update_issue(&issue, &IssueUpdate::new().status("To Do"))
        .await
        .unwrap();
    assert_eq!(jira.issue(&issue).await.unwrap().status, "To Do");
}

#[tokio::test]
async fn transitions_need_their_fields_on_cloud() {
    transitions_need_their_fields(Deployment::Cloud).await;
}

#[tokio::test]
async fn transitions_need_their_fields_on_data_center() {
    transitions_need_their_fields(Deployment::DataCenter).await;
}

async fn transitions_in_jiras_shapes(d: Deployment) {
    let e = emulator(d).await;
    let jira = adapter(&e);
    let issue = create(jira.as_ref(), "SUP", "Bug").await;
    jira.transition_issue(&issue, "11", &BTreeMap::new())
        .await
        .unwrap();
    let path = format!("{}/issue/{issue}/transitions", api(&e));
    let (status, plain) = call(&e, Method::GET, &path, None).await;
    assert_eq!(status, 200, "{plain}");
    assert!(plain["transitions"][0].get("fields").is_none(), "{plain}");
    let (_, v) = call(
        &e,
        Method::GET,
        &format!("{path}?expand=transitions.fields"),
        None,
    )
    .await;
    let resolve = &v["transitions"][0];
    assert_eq!(resolve["id"], "31");
    assert_eq!(resolve["to"]["name"], "Done");
    assert_eq!(
        (&resolve["isGlobal"], &resolve["hasScreen"]),
        (&json!(false), &json!(true))
    );
    assert_eq!(v["transitions"][1]["isGlobal"], true, "Reopen is global");
    let field = &resolve["fields"]["resolution"];
    assert_eq!(field["required"], true, "{field}");
    assert_eq!(field["schema"]["type"], "resolution");
    assert_eq!(field["allowedValues"][1]["name"], "Won't Do");
    assert_eq!(
        resolve["fields"]["customfield_10030"]["schema"]["custom"],
        "com.atlassian.jira.plugin.system.customfieldtypes:textfield"
    );
    assert_ne!(
        resolve["to"]["id"], v["transitions"][1]["to"]["id"],
        "statuses have their own ids"
    );

    let take = |fields: Value| json!({"transition": {"id": "31"}, "fields": fields});
    let (status, v) = call(&e, Method::POST, &path, Some(take(json!({})))).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["errors"]["resolution"].is_string(), "{v}");
    let (status, v) = call(
        &e,
        Method::POST,
        &path,
        Some(take(
            json!({"customfield_10010": "x", "resolution": {"name": "Fixed"}}),
        )),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["errors"]["customfield_10010"]
            .as_str()
            .is_some_and(|m| m.contains("not on the appropriate screen")),
        "{v}"
    );
    let (status, v) = call(
        &e,
        Method::POST,
        &path,
        Some(take(json!({"resolution": {"name": "Fixed"}}))),
    )
    .await;
    assert_eq!(status, 204, "{v}");
    let (status, v) = call(
        &e,
        Method::POST,
        &path,
        Some(json!({"transition": {"id": "31"}})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        v["errorMessages"][0],
        "Transition id '31' is not valid for this issue."
    );
}

#[tokio::test]
async fn transitions_in_jiras_shapes_on_cloud() {
    transitions_in_jiras_shapes(Deployment::Cloud).await;
}

#[tokio::test]
async fn transitions_in_jiras_shapes_on_data_center() {
    transitions_in_jiras_shapes(Deployment::DataCenter).await;
}

#[tokio::test]
async fn the_preview_has_jiras_shape() {
    let e = emulator(Deployment::Cloud).await;
    let project = e.tracker().project(&lit::project("SUP")).await.unwrap();
    let type_ids: Vec<&str> = project.issue_types.iter().map(|t| t.id.as_str()).collect();
    let (status, v) = call(
        &e,
        Method::POST,
        "/rest/api/3/workflows/preview",
        Some(json!({"projectId": "10000", "issueTypeIds": [type_ids[0]]})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let route = e.exchanges().last().and_then(|x| x.route.clone());
    assert_eq!(route.as_deref(), Some("/rest/api/3/workflows/preview"));
    let flows = v["workflows"].as_array().unwrap();
    assert_eq!(flows.len(), 1, "every type follows the project's workflow");
    let flow = &flows[0];
    let context: Vec<&str> = flow["queryContext"][0]["issueTypes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(context, type_ids);
    let reference = |name: &str| {
        v["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["statusReference"].clone())
            .unwrap_or_else(|| panic!("status {name} in {v}"))
    };
    let transitions = flow["transitions"].as_array().unwrap();
    let kinds: Vec<&str> = transitions
        .iter()
        .filter_map(|t| t["type"].as_str())
        .collect();
    assert_eq!(kinds, ["INITIAL", "DIRECTED", "DIRECTED", "GLOBAL"]);
    assert_eq!(transitions[0]["toStatusReference"], reference("To Do"));
    assert_eq!(
        transitions[2]["links"][0]["fromStatusReference"],
        reference("In Progress")
    );
    assert_eq!(transitions[3]["links"], json!([]));
    // Looked up by name or id: the same workflow; unknown ones are 404.
    for lookup in [
        json!({"projectId": "10000", "workflowNames": ["Support flow"]}),
        json!({"projectId": "10000", "workflowIds": [flow["id"]]}),
    ] {
        let (status, again) = call(
            &e,
            Method::POST,
            "/rest/api/3/workflows/preview",
            Some(lookup),
        )
        .await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["workflows"][0]["id"], flow["id"]);
    }
    for bad in [
        (
            json!({"projectId": "10001", "issueTypeIds": ["10000"]}),
            404,
        ),
        (
            json!({"projectId": "10000", "workflowNames": ["Nope"]}),
            404,
        ),
        (
            json!({"projectId": "99999", "issueTypeIds": ["10000"]}),
            404,
        ),
        (json!({"projectId": "10000"}), 400),
        (json!({"issueTypeIds": ["10000"]}), 400),
    ] {
        let (status, answer) = call(
            &e,
            Method::POST,
            "/rest/api/3/workflows/preview",
            Some(bad.0.clone()),
        )
        .await;
        assert_eq!(status, bad.1, "{} → {answer}", bad.0);
    }
}

#[tokio::test]
async fn without_a_workflow_issues_move_freely_as_before() {
    let e = JiraEmulator::start().await.unwrap();
    let jira = e.cloud().unwrap();
    let issue = create(&jira, "DEV", "Task").await;
    assert_eq!(
        jira.workflow(&lit::project("DEV"), "Task").await.unwrap(),
        None
    );
    let offered = jira.transitions(&issue).await.unwrap();
    let targets: Vec<&str> = offered.iter().map(|t| t.to.as_str()).collect();
    assert_eq!(targets, ["To Do", "In Progress", "Done"]);
    jira.transition_issue(&issue, "31", &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(jira.issue(&issue).await.unwrap().status, "Done");
    jira.update_issue(&issue, &IssueUpdate::new().status("In Progress"))
        .await
        .unwrap();
    assert_eq!(jira.issue(&issue).await.unwrap().status, "In Progress");
    let err = jira
        .transition_issue(&issue, "99", &BTreeMap::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused, "{err}");
}
