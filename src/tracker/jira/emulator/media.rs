//! Images in the emulator: every attachment has a media id (as on Jira
//! Cloud), its content URL redirects to `/file/<media id>/binary`, and an edit
//! that removes the last reference to an attachment deletes it (Jira may).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::model::media::{MediaAction, map_media};
use crate::model::{AttachmentId, Issue, RichText};

/// The media id of an attachment on the emulator at `base`: a UUID-shaped
/// digest of both, so the same attachment id on two emulators differs.
pub(crate) fn media_id(base: &str, id: &AttachmentId) -> String {
    let digest = crate::model::Sha256::of(format!("{base}#{id}").as_bytes()).to_hex();
    format!(
        "{}-{}-4{}-8{}-{}",
        &digest[0..8],
        &digest[8..12],
        &digest[13..16],
        &digest[17..20],
        &digest[20..32]
    )
}

/// The attachments of `issue` its bodies show: by media id (REST v3) or by
/// file name (wiki images written over REST v2).
pub(crate) fn referenced(base: &str, issue: &Issue) -> BTreeSet<AttachmentId> {
    let mut out = BTreeSet::new();
    let mut visit = |text: &RichText| {
        map_media(text, &mut |attrs| {
            let wiki = attrs.get("collection").and_then(Value::as_str)
                == Some(crate::tracker::jira::markup::WIKI_FILE_COLLECTION);
            let id = attrs.get("id").and_then(Value::as_str);
            let by_media = id.filter(|_| !wiki).and_then(|m| {
                issue
                    .attachments
                    .iter()
                    .find(|a| media_id(base, &a.id) == m)
            });
            let by_name = id
                .filter(|_| wiki)
                .and_then(|n| issue.attachments.iter().rev().find(|a| a.file_name == n));
            if let Some(a) = by_media.or(by_name) {
                out.insert(a.id.clone());
            }
            MediaAction::Keep
        });
    };
    visit(&issue.description);
    for c in &issue.comments {
        visit(&c.body);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_ids_are_stable_and_differ_per_site() {
        let id: AttachmentId = "10001".parse().unwrap();
        let a = media_id("http://127.0.0.1:1", &id);
        assert_eq!(a, media_id("http://127.0.0.1:1", &id));
        assert_ne!(a, media_id("http://127.0.0.1:2", &id));
        assert_eq!(a.len(), 36);
    }
}
