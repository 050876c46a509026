//! Strict mode: every request body the emulator receives is checked against
//! Atlassian's OpenAPI spec and ADF schema (read from `../shared/reference/jira/`
//! or `TWINSYNC_JIRA_SPEC_DIR`; these tests fail, saying where, when the files
//! are missing), and what they refuse is answered 400 and recorded.

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;
use twinsync::testkit::ids as lit;
use twinsync::testkit::jira::{JiraFlavor, JiraRig};
use twinsync::tracker::jira::emulator::{EmulatorOptions, JiraEmulator};
use twinsync::tracker::{IssueUpdate, NewComment, Tracker};

mod common;
use common::http::{call, create, run};
use common::jira_spec::StrictValidator;

#[test]
fn a_strict_emulator_refuses_what_the_spec_and_adf_schema_refuse() {
    let validator = StrictValidator::load();
    run(async {
        let emulator =
            JiraEmulator::start_with(EmulatorOptions::default().strict_requests(validator))
                .await
                .unwrap();
        // An entity property with a member the spec does not have.
        let (status, v) = call(
            &emulator,
            Method::POST,
            "/rest/api/3/issue",
            Some(json!({"fields": {"project": {"key": "SUP"}, "issuetype": {"name": "Bug"}, "summary": "x"},
                "properties": [{"key": "k", "value": 1, "extra": true}]})),
        )
        .await;
        assert_eq!(status, 400, "{v}");
        assert!(
            v["errorMessages"].as_array().is_some_and(|m| !m.is_empty())
                && v["errors"] == json!({}),
            "{v}"
        );
        assert!(
            emulator
                .tracker()
                .inspect_issues(&lit::project("SUP"))
                .is_empty(),
            "nothing was created"
        );
        // A link mark without its href passes the emulator's own check, not the ADF schema.
        let key = create(&emulator, "SUP", "fine").await;
        let doc = json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
            {"type": "text", "text": "x", "marks": [{"type": "link"}]}]}]});
        let (status, _) = call(
            &emulator,
            Method::POST,
            &format!("/rest/api/3/issue/{key}/comment"),
            Some(json!({"body": doc})),
        )
        .await;
        assert_eq!(status, 400);
        let violations = emulator.violations();
        assert_eq!(violations.len(), 2, "{violations:#?}");
        assert_eq!(violations[0].path, "/rest/api/3/issue");
        assert!(
            violations[1].problems.iter().any(|p| p.starts_with("adf")),
            "{violations:#?}"
        );
    });
}

#[test]
fn the_cloud_adapters_whole_sync_passes_a_strict_emulator() {
    let validator = StrictValidator::load();
    let rig = JiraRig::new(JiraFlavor::Cloud);
    rig.site
        .emulator()
        .set_strict_requests(Some(Arc::new(validator.clone())));
    // The rig's setup asked before strict mode was on; count from here.
    rig.reset_calls();
    let sup = rig.user().create("SUP", "Bug", "Printer on fire");
    rig.user().update(
        &sup.key,
        IssueUpdate {
            description: Some(common::rich_text()),
            ..IssueUpdate::default()
        },
    );
    rig.user().comment(&sup.key, "first");
    rig.user().attach(&sup.key, "smoke.txt", b"lots of smoke");
    rig.user().set_labels(&sup.key, &["printer"]);
    let twin = rig
        .block_on(rig.node.exalate(&rig.conn.id, &sup.key))
        .unwrap();
    let dev_key = twin.twin.expect("a twin").key;
    rig.sync();
    rig.advance(70);
    rig.user()
        .edit_summary(&sup.key, "Printer on fire, floor 3");
    rig.user().comment(&sup.key, "still burning");
    rig.block_on(rig.human.add_comment(
        &rig.issue(sup.key.as_str()).id,
        &NewComment::public(common::rich_text()),
    ))
    .unwrap();
    rig.user().attach(&sup.key, "photo.png", b"\x89PNG");
    rig.sync();
    rig.advance(70);
    rig.user().comment(&dev_key, "on it");
    rig.sync();
    rig.advance(70);
    rig.sync();
    let violations = rig.site.emulator().violations();
    assert!(
        violations.is_empty(),
        "requests Jira would refuse:\n{}",
        violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let dev = rig.issue(dev_key.as_str());
    assert_eq!(dev.summary, "Printer on fire, floor 3");
    assert_eq!(
        rig.user().said(&dev_key),
        [
            "first",
            "still burning",
            common::rich_text().to_plain_text().as_str(),
            "on it"
        ]
    );
    assert_eq!(
        rig.user().said(&sup.key),
        [
            "first",
            "still burning",
            common::rich_text().to_plain_text().as_str(),
            "on it"
        ]
    );
    assert_eq!(
        dev.description.to_plain_text(),
        common::rich_text().to_plain_text()
    );
    assert_eq!(dev.attachments.len(), 2);
    let calls = rig.calls();
    let bodies = calls
        .0
        .iter()
        .filter(|x| x.request.is_some() && x.path.starts_with("/rest/api/3/"))
        .count();
    assert!(
        bodies >= 6 && validator.checked() >= bodies,
        "{} bodies checked, {bodies} sent: {calls}",
        validator.checked()
    );
}

#[test]
fn bulk_creates_pass_a_strict_emulator_which_refuses_more_than_50_and_all_bad() {
    let validator = StrictValidator::load();
    run(async {
        let emulator =
            JiraEmulator::start_with(EmulatorOptions::default().strict_requests(validator))
                .await
                .unwrap();
        let cloud = emulator.cloud().unwrap();
        let batch: Vec<twinsync::tracker::NewIssue> = (0..3)
            .map(|n| {
                twinsync::tracker::NewIssue::new(lit::project("SUP"), "Bug", format!("b{n}"))
                    .description(common::rich_text())
                    .labels(["printer"])
                    .property("twinsync.marker", json!({"op": n}))
            })
            .collect();
        let results = cloud.create_issues(&batch).await.unwrap();
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let violations = emulator.violations();
        assert!(violations.is_empty(), "{violations:#?}");

        let element = |issue_type: &str| json!({"fields": {"project": {"key": "SUP"}, "issuetype": {"name": issue_type}, "summary": "x"}});
        let (status, v) = call(
            &emulator,
            Method::POST,
            "/rest/api/3/issue/bulk",
            Some(json!({"issueUpdates": vec![element("Bug"); 51]})),
        )
        .await;
        assert_eq!(status, 400, "{v}");
        assert!(
            v["errorMessages"][0]
                .as_str()
                .is_some_and(|m| m.contains("50")),
            "{v}"
        );
        let (status, v) = call(
            &emulator,
            Method::POST,
            "/rest/api/3/issue/bulk",
            Some(json!({"issueUpdates": [element("NoSuchType"), element("Saga")]})),
        )
        .await;
        assert_eq!(status, 400, "{v}");
        assert_eq!(v["issues"], json!([]), "{v}");
        let failed: Vec<_> = v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["failedElementNumber"].clone(), e["status"].clone()))
            .collect();
        assert_eq!(
            failed,
            [(json!(0), json!(400)), (json!(1), json!(400))],
            "{v}"
        );
        assert!(
            v["errors"][0]["elementErrors"]["errors"]["issuetype"].is_string(),
            "{v}"
        );
        assert_eq!(
            emulator
                .tracker()
                .inspect_issues(&lit::project("SUP"))
                .len(),
            3,
            "only the first batch created issues"
        );
        assert!(emulator.violations().is_empty());
    });
}
