//! `TWINSYNC_SIM_TRACE=1`: what each step starts from, in enough detail to
//! follow a failing seed: every issue's comments with their ids and the
//! comments they copy (from their markers), and the twin states' links.

use crate::model::ConnectionId;
use crate::replica::Marker;
use crate::store::Store;
use crate::testkit::ids as lit;
use crate::tracker::MemoryTracker;

/// Whether tracing is on.
pub(super) fn on() -> bool {
    std::env::var_os("TWINSYNC_SIM_TRACE").is_some()
}

/// The issues of `projects` with their comments (`id:body`, `<origin` for a
/// copy) and the connection's twin states (`remote↔local` comment links).
pub(super) fn describe(
    human: &MemoryTracker,
    projects: &[&str],
    store: &dyn Store,
    conn: &ConnectionId,
) -> String {
    let mut out = String::new();
    for p in projects {
        for issue in human.inspect_issues(&lit::project(*p)) {
            let comments: Vec<String> = issue
                .comments
                .iter()
                .map(|c| {
                    let origin = Marker::find(&c.properties, conn)
                        .and_then(|m| m.origin_comment)
                        .map(|o| format!("<{o}"))
                        .unwrap_or_default();
                    format!("{}:{}{origin}", c.id, c.body.to_plain_text())
                })
                .collect();
            let links: Vec<String> = issue
                .fields
                .links
                .iter()
                .map(|l| format!("{}:{:?}:{}", l.link_type, l.direction, l.issue.key))
                .collect();
            let links = match links.is_empty() {
                true => String::new(),
                false => format!(" links {}", links.join(" ")),
            };
            out.push_str(&format!(
                "  {} ({}) [{}]{links}\n",
                issue.key,
                issue.id,
                comments.join(" ")
            ));
        }
    }
    let twins = store.begin().and_then(|mut t| t.twins(conn));
    match twins {
        Ok(twins) => {
            for t in twins {
                let links: Vec<String> = t
                    .comments
                    .iter()
                    .map(|l| format!("{}↔{}", l.remote, l.local))
                    .collect();
                let link_base: String = t
                    .fields
                    .iter()
                    .filter(|b| {
                        !matches!(b.field.as_str(), "summary" | "description" | "issue_type")
                    })
                    .map(|b| format!(" {}={:x}/{:x}", b.field, b.remote, b.local))
                    .collect();
                out.push_str(&format!(
                    "  twin {}→{} rw={:x} lw={:x} [{}]{link_base}\n",
                    t.remote.key,
                    t.local.map(|l| l.key.to_string()).unwrap_or_default(),
                    t.remote_whole,
                    t.local_whole,
                    links.join(" ")
                ));
            }
        }
        Err(e) => out.push_str(&format!("  twins unreadable: {e}\n")),
    }
    out
}
