//! `twinsync status` and `twinsync errors`: the sync panel.

use twinsync::engine::SyncPanel;

use crate::failure::{FAILED, Failure, Outcome};
use crate::setup::{self, Opened};

pub fn status(opened: &Opened, connection: Option<&str>, json: bool) -> Outcome {
    let node = &opened.node;
    let panels = setup::connections(node, connection)?
        .iter()
        .map(|id| node.status(id))
        .collect::<Result<Vec<_>, _>>()?;
    print_status(&panels, json)
}

/// `panels` as tables, or as a JSON array.
pub fn print_status(panels: &[SyncPanel], json: bool) -> Outcome {
    if json {
        let text = serde_json::to_string_pretty(panels)
            .map_err(|e| Failure::new(FAILED, format!("cannot write the status as JSON: {e}")))?;
        println!("{text}");
    } else if panels.is_empty() {
        println!("no connections");
    } else {
        for panel in panels {
            print!("{panel}");
        }
    }
    Ok(())
}

pub fn errors(opened: &Opened, connection: Option<&str>) -> Outcome {
    let node = &opened.node;
    let panels = setup::connections(node, connection)?
        .iter()
        .map(|id| node.status(id))
        .collect::<Result<Vec<_>, _>>()?;
    print_errors(&panels);
    Ok(())
}

/// The errors and refused deletions of `panels`, one line each.
pub fn print_errors(panels: &[SyncPanel]) {
    let mut any = false;
    for panel in panels {
        for e in &panel.errors {
            any = true;
            let what = if e.is_refusal() {
                "refused deletion"
            } else {
                e.kind.as_str()
            };
            let mut line = format!("{}: {} {what}: {}", panel.connection.name, e.key, e.message);
            if e.attempts > 1 {
                line.push_str(&format!(" ({} attempts)", e.attempts));
            }
            if e.quarantine.is_some() {
                line.push_str(
                    "; quarantined: fix the cause, then `twinsync retry` or `twinsync resolve`",
                );
            }
            println!("{line}");
        }
    }
    if !any {
        println!("no errors");
    }
}
