//! The invariants both simulations check on every twin pair, against the
//! trackers' own contents.

use std::collections::{BTreeSet, HashSet};

use crate::model::{ConnectionId, Issue, Sha256};
use crate::replica::Marker;
use crate::rules::attribution::is_twinsync_copy;
use crate::testkit::said::{attribution, said};

use super::identity;

/// Checks one twin pair: I1 (equal synced fields), I5 (comments one-to-one),
/// I7 (nothing users did not delete is gone), I10 (comments keep their order)
/// and attachments one-to-one, comparing what comments say (attribution
/// headers left out), and the attribution of every copy
/// ([`check_attribution`]). `written_a` and `written_b` are the comment
/// identities users wrote on each issue, in the order they wrote them;
/// `headless` the identities of comments whose copy's header a user removed.
pub(crate) fn check_pair(
    conn: &ConnectionId,
    a: &Issue,
    b: &Issue,
    written: [&[&str]; 2],
    deleted: &HashSet<String>,
    headless: &HashSet<String>,
) -> Result<(), String> {
    let [written_a, written_b] = written;
    let pair = format!("{} ⇄ {}", a.key, b.key);
    // Images compare by the file they show, not by either side's ids.
    let (a, b) = (
        &crate::rules::issue_by_file(a),
        &crate::rules::issue_by_file(b),
    );
    if (&a.summary, &a.description, &a.issue_type) != (&b.summary, &b.description, &b.issue_type) {
        return Err(format!(
            "I1: {pair} differ: {:?}/{:?}/{} vs {:?}/{:?}/{}",
            a.summary, a.description, a.issue_type, b.summary, b.description, b.issue_type
        ));
    }
    let ids =
        |i: &Issue| -> Vec<String> { i.comments.iter().map(|c| identity(&said(c))).collect() };
    let (ca, cb) = (ids(a), ids(b));
    for (side, list) in [(&a.key, &ca), (&b.key, &cb)] {
        let unique: HashSet<_> = list.iter().collect();
        if unique.len() != list.len() {
            return Err(format!("I5: duplicate comment on {side}: {list:?}"));
        }
    }
    let bodies = |i: &Issue| -> BTreeSet<String> { i.comments.iter().map(said).collect() };
    if bodies(a) != bodies(b) {
        return Err(format!(
            "I5: {pair} comments differ: {:?} vs {:?}",
            bodies(a),
            bodies(b)
        ));
    }
    let kept = |list: &[&str]| -> Vec<String> {
        list.iter()
            .filter(|id| !deleted.contains(**id))
            .map(|id| (*id).to_owned())
            .collect()
    };
    let (kept_a, kept_b) = (kept(written_a), kept(written_b));
    for id in kept_a.iter().chain(&kept_b) {
        if !ca.contains(id) {
            return Err(format!(
                "I7: comment {id} written on {pair} was lost; {ca:?}"
            ));
        }
    }
    for (src, written, dst) in [(a, &kept_a, &cb), (b, &kept_b, &ca)] {
        let order: Vec<usize> = written
            .iter()
            .filter_map(|id| dst.iter().position(|d| d == id))
            .collect();
        if order.windows(2).any(|w| w[0] > w[1]) {
            return Err(format!(
                "I10: comments of {} reordered on its twin: {dst:?}",
                src.key
            ));
        }
    }
    check_attribution(conn, a, b, headless)?;
    check_attribution(conn, b, a, headless)?;
    let files = |i: &Issue| -> Vec<(String, Option<Sha256>)> {
        let mut f: Vec<_> = i
            .attachments
            .iter()
            .map(|x| (x.file_name.clone(), x.sha256))
            .collect();
        f.sort();
        f
    };
    if files(a) != files(b) {
        return Err(format!(
            "attachments of {pair} differ: {:?} vs {:?}",
            files(a),
            files(b)
        ));
    }
    Ok(())
}

/// Checks where `twin` says it came from (Basic: a remote link): exactly
/// one origin link of `conn`, naming `original`, and none on `original`
/// (a write repeated after a crash or a lost answer replaced the link).
pub(crate) fn check_origin(
    conn: &ConnectionId,
    original: &Issue,
    twin: &Issue,
    original_links: &[crate::model::RemoteLink],
    twin_links: &[crate::model::RemoteLink],
) -> Result<(), String> {
    let id = crate::rules::origin::origin_global_id(conn);
    let ours: Vec<_> = twin_links.iter().filter(|l| l.global_id == id).collect();
    match ours.as_slice() {
        [one] if one.url.ends_with(&format!("/browse/{}", original.key)) => {}
        _ => {
            return Err(format!(
                "origin: twin {} of {} carries origin links {ours:?}",
                twin.key, original.key
            ));
        }
    }
    if original_links.iter().any(|l| l.global_id == id) {
        return Err(format!(
            "origin: the original {} carries an origin link: {original_links:?}",
            original.key
        ));
    }
    Ok(())
}

/// Checks the comments of `copies` (the twin of `originals`): a copy of an
/// original a person wrote starts with exactly one attribution header naming
/// that person and the original issue (unless a user removed it); no
/// comment's text carries a header beyond its own (none was copied back into
/// an original, none doubled), and a copy of a copy gets none.
pub(crate) fn check_attribution(
    conn: &ConnectionId,
    originals: &Issue,
    copies: &Issue,
    headless: &HashSet<String>,
) -> Result<(), String> {
    for c in &copies.comments {
        let text = said(c);
        if text.contains(" commented on ") {
            return Err(format!(
                "attribution: comment {} on {} carries a header in its text: {text:?}",
                c.id, copies.key
            ));
        }
        let Some(origin) = Marker::find(&c.properties, conn).and_then(|m| m.origin_comment) else {
            continue; // an original
        };
        let Some(original) = originals.comment(&origin) else {
            continue; // a copy whose original is gone (kept after an edit here)
        };
        let header = attribution(c);
        if is_twinsync_copy(original) {
            if let Some(h) = header {
                return Err(format!(
                    "attribution: {} on {} copies a copy and was attributed again: {h:?}",
                    c.id, copies.key
                ));
            }
            continue;
        }
        let want = format!(
            "{} commented on {}",
            original.author.display_name, originals.key
        );
        match header {
            Some(h) if h == want => {}
            None if headless.contains(&identity(&text)) => {}
            other => {
                return Err(format!(
                    "attribution: copy {} on {} of {} should start with {want:?}, starts with {other:?}",
                    c.id, copies.key, original.id
                ));
            }
        }
    }
    Ok(())
}
