//! The in-memory tracker's relations: the users a value names must be
//! known, parents must exist and never form a cycle, and links join two
//! issues both of which show them.

use time::OffsetDateTime;

use super::state::{State, not_found};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{
    CustomValue, IssueFields, IssueId, IssueLink, IssueRef, LinkDirection, UserRef,
};
use crate::tracker::NewIssueLink;

impl State {
    /// The users `fields` name (those not in `before`, the fields as they
    /// were), as registered: a user given by account id alone gets its
    /// name, and one the tracker does not know is refused, as Jira refuses
    /// an unknown account. A user given with a name and not registered is
    /// taken as given.
    pub(super) fn known_users(
        &self,
        fields: &mut IssueFields,
        before: Option<&IssueFields>,
    ) -> Result<()> {
        let known = |user: &mut UserRef| -> Result<()> {
            if let Some(registered) = self.users.get(&user.id) {
                user.clone_from(registered);
            } else if user.display_name.trim().is_empty() {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("user {} does not exist", user.id),
                ));
            }
            Ok(())
        };
        if let Some(a) = fields.assignee.as_mut()
            && before.and_then(|b| b.assignee.as_ref()) != Some(a)
        {
            known(a)?;
        }
        if let Some(r) = fields.reporter.as_mut()
            && before.and_then(|b| b.reporter.as_ref()) != Some(r)
        {
            known(r)?;
        }
        for (id, value) in &mut fields.custom {
            if before.and_then(|b| b.custom.get(id)) == Some(&*value) {
                continue;
            }
            match value {
                CustomValue::User(u) => known(u)?,
                CustomValue::Users(users) => {
                    for u in users.iter_mut() {
                        known(u)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The current reference of a would-be parent.
    pub(super) fn parent_ref(&self, id: &IssueId) -> Result<IssueRef> {
        let parent = &self
            .record(id)
            .map_err(|_| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!("parent {id} does not exist"),
                )
            })?
            .current;
        Ok(parent.reference())
    }

    /// Refuses a parent that is `issue` itself or one of its descendants.
    pub(super) fn check_no_parent_cycle(
        &self,
        issue: &IssueId,
        parent: Option<&IssueRef>,
    ) -> Result<()> {
        let Some(parent) = parent else {
            return Ok(());
        };
        let key = &self.record(issue)?.current.key;
        let mut next = Some(parent.clone());
        // Each issue is visited once at most: a cycle already stored ends it.
        for _ in 0..=self.issues.len() {
            let Some(p) = next else {
                return Ok(());
            };
            if &p.id == issue {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "{} cannot be the parent of {key}: parents would form a cycle",
                        parent.key
                    ),
                ));
            }
            next = self
                .record(&p.id)
                .ok()
                .and_then(|r| r.current.fields.parent.clone());
        }
        Ok(())
    }

    pub(super) fn add_issue_link(
        &mut self,
        link: &NewIssueLink,
        now: OffsetDateTime,
    ) -> Result<()> {
        let Some(kind) = self
            .link_types
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(&link.link_type))
            .cloned()
        else {
            let names: Vec<&str> = self.link_types.iter().map(|t| t.name.as_str()).collect();
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "no issue link type is named {:?}; link types: {}",
                    link.link_type,
                    names.join(", ")
                ),
            ));
        };
        let outward = self.record(&link.outward)?.current.reference();
        let inward = self.record(&link.inward)?.current.reference();
        if outward.id == inward.id {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("{} cannot be linked to itself", outward.key),
            ));
        }
        let exists = self
            .record(&link.outward)?
            .current
            .fields
            .links
            .iter()
            .any(|l| {
                l.link_type == kind.name
                    && l.direction == LinkDirection::Outward
                    && l.issue.id == inward.id
            });
        if exists {
            return Ok(());
        }
        let id = self.fresh_id().to_string();
        for (on, direction, other) in [
            (&outward.id, LinkDirection::Outward, &inward),
            (&inward.id, LinkDirection::Inward, &outward),
        ] {
            let new = IssueLink {
                id: id.clone(),
                link_type: kind.name.clone(),
                direction,
                issue: other.clone(),
            };
            self.modify(on, now, |issue| {
                issue.fields.links.push(new);
                issue.fields.links.sort();
                Ok(())
            })?;
        }
        Ok(())
    }

    pub(super) fn delete_issue_link(&mut self, id: &str, now: OffsetDateTime) -> Result<()> {
        let ends: Vec<IssueId> = self
            .issues
            .values()
            .filter(|r| r.current.fields.links.iter().any(|l| l.id == id))
            .map(|r| r.current.id.clone())
            .collect();
        if ends.is_empty() {
            return Err(not_found("issue link", id));
        }
        for end in &ends {
            self.modify(end, now, |issue| {
                issue.fields.links.retain(|l| l.id != id);
                Ok(())
            })?;
        }
        Ok(())
    }
}
