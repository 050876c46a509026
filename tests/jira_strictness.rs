//! The Jira emulator answers as Jira Cloud does where common clients notice:
//! one test per behaviour of issue 13's list (fields, Cloud's v2, screens,
//! ADF, `update` operations, `ORDER BY`, `returnIssue`, deleting issues).
//! Strict mode is tested in `tests/jira_strict_mode.rs`.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};
use twinsync::clock::ManualClock;
use twinsync::testkit::ids as lit;
use twinsync::tracker::jira::emulator::{Deployment, EmulatorOptions, JiraEmulator};
use twinsync::tracker::{NewAttachment, NewComment, NewIssue, Tracker};

mod common;
use common::http::{call, create, run};

fn not_on_screen(field: &str) -> Value {
    json!({"errorMessages": [], "errors": {field: format!("Field '{field}' cannot be set. It is not on the appropriate screen, or unknown.")}})
}

#[test]
fn fields_are_listed_as_jira_lists_them() {
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        for v in ["2", "3"] {
            let (status, fields) = call(
                &emulator,
                Method::GET,
                &format!("/rest/api/{v}/field"),
                None,
            )
            .await;
            assert_eq!(status, 200, "{fields}");
            let list = fields.as_array().expect("an array of fields");
            let summary = list
                .iter()
                .find(|f| f["id"] == "summary")
                .expect("summary is listed");
            assert_eq!(
                summary,
                &json!({"id": "summary", "key": "summary", "name": "Summary", "custom": false,
                    "orderable": true, "navigable": true, "searchable": true,
                    "clauseNames": ["summary"], "schema": {"type": "string", "system": "summary"}})
            );
            for id in [
                "description",
                "labels",
                "issuetype",
                "project",
                "status",
                "created",
                "updated",
                "comment",
                "attachment",
            ] {
                assert!(list.iter().any(|f| f["id"] == id), "{id} is listed");
            }
            assert!(
                list.iter().all(|f| f["custom"] == false),
                "the emulator has no custom fields"
            );
        }
    });
}

#[test]
fn a_cloud_site_serves_clouds_v2_and_a_data_center_site_keeps_its_own() {
    run(async {
        let cloud = JiraEmulator::start().await.unwrap();
        create(&cloud, "SUP", "Printer on fire").await;
        let (status, info) = call(&cloud, Method::GET, "/rest/api/2/serverInfo", None).await;
        assert_eq!((status, &info["deploymentType"]), (200, &json!("Cloud")));
        let (status, gone) = call(
            &cloud,
            Method::GET,
            "/rest/api/2/search?jql=project%3DSUP",
            None,
        )
        .await;
        assert_eq!(status, 410);
        assert_eq!(
            gone,
            json!({"errorMessages": ["The requested API has been removed. Please migrate to the /rest/api/2/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"], "errors": {}})
        );
        let (status, found) = call(
            &cloud,
            Method::GET,
            "/rest/api/2/search/jql?jql=project%3DSUP&fields=summary",
            None,
        )
        .await;
        assert_eq!(status, 200, "{found}");
        assert_eq!(found["issues"][0]["fields"]["summary"], "Printer on fire");
        assert!(
            found.get("total").is_none(),
            "the enhanced search has no total: {found}"
        );
        let (status, meta) = call(
            &cloud,
            Method::GET,
            "/rest/api/2/issue/createmeta/SUP/issuetypes",
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert!(
            meta["issueTypes"].is_array() && meta.get("values").is_none(),
            "Cloud's shape: {meta}"
        );
        // v2 bodies stay wiki markup on Cloud.
        let (status, _) = call(
            &cloud,
            Method::PUT,
            "/rest/api/2/issue/SUP-1",
            Some(json!({"fields": {"description": "*bold* words"}})),
        )
        .await;
        assert_eq!(status, 204);
        let (_, issue) = call(
            &cloud,
            Method::GET,
            "/rest/api/2/issue/SUP-1?fields=description",
            None,
        )
        .await;
        assert_eq!(issue["fields"]["description"], "*bold* words");

        let dc =
            JiraEmulator::start_with(EmulatorOptions::default().deployment(Deployment::DataCenter))
                .await
                .unwrap();
        create(&dc, "SUP", "Printer on fire").await;
        let (_, info) = call(&dc, Method::GET, "/rest/api/2/serverInfo", None).await;
        assert_eq!(info["deploymentType"], "Server");
        let (status, found) = call(
            &dc,
            Method::GET,
            "/rest/api/2/search?jql=project%3DSUP",
            None,
        )
        .await;
        assert_eq!((status, &found["total"]), (200, &json!(1)), "{found}");
        let (status, _) = call(
            &dc,
            Method::GET,
            "/rest/api/2/search/jql?jql=project%3DSUP",
            None,
        )
        .await;
        assert_eq!(status, 404, "Data Center has no enhanced search");
        let (_, meta) = call(
            &dc,
            Method::GET,
            "/rest/api/2/issue/createmeta/SUP/issuetypes",
            None,
        )
        .await;
        assert!(meta["values"].is_array(), "Data Center's shape: {meta}");
        assert!(
            cloud.data_center().is_err(),
            "the Data Center adapter needs a Data Center site"
        );
    });
}

#[test]
fn fields_not_on_the_screen_or_unknown_are_refused() {
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        let (status, v) = call(
            &emulator,
            Method::POST,
            "/rest/api/3/issue",
            Some(json!({"fields": {"project": {"key": "SUP"}, "issuetype": {"name": "Bug"}, "summary": "x", "customfield_10099": "y"}})),
        )
        .await;
        assert_eq!((status, v), (400, not_on_screen("customfield_10099")));
        assert!(
            emulator
                .tracker()
                .inspect_issues(&lit::project("SUP"))
                .is_empty(),
            "nothing was created"
        );
        let key = create(&emulator, "SUP", "Printer on fire").await;
        for field in ["project", "status", "created", "nonsense"] {
            let (status, v) = call(
                &emulator,
                Method::PUT,
                &format!("/rest/api/3/issue/{key}"),
                Some(json!({"fields": {"summary": "changed", field: "x"}})),
            )
            .await;
            assert_eq!((status, v), (400, not_on_screen(field)), "{field}");
        }
        let (status, v) = call(
            &emulator,
            Method::PUT,
            &format!("/rest/api/3/issue/{key}"),
            Some(json!({"update": {"resolution": [{"set": {"name": "Done"}}]}})),
        )
        .await;
        assert_eq!((status, v), (400, not_on_screen("resolution")));
        assert_eq!(
            emulator
                .tracker()
                .inspect_issue(&lit::key(&key))
                .unwrap()
                .summary,
            "Printer on fire"
        );
    });
}

#[test]
fn bodies_that_are_not_adf_are_refused() {
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        let key = create(&emulator, "SUP", "Printer on fire").await;
        let bad = [
            json!({"type": "doc", "version": 1, "content": [{"type": "blink", "content": []}]}),
            json!({"type": "doc", "version": 1, "content": [{"type": "text", "text": "not in a paragraph"}]}),
            json!({"type": "doc", "content": [{"type": "paragraph", "content": []}]}),
            json!("plain text is v2's"),
        ];
        for doc in &bad {
            let (status, v) = call(
                &emulator,
                Method::PUT,
                &format!("/rest/api/3/issue/{key}"),
                Some(json!({"fields": {"description": doc}})),
            )
            .await;
            assert_eq!(
                (status, v),
                (
                    400,
                    json!({"errorMessages": [], "errors": {"description": "Operation value must be an Atlassian Document (see the Atlassian Document Format)"}})
                ),
                "{doc}"
            );
            let (status, v) = call(
                &emulator,
                Method::POST,
                &format!("/rest/api/3/issue/{key}/comment"),
                Some(json!({"body": doc})),
            )
            .await;
            assert_eq!(
                (status, v),
                (
                    400,
                    json!({"errorMessages": ["INVALID_INPUT"], "errors": {}})
                ),
                "{doc}"
            );
        }
        let issue = emulator.tracker().inspect_issue(&lit::key(&key)).unwrap();
        assert!(
            issue.description.is_empty() && issue.comments.is_empty(),
            "nothing was stored"
        );
        let good = json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "fine"}]}]});
        let (status, _) = call(
            &emulator,
            Method::POST,
            &format!("/rest/api/3/issue/{key}/comment"),
            Some(json!({"body": good})),
        )
        .await;
        assert_eq!(status, 201);
    });
}

#[test]
fn update_operations_change_the_issue() {
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        let (status, created) = call(
            &emulator,
            Method::POST,
            "/rest/api/3/issue",
            Some(json!({
                "fields": {"project": {"key": "SUP"}, "issuetype": {"name": "Bug"}, "labels": ["a", "b"]},
                "update": {"summary": [{"set": "made by update"}], "labels": [{"add": "c"}]}
            })),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let key = lit::key(created["key"].as_str().unwrap());
        let issue = emulator.tracker().inspect_issue(&key).unwrap();
        assert_eq!(
            (issue.summary.as_str(), issue.labels.clone()),
            (
                "made by update",
                vec!["a".to_owned(), "b".into(), "c".into()]
            )
        );
        let path = format!("/rest/api/3/issue/{key}");
        let comment = json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "via update"}]}]});
        let (status, _) = call(
            &emulator,
            Method::PUT,
            &path,
            Some(json!({"update": {
                "labels": [{"add": "urgent"}, {"remove": "a"}],
                "summary": [{"set": "renamed"}],
                "comment": [{"add": {"body": comment}}]
            }})),
        )
        .await;
        assert_eq!(status, 204);
        let issue = emulator.tracker().inspect_issue(&key).unwrap();
        assert_eq!(issue.labels, ["b", "c", "urgent"]);
        assert_eq!(issue.summary, "renamed");
        assert_eq!(issue.comments.len(), 1);
        assert_eq!(issue.comments[0].body.to_plain_text(), "via update");
        let (status, _) = call(
            &emulator,
            Method::PUT,
            &path,
            Some(json!({"update": {"labels": [{"set": ["only"]}]}})),
        )
        .await;
        assert_eq!(status, 204);
        assert_eq!(
            emulator.tracker().inspect_issue(&key).unwrap().labels,
            ["only"]
        );
        for (field, op) in [
            ("labels", json!({"edit": "x"})),
            ("summary", json!({"add": "x"})),
            ("comment", json!({"remove": {}})),
        ] {
            let (status, v) = call(
                &emulator,
                Method::PUT,
                &path,
                Some(json!({"update": {field: [op]}})),
            )
            .await;
            assert_eq!(status, 400, "{field}: {v}");
            assert!(
                v["errors"][field]
                    .as_str()
                    .is_some_and(|m| m.contains("does not support update")),
                "{v}"
            );
        }
        assert_eq!(
            emulator.tracker().inspect_issue(&key).unwrap().labels,
            ["only"],
            "refused updates change nothing"
        );
    });
}

#[test]
fn order_by_sorts_on_each_key_both_ways() {
    run(async {
        let clock = Arc::new(ManualClock::default());
        let emulator = JiraEmulator::start_with(EmulatorOptions::default().clock(clock.clone()))
            .await
            .unwrap();
        for n in 1..=10 {
            create(&emulator, "SUP", &format!("sup {n}")).await;
            clock.advance(std::time::Duration::from_secs(60));
        }
        for n in 1..=2 {
            create(&emulator, "DEV", &format!("dev {n}")).await;
            clock.advance(std::time::Duration::from_secs(60));
        }
        // SUP-2 is the last one touched.
        call(
            &emulator,
            Method::PUT,
            "/rest/api/3/issue/SUP-2",
            Some(json!({"fields": {"summary": "touched"}})),
        )
        .await;
        let keys = |order: &'static str| {
            let emulator = &emulator;
            async move {
                let jql: String = url_encode(&format!("project in (SUP, DEV) ORDER BY {order}"));
                let (status, v) = call(
                    emulator,
                    Method::GET,
                    &format!("/rest/api/3/search/jql?jql={jql}&maxResults=100"),
                    None,
                )
                .await;
                assert_eq!(status, 200, "{v}");
                v["issues"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["key"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            }
        };
        let sup = |ns: &[u32]| ns.iter().map(|n| format!("SUP-{n}")).collect::<Vec<_>>();
        let mut created_desc = vec!["DEV-2".to_owned(), "DEV-1".into()];
        created_desc.extend(sup(&[10, 9, 8, 7, 6, 5, 4, 3, 2, 1]));
        assert_eq!(keys("created DESC").await, created_desc);
        let mut created_asc = created_desc.clone();
        created_asc.reverse();
        assert_eq!(keys("created ASC").await, created_asc);
        let mut key_desc = sup(&[10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
        key_desc.extend(["DEV-2".to_owned(), "DEV-1".into()]);
        assert_eq!(
            keys("key DESC").await,
            key_desc,
            "by project, then number (SUP-10 after SUP-9)"
        );
        let mut key_asc = key_desc.clone();
        key_asc.reverse();
        assert_eq!(keys("key ASC").await, key_asc);
        assert_eq!(keys("updated DESC").await[0], "SUP-2");
        let mut mixed = vec!["DEV-2".to_owned(), "DEV-1".into()];
        mixed.extend(sup(&[10, 9, 8, 7, 6, 5, 4, 3, 2, 1]));
        assert_eq!(keys("project ASC, created DESC").await, mixed);
    });
}

fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[test]
fn return_issue_answers_the_edited_issue() {
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        let key = create(&emulator, "SUP", "Printer on fire").await;
        let edit = json!({"fields": {"summary": "Printer out"}});
        let (status, v) = call(
            &emulator,
            Method::PUT,
            &format!("/rest/api/3/issue/{key}"),
            Some(edit.clone()),
        )
        .await;
        assert_eq!((status, v), (204, Value::Null));
        let (status, v) = call(
            &emulator,
            Method::PUT,
            &format!("/rest/api/3/issue/{key}?returnIssue=true"),
            Some(json!({"fields": {"summary": "Printer fine"}})),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            (v["key"].as_str(), v["fields"]["summary"].as_str()),
            (Some(key.as_str()), Some("Printer fine"))
        );
        let (_, got) = call(
            &emulator,
            Method::GET,
            &format!("/rest/api/3/issue/{key}"),
            None,
        )
        .await;
        assert_eq!(v, got, "as GET answers it");
        let (status, v) = call(
            &emulator,
            Method::PUT,
            &format!("/rest/api/3/issue/{key}?returnIssue=true&fields=summary"),
            Some(edit),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            v["fields"],
            json!({"summary": "Printer out"}),
            "only the fields asked for"
        );
    });
}

#[test]
fn deleting_an_issue_takes_its_comments_and_attachments() {
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        let jira = emulator.cloud().unwrap();
        let created = jira
            .create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "doomed"))
            .await
            .unwrap();
        let comment = jira
            .add_comment(&created.id, &NewComment::public("bye"))
            .await
            .unwrap();
        let file = NewAttachment {
            file_name: "a.txt".into(),
            mime_type: "text/plain".into(),
            content: b"x".to_vec(),
        };
        let meta = jira.upload_attachment(&created.id, &file).await.unwrap();
        let other = create(&emulator, "SUP", "survivor").await;
        let (status, _) = call(
            &emulator,
            Method::DELETE,
            &format!("/rest/api/3/issue/{}", created.key),
            None,
        )
        .await;
        assert_eq!(status, 204);
        let (status, _) = call(
            &emulator,
            Method::GET,
            &format!("/rest/api/3/issue/{}", created.key),
            None,
        )
        .await;
        assert_eq!(status, 404);
        let (status, _) = call(
            &emulator,
            Method::GET,
            &format!("/rest/api/3/attachment/{}", meta.id),
            None,
        )
        .await;
        assert_eq!(status, 404, "the attachment went with it");
        let (status, _) = call(
            &emulator,
            Method::GET,
            &format!("/rest/api/3/comment/{}/properties", comment.id),
            None,
        )
        .await;
        assert_eq!(status, 404, "the comment went with it");
        let (status, v) = call(
            &emulator,
            Method::DELETE,
            &format!("/rest/api/3/issue/{}", created.key),
            None,
        )
        .await;
        assert_eq!(
            (status, v["errorMessages"][0].as_str()),
            (
                404,
                Some("Issue does not exist or you do not have permission to see it.")
            )
        );
        let (status, _) = call(
            &emulator,
            Method::DELETE,
            &format!("/rest/api/2/issue/{other}"),
            None,
        )
        .await;
        assert_eq!(status, 204, "v2 too");
        assert!(
            emulator
                .tracker()
                .inspect_issues(&lit::project("SUP"))
                .is_empty()
        );
    });
}
