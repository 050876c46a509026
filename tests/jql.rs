//! The JQL subset end to end: printing and parsing agree, no input makes the
//! parser panic, and the in-memory tracker's search uses it.
//!
//! Property tests run 512 cases each; set `PROPTEST_CASES` for more.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use futures::executor::block_on;
use proptest::prelude::*;
use time::macros::datetime;
use time::{Date, Duration, Month, PrimitiveDateTime, Time};
use twinsync::ErrorKind;
use twinsync::clock::ManualClock;
use twinsync::model::{Issue, RichText};
use twinsync::testkit::ids as lit;
use twinsync::tracker::memory::OpKind;
use twinsync::tracker::{MemoryTracker, NewComment, NewIssue, Page, Tracker};
use twinsync::trigger::jql::{
    Clause, Condition, DateValue, Field, Operand, Operator, SortDirection, SortKey, Value,
};
use twinsync::trigger::{Jql, JqlError};

fn config() -> ProptestConfig {
    // `PROPTEST_CASES` in the environment overrides this default.
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(512),
        ..ProptestConfig::default()
    }
}

/// Text for name fields: plain words, JQL's own words, and anything at all.
fn name_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_-]{1,10}",
        Just("and".to_owned()),
        Just("EMPTY".to_owned()),
        Just("Order".to_owned()),
        Just(String::new()),
        "[ -~]{0,12}",
        any::<String>(),
    ]
}

/// Text for `~`: at least one word, sometimes as a quoted phrase.
fn search_text() -> impl Strategy<Value = String> {
    (
        "[a-zA-Z0-9]{1,6}",
        any::<String>(),
        "[ -~]{0,8}",
        any::<bool>(),
    )
        .prop_map(|(word, noise, ascii, phrase)| {
            if phrase {
                format!("\"{ascii} {word}\"")
            } else {
                format!("{noise} {word} {ascii}")
            }
        })
}

/// An offset within the ±10,000 years the parser accepts, in whole minutes.
fn offset() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (-500_000i64..500_000).prop_map(Duration::minutes),
        (-5_000_000_000i64..5_000_000_000).prop_map(Duration::minutes),
        Just(Duration::ZERO),
    ]
}

fn date_value() -> impl Strategy<Value = DateValue> {
    let at = (0i32..=9999, 1u8..=12, 1u8..=28, 0u8..24, 0u8..60).prop_map(|(y, m, d, h, min)| {
        let date = Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap();
        DateValue::At(PrimitiveDateTime::new(
            date,
            Time::from_hms(h, min, 0).unwrap(),
        ))
    });
    prop_oneof![
        at,
        offset().prop_map(DateValue::Relative),
        Just(DateValue::Now),
        offset().prop_map(DateValue::StartOfDay),
        offset().prop_map(DateValue::EndOfDay),
    ]
}

fn value(field: Field) -> BoxedStrategy<Value> {
    match field {
        Field::Created | Field::Updated => date_value().prop_map(Value::Date).boxed(),
        Field::Summary | Field::Description | Field::Text | Field::Comment => {
            search_text().prop_map(Value::Text).boxed()
        }
        _ => name_text().prop_map(Value::Text).boxed(),
    }
}

fn condition() -> impl Strategy<Value = Clause> {
    (
        prop::sample::select(Field::ALL.to_vec()),
        any::<prop::sample::Index>(),
    )
        .prop_flat_map(|(field, pick)| {
            let operator = *pick.get(field.operators());
            let operand = match operator {
                Operator::Is | Operator::IsNot => Just(Operand::Empty).boxed(),
                Operator::In | Operator::NotIn => prop::collection::vec(value(field), 1..4)
                    .prop_map(Operand::List)
                    .boxed(),
                _ => value(field).prop_map(Operand::Value).boxed(),
            };
            operand.prop_map(move |operand| {
                Clause::Condition(Condition {
                    field,
                    operator,
                    operand,
                })
            })
        })
}

fn clause() -> impl Strategy<Value = Clause> {
    condition().prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Clause::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Clause::Or),
            inner.prop_map(|c| Clause::Not(Box::new(c))),
        ]
    })
}

fn sort_keys() -> impl Strategy<Value = Vec<SortKey>> {
    let sortable: Vec<Field> = Field::ALL.into_iter().filter(|f| f.is_sortable()).collect();
    let direction = prop_oneof![
        Just(None),
        Just(Some(SortDirection::Ascending)),
        Just(Some(SortDirection::Descending)),
    ];
    prop::collection::vec(
        (prop::sample::select(sortable), direction)
            .prop_map(|(field, direction)| SortKey { field, direction }),
        0..3,
    )
}

/// Pieces of JQL, valid and not, to glue into near-misses.
fn token_soup() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "project",
        "labels",
        "created",
        "summary",
        "text",
        "type",
        "key",
        "=",
        "!=",
        "~",
        "!~",
        "<",
        "<=",
        ">",
        ">=",
        "!",
        "IN",
        "NOT",
        "IS",
        "EMPTY",
        "null",
        "AND",
        "OR",
        "ORDER",
        "BY",
        "ASC",
        "DESC",
        "(",
        ")",
        ",",
        "\"",
        "'",
        "\\",
        "\"a b\"",
        "'x\\'y'",
        "\"\\u00e9\"",
        "\"\\ud800\"",
        "SUP",
        "-1d",
        "1w",
        "\"-1w 2d\"",
        "2026-01-31",
        "\"2026-02-30\"",
        "startOfDay(",
        "endOfDay(-1)",
        "now()",
        "3.14",
        "é",
        "\n",
        "9999999999999999w",
    ]);
    (
        prop::collection::vec((piece, any::<bool>()), 0..14),
        any::<String>(),
    )
        .prop_map(|(pieces, tail)| {
            let mut out = String::new();
            for (piece, space) in pieces {
                out.push_str(piece);
                if space {
                    out.push(' ');
                }
            }
            if tail.len() % 3 == 0 {
                out.push_str(&tail);
            }
            out
        })
}

fn fixture_issue() -> Issue {
    serde_json::from_value(serde_json::json!({
        "id": "1", "key": "SUP-1", "project": "SUP", "issue_type": "Bug",
        "summary": "Printer on fire",
        "description": {"format": "plain", "value": "It burns"},
        "comments": [], "attachments": [], "labels": ["hardware"], "status": "Open",
        "creator": null,
        "created": "2026-01-30T10:00:00Z", "updated": "2026-01-31T09:00:00Z"
    }))
    .expect("fixture issue")
}

/// Whatever the input, `parse` returns; an error points inside the input, and
/// a query that parses prints to text that parses to the same tree.
fn check_any_input(text: &str) -> Result<(), TestCaseError> {
    match Jql::parse(text) {
        Ok(jql) => {
            let printed = jql.to_string();
            let again = Jql::parse(&printed)
                .map_err(|e| TestCaseError::fail(format!("{printed:?} does not parse: {e}")))?;
            prop_assert_eq!(&again, &jql, "printed as {:?}", printed);
            let _ = jql.matches(&fixture_issue(), datetime!(2026-01-31 12:00 UTC));
        }
        Err(err) => {
            prop_assert!(err.offset() <= text.len());
            prop_assert!(text.is_char_boundary(err.offset()));
            prop_assert!(err.column() >= 1 && err.line() >= 1);
            let message = err.to_string();
            prop_assert!(message.starts_with("jql: expected "), "{}", message);
            prop_assert!(message.contains(" column "), "{}", message);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn printing_then_parsing_gives_the_same_tree(clause in clause(), keys in sort_keys()) {
        let mut text = clause.to_string();
        if !keys.is_empty() {
            let keys: Vec<String> = keys.iter().map(SortKey::to_string).collect();
            text = format!("{text} ORDER BY {}", keys.join(", "));
        }
        let jql = Jql::parse(&text)
            .map_err(|e| TestCaseError::fail(format!("{text:?} does not parse: {e}")))?;
        prop_assert_eq!(jql.clause(), Some(&clause), "printed as {:?}", text);
        prop_assert_eq!(jql.order_by(), &keys[..]);
        prop_assert_eq!(jql.to_string(), text);
    }

    #[test]
    fn parser_never_panics_on_arbitrary_text(text in any::<String>()) {
        check_any_input(&text)?;
    }

    #[test]
    fn parser_never_panics_on_jql_like_text(text in token_soup()) {
        check_any_input(&text)?;
    }
}

fn tracker() -> (MemoryTracker, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(datetime!(2026-01-30 10:00 UTC)));
    let tracker = MemoryTracker::with_clock("https://jql.example", clock.clone()).unwrap();
    tracker
        .add_project("SUP", "Support", &["Bug", "Task"], Some("Task"))
        .unwrap();
    (tracker, clock)
}

fn search_keys(tracker: &MemoryTracker, jql: &str) -> Vec<String> {
    let page = block_on(tracker.search(jql, &Page::first(50))).unwrap_or_else(|e| panic!("{e}"));
    page.issues.iter().map(|i| i.key.to_string()).collect()
}

#[test]
fn memory_search_rejects_bad_jql_before_counting_a_call() {
    let (tracker, _) = tracker();
    let err = block_on(tracker.search("project = SUP AND", &Page::first(50))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        err.to_string(),
        r#"jql: expected a field name, "NOT" or "(" at column 18, found end of input"#
    );
    let source = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<JqlError>());
    assert_eq!(source.map(JqlError::offset), Some(17));
    assert_eq!(tracker.calls().get(OpKind::Search), 0);
    assert_eq!(tracker.calls().total(), 0);
}

#[test]
fn memory_search_evaluates_the_subset_on_the_tracker_clock() {
    let (tracker, clock) = tracker();
    let bug = NewIssue::new(lit::project("SUP"), "Bug", "Printer on fire")
        .labels(["escalate-to-dev".to_owned()]);
    block_on(tracker.create_issue(&bug)).unwrap();
    clock.advance(StdDuration::from_secs(2 * 86_400));
    let task = NewIssue::new(lit::project("SUP"), "Task", "Order toner")
        .description(RichText::plain("Black"));
    let created = block_on(tracker.create_issue(&task)).unwrap();
    block_on(tracker.add_comment(&created.id, &NewComment::public("urgent, please"))).unwrap();
    clock.advance(StdDuration::from_secs(3600));

    let cases: &[(&str, &[&str])] = &[
        ("project = sup", &["SUP-1", "SUP-2"]),
        ("project = SUP AND labels = escalate-to-dev", &["SUP-1"]),
        ("labels != escalate-to-dev", &[]),
        ("labels IS EMPTY", &["SUP-2"]),
        ("created > -1d", &["SUP-2"]),
        ("created < startOfDay()", &["SUP-1"]),
        ("text ~ urgent OR summary ~ printer", &["SUP-1", "SUP-2"]),
        ("NOT type = bug ORDER BY created DESC", &["SUP-2"]),
        (
            "updated >= \"2026-01-30\" AND updated < \"2026-01-30 10:01\"",
            &["SUP-1"],
        ),
    ];
    for (jql, want) in cases {
        assert_eq!(search_keys(&tracker, jql), *want, "{jql}");
    }
    assert_eq!(tracker.calls().get(OpKind::Search), cases.len() as u64);
}
