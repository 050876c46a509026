//! Deciding whether an issue matches a clause.

use time::OffsetDateTime;

use super::ast::{Clause, Condition, Field, Operand, Operator, Value};
use super::date;
use crate::model::Issue;

/// The words of a text search: runs of letters and digits, so punctuation and
/// Lucene's wildcards (`*`, `?`) separate words instead of meaning something.
pub(crate) fn search_words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// The words of `text`, lowercased and joined by single spaces.
fn normalized(text: &str) -> String {
    search_words(text)
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `parts` (the texts of a field) contain what `query` searches for.
///
/// A query in double quotes is a phrase: its words must appear in that order
/// within one part. Otherwise every word must appear in some part. Both ignore
/// case and match inside longer words (`print` finds "printer").
fn text_contains(parts: &[String], query: &str) -> bool {
    let query = query.trim();
    if let Some(phrase) = query.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
        let phrase = normalized(phrase);
        return !phrase.is_empty() && parts.iter().any(|p| normalized(p).contains(&phrase));
    }
    let lowered: Vec<String> = parts.iter().map(|p| p.to_lowercase()).collect();
    let mut words = search_words(query).map(str::to_lowercase).peekable();
    words.peek().is_some() && words.all(|w| lowered.iter().any(|p| p.contains(&w)))
}

fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
}

/// A field's value on one issue.
enum Actual {
    /// Names: one for project, type, key and status; any number of labels.
    Names(Vec<String>),
    /// The texts a search looks at.
    Texts(Vec<String>),
    /// A timestamp.
    Date(OffsetDateTime),
}

fn actual(issue: &Issue, field: Field) -> Actual {
    let one = |s: &str| {
        Actual::Names(if s.is_empty() {
            vec![]
        } else {
            vec![s.to_owned()]
        })
    };
    let comments = || issue.comments.iter().map(|c| c.body.to_plain_text());
    match field {
        Field::Project => one(issue.project.as_str()),
        Field::IssueType => one(&issue.issue_type),
        Field::Key => one(issue.key.as_str()),
        Field::Status => one(&issue.status),
        Field::Labels => Actual::Names(issue.labels.clone()),
        Field::Summary => Actual::Texts(vec![issue.summary.clone()]),
        Field::Description => Actual::Texts(vec![issue.description.to_plain_text()]),
        Field::Comment => Actual::Texts(comments().collect()),
        Field::Text => Actual::Texts(
            [issue.summary.clone(), issue.description.to_plain_text()]
                .into_iter()
                .chain(comments())
                .collect(),
        ),
        Field::Created => Actual::Date(issue.created),
        Field::Updated => Actual::Date(issue.updated),
    }
}

impl Actual {
    fn is_empty(&self) -> bool {
        match self {
            Actual::Names(names) => names.is_empty(),
            Actual::Texts(texts) => texts.iter().all(|t| t.trim().is_empty()),
            Actual::Date(_) => false,
        }
    }

    fn equals(&self, value: &Value, now: OffsetDateTime) -> bool {
        match (self, value) {
            (Actual::Names(names), Value::Text(want)) => names.iter().any(|n| same_name(n, want)),
            (Actual::Date(at), Value::Date(want)) => *at == date::resolve(*want, now),
            _ => false,
        }
    }
}

impl Clause {
    /// Whether `issue` matches this clause when the time is `now` (for
    /// relative dates). An empty `And` matches everything, an empty `Or` nothing.
    pub fn matches(&self, issue: &Issue, now: OffsetDateTime) -> bool {
        match self {
            Clause::And(clauses) => clauses.iter().all(|c| c.matches(issue, now)),
            Clause::Or(clauses) => clauses.iter().any(|c| c.matches(issue, now)),
            Clause::Not(clause) => !clause.matches(issue, now),
            Clause::Condition(condition) => condition.matches(issue, now),
        }
    }
}

impl Condition {
    /// Whether `issue` matches this condition when the time is `now`.
    ///
    /// A condition the parser would not build (an operator the field does not
    /// support, a value of the wrong kind) matches nothing.
    pub fn matches(&self, issue: &Issue, now: OffsetDateTime) -> bool {
        let actual = actual(issue, self.field);
        let any_equal = |values: &[Value]| values.iter().any(|v| actual.equals(v, now));
        match (self.operator, &self.operand) {
            (Operator::Is, Operand::Empty) => actual.is_empty(),
            (Operator::IsNot, Operand::Empty) => !actual.is_empty(),
            (Operator::Equals, Operand::Value(v)) => any_equal(std::slice::from_ref(v)),
            (Operator::In, Operand::List(values)) => any_equal(values),
            // As in Jira, "not equal" never matches an empty field.
            (Operator::NotEquals, Operand::Value(v)) => {
                !actual.is_empty() && !any_equal(std::slice::from_ref(v))
            }
            (Operator::NotIn, Operand::List(values)) => !actual.is_empty() && !any_equal(values),
            (Operator::Contains | Operator::NotContains, Operand::Value(Value::Text(query))) => {
                let Actual::Texts(parts) = &actual else {
                    return false;
                };
                text_contains(parts, query) == (self.operator == Operator::Contains)
            }
            (op, Operand::Value(Value::Date(want))) => {
                let Actual::Date(at) = actual else {
                    return false;
                };
                let want = date::resolve(*want, now);
                match op {
                    Operator::Less => at < want,
                    Operator::LessOrEqual => at <= want,
                    Operator::Greater => at > want,
                    Operator::GreaterOrEqual => at >= want,
                    _ => false,
                }
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::ids as lit;
    use time::macros::datetime;

    use super::*;
    use crate::model::{Comment, RichText, UserRef, Visibility};
    use crate::trigger::Jql;

    const NOW: OffsetDateTime = datetime!(2026-01-31 12:00 UTC);

    /// SUP-7, a bug created 26 hours and updated 3 hours before `NOW`.
    fn issue() -> Issue {
        let comment = |id: &str, text: &str| Comment {
            id: lit::comment_id(id),
            author: UserRef::new(lit::user_id("u1"), "Ada"),
            body: RichText::plain(text),
            created: datetime!(2026-01-31 09:00 UTC),
            updated: datetime!(2026-01-31 09:00 UTC),
            visibility: Visibility::Public,
            properties: Default::default(),
        };
        Issue {
            id: lit::issue_id("10007"),
            key: lit::key("SUP-7"),
            project: lit::project("SUP"),
            issue_type: "Bug".into(),
            summary: "Printer on fire".into(),
            description: RichText::plain("The office printer is burning.\nPlease help."),
            comments: vec![
                comment("1", "Extinguisher applied"),
                comment("2", "Fire brigade called"),
            ],
            attachments: vec![],
            labels: vec!["escalate-to-dev".into(), "hardware".into()],
            status: "In Progress".into(),
            fields: Default::default(),
            creator: None,
            created: datetime!(2026-01-30 10:00 UTC),
            updated: datetime!(2026-01-31 09:00 UTC),
            properties: Default::default(),
        }
    }

    fn check(issue: &Issue, cases: &[(&str, bool)]) {
        for (src, want) in cases {
            let jql = Jql::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
            assert_eq!(jql.matches(issue, NOW), *want, "{src}");
        }
    }

    #[test]
    fn names_match_whole_values_ignoring_case() {
        check(
            &issue(),
            &[
                ("", true),
                ("project = sup", true),
                ("project = DEV", false),
                ("project != DEV", true),
                ("project IN (DEV, SUP)", true),
                ("project NOT IN (SUP)", false),
                ("project IS EMPTY", false),
                ("project IS NOT EMPTY", true),
                ("type = bug", true),
                ("issuetype != Bug", false),
                ("key = sup-7", true),
                ("issuekey IN (SUP-1, SUP-70)", false),
                ("status = 'in progress'", true),
                ("status IN (Done, Closed)", false),
            ],
        );
    }

    #[test]
    fn labels_equal_means_has_the_label() {
        check(
            &issue(),
            &[
                ("labels = escalate-to-dev", true),
                ("labels = ESCALATE-TO-DEV", true),
                ("labels = escalate", false),
                ("labels != hardware", false),
                ("labels != software", true),
                ("labels IN (software, hardware)", true),
                ("labels NOT IN (software, firmware)", true),
                ("labels NOT IN (software, hardware)", false),
                ("labels IS EMPTY", false),
                ("labels IS NOT EMPTY", true),
            ],
        );
        let mut unlabelled = issue();
        unlabelled.labels.clear();
        check(
            &unlabelled,
            &[
                ("labels = hardware", false),
                ("labels != hardware", false),
                ("labels NOT IN (hardware)", false),
                ("NOT labels = hardware", true),
                ("labels != hardware OR labels IS EMPTY", true),
                ("labels IS EMPTY", true),
            ],
        );
    }

    #[test]
    fn text_fields_are_searched_by_words() {
        check(
            &issue(),
            &[
                ("summary ~ printer", true),
                ("summary ~ 'PRINT fire'", true),
                ("summary ~ brigade", false),
                ("summary !~ brigade", true),
                ("summary !~ printer", false),
                ("description ~ burning", true),
                (r#"description ~ "\"printer is burning\"""#, true),
                (r#"description ~ "\"burning printer\"""#, false),
                ("description IS EMPTY", false),
                ("comment ~ extinguisher", true),
                ("comment ~ 'extinguisher brigade'", true),
                ("comment ~ printer", false),
                ("text ~ 'printer burning extinguisher'", true),
                ("text ~ 'printer flood'", false),
            ],
        );
        let mut bare = issue();
        bare.description = RichText::plain("  ");
        bare.comments.clear();
        check(
            &bare,
            &[
                ("description IS EMPTY", true),
                ("description IS NOT EMPTY", false),
                ("comment ~ fire", false),
                ("comment !~ fire", true),
                ("text ~ fire", true),
            ],
        );
    }

    #[test]
    fn dates_compare_with_absolute_and_relative_moments() {
        check(
            &issue(),
            &[
                ("created < 2026-01-31", true),
                ("created < 2026-01-30", false),
                (r#"created = "2026-01-30 10:00""#, true),
                (r#"created != "2026-01-30 10:00""#, false),
                (r#"created IN (-2d, "2026/01/30 10:00")"#, true),
                ("created > -1d", false),
                ("created > -2d", true),
                ("created >= '-1d 2h'", true),
                ("created > '-1d 2h'", false),
                ("updated >= -3h", true),
                ("updated > -3h", false),
                ("updated < -179m", true),
                ("updated >= startOfDay()", true),
                ("created >= startOfDay()", false),
                ("created >= startOfDay(-1d)", true),
                ("created <= endOfDay(-1)", true),
                ("updated <= endOfDay(-1)", false),
                ("updated <= now()", true),
                ("updated > now()", false),
                ("created < 1w", true),
                ("created IS EMPTY", false),
                ("updated IS NOT EMPTY", true),
            ],
        );
    }

    #[test]
    fn clauses_combine_with_precedence() {
        check(
            &issue(),
            &[
                ("NOT project = SUP", false),
                ("NOT NOT project = SUP", true),
                ("project = DEV OR labels = hardware", true),
                ("project = SUP AND labels = nothing", false),
                (
                    "project = DEV AND labels = hardware OR status = 'In Progress'",
                    true,
                ),
                (
                    "project = DEV AND (labels = hardware OR status = 'In Progress')",
                    false,
                ),
                ("NOT project = DEV AND labels = hardware", true),
                ("NOT (project = SUP AND labels = nothing)", true),
                ("project = SUP ORDER BY created DESC", true),
            ],
        );
    }

    fn parts(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn text_search_needs_every_word_anywhere_ignoring_case() {
        let p = parts(&["Printer on FIRE", "call the fire brigade"]);
        assert!(text_contains(&p, "fire"));
        assert!(text_contains(&p, "print brigade"));
        assert!(
            text_contains(&p, "print* FIRE?"),
            "wildcards separate words"
        );
        assert!(!text_contains(&p, "printer water"));
        assert!(!text_contains(&p, "***"), "no words match nothing");
        assert!(!text_contains(&[], "fire"));
    }

    #[test]
    fn quoted_phrase_keeps_word_order_within_one_text() {
        let p = parts(&["Printer on  fire!", "brigade"]);
        assert!(text_contains(&p, "\"printer on fire\""));
        assert!(text_contains(&p, "\"ON, Fire\""));
        assert!(!text_contains(&p, "\"fire on\""));
        assert!(
            !text_contains(&p, "\"fire brigade\""),
            "phrases do not span texts"
        );
    }

    #[test]
    fn names_compare_ignoring_case_also_beyond_ascii() {
        assert!(same_name("SUP", "sup"));
        assert!(same_name("Ärger", "äRGER"));
        assert!(!same_name("SUP", "SUPPORT"));
    }
}
