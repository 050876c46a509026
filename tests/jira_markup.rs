//! ADF ↔ wiki markup converges: whatever a Cloud twin holds, one trip through
//! Data Center's wiki markup reaches a fixed point, so the sync cannot loop.
//! The ADF it produces is checked against Atlassian's ADF schema when the
//! reference files are present (see `jira_fidelity.rs`).

use std::path::PathBuf;
use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{Value, json};
use twinsync::tracker::jira::markup::{WIKI_FILE_COLLECTION, adf_to_wiki, wiki_to_adf};

fn adf_schema() -> Option<&'static jsonschema::Validator> {
    static SCHEMA: OnceLock<Option<jsonschema::Validator>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let dir = std::env::var_os("TWINSYNC_JIRA_SPEC_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/jira")
                });
            let path = dir.join("adf-schema-v1-full.json");
            let Ok(text) = std::fs::read_to_string(&path) else {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("{} is missing; CI needs it", path.display());
                }
                eprintln!(
                    "note: {} not found; adf schema checks skipped",
                    path.display()
                );
                return None;
            };
            let schema: Value = serde_json::from_str(&text).expect("the adf schema is json");
            Some(
                jsonschema::draft4::options()
                    .build(&schema)
                    .expect("the adf schema compiles"),
            )
        })
        .as_ref()
}

fn assert_valid_adf(doc: &Value, from: &str) {
    if let Some(schema) = adf_schema() {
        let errors: Vec<String> = schema
            .iter_errors(doc)
            .take(3)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "invalid adf from {from:?}: {errors:?}\n{doc}"
        );
    }
}

fn text_strategy() -> impl Strategy<Value = String> {
    proptest::string::string_regex(r"[a-zA-Z0-9 *_+^~{}\[\]|#&\\!.:/-]{1,12}")
        .expect("a valid regex")
}

fn mark_strategy() -> impl Strategy<Value = Vec<Value>> {
    let one = prop_oneof![
        Just(json!({"type": "strong"})),
        Just(json!({"type": "em"})),
        Just(json!({"type": "strike"})),
        Just(json!({"type": "underline"})),
        Just(json!({"type": "code"})),
        Just(json!({"type": "subsup", "attrs": {"type": "sub"}})),
        Just(json!({"type": "subsup", "attrs": {"type": "sup"}})),
        Just(json!({"type": "link", "attrs": {"href": "https://example.com/a_b*c"}})),
        Just(json!({"type": "link", "attrs": {"href": "https://x.io/q?a=1|2]"}})),
    ];
    proptest::collection::vec(one, 0..3).prop_map(|marks| {
        // ADF allows a mark type once per node, and code next to a link only.
        let mut seen = Vec::new();
        let mut out: Vec<Value> = Vec::new();
        for m in marks {
            let kind = m["type"].as_str().unwrap_or("").to_owned();
            if !seen.contains(&kind) {
                seen.push(kind);
                out.push(m);
            }
        }
        if out.iter().any(|m| m["type"] == "code") {
            out.retain(|m| m["type"] == "code" || m["type"] == "link");
        }
        out
    })
}

fn inline_strategy() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => (text_strategy(), mark_strategy()).prop_map(|(text, marks)| {
            if marks.is_empty() {
                json!({"type": "text", "text": text})
            } else {
                json!({"type": "text", "text": text, "marks": marks})
            }
        }),
        1 => Just(json!({"type": "hardBreak"})),
        1 => Just(json!({"type": "mention", "attrs": {"id": "abc", "text": "@Ann Lee"}})),
        1 => Just(json!({"type": "emoji", "attrs": {"shortName": ":smile:", "text": "😄"}})),
    ]
}

fn paragraph() -> impl Strategy<Value = Value> {
    proptest::collection::vec(inline_strategy(), 0..6)
        .prop_map(|content| json!({"type": "paragraph", "content": content}))
}

fn list(depth: u32) -> BoxedStrategy<Value> {
    let item = if depth == 0 {
        paragraph()
            .prop_map(|p| json!({"type": "listItem", "content": [p]}))
            .boxed()
    } else {
        (paragraph(), proptest::option::of(list(depth - 1)))
            .prop_map(|(p, nested)| {
                let mut content = vec![p];
                content.extend(nested);
                json!({"type": "listItem", "content": content})
            })
            .boxed()
    };
    (any::<bool>(), proptest::collection::vec(item, 1..4))
        .prop_map(|(ordered, items)| {
            json!({"type": if ordered { "orderedList" } else { "bulletList" }, "content": items})
        })
        .boxed()
}

fn block() -> impl Strategy<Value = Value> {
    let code = (
        proptest::string::string_regex(r"[a-z{}*\n ]{0,20}").expect("regex"),
        proptest::option::of(prop_oneof![Just("rust"), Just("java"), Just("bad lang")]),
    )
        .prop_map(|(text, lang)| {
            let mut node = json!({"type": "codeBlock"});
            if let Some(lang) = lang {
                node["attrs"] = json!({"language": lang});
            }
            if !text.is_empty() {
                node["content"] = json!([{"type": "text", "text": text}]);
            }
            node
        });
    let heading = (1u64..=6, proptest::collection::vec(inline_strategy(), 0..4)).prop_map(
        |(level, content)| json!({"type": "heading", "attrs": {"level": level}, "content": content}),
    );
    let quote = proptest::collection::vec(prop_oneof![paragraph(), list(0)], 1..3)
        .prop_map(|content| json!({"type": "blockquote", "content": content}));
    let cell = (any::<bool>(), paragraph()).prop_map(|(header, p)| {
        json!({"type": if header { "tableHeader" } else { "tableCell" }, "content": [p]})
    });
    let table = proptest::collection::vec(
        proptest::collection::vec(cell, 1..4)
            .prop_map(|cells| json!({"type": "tableRow", "content": cells})),
        1..3,
    )
    .prop_map(|rows| json!({"type": "table", "content": rows}));
    // Images: a wiki file image, an external image, a Cloud media file (which
    // wiki markup cannot name), a group.
    let wiki_file = |name: &str, size: Option<(u32, u32)>| {
        let mut attrs = json!({"type": "file", "id": name, "collection": WIKI_FILE_COLLECTION});
        if let Some((w, h)) = size {
            attrs["width"] = json!(w);
            attrs["height"] = json!(h);
        }
        json!({"type": "media", "attrs": attrs})
    };
    let media = prop_oneof![
        (
            prop_oneof![
                Just("shot.png"),
                Just("a b.jpg"),
                Just("x!y.png"),
                Just("*bold*.png")
            ],
            proptest::option::of((1u32..2000, 1u32..2000))
        )
            .prop_map(move |(name, size)| wiki_file(name, size)),
        Just(
            json!({"type": "media", "attrs": {"type": "external", "url": "https://example.com/a.png"}})
        ),
        Just(
            json!({"type": "media", "attrs": {"type": "file", "id": "5f1c-77aa", "collection": ""}})
        ),
    ];
    let images = prop_oneof![
        media.clone().prop_map(
            |m| json!({"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [m]})
        ),
        proptest::collection::vec(media, 1..3)
            .prop_map(|m| json!({"type": "mediaGroup", "content": m})),
    ];
    prop_oneof![
        4 => paragraph(),
        1 => images,
        1 => heading,
        2 => list(2),
        1 => code,
        1 => quote,
        1 => Just(json!({"type": "rule"})),
        1 => table,
    ]
}

fn document() -> impl Strategy<Value = Value> {
    proptest::collection::vec(block(), 0..5)
        .prop_map(|content| json!({"type": "doc", "version": 1, "content": content}))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// ADF → wiki → ADF, then once more: the second trip changes nothing.
    #[test]
    fn adf_reaches_a_fixed_point_after_one_round_trip(doc in document()) {
        let wiki = adf_to_wiki(&doc);
        let once = wiki_to_adf(&wiki);
        let wiki_again = adf_to_wiki(&once);
        let twice = wiki_to_adf(&wiki_again);
        prop_assert_eq!(&twice, &once, "wiki {:?} became {:?}", wiki, wiki_again);
        assert_valid_adf(&once, &wiki);
    }

    /// Whatever a Data Center user typed settles after one trip, too.
    #[test]
    fn wiki_reaches_a_fixed_point_after_one_round_trip(
        wiki in proptest::string::string_regex(r"([a-z ]{0,4}|[*_+^~{}\[\]|#&\\!.\-]|\n|h1\. |\{code\}|\{quote\}|\|\||bq\. |----|\[~ann\]|\[x\|http://e\.x\]|!a\.png!|!a\.png\|thumbnail!|!b\.gif\|width=30,height=20!|!https://e\.x/i\.png!|!){0,24}").expect("regex")
    ) {
        let adf = wiki_to_adf(&wiki);
        let back = adf_to_wiki(&adf);
        let again = wiki_to_adf(&back);
        prop_assert_eq!(&again, &adf, "{:?} wrote back as {:?}", wiki, back);
        assert_valid_adf(&adf, &wiki);
    }
}

#[test]
fn a_typical_description_survives_both_ways_unchanged() {
    let wiki = "h2. What happened\n\nThe printer on *floor 3* caught fire after the _nightly_ job.\n\n# unplug it\n# call [facilities|https://example.com/facilities]\n\n{code:bash}\nsystemctl stop print-queue\n{code}";
    let adf = wiki_to_adf(wiki);
    assert_valid_adf(&adf, wiki);
    assert_eq!(adf_to_wiki(&adf), wiki);
}

#[test]
fn a_quote_marker_inside_a_code_block_in_a_quote_stays_code() {
    let wiki = "{quote}\n{code}{quote}{code}";
    let adf = wiki_to_adf(wiki);
    let back = adf_to_wiki(&adf);
    assert_eq!(wiki_to_adf(&back), adf, "{wiki:?} wrote back as {back:?}");
    let quote = &adf["content"][0];
    assert_eq!(quote["type"], "blockquote");
    assert_eq!(quote["content"][0]["type"], "codeBlock");
    assert_eq!(quote["content"][0]["content"][0]["text"], "{quote}");
}

#[test]
fn wiki_images_read_as_media_nodes_naming_the_file_and_write_back() {
    let wiki = "Before\n\n!shot.png|thumbnail!\n\n!https://example.com/a.png!\n\nAfter";
    let adf = wiki_to_adf(wiki);
    assert_valid_adf(&adf, wiki);
    assert_eq!(adf["content"][1]["type"], "mediaSingle");
    assert_eq!(
        adf["content"][1]["content"][0]["attrs"],
        json!({"type": "file", "id": "shot.png", "collection": WIKI_FILE_COLLECTION})
    );
    assert_eq!(adf_to_wiki(&adf), wiki);
    // `!file.png!` without options writes back as a thumbnail.
    assert_eq!(
        adf_to_wiki(&wiki_to_adf("!shot.png!")),
        "!shot.png|thumbnail!"
    );
}

#[test]
fn line_breaks_at_paragraph_edges_or_in_a_row_settle() {
    for wiki in ["a\\\\", "\\\\h1. ", "a\n\\\\h1. ", "a\\\\\\\\b"] {
        let adf = wiki_to_adf(wiki);
        let back = adf_to_wiki(&adf);
        assert_eq!(wiki_to_adf(&back), adf, "{wiki:?} wrote back as {back:?}");
    }
}
