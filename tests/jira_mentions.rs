//! Mentions over HTTP: two loopback Jira Cloud sites (the emulator), each
//! with a node on the `JiraCloud` adapter, on a remote connection. A mention
//! reaches the user of the other site with the same email (found with
//! `GET /rest/api/3/user/search`, partial matches ignored) or arrives as
//! "@Display Name" text, never as a namesake; nothing echoes.

use std::sync::Arc;

use serde_json::{Value, json};
use twinsync::engine::{InitiateRequest, Initiated, Node};
use twinsync::model::{InstanceUrl, RichText, UserProfile};
use twinsync::store::MemoryStore;
use twinsync::testkit::ids as lit;
use twinsync::testkit::remote_rig::node_url_of;
use twinsync::testkit::said::mentions;
use twinsync::tracker::jira::emulator::{Deployment, EmulatorOptions, JiraEmulator};
use twinsync::tracker::{IssueUpdate, NewIssue, Tracker};
use twinsync::transport::InProcessNetwork;

fn para(content: Value) -> RichText {
    RichText::adf(json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": content}]}))
        .unwrap()
}

fn profile(id: &str, name: &str, email: Option<&str>) -> UserProfile {
    let p = UserProfile::new(lit::user_id(id), name);
    match email {
        Some(e) => p.with_email(e),
        None => p,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_travel_between_two_jira_cloud_sites_mapped_by_email_or_as_text() {
    run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_travel_from_cloud_to_data_center_as_wiki_mentions_and_back() {
    run(true).await;
}

/// Site A is Cloud; site B is Cloud, or Data Center (wiki markup) when `dc`.
async fn run(dc: bool) {
    let a = JiraEmulator::start().await.unwrap();
    let b = if dc {
        JiraEmulator::start_with(EmulatorOptions::default().deployment(Deployment::DataCenter))
            .await
            .unwrap()
    } else {
        JiraEmulator::start().await.unwrap()
    };
    a.tracker().add_profile(profile(
        "5b10a2844c20165700ede21a",
        "Ann Lee",
        Some("ann@corp.example"),
    ));
    a.tracker().add_profile(profile(
        "5b10a2844c20165700ede21b",
        "Cat Ray",
        Some("cat@a.example"),
    ));
    a.tracker()
        .add_profile(profile("5b10a2844c20165700ede21c", "Bob Stone", None));
    b.tracker()
        .add_profile(profile("712020:ann-b", "Ann Lee", Some("ann@corp.example")));
    b.tracker().add_profile(profile(
        "712020:annie-b",
        "Annie",
        Some("ann@corp.example.net"),
    ));
    b.tracker()
        .add_profile(profile("712020:cat-b", "Cat Ray", Some("cat@b.example")));

    let network = InProcessNetwork::new();
    let url = |e: &JiraEmulator| InstanceUrl::parse(&e.base_url()).unwrap();
    let directory = vec![
        (url(&a), node_url_of(&url(&a))),
        (url(&b), node_url_of(&url(&b))),
    ];
    let mut nodes = Vec::new();
    for (i, e) in [&a, &b].into_iter().enumerate() {
        let tracker: Arc<dyn Tracker> = if dc && i == 1 {
            Arc::new(e.data_center().unwrap())
        } else {
            Arc::new(e.cloud().unwrap())
        };
        let node = Node::builder()
            .tracker(tracker)
            .store(Arc::new(MemoryStore::new()))
            .transport(Arc::new(network.clone()))
            .node_url(node_url_of(&url(e)))
            .directory(directory.clone())
            .node_key(twinsync::testkit::node_key(&format!("site {i}")))
            .build()
            .await
            .unwrap();
        network.register(node.node_url(), Arc::new(node.clone()));
        nodes.push(node);
    }
    let (node_a, node_b) = (&nodes[0], &nodes[1]);
    let ada = lit::user_id("ada");
    let Initiated::Invitation { connection, code } = node_a
        .admin(&ada)
        .initiate(InitiateRequest::new(lit::project("SUP")))
        .await
        .unwrap()
    else {
        panic!("an invitation");
    };
    // Data Center answers "is a global admin" for its own user only.
    let accepting = if dc {
        b.tracker().user().id.clone()
    } else {
        ada.clone()
    };
    node_b
        .admin(&accepting)
        .accept(code.as_str(), &lit::project("DEV"))
        .await
        .unwrap();

    let human_a = a.cloud().unwrap();
    let human_b: Arc<dyn Tracker> = if dc {
        Arc::new(b.data_center().unwrap())
    } else {
        Arc::new(b.cloud().unwrap())
    };
    let description = para(json!([
        {"type": "text", "text": "Ask "},
        {"type": "mention", "attrs": {"id": "5b10a2844c20165700ede21a", "text": "@Ann Lee"}},
        {"type": "text", "text": ", "},
        {"type": "mention", "attrs": {"id": "5b10a2844c20165700ede21b", "text": "@Cat Ray"}},
        {"type": "text", "text": " and "},
        {"type": "mention", "attrs": {"id": "5b10a2844c20165700ede21c", "text": "@Bob Stone"}}
    ]));
    let created = human_a
        .create_issue(
            &NewIssue::new(lit::project("SUP"), "Bug", "Toner").description(description.clone()),
        )
        .await
        .unwrap();
    let twin = node_a.exalate(&connection.id, &created.key).await.unwrap();
    let twin = twin.twin.expect("created on B");
    let dev = human_b.issue(&twin.id).await.unwrap();
    assert_eq!(
        mentions(&dev.description),
        ["712020:ann-b"],
        "Ann by email; never Cat's namesake, never Annie"
    );
    if dc {
        // Stored as wiki markup, with Ann's account id.
        let stored = b.tracker().inspect_issue(&twin.key).unwrap().description;
        assert_eq!(mentions(&stored), ["712020:ann-b"]);
    }
    // A mention of the account only (Jira shows its current name).
    assert_eq!(
        dev.description.to_plain_text(),
        "Ask @user, @Cat Ray and @Bob Stone"
    );

    // Settled: then nothing is written on either site.
    node_a.sync(&connection.id).await.unwrap();
    node_b.sync(&connection.id).await.unwrap();
    a.clear_exchanges();
    b.clear_exchanges();
    let ra = node_a.sync(&connection.id).await.unwrap();
    let rb = node_b.sync(&connection.id).await.unwrap();
    assert_eq!((ra.writes, rb.writes), (0, 0), "no echo");
    let writes = |e: &JiraEmulator| e.exchanges().iter().filter(|x| x.method != "GET").count();
    assert_eq!((writes(&a), writes(&b)), (0, 0));
    assert_eq!(
        human_a.issue(&created.id).await.unwrap().description,
        description
    );

    // B edits around the mention: A gets the words, and Ann is A's Ann again.
    let mut edited = dev.description.clone();
    if let RichText::Adf(doc) = &mut edited {
        doc["content"][0]["content"][0] = json!({"type": "text", "text": "Please ask "});
    }
    human_b
        .update_issue(
            &twin.id,
            &IssueUpdate {
                description: Some(edited),
                ..IssueUpdate::default()
            },
        )
        .await
        .unwrap();
    for _ in 0..2 {
        node_b.sync(&connection.id).await.unwrap();
        node_a.sync(&connection.id).await.unwrap();
    }
    let sup = human_a.issue(&created.id).await.unwrap();
    assert_eq!(mentions(&sup.description), ["5b10a2844c20165700ede21a"]);
    assert_eq!(
        sup.description.to_plain_text(),
        "Please ask @user, @Cat Ray and @Bob Stone"
    );
    let ra = node_a.sync(&connection.id).await.unwrap();
    let rb = node_b.sync(&connection.id).await.unwrap();
    assert_eq!((ra.writes, rb.writes), (0, 0), "converged");
}
