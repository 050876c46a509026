//! Mentions across sites: which users a replica's text mentions, and how a
//! mention that arrives over a remote connection is written here.
//!
//! A mention (an ADF `mention` node) names an account of one site. Over a
//! remote connection the receiving side rewrites each one before planning:
//! a user the [`UserMapping`](crate::model::UserMapping) matches becomes a
//! mention of the matching local account (with its local display name);
//! anyone else becomes the plain text "@Display Name", so a synced mention
//! never notifies a different person. Local connections keep mentions as
//! they are.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::model::{RichText, UserId, UserProfile, UserRef};
use crate::replica::Replica;

/// The users of the other site that this site's mapping matched: their
/// account id there → the local account (with its local display name).
///
/// The engine resolves them before planning (from the replica's
/// [`users`](Replica::users), the connection's mapping and this tracker's
/// user search) and hands them to the planner, which stays pure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserMatches {
    matches: BTreeMap<UserId, UserRef>,
}

impl UserMatches {
    /// No matches: every mention of the other site becomes plain text.
    pub fn new() -> Self {
        UserMatches::default()
    }

    /// Records that `theirs` (an account of the other site) is `ours` here.
    pub fn insert(&mut self, theirs: UserId, ours: UserRef) {
        self.matches.insert(theirs, ours);
    }

    /// The local account of the other site's `theirs`, if matched.
    pub fn get(&self, theirs: &UserId) -> Option<&UserRef> {
        self.matches.get(theirs)
    }

    /// Whether nobody is matched.
    pub fn is_empty(&self) -> bool {
        self.matches.is_empty()
    }

    /// The matches, by the other site's account id.
    pub fn iter(&self) -> impl Iterator<Item = (&UserId, &UserRef)> {
        self.matches.iter()
    }
}

fn is_mention(node: &Value) -> bool {
    node.get("type").and_then(Value::as_str) == Some("mention")
}

fn mention_id(node: &Value) -> Option<UserId> {
    let id = node.get("attrs")?.get("id")?.as_str()?;
    UserId::new(id).ok()
}

fn walk(value: &Value, found: &mut BTreeSet<UserId>) {
    if is_mention(value) {
        found.extend(mention_id(value));
    }
    if let Some(children) = value.get("content").and_then(Value::as_array) {
        for child in children {
            walk(child, found);
        }
    }
}

/// The accounts `text` mentions.
pub fn mentioned_in(text: &RichText, found: &mut BTreeSet<UserId>) {
    if let RichText::Adf(doc) = text {
        walk(doc, found);
    }
}

/// The accounts a replica's description and comments mention, sorted.
pub fn mentioned_users(replica: &Replica) -> BTreeSet<UserId> {
    let mut found = BTreeSet::new();
    mentioned_in(&replica.description, &mut found);
    for c in &replica.comments {
        mentioned_in(&c.body, &mut found);
    }
    // And the users of mapped user fields.
    for value in replica.fields.values() {
        let Value::Object(o) = value else { continue };
        let ids = match (o.get(super::mapping::USER), o.get(super::mapping::USERS)) {
            (Some(id), _) => vec![id],
            (None, Some(Value::Array(ids))) => ids.iter().collect(),
            _ => continue,
        };
        found.extend(
            ids.into_iter()
                .filter_map(|v| UserId::new(v.as_str()?).ok()),
        );
    }
    found
}

/// The plain text an unmatched mention becomes: "@" and the display name
/// the origin's tracker showed (from the replica's users), else the
/// mention's own text, else "@unknown user".
fn mention_text(node: &Value, profiles: &[UserProfile]) -> String {
    let id = mention_id(node);
    if let Some(p) = id
        .as_ref()
        .and_then(|id| profiles.iter().find(|p| &p.id == id))
        .filter(|p| !p.display_name.trim().is_empty())
    {
        return format!("@{}", p.display_name);
    }
    match node
        .get("attrs")
        .and_then(|a| a.get("text"))
        .and_then(Value::as_str)
    {
        Some(t) if t.starts_with('@') && t.len() > 1 => t.to_owned(),
        Some(t) if !t.trim().is_empty() => format!("@{t}"),
        _ => "@unknown user".to_owned(),
    }
}

/// Whether `node` is a text node without marks.
fn plain_text_node(node: &Value) -> Option<&str> {
    let obj = node.as_object()?;
    let unmarked = obj
        .get("marks")
        .is_none_or(|m| m.as_array().is_some_and(Vec::is_empty));
    (obj.get("type")?.as_str()? == "text" && unmarked && obj.len() <= 3)
        .then(|| obj.get("text")?.as_str())
        .flatten()
}

/// Appends `text` as unmarked text, merged into an unmarked text node before it.
fn push_text(out: &mut Vec<Value>, text: &str) {
    if let Some(prev) = out.last_mut()
        && let Some(before) = plain_text_node(prev)
    {
        *prev = json!({"type": "text", "text": format!("{before}{text}")});
        return;
    }
    out.push(json!({"type": "text", "text": text}));
}

/// Rewrites the mentions in `value` (see [`localize_mentions`]).
fn rewrite(value: &Value, matches: &UserMatches, profiles: &[UserProfile]) -> Value {
    let Some(obj) = value.as_object() else {
        return value.clone();
    };
    let Some(children) = obj.get("content").and_then(Value::as_array) else {
        return value.clone();
    };
    let mut out: Vec<Value> = Vec::with_capacity(children.len());
    // Whether the last node pushed is text made from a mention (so that the
    // text after it joins it, as an editor would store it).
    let mut joined = false;
    for child in children {
        if is_mention(child) {
            match mention_id(child).and_then(|id| matches.get(&id)) {
                Some(local) => {
                    // The account only, as Jira shows it by its current
                    // name: Data Center's `[~id]` holds no name either, so
                    // what is written reads back the same on both.
                    out.push(json!({"type": "mention", "attrs": {"id": local.id.as_str()}}));
                    joined = false;
                }
                None => {
                    push_text(&mut out, &mention_text(child, profiles));
                    joined = true;
                }
            }
            continue;
        }
        if joined && let Some(text) = plain_text_node(child) {
            push_text(&mut out, text);
            continue;
        }
        joined = false;
        out.push(rewrite(child, matches, profiles));
    }
    let mut obj: Map<String, Value> = obj.clone();
    obj.insert("content".to_owned(), Value::Array(out));
    Value::Object(obj)
}

/// `text` as it is written on this side of a remote connection: each
/// mention of a user `matches` holds becomes a mention of the local account
/// (its id only: Jira shows the account's current name); any other mention becomes the plain text
/// "@Display Name" (the name from `profiles`, the replica's users), joined
/// with the unformatted text around it. Text without mentions is returned
/// as it is.
///
/// The result is a pure function of its inputs, so the same replica always
/// plans the same writes, and it reads back equal once written (no echo).
///
/// ```
/// use serde_json::json;
/// use twinsync::model::{RichText, UserProfile, UserRef};
/// use twinsync::rules::{UserMatches, localize_mentions};
///
/// let body = RichText::adf(json!({"type": "doc", "version": 1, "content": [
///     {"type": "paragraph", "content": [
///         {"type": "text", "text": "ask "},
///         {"type": "mention", "attrs": {"id": "a-1", "text": "@Ann"}},
///         {"type": "text", "text": " or "},
///         {"type": "mention", "attrs": {"id": "b-2", "text": "@Bob"}}
///     ]}
/// ]}))?;
/// let mut matches = UserMatches::new();
/// matches.insert("a-1".parse()?, UserRef::new("local-ann".parse()?, "Ann Lee"));
/// let profiles = [UserProfile::new("b-2".parse()?, "Bob Stone")];
/// let here = localize_mentions(&body, &matches, &profiles);
/// let RichText::Adf(doc) = &here else { unreachable!() };
/// assert_eq!(doc["content"][0]["content"][1], json!({"type": "mention", "attrs": {"id": "local-ann"}}));
/// assert_eq!(doc["content"][0]["content"][2], json!({"type": "text", "text": " or @Bob Stone"}));
/// # Ok::<(), twinsync::Error>(())
/// ```
pub fn localize_mentions(
    text: &RichText,
    matches: &UserMatches,
    profiles: &[UserProfile],
) -> RichText {
    match text {
        RichText::Adf(doc) if has_mention_node(doc) => {
            RichText::Adf(rewrite(doc, matches, profiles))
        }
        other => other.clone(),
    }
}

/// Whether `text` holds a mention.
pub(crate) fn has_mention(text: &RichText) -> bool {
    matches!(text, RichText::Adf(doc) if has_mention_node(doc))
}

fn has_mention_node(value: &Value) -> bool {
    is_mention(value)
        || value
            .get("content")
            .and_then(Value::as_array)
            .is_some_and(|c| c.iter().any(has_mention_node))
}

/// `text` with every mention written as its text ("@Name", the name from
/// `names` by account id, else the mention's own text), joined with the
/// unformatted text around it: two bodies that say the same thing to a
/// reader compare equal in this form, whoever each mention names.
pub(crate) fn without_mentions(text: &RichText, names: &BTreeMap<UserId, String>) -> RichText {
    let RichText::Adf(doc) = text else {
        return text.clone();
    };
    if !has_mention_node(doc) {
        return text.clone();
    }
    let none = UserMatches::new();
    let profiles: Vec<UserProfile> = names
        .iter()
        .map(|(id, name)| UserProfile::new(id.clone(), name.clone()))
        .collect();
    RichText::Adf(rewrite(doc, &none, &profiles))
}

#[cfg(test)]
mod tests;
