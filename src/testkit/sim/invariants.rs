//! The invariants both simulations check on every twin pair, against the
//! trackers' own contents.

use std::collections::{BTreeSet, HashSet};

use crate::model::{Issue, Sha256};

use super::identity;

/// Checks one twin pair: I1 (equal synced fields), I5 (comments one-to-one),
/// I7 (nothing users did not delete is gone), I10 (comments keep their order)
/// and attachments one-to-one. `written_a` and `written_b` are the comment
/// identities users wrote on each issue, in the order they wrote them.
pub(crate) fn check_pair(
    a: &Issue,
    b: &Issue,
    written_a: &[&str],
    written_b: &[&str],
    deleted: &HashSet<String>,
) -> Result<(), String> {
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
    let ids = |i: &Issue| -> Vec<String> {
        i.comments
            .iter()
            .map(|c| identity(&c.body.to_plain_text()))
            .collect()
    };
    let (ca, cb) = (ids(a), ids(b));
    for (side, list) in [(&a.key, &ca), (&b.key, &cb)] {
        let unique: HashSet<_> = list.iter().collect();
        if unique.len() != list.len() {
            return Err(format!("I5: duplicate comment on {side}: {list:?}"));
        }
    }
    let bodies = |i: &Issue| -> BTreeSet<String> {
        i.comments.iter().map(|c| c.body.to_plain_text()).collect()
    };
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
