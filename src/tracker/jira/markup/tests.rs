use serde_json::{Value, json};

use super::{adf_to_wiki, wiki_to_adf};

fn doc(content: Value) -> Value {
    json!({"type": "doc", "version": 1, "content": content})
}

fn text(t: &str) -> Value {
    json!({"type": "text", "text": t})
}

fn marked(t: &str, marks: &[&str]) -> Value {
    let marks: Vec<Value> = marks.iter().map(|m| json!({"type": m})).collect();
    json!({"type": "text", "text": t, "marks": marks})
}

fn para(content: Value) -> Value {
    json!({"type": "paragraph", "content": content})
}

/// Converts both ways and checks the result is stable from then on.
fn settles(adf: &Value) -> String {
    let wiki = adf_to_wiki(adf);
    let back = wiki_to_adf(&wiki);
    let again = adf_to_wiki(&back);
    assert_eq!(
        wiki_to_adf(&again),
        back,
        "not a fixed point: {wiki:?} then {again:?}"
    );
    wiki
}

#[test]
fn marks_render_as_wiki_delimiters() {
    let adf = doc(json!([para(json!([
        text("plain "),
        marked("bold", &["strong"]),
        text(" "),
        marked("italic", &["em"]),
        text(" "),
        marked("gone", &["strike"]),
        text(" "),
        marked("x = 1", &["code"]),
    ]))]));
    assert_eq!(settles(&adf), "plain *bold* _italic_ -gone- {{x = 1}}");
}

#[test]
fn marks_inside_words_use_braces() {
    let adf = doc(json!([para(json!([
        text("un"),
        marked("believ", &["strong"]),
        text("able")
    ]))]));
    let wiki = settles(&adf);
    assert_eq!(wiki, "un{*}believ{*}able");
    assert_eq!(wiki_to_adf(&wiki), adf);
}

#[test]
fn spaces_move_outside_marks() {
    let adf = doc(json!([para(json!([
        text("a"),
        marked(" b ", &["strong"]),
        text("c")
    ]))]));
    assert_eq!(settles(&adf), "a *b* c");
}

#[test]
fn literal_markup_characters_are_escaped() {
    let adf = doc(json!([para(json!([text(
        "2 * 3 = *six* and a_b [x] {y} | done -"
    )]))]));
    let wiki = settles(&adf);
    assert_eq!(wiki_to_adf(&wiki), adf, "{wiki}");
    let list_like = doc(json!([
        para(json!([text("* not a list")])),
        para(json!([text("h1. not a heading")]))
    ]));
    let wiki = settles(&list_like);
    assert_eq!(wiki_to_adf(&wiki), list_like, "{wiki}");
}

#[test]
fn headings_lists_code_quotes_rules_tables() {
    let wiki = "h1. Title\n\n* one\n** one.one\n* two\n# first\n\n{code:rust}\nfn main() {}\n{code}\n\n{quote}\nquoted *text*\n{quote}\n\n----\n\n||head||er||\n|cell|[link|https://example.com]|";
    let adf = wiki_to_adf(wiki);
    let types: Vec<&str> = adf["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "heading",
            "bulletList",
            "orderedList",
            "codeBlock",
            "blockquote",
            "rule",
            "table"
        ]
    );
    assert_eq!(
        adf["content"][1]["content"][0]["content"][1]["type"],
        "bulletList"
    );
    assert_eq!(adf["content"][3]["attrs"]["language"], "rust");
    assert_eq!(adf["content"][3]["content"][0]["text"], "fn main() {}");
    assert_eq!(
        adf["content"][6]["content"][0]["content"][0]["type"],
        "tableHeader"
    );
    let back = adf_to_wiki(&adf);
    assert_eq!(
        back,
        "h1. Title\n\n* one\n** one.one\n* two\n\n# first\n\n{code:rust}\nfn main() {}\n{code}\n\n{quote}\nquoted *text*\n{quote}\n\n----\n\n||head||er||\n|cell|[link|https://example.com]|"
    );
    assert_eq!(wiki_to_adf(&back), adf);
}

#[test]
fn mentions_round_trip_and_emoji_become_text() {
    let adf = doc(json!([para(json!([
        {"type": "mention", "attrs": {"id": "abc", "text": "@Ann"}},
        text(" "),
        {"type": "emoji", "attrs": {"shortName": ":smile:"}},
    ]))]));
    assert_eq!(settles(&adf), "[~abc] :smile:");
    let from_dc = wiki_to_adf("ping [~jsmith]");
    assert_eq!(
        from_dc,
        doc(json!([para(
            json!([text("ping "), {"type": "mention", "attrs": {"id": "jsmith"}}])
        )]))
    );
    assert_eq!(adf_to_wiki(&from_dc), "ping [~jsmith]");
}

#[test]
fn cloud_account_mentions_round_trip_through_wiki_markup() {
    for id in [
        "5b10ac8d82e05b22cc7d4ef5",
        "712020:0e8d4f7a-2b1c-4e5f-9a0b-1c2d3e4f5a6b",
    ] {
        let wiki = format!("ask *now* [~accountid:{id}], please");
        let adf = wiki_to_adf(&wiki);
        assert_eq!(
            adf,
            doc(json!([para(json!([
                text("ask "),
                {"type": "text", "text": "now", "marks": [{"type": "strong"}]},
                text(" "),
                {"type": "mention", "attrs": {"id": id}},
                text(", please")
            ]))]))
        );
        assert_eq!(adf_to_wiki(&adf), wiki, "back to the same markup");
        assert_eq!(wiki_to_adf(&adf_to_wiki(&adf)), adf, "a fixed point");
    }
    // Not a user: stays text.
    assert_eq!(wiki_to_adf("[~]"), doc(json!([para(json!([text("@")]))])));
}

#[test]
fn line_breaks_survive_in_paragraphs_and_list_items() {
    let adf = doc(json!([
        para(json!([text("a"), {"type": "hardBreak"}, text("b")])),
        {"type": "bulletList", "content": [{"type": "listItem", "content": [para(json!([text("c"), {"type": "hardBreak"}, text("d")]))]}]}
    ]));
    assert_eq!(settles(&adf), "a\nb\n\n* c\\\\d");
    assert_eq!(wiki_to_adf(&adf_to_wiki(&adf)), adf);
}

#[test]
fn backslashes_and_entities_round_trip() {
    let adf = doc(json!([para(json!([text(
        r"C:\path\*x and &#92; \\ end\"
    )]))]));
    let wiki = settles(&adf);
    assert_eq!(wiki_to_adf(&wiki), adf, "{wiki}");
}

#[test]
fn garbage_does_not_panic() {
    for wiki in [
        "{code",
        "{quote}",
        "[",
        "[|]",
        "||",
        "|",
        "*",
        "{*}",
        "&#99999999;",
        "h7. x",
        "{{",
        "\\",
        "#\n##\n*#*",
    ] {
        let adf = wiki_to_adf(wiki);
        let _ = adf_to_wiki(&adf);
    }
    for adf in [
        json!(null),
        json!({"content": 5}),
        json!({"content": [{"type": "heading", "attrs": {"level": "x"}}]}),
    ] {
        let _ = adf_to_wiki(&adf);
    }
}
