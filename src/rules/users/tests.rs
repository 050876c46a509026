use super::*;
use crate::model::UserMapping;
use crate::testkit::ids as lit;

fn doc(content: Value) -> RichText {
    RichText::adf(json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": content}]}))
        .unwrap()
}

fn mention(id: &str, text: &str) -> Value {
    json!({"type": "mention", "attrs": {"id": id, "text": text, "accessLevel": ""}})
}

fn inline(text: &RichText) -> Value {
    let RichText::Adf(d) = text else {
        panic!("adf")
    };
    d["content"][0]["content"].clone()
}

#[test]
fn a_matched_user_becomes_a_mention_of_the_local_account() {
    let body = doc(json!([{"type": "text", "text": "ask "}, mention("a-ann", "@Ann")]));
    let mut matches = UserMatches::new();
    matches.insert(
        lit::user_id("a-ann"),
        UserRef::new(lit::user_id("b-ann"), "Ann Lee"),
    );
    let here = localize_mentions(&body, &matches, &[]);
    assert_eq!(
        inline(&here),
        json!([{"type": "text", "text": "ask "},
               {"type": "mention", "attrs": {"id": "b-ann"}}])
    );
}

#[test]
fn an_unmatched_user_becomes_text_joined_with_its_neighbours() {
    let body = doc(json!([
        {"type": "text", "text": "ask "},
        mention("a-bob", "@Bob"),
        {"type": "text", "text": " now"},
        {"type": "text", "text": "!", "marks": [{"type": "strong"}]}
    ]));
    let profiles = [UserProfile::new(lit::user_id("a-bob"), "Bob Stone")];
    let here = localize_mentions(&body, &UserMatches::new(), &profiles);
    assert_eq!(
        inline(&here),
        json!([{"type": "text", "text": "ask @Bob Stone now"},
               {"type": "text", "text": "!", "marks": [{"type": "strong"}]}])
    );
    assert!(!has_mention(&here));
}

#[test]
fn without_the_users_table_a_mention_keeps_its_own_text_and_never_a_person() {
    // A replica of an older peer lists no users: nothing to match by email.
    let body = doc(json!([mention("a-cat", "@Cat Ray"), mention("a-x", "")]));
    let here = localize_mentions(&body, &UserMatches::new(), &[]);
    assert_eq!(
        inline(&here),
        json!([{"type": "text", "text": "@Cat Ray@unknown user"}])
    );
}

#[test]
fn text_without_mentions_is_untouched_and_rewriting_is_deterministic() {
    let body = doc(json!([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]));
    assert_eq!(localize_mentions(&body, &UserMatches::new(), &[]), body);
    let nested = RichText::adf(json!({"type": "doc", "version": 1, "content": [
        {"type": "bulletList", "content": [{"type": "listItem", "content": [
            {"type": "paragraph", "content": [mention("a-1", "@One")]}
        ]}]}
    ]}))
    .unwrap();
    let once = localize_mentions(&nested, &UserMatches::new(), &[]);
    assert_eq!(once, localize_mentions(&nested, &UserMatches::new(), &[]));
    assert_eq!(once.to_plain_text(), "- @One");
    assert_eq!(
        mentioned_users(&{
            let mut r = crate::replica::Replica::new(
                crate::replica::Origin {
                    instance: crate::model::InstanceUrl::parse("https://a.example").unwrap(),
                    project: lit::project("SUP"),
                    id: lit::issue_id("1"),
                    key: lit::key("SUP-1"),
                },
                time::macros::datetime!(2026-01-01 0:00 UTC),
            );
            r.description = nested.clone();
            r
        })
        .into_iter()
        .collect::<Vec<_>>(),
        [lit::user_id("a-1")]
    );
}

#[test]
fn bodies_that_differ_only_in_who_a_mention_names_compare_equal_without_mentions() {
    let ours = doc(json!([{"type": "text", "text": "hi "}, mention("a-ann", "@Ann Lee")]));
    let theirs_as_text = doc(json!([{"type": "text", "text": "hi @Ann Lee"}]));
    let names = BTreeMap::new();
    assert_eq!(
        without_mentions(&ours, &names),
        without_mentions(&theirs_as_text, &names)
    );
    let other = doc(json!([{"type": "text", "text": "hi @Ann Leeds"}]));
    assert_ne!(
        without_mentions(&ours, &names),
        without_mentions(&other, &names)
    );
}

fn replica_with_mentions() -> crate::replica::Replica {
    let mut r = crate::replica::Replica::new(
        crate::replica::Origin {
            instance: crate::model::InstanceUrl::parse("https://a.example").unwrap(),
            project: lit::project("SUP"),
            id: lit::issue_id("10001"),
            key: lit::key("SUP-1"),
        },
        time::macros::datetime!(2026-01-01 0:00 UTC),
    );
    r.issue_type = "Bug".into();
    r.summary = "Printer on fire".into();
    r.description = doc(json!([mention("a-ann", "@Ann"), mention("a-bob", "@Bob")]));
    r.comments.push(crate::replica::ReplicaComment {
        id: lit::comment_id("20001"),
        author: "Cat".into(),
        body: doc(json!([{"type": "text", "text": "cc "}, mention("a-ann", "@Ann")])),
        created: r.updated,
        updated: r.updated,
        mirror_of: None,
        attributed: false,
    });
    r.users = vec![
        UserProfile::new(lit::user_id("a-ann"), "Ann Lee").with_email("ann@corp.example"),
        UserProfile::new(lit::user_id("a-bob"), "Bob Stone"),
    ];
    r
}

#[test]
fn the_users_table_travels_in_replicas_and_older_replicas_read_without_one() {
    let r = replica_with_mentions();
    let json = r.to_json();
    assert!(json.contains(r#""email":"ann@corp.example""#), "{json}");
    assert_eq!(crate::replica::Replica::from_json(&json).unwrap(), r);
    let mut old: Value = serde_json::from_str(&json).unwrap();
    old.as_object_mut().unwrap().remove("users");
    let read = crate::replica::Replica::from_json(&old.to_string()).unwrap();
    assert!(read.users.is_empty());
    // Not part of any fingerprint: listing users never makes a change.
    let rules = crate::rules::RuleSet::basic();
    assert_eq!(rules.fingerprints(&read), rules.fingerprints(&r));
}

#[test]
fn the_planner_writes_mentions_as_they_are_here_and_the_same_replica_plans_the_same() {
    let replica = replica_with_mentions();
    let rules = crate::rules::RuleSet::basic();
    let fingerprints = rules.fingerprints(&replica);
    let target = crate::model::ProjectInfo {
        key: lit::project("DEV"),
        name: "Development".into(),
        issue_types: vec![crate::model::IssueType {
            id: "1".into(),
            name: "Bug".into(),
        }],
        default_issue_type: None,
        fields: Vec::new(),
    };
    let mut matches = UserMatches::new();
    matches.insert(
        lit::user_id("a-ann"),
        UserRef::new(lit::user_id("b-ann"), "Ann Lee"),
    );
    let connection = crate::model::ConnectionId::parse("SUP_to_DEV").unwrap();
    let input = |users| crate::plan::PlanInput {
        connection: &connection,
        replica: &replica,
        fingerprints: &fingerprints,
        previous: None,
        local: None,
        state: None,
        target: &target,
        rules: &rules,
        options: crate::plan::PlanOptions::default(),
        users,
        issues: None,
    };
    let plan = crate::plan::plan(&input(Some(&matches))).unwrap();
    assert_eq!(plan, crate::plan::plan(&input(Some(&matches))).unwrap());
    let crate::plan::Op::CreateIssue { fields, bases, .. } = &plan.ops[0] else {
        panic!("a create first: {plan}")
    };
    let description = fields.description.as_ref().unwrap();
    assert_eq!(
        inline(description),
        json!([{"type": "mention", "attrs": {"id": "b-ann"}}, {"type": "text", "text": "@Bob Stone"}])
    );
    let base = bases.iter().find(|b| b.field == "description").unwrap();
    assert_eq!(
        base.local,
        crate::replica::rich_fingerprint(description),
        "the base is what is written here, so it reads back unchanged"
    );
    assert_eq!(base.remote, fingerprints.fields["description"]);
    let crate::plan::Op::AddComment {
        body,
        local_fp,
        remote_fp,
        ..
    } = &plan.ops[2]
    else {
        panic!("then (after the origin link) the comment: {plan}")
    };
    assert_eq!(
        inline(body),
        json!([{"type": "text", "text": "cc "}, {"type": "mention", "attrs": {"id": "b-ann"}}])
    );
    assert_eq!(*local_fp, crate::replica::rich_fingerprint(body));
    assert_eq!(*remote_fp, fingerprints.comments[0]);
    // A local connection keeps them as they are.
    let kept = crate::plan::plan(&input(None)).unwrap();
    let crate::plan::Op::AddComment { body, .. } = &kept.ops[2] else {
        panic!("{kept}")
    };
    assert_eq!(body, &replica.comments[0].body);
}

#[test]
fn a_connection_stored_without_a_user_mapping_reads_back_matching_by_email() {
    let mapping = UserMapping::default()
        .map_account(lit::user_id("theirs"), lit::user_id("ours"))
        .map_email("Ann@Corp.Example", lit::user_id("ann"));
    let json = serde_json::to_value(&mapping).unwrap();
    assert_eq!(
        json,
        json!({"by_email": true, "accounts": {"theirs": "ours"}, "emails": {"ann@corp.example": "ann"}})
    );
    let back: UserMapping = serde_json::from_value(json).unwrap();
    assert_eq!(back, mapping);
    let empty: UserMapping = serde_json::from_value(json!({})).unwrap();
    assert!(empty.is_default() && empty.by_email);
    assert_eq!(
        mapping.table_match(&lit::user_id("x"), Some("ANN@corp.example")),
        Some(&lit::user_id("ann"))
    );
    assert_eq!(
        mapping.table_match(&lit::user_id("theirs"), Some("ann@corp.example")),
        Some(&lit::user_id("ours")),
        "the account id first"
    );
}
