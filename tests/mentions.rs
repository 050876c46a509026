//! Mentions across sites, with the in-memory tracker: over a remote
//! connection a mention reaches the matching user of the other site (by
//! email or by the connection's table) or arrives as plain text, never as a
//! mention of someone else; a local connection keeps mentions as they are;
//! nothing echoes, and edits around mentions converge both ways.

use serde_json::{Value, json};
use twinsync::model::{IssueKey, RichText, UserMapping, UserProfile};
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::remote_rig::{RemoteRig, RigSide};
use twinsync::testkit::rig::LocalRig;
use twinsync::testkit::said::mentions;
use twinsync::testkit::said::said;
use twinsync::tracker::{IssueUpdate, NewComment, NewIssue, Tracker};

fn key(k: &str) -> IssueKey {
    lit::key(k)
}

fn mention(id: &str, text: &str) -> Value {
    json!({"type": "mention", "attrs": {"id": id, "text": text, "accessLevel": ""}})
}

fn text(t: &str) -> Value {
    json!({"type": "text", "text": t})
}

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

/// Site A: Ann (email shown), Bob (email hidden), Cat (email shown), Dan.
/// Site B: Ann (same email), another "Cat Ray" (another email), Daniel
/// (no email), and nobody for Bob.
fn people(rig: &RemoteRig) {
    for p in [
        profile("a-ann", "Ann Lee", Some("ann@corp.example")),
        profile("a-bob", "Bob Stone", None),
        profile("a-cat", "Cat Ray", Some("cat@a.example")),
        profile("a-dan", "Dan Wu", None),
    ] {
        rig.a.tracker.add_profile(p);
    }
    for p in [
        profile("b-ann", "Ann Lee (B)", Some("ANN@corp.example")),
        profile("b-cat", "Cat Ray", Some("cat@b.example")),
        // A partial match of Ann's address: never taken for her.
        profile("b-annie", "Annie", Some("ann@corp.example.org")),
        profile("b-daniel", "Daniel Wu", None),
    ] {
        rig.b.tracker.add_profile(p);
    }
}

fn connect(rig: &RemoteRig) -> twinsync::connection::Connection {
    people(rig);
    let conn = rig.connect();
    let ada = lit::user_id("ada");
    // Both sides map Dan by their table; Ann is matched by email.
    block_on(rig.a.node.admin(&ada).set_user_mapping(
        &conn.id,
        UserMapping::default().map_account(lit::user_id("b-daniel"), lit::user_id("a-dan")),
    ))
    .unwrap();
    block_on(rig.b.node.admin(&ada).set_user_mapping(
        &conn.id,
        UserMapping::default().map_account(lit::user_id("a-dan"), lit::user_id("b-daniel")),
    ))
    .unwrap();
    conn
}

fn set_description(side: &RigSide, k: &str, body: RichText) {
    let issue = side.issue(k);
    let update = IssueUpdate {
        description: Some(body),
        ..IssueUpdate::default()
    };
    block_on(side.human.update_issue(&issue.id, &update)).unwrap();
}

fn quiet(rig: &RemoteRig, conn: &twinsync::connection::Connection) {
    rig.a.tracker.reset_calls();
    rig.b.tracker.reset_calls();
    let (ra, rb) = rig.sync(conn);
    assert_eq!((ra.writes, rb.writes), (0, 0), "no echo");
    assert_eq!(
        rig.a.tracker.calls().writes(),
        0,
        "{}",
        rig.a.tracker.calls()
    );
    assert_eq!(
        rig.b.tracker.calls().writes(),
        0,
        "{}",
        rig.b.tracker.calls()
    );
}

#[test]
fn a_remote_twin_mentions_the_matching_user_or_names_them_in_plain_text() {
    let rig = RemoteRig::new();
    let conn = connect(&rig);
    let description = para(json!([
        text("Ping "),
        mention("a-ann", "@Ann Lee"),
        text(", "),
        mention("a-dan", "@Dan Wu"),
        text(", "),
        mention("a-bob", "@Bob Stone"),
        text(" and "),
        mention("a-cat", "@Cat Ray"),
        text(".")
    ]));
    let created = block_on(
        rig.a.human.create_issue(
            &NewIssue::new(lit::project("SUP"), "Bug", "Printer on fire")
                .description(description.clone()),
        ),
    )
    .unwrap();
    block_on(rig.a.human.add_comment(
        &created.id,
        &NewComment::public(para(json!([
            mention("a-ann", "@Ann Lee"),
            text(" can you look?")
        ]))),
    ))
    .unwrap();
    block_on(rig.a.node.exalate(&conn.id, &key("SUP-1"))).unwrap();

    let dev = rig.b.issue("DEV-1");
    // Ann by email, Dan by the table; Bob (no match) and Cat (a namesake
    // with another address) as text.
    assert_eq!(mentions(&dev.description), ["b-ann", "b-daniel"]);
    assert_eq!(
        dev.description.to_plain_text(),
        "Ping @user, @user, @Bob Stone and @Cat Ray.",
        "matched users are mentioned by account (Jira shows their names)"
    );
    let comment = &dev.comments[0].body;
    assert_eq!(mentions(comment), ["b-ann"]);
    assert_eq!(said(&dev.comments[0]), "@user can you look?");

    // Settled: no echo, and A's text is as its author wrote it.
    rig.sync(&conn);
    quiet(&rig, &conn);
    assert_eq!(rig.a.issue("SUP-1").description, description);

    // B edits the text around the mentions: A gets the edit, with its own
    // accounts mentioned again (Ann by email, Dan by A's table).
    rig.advance(60);
    let edited = para(json!([
        text("Please ping "),
        mention("b-ann", "@Ann Lee (B)"),
        text(", "),
        mention("b-daniel", "@Daniel Wu"),
        text(", @Bob Stone and @Cat Ray today.")
    ]));
    set_description(&rig.b, "DEV-1", edited);
    rig.sync(&conn);
    rig.sync(&conn);
    let sup = rig.a.issue("SUP-1");
    assert_eq!(mentions(&sup.description), ["a-ann", "a-dan"]);
    assert_eq!(
        sup.description.to_plain_text(),
        "Please ping @user, @user, @Bob Stone and @Cat Ray today."
    );
    quiet(&rig, &conn);

    // And A edits around them: B converges.
    rig.advance(60);
    let mut again = sup.description.clone();
    if let RichText::Adf(doc) = &mut again {
        doc["content"][0]["content"][0] = text("Please, ping ");
    }
    set_description(&rig.a, "SUP-1", again);
    rig.sync(&conn);
    rig.sync(&conn);
    let dev = rig.b.issue("DEV-1");
    assert_eq!(mentions(&dev.description), ["b-ann", "b-daniel"]);
    assert_eq!(
        dev.description.to_plain_text(),
        "Please, ping @user, @user, @Bob Stone and @Cat Ray today."
    );
    quiet(&rig, &conn);

    // A comment written on B mentioning a user A cannot match arrives as text.
    let dev_issue = rig.b.issue("DEV-1");
    block_on(rig.b.human.add_comment(
        &dev_issue.id,
        &NewComment::public(para(json!([text("cc "), mention("b-cat", "@Cat Ray")]))),
    ))
    .unwrap();
    rig.sync(&conn);
    rig.sync(&conn);
    let sup = rig.a.issue("SUP-1");
    let last = &sup.comments.last().unwrap().body;
    assert_eq!(
        mentions(last),
        Vec::<String>::new(),
        "never a-cat: another person"
    );
    assert_eq!(said(sup.comments.last().unwrap()), "cc @Cat Ray");
    quiet(&rig, &conn);
}

#[test]
fn without_a_mapping_every_mention_arrives_as_text() {
    let rig = RemoteRig::new();
    people(&rig);
    let conn = rig.connect();
    block_on(
        rig.b
            .node
            .admin(&lit::user_id("ada"))
            .set_user_mapping(&conn.id, UserMapping::none()),
    )
    .unwrap();
    assert_eq!(
        rig.b.node.connection(&conn.id).unwrap().users,
        UserMapping::none()
    );
    block_on(
        rig.a.human.create_issue(
            &NewIssue::new(lit::project("SUP"), "Bug", "Hi")
                .description(para(json!([mention("a-ann", "@Ann Lee"), text(" hi")]))),
        ),
    )
    .unwrap();
    block_on(rig.a.node.exalate(&conn.id, &key("SUP-1"))).unwrap();
    let dev = rig.b.issue("DEV-1");
    assert!(mentions(&dev.description).is_empty());
    assert_eq!(dev.description.to_plain_text(), "@Ann Lee hi");
    rig.sync(&conn);
    quiet(&rig, &conn);
}

#[test]
fn a_local_connection_keeps_mentions_as_they_are() {
    let rig = LocalRig::new();
    let body = para(json!([text("ask "), mention("uma", "@Uma User")]));
    block_on(rig.human.create_issue(
        &NewIssue::new(lit::project("SUP"), "Bug", "Local").description(body.clone()),
    ))
    .unwrap();
    let twin = block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap();
    let dev = rig.issue(twin.twin.unwrap().key.as_str());
    assert_eq!(dev.description, body);
    rig.sync();
    rig.tracker.reset_calls();
    assert_eq!(rig.sync().writes, 0);
}
