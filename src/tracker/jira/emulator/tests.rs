//! The emulator's fields beyond Basic and issue links, driven over HTTP as
//! any Jira client would: Cloud (v3, ADF) and Data Center (v2, wiki) shapes.

use reqwest::Method;
use serde_json::{Value, json};

use super::{API_TOKEN, Deployment, EMAIL, EmulatorOptions, JiraEmulator};
use crate::model::{FieldKind, FieldMeta};
use crate::testkit::ids as lit;

const SEVERITY: &str = "customfield_10010";

/// One request; the status and the JSON answer (`Null` when there is none).
pub(super) async fn call(
    e: &JiraEmulator,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut request = client
        .request(method, format!("{}{path}", e.base_url()))
        .basic_auth(EMAIL, Some(API_TOKEN));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await.expect("the emulator answers");
    let status = answer.status().as_u16();
    let text = answer.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// An emulator whose project SUP describes a field of every kind.
async fn emulator(deployment: Deployment) -> JiraEmulator {
    let e = JiraEmulator::start_with(EmulatorOptions::default().deployment(deployment))
        .await
        .unwrap();
    for meta in [
        FieldMeta::new("priority", "Priority", FieldKind::Select).options(["High", "Low"]),
        FieldMeta::new("components", "Components", FieldKind::MultiSelect)
            .options(["Printers", "Network"]),
        FieldMeta::new(SEVERITY, "Severity", FieldKind::Select)
            .options(["S1", "S2", "S3"])
            .required(),
        FieldMeta::new("customfield_10011", "Notes", FieldKind::Text),
        FieldMeta::new("customfield_10012", "Root cause", FieldKind::Paragraph),
        FieldMeta::new("customfield_10013", "Cost", FieldKind::Number),
        FieldMeta::new("customfield_10014", "Start", FieldKind::Date),
        FieldMeta::new("customfield_10015", "Seen", FieldKind::DateTime),
        FieldMeta::new("customfield_10016", "Areas", FieldKind::MultiSelect)
            .options(["UI", "API", "DB"]),
        FieldMeta::new("customfield_10017", "Tags", FieldKind::Labels),
        FieldMeta::new("customfield_10018", "Owner", FieldKind::User),
        FieldMeta::new("customfield_10019", "Watchers", FieldKind::Users),
        FieldMeta::new("customfield_10020", "Link", FieldKind::Url),
        FieldMeta::new("customfield_10021", "Verdict", FieldKind::Text).on_create(false),
        FieldMeta::new("customfield_10022", "Origin", FieldKind::Text).on_edit(false),
    ] {
        e.add_field("SUP", meta).unwrap();
    }
    e
}

/// `/rest/api/3` on Cloud, `/rest/api/2` on Data Center.
fn api(d: Deployment) -> &'static str {
    match d {
        Deployment::DataCenter => "/rest/api/2",
        _ => "/rest/api/3",
    }
}

fn user_ref(d: Deployment, id: &str) -> Value {
    match d {
        Deployment::DataCenter => json!({"name": id}),
        _ => json!({"accountId": id}),
    }
}

fn paragraph(d: Deployment, text: &str) -> Value {
    match d {
        Deployment::DataCenter => json!(text),
        _ => json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": text}]}]}),
    }
}

async fn create(e: &JiraEmulator, d: Deployment, fields: Value) -> (u16, Value) {
    let mut all =
        json!({"project": {"key": "SUP"}, "issuetype": {"name": "Bug"}, "summary": "Printer"});
    for (k, v) in fields.as_object().into_iter().flatten() {
        all[k] = v.clone();
    }
    call(
        e,
        Method::POST,
        &format!("{}/issue", api(d)),
        Some(json!({"fields": all})),
    )
    .await
}

async fn get(e: &JiraEmulator, d: Deployment, key: &str) -> Value {
    let (status, v) = call(e, Method::GET, &format!("{}/issue/{key}", api(d)), None).await;
    assert_eq!(status, 200, "{v}");
    v["fields"].clone()
}

/// Asserts a 400 naming `field` whose message contains each of `words`.
fn refused(answer: &(u16, Value), field: &str, words: &[&str]) {
    let (status, v) = answer;
    assert_eq!(*status, 400, "{v}");
    let message = v["errors"][field]
        .as_str()
        .unwrap_or_else(|| panic!("errors.{field} in {v}"));
    for word in words {
        assert!(message.contains(word), "{message:?} names {word}");
    }
}

async fn every_kind_round_trips(d: Deployment) {
    let e = emulator(d).await;
    let (status, parent) = create(&e, d, json!({SEVERITY: {"value": "S1"}})).await;
    assert_eq!(status, 201, "{parent}");
    let (status, created) = create(
        &e,
        d,
        json!({
            "priority": {"name": "high"},
            "assignee": user_ref(d, "ada"),
            "reporter": user_ref(d, "pat"),
            "duedate": "2026-12-24",
            "components": [{"name": "Printers"}, {"name": "Network"}],
            "fixVersions": [{"name": "2.0"}],
            "parent": {"key": parent["key"]},
            SEVERITY: {"value": "s2"},
            "customfield_10011": "toner",
            "customfield_10012": paragraph(d, "the fuser"),
            "customfield_10013": 12.5,
            "customfield_10014": "2026-12-01",
            "customfield_10015": "2026-12-03T10:00:00.000+0000",
            "customfield_10016": [{"value": "API"}, {"value": "UI"}],
            "customfield_10017": ["b", "a"],
            "customfield_10018": user_ref(d, "uma"),
            "customfield_10019": [user_ref(d, "uma"), user_ref(d, "ada")],
            "customfield_10020": "https://example.com/x",
        }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let f = get(&e, d, created["key"].as_str().unwrap()).await;
    assert_eq!(f["priority"]["name"], "High");
    assert_eq!(f["assignee"]["displayName"], "Ada Admin");
    assert_eq!(f["reporter"]["displayName"], "Pat Project-Admin");
    match d {
        Deployment::DataCenter => assert_eq!(f["assignee"]["name"], "ada"),
        _ => assert_eq!(f["assignee"]["accountId"], "ada"),
    }
    assert_eq!(f["duedate"], "2026-12-24");
    let names = |v: &Value, key: &str| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|x| x[key].as_str().unwrap_or("?").to_owned())
            .collect()
    };
    assert_eq!(names(&f["components"], "name"), ["Network", "Printers"]);
    assert_eq!(names(&f["fixVersions"], "name"), ["2.0"]);
    assert_eq!(f["parent"]["key"], parent["key"]);
    assert_eq!(f["parent"]["fields"]["summary"], "Printer");
    assert_eq!(f[SEVERITY]["value"], "S2");
    assert_eq!(f["customfield_10011"], "toner");
    assert_eq!(f["customfield_10012"], paragraph(d, "the fuser"));
    assert_eq!(f["customfield_10013"], 12.5);
    assert_eq!(f["customfield_10014"], "2026-12-01");
    assert_eq!(f["customfield_10015"], "2026-12-03T10:00:00.000+0000");
    assert_eq!(names(&f["customfield_10016"], "value"), ["API", "UI"]);
    assert_eq!(f["customfield_10017"], json!(["a", "b"]));
    assert_eq!(f["customfield_10018"]["displayName"], "Uma User");
    assert_eq!(
        names(&f["customfield_10019"], "displayName"),
        ["Ada Admin", "Uma User"]
    );
    assert_eq!(f["customfield_10020"], "https://example.com/x");
    assert!(f["issuelinks"].as_array().is_some_and(Vec::is_empty));

    // Read back by id, options find the same values.
    let by_id = json!({"fields": {
        SEVERITY: {"id": f[SEVERITY]["id"]},
        "priority": {"id": f["priority"]["id"]},
        "customfield_10016": [{"id": f["customfield_10016"][0]["id"]}],
        "components": [{"id": f["components"][1]["id"]}],
    }});
    let path = format!("{}/issue/{}", api(d), created["key"].as_str().unwrap());
    let (status, v) = call(&e, Method::PUT, &path, Some(by_id)).await;
    assert_eq!(status, 204, "{v}");
    let g = get(&e, d, created["key"].as_str().unwrap()).await;
    assert_eq!(g[SEVERITY], f[SEVERITY]);
    assert_eq!(g["priority"], f["priority"]);
    assert_eq!(names(&g["customfield_10016"], "value"), ["API"]);
    assert_eq!(names(&g["components"], "name"), ["Printers"]);

    // null clears; an unset field renders null.
    let clear = json!({"fields": {"assignee": null, "duedate": null, "customfield_10011": null,
        "customfield_10017": [], "parent": null}});
    let (status, v) = call(&e, Method::PUT, &path, Some(clear)).await;
    assert_eq!(status, 204, "{v}");
    let h = get(&e, d, created["key"].as_str().unwrap()).await;
    for field in [
        "assignee",
        "duedate",
        "customfield_10011",
        "customfield_10017",
    ] {
        assert_eq!(h[field], Value::Null, "{field} cleared: {h}");
    }
    assert!(h.get("parent").is_none(), "{h}");
    let p = get(&e, d, parent["key"].as_str().unwrap()).await;
    assert_eq!(
        (&p["reporter"], &p["customfield_10013"]),
        (&Value::Null, &Value::Null)
    );
}

#[tokio::test]
async fn every_kind_round_trips_on_cloud() {
    every_kind_round_trips(Deployment::Cloud).await;
}

#[tokio::test]
async fn every_kind_round_trips_on_data_center() {
    every_kind_round_trips(Deployment::DataCenter).await;
}

#[tokio::test]
async fn fields_render_only_when_asked_for() {
    let d = Deployment::Cloud;
    let e = emulator(d).await;
    let (_, created) = create(
        &e,
        d,
        json!({SEVERITY: {"value": "S1"}, "priority": {"name": "Low"}}),
    )
    .await;
    let key = created["key"].as_str().unwrap();
    let (status, v) = call(
        &e,
        Method::GET,
        &format!("/rest/api/3/issue/{key}?fields=priority,{SEVERITY},issuelinks"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let fields = v["fields"].as_object().unwrap();
    let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, [SEVERITY, "issuelinks", "priority"]);
    let (_, found) = call(
        &e,
        Method::GET,
        "/rest/api/3/search/jql?jql=project%3DSUP&fields=*all",
        None,
    )
    .await;
    assert_eq!(found["issues"][0]["fields"]["priority"]["name"], "Low");
    assert_eq!(
        found["issues"][0]["fields"]["customfield_10011"],
        Value::Null
    );
}

async fn bad_creates_are_refused_by_field(d: Deployment) {
    let e = emulator(d).await;
    let s1 = json!({"value": "S1"});
    refused(
        &create(&e, d, json!({})).await,
        SEVERITY,
        &["Severity is required"],
    );
    refused(
        &create(&e, d, json!({SEVERITY: {"value": "S9"}})).await,
        SEVERITY,
        &["'S9'"],
    );
    refused(
        &create(&e, d, json!({SEVERITY: {"id": "4711"}})).await,
        SEVERITY,
        &["'4711'"],
    );
    refused(
        &create(&e, d, json!({SEVERITY: "S1"})).await,
        SEVERITY,
        &["S1", "{\"value\"}"],
    );
    refused(
        &create(&e, d, json!({SEVERITY: s1, "customfield_10021": "no"})).await,
        "customfield_10021",
        &[
            "Field 'customfield_10021' cannot be set. It is not on the appropriate screen, or unknown.",
        ],
    );
    refused(
        &create(&e, d, json!({SEVERITY: s1, "customfield_99": "x"})).await,
        "customfield_99",
        &["cannot be set"],
    );
    refused(
        &create(&e, d, json!({SEVERITY: s1, "priority": {"name": "Urgent"}})).await,
        "priority",
        &["'Urgent'"],
    );
    refused(
        &create(&e, d, json!({SEVERITY: s1, "customfield_10013": "twelve"})).await,
        "customfield_10013",
        &["twelve", "a number"],
    );
    refused(
        &create(&e, d, json!({SEVERITY: s1, "duedate": "24/12/2026"})).await,
        "duedate",
        &["24/12/2026"],
    );
    refused(
        &create(
            &e,
            d,
            json!({SEVERITY: s1, "assignee": user_ref(d, "nobody")}),
        )
        .await,
        "assignee",
        &["'nobody'"],
    );
    refused(
        &create(&e, d, json!({SEVERITY: s1, "parent": {"key": "SUP-99"}})).await,
        "parent",
        &["'SUP-99'"],
    );
    refused(
        &create(
            &e,
            d,
            json!({SEVERITY: s1, "customfield_10016": [{"value": "UI"}, {"value": "XX"}]}),
        )
        .await,
        "customfield_10016",
        &["'XX'"],
    );
    if d == Deployment::Cloud {
        refused(
            &create(&e, d, json!({SEVERITY: s1, "assignee": {"name": "ada"}})).await,
            "assignee",
            &["accountId", "ada"],
        );
    }
    assert!(
        e.tracker().inspect_issues(&lit::project("SUP")).is_empty(),
        "nothing was created"
    );
    // In a bulk create, the one bad element is refused under its number.
    let (status, v) = call(
        &e,
        Method::POST,
        &format!("{}/issue/bulk", api(d)),
        Some(json!({"issueUpdates": [
            {"fields": {"project": {"key": "SUP"}, "issuetype": {"name": "Bug"}, "summary": "a", SEVERITY: {"value": "S1"}}},
            {"fields": {"project": {"key": "SUP"}, "issuetype": {"name": "Bug"}, "summary": "b", SEVERITY: {"value": "S0"}}},
        ]})),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["errors"][0]["failedElementNumber"], 1, "{v}");
    assert!(
        v["errors"][0]["elementErrors"]["errors"][SEVERITY]
            .as_str()
            .is_some_and(|m| m.contains("'S0'")),
        "{v}"
    );
    assert_eq!(e.tracker().inspect_issues(&lit::project("SUP")).len(), 1);
}

#[tokio::test]
async fn bad_creates_are_refused_by_field_on_cloud() {
    bad_creates_are_refused_by_field(Deployment::Cloud).await;
}

#[tokio::test]
async fn bad_creates_are_refused_by_field_on_data_center() {
    bad_creates_are_refused_by_field(Deployment::DataCenter).await;
}

#[tokio::test]
async fn a_refused_edit_changes_nothing() {
    let d = Deployment::Cloud;
    let e = emulator(d).await;
    let (_, a) = create(&e, d, json!({SEVERITY: {"value": "S1"}})).await;
    let (_, b) = create(
        &e,
        d,
        json!({SEVERITY: {"value": "S1"}, "parent": {"key": a["key"]}}),
    )
    .await;
    let (a, b) = (a["key"].as_str().unwrap(), b["key"].as_str().unwrap());
    let before = e.tracker().inspect_issue(&lit::key(a)).unwrap();
    let edit = |fields: Value| {
        let e = &e;
        async move {
            call(
                e,
                Method::PUT,
                &format!("/rest/api/3/issue/{a}"),
                Some(json!({"fields": fields})),
            )
            .await
        }
    };
    refused(
        &edit(
            json!({"summary": "changed", "priority": {"name": "Low"}, SEVERITY: {"value": "S7"}}),
        )
        .await,
        SEVERITY,
        &["'S7'"],
    );
    refused(
        &edit(json!({SEVERITY: null})).await,
        SEVERITY,
        &["required"],
    );
    refused(
        &edit(json!({"customfield_10022": "x"})).await,
        "customfield_10022",
        &["not on the appropriate screen"],
    );
    refused(
        &edit(json!({"summary": "changed", "parent": {"key": b}})).await,
        "parent",
        &["cycle"],
    );
    refused(
        &edit(json!({"parent": {"id": "987654"}})).await,
        "parent",
        &["987654"],
    );
    let after = e.tracker().inspect_issue(&lit::key(a)).unwrap();
    assert_eq!(after, before, "nothing changed");
    // `update` sets work like `fields`.
    let (status, v) = call(
        &e,
        Method::PUT,
        &format!("/rest/api/3/issue/{a}"),
        Some(json!({"update": {"priority": [{"set": {"name": "Low"}}]}})),
    )
    .await;
    assert_eq!(status, 204, "{v}");
    assert_eq!(get(&e, d, a).await["priority"]["name"], "Low");
}

async fn metadata_lists_the_projects_fields(d: Deployment) {
    let e = emulator(d).await;
    let base = api(d);
    let (status, list) = call(&e, Method::GET, &format!("{base}/field"), None).await;
    assert_eq!(status, 200, "{list}");
    let find = |id: &str| {
        list.as_array()
            .and_then(|l| l.iter().find(|f| f["id"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("{id} in {list}"))
    };
    assert_eq!(
        find(SEVERITY),
        json!({"id": SEVERITY, "key": SEVERITY, "name": "Severity", "custom": true,
            "orderable": true, "navigable": true, "searchable": true,
            "clauseNames": ["cf[10010]", "Severity"],
            "schema": {"type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select", "customId": 10010}})
    );
    assert_eq!(
        find("customfield_10019")["schema"],
        json!({"type": "array", "items": "user", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:multiuserpicker", "customId": 10019})
    );
    for id in [
        "priority",
        "assignee",
        "duedate",
        "components",
        "fixVersions",
        "parent",
        "issuelinks",
    ] {
        assert_eq!(find(id)["custom"], false, "{id}");
    }

    let (_, project) = call(&e, Method::GET, &format!("{base}/project/SUP"), None).await;
    let bug = project["issueTypes"][0]["id"].as_str().unwrap().to_owned();
    let (status, meta) = call(
        &e,
        Method::GET,
        &format!("{base}/issue/createmeta/SUP/issuetypes/{bug}?maxResults=200"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{meta}");
    let entries = match d {
        Deployment::DataCenter => meta["values"].as_array().unwrap().clone(),
        _ => meta["fields"].as_array().unwrap().clone(),
    };
    assert_eq!(meta["total"], entries.len());
    let entry = |id: &str| entries.iter().find(|f| f["fieldId"] == id).cloned();
    let severity = entry(SEVERITY).expect("severity on the create screen");
    assert_eq!(severity["required"], true);
    assert_eq!(severity["allowedValues"][1]["value"], "S2");
    assert_eq!(
        entry("priority").unwrap()["allowedValues"][0]["name"],
        "High"
    );
    assert_eq!(entry("summary").unwrap()["required"], true);
    assert!(
        entry("customfield_10021").is_none(),
        "not on the create screen"
    );
    assert!(entry("customfield_10022").is_some());

    // An option's id from the metadata sets it.
    let s3 = severity["allowedValues"][2]["id"].clone();
    let (status, created) = create(&e, d, json!({SEVERITY: {"id": s3}})).await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap();
    assert_eq!(get(&e, d, key).await[SEVERITY]["value"], "S3");

    let (status, edit) = call(
        &e,
        Method::GET,
        &format!("{base}/issue/{key}/editmeta"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{edit}");
    let fields = &edit["fields"];
    assert_eq!(
        fields["customfield_10016"]["allowedValues"][0]["value"],
        "UI"
    );
    assert_eq!(fields["customfield_10021"]["name"], "Verdict");
    assert!(
        fields.get("customfield_10022").is_none(),
        "not on the edit screen"
    );
    assert!(fields.get("project").is_none());
    let (status, _) = call(
        &e,
        Method::GET,
        &format!("{base}/issue/createmeta/SUP/issuetypes/999"),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn metadata_lists_the_projects_fields_on_cloud() {
    metadata_lists_the_projects_fields(Deployment::Cloud).await;
}

#[tokio::test]
async fn metadata_lists_the_projects_fields_on_data_center() {
    metadata_lists_the_projects_fields(Deployment::DataCenter).await;
}

async fn links_show_on_both_ends(d: Deployment) {
    let e = emulator(d).await;
    let base = api(d);
    let s1 = json!({SEVERITY: {"value": "S1"}});
    let (_, a) = create(&e, d, s1.clone()).await;
    let (_, b) = create(&e, d, s1).await;
    let (a_key, b_key) = (a["key"].as_str().unwrap(), b["key"].as_str().unwrap());
    let (status, types) = call(&e, Method::GET, &format!("{base}/issueLinkType"), None).await;
    assert_eq!(status, 200, "{types}");
    let blocks = types["issueLinkTypes"]
        .as_array()
        .and_then(|l| l.iter().find(|t| t["name"] == "Blocks"))
        .cloned()
        .expect("Blocks");
    assert_eq!(
        (&blocks["inward"], &blocks["outward"]),
        (&json!("is blocked by"), &json!("blocks"))
    );

    let link = json!({"type": {"name": "Blocks"}, "outwardIssue": {"id": a["id"]}, "inwardIssue": {"id": b["id"]}});
    for _ in 0..2 {
        let (status, v) = call(
            &e,
            Method::POST,
            &format!("{base}/issueLink"),
            Some(link.clone()),
        )
        .await;
        assert_eq!((status, v), (201, Value::Null));
    }
    let on_a = get(&e, d, a_key).await["issuelinks"].clone();
    let on_b = get(&e, d, b_key).await["issuelinks"].clone();
    assert_eq!(on_a.as_array().map(Vec::len), Some(1), "added once: {on_a}");
    assert_eq!(on_a[0]["outwardIssue"]["key"], b_key);
    assert_eq!(on_a[0]["type"]["outward"], "blocks");
    assert_eq!(on_b[0]["inwardIssue"]["key"], a_key);
    assert_eq!(on_a[0]["id"], on_b[0]["id"]);
    let id = on_a[0]["id"].as_str().unwrap().to_owned();
    let (status, one) = call(&e, Method::GET, &format!("{base}/issueLink/{id}"), None).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(
        (&one["outwardIssue"]["key"], &one["inwardIssue"]["key"]),
        (&json!(a_key), &json!(b_key))
    );

    let post = |body: Value| {
        let e = &e;
        async move { call(e, Method::POST, &format!("{base}/issueLink"), Some(body)).await }
    };
    let (status, v) = post(json!({"type": {"name": "Causes"}, "outwardIssue": {"id": a["id"]}, "inwardIssue": {"id": b["id"]}})).await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["errorMessages"][0]
            .as_str()
            .is_some_and(|m| m.contains("'Causes'")),
        "{v}"
    );
    let (status, v) = post(json!({"type": {"name": "Relates"}, "outwardIssue": {"key": a_key}, "inwardIssue": {"key": a_key}})).await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["errorMessages"][0]
            .as_str()
            .is_some_and(|m| m.contains(a_key)),
        "{v}"
    );
    let (status, v) = post(json!({"type": {"name": "Relates"}, "outwardIssue": {"key": a_key}, "inwardIssue": {"key": "SUP-99"}})).await;
    assert_eq!(status, 404, "{v}");

    let (status, _) = call(&e, Method::DELETE, &format!("{base}/issueLink/{id}"), None).await;
    assert_eq!(status, 204);
    assert!(
        get(&e, d, b_key).await["issuelinks"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    let (status, _) = call(&e, Method::DELETE, &format!("{base}/issueLink/{id}"), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&e, Method::GET, &format!("{base}/issueLink/{id}"), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn links_show_on_both_ends_on_cloud() {
    links_show_on_both_ends(Deployment::Cloud).await;
}

#[tokio::test]
async fn links_show_on_both_ends_on_data_center() {
    links_show_on_both_ends(Deployment::DataCenter).await;
}
