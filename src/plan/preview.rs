//! Plans as readable previews (what Test Run shows).

use std::fmt;

use crate::replica::FieldValue;

use super::{Op, Plan, Winner};

fn quoted(text: &str) -> String {
    FieldValue::Text(text.to_owned()).preview()
}

/// The fields beyond Basic an update writes, as `field → value`.
fn beyond_basic(update: &crate::tracker::IssueUpdate) -> Vec<String> {
    use crate::model::field_ids;
    let value = |v: Option<String>| v.map_or_else(|| "(none)".to_owned(), |v| quoted(&v));
    let user = |u: &Option<crate::model::UserRef>| {
        value(u.as_ref().map(|u| match u.display_name.trim() {
            "" => u.id.as_str().to_owned(),
            name => name.to_owned(),
        }))
    };
    let mut parts = Vec::new();
    if let Some(p) = &update.priority {
        parts.push(format!("{} → {}", field_ids::PRIORITY, quoted(p)));
    }
    if let Some(a) = &update.assignee {
        parts.push(format!("{} → {}", field_ids::ASSIGNEE, user(a)));
    }
    if let Some(r) = &update.reporter {
        parts.push(format!(
            "{} → {}",
            field_ids::REPORTER,
            user(&Some(r.clone()))
        ));
    }
    if let Some(d) = &update.due_date {
        parts.push(format!(
            "{} → {}",
            field_ids::DUE_DATE,
            value(d.map(|d| d.to_string()))
        ));
    }
    if let Some(c) = &update.components {
        parts.push(format!(
            "{} → {}",
            field_ids::COMPONENTS,
            FieldValue::List(c.clone()).preview()
        ));
    }
    if let Some(v) = &update.fix_versions {
        parts.push(format!(
            "{} → {}",
            field_ids::FIX_VERSIONS,
            FieldValue::List(v.clone()).preview()
        ));
    }
    if let Some(p) = &update.parent {
        parts.push(format!(
            "{} → {}",
            field_ids::PARENT,
            value(p.as_ref().map(|p| p.as_str().to_owned()))
        ));
    }
    for (id, v) in &update.custom {
        parts.push(format!(
            "{id} → {}",
            value(v.as_ref().map(ToString::to_string))
        ));
    }
    parts
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::CreateIssue {
                project, fields, ..
            } => {
                write!(f, "create {project} issue:")?;
                if let Some(t) = &fields.issue_type {
                    write!(f, " type {}", quoted(t))?;
                }
                if let Some(s) = &fields.summary {
                    write!(f, ", summary {}", quoted(s))?;
                }
                if let Some(d) = fields.description.as_ref().filter(|d| !d.is_empty()) {
                    write!(f, ", description {}", FieldValue::Rich(d.clone()).preview())?;
                }
                if let Some(s) = &fields.status {
                    write!(f, ", status {}", quoted(s))?;
                }
                for part in beyond_basic(fields) {
                    write!(f, ", {part}")?;
                }
                Ok(())
            }
            Op::UpdateIssue { update, .. } => {
                let mut parts = Vec::new();
                if let Some(t) = &update.issue_type {
                    parts.push(format!("type → {}", quoted(t)));
                }
                if let Some(s) = &update.summary {
                    parts.push(format!("summary → {}", quoted(s)));
                }
                if let Some(d) = &update.description {
                    parts.push(format!(
                        "description → {}",
                        FieldValue::Rich(d.clone()).preview()
                    ));
                }
                if let Some(s) = &update.status {
                    parts.push(format!("status → {}", quoted(s)));
                }
                if let Some(l) = &update.labels {
                    parts.push(format!(
                        "labels → {}",
                        FieldValue::List(l.clone()).preview()
                    ));
                }
                parts.extend(beyond_basic(update));
                write!(f, "update {}", parts.join(", "))
            }
            Op::AddComment { origin, author, .. } => write!(
                f,
                "add comment {origin} by {author}: {}",
                FieldValue::Rich(self.written_body().unwrap_or_default()).preview()
            ),
            Op::UpdateComment { local, .. } => write!(
                f,
                "update comment {local}: {}",
                FieldValue::Rich(self.written_body().unwrap_or_default()).preview()
            ),
            Op::DeleteComment { local, .. } => write!(f, "delete comment {local}"),
            Op::AddAttachment {
                file_name, size, ..
            } => {
                write!(f, "add attachment {} ({size} bytes)", quoted(file_name))
            }
            Op::DeleteAttachment { local, .. } => write!(f, "delete attachment {local}"),
            Op::SetOrigin { link, .. } => {
                write!(f, "link to origin {} ({})", quoted(&link.title), link.url)
            }
            Op::AddLink {
                link_type,
                direction,
                other,
                ..
            } => write!(
                f,
                "add issue link {} {other}",
                super::links::describe(*direction, link_type)
            ),
            Op::DeleteLink {
                id,
                link_type,
                other,
                ..
            } => write!(f, "delete issue link {id} ({link_type}) to {other}"),
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.local {
            Some(local) => write!(f, "{} → {local}", self.remote.key)?,
            None => write!(f, "{} → {} (new twin)", self.remote.key, self.project)?,
        }
        if self.ops.is_empty() && self.conflicts.is_empty() && self.refusals.is_empty() {
            write!(f, ": nothing to do")?;
        }
        for op in &self.ops {
            write!(f, "\n  {op}")?;
        }
        for c in &self.conflicts {
            let kept = match c.winner {
                Winner::Remote => "theirs written",
                Winner::Local => "ours kept",
            };
            write!(
                f,
                "\n  conflict on {}: theirs {} vs ours {} → {kept}",
                c.subject,
                c.remote.preview(),
                c.local.preview()
            )?;
        }
        for r in &self.refusals {
            write!(
                f,
                "\n  refused: would delete {} of {} synced {}; confirm to proceed",
                r.would_delete, r.synced, r.items
            )?;
        }
        for note in &self.notes {
            write!(f, "\n  note: {note}")?;
        }
        Ok(())
    }
}
