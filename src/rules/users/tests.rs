use super::*;
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
    assert!(!has_mention(match &here {
        RichText::Adf(d) => d,
        RichText::Plain(_) => unreachable!(),
    }));
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
