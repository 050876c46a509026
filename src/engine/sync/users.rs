//! Users across a remote connection: the outgoing side lists the users its
//! replica mentions ([`Replica::users`]); the receiving side resolves them
//! through the connection's [`UserMapping`](crate::model::UserMapping)
//! before planning. Lookups on this node's tracker are cached for the
//! node's run, so that a sync costs no extra calls once a user was seen.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::connection::Connection;
use crate::error::{ErrorKind, Result};
use crate::model::{UserId, UserProfile, UserRef};
use crate::replica::Replica;
use crate::rules::{UserMatches, mentioned_users};

use crate::engine::node::Node;

/// Users looked up on this node's tracker: profiles by account id, and the
/// single account with an email address (or none).
#[derive(Debug, Default)]
pub(in crate::engine) struct UserCache {
    profiles: Mutex<HashMap<UserId, Option<UserProfile>>>,
    emails: Mutex<HashMap<String, Option<UserProfile>>>,
}

/// Whether a lookup error means "no such user here" (or "this tracker cannot
/// tell"): the mention is then written as text; any other error fails the
/// sync of the twin (it is tried again), so that a passing outage never
/// turns a mapped mention into text.
fn unknown(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::NotFound | ErrorKind::Unsupported)
}

impl Node {
    /// `id`'s profile on this node's tracker, or `None` when there is no such
    /// user (or the tracker cannot look users up).
    async fn profile(&self, id: &UserId) -> Result<Option<UserProfile>> {
        let cache = &self.inner.users;
        if let Some(hit) = lock(&cache.profiles).get(id) {
            return Ok(hit.clone());
        }
        let found = match self.tracker().user_profile(id).await {
            Ok(p) => Some(p),
            Err(e) if unknown(e.kind()) => {
                tracing::debug!(user = %id, error = %e, "user not found");
                None
            }
            Err(e) => return Err(e.with_operation("look up a mentioned user")),
        };
        lock(&cache.profiles).insert(id.clone(), found.clone());
        Ok(found)
    }

    /// The one user of this node's tracker whose email is exactly `email`;
    /// `None` when nobody (or more than one) has it.
    async fn by_email(&self, email: &str) -> Result<Option<UserProfile>> {
        let key = email.to_lowercase();
        let cache = &self.inner.users;
        if let Some(hit) = lock(&cache.emails).get(&key) {
            return Ok(hit.clone());
        }
        let found = match self.tracker().users_by_email(email).await {
            Ok(users) => {
                // Trackers' searches match prefixes and names too: only the
                // exact address counts, and only when it names one user.
                let mut exact = users.into_iter().filter(|u| {
                    u.email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(email))
                });
                match (exact.next(), exact.next()) {
                    (Some(one), None) => Some(one),
                    _ => None,
                }
            }
            Err(e) if unknown(e.kind()) => None,
            Err(e) => return Err(e.with_operation("find a user by email")),
        };
        lock(&cache.emails).insert(key, found.clone());
        Ok(found)
    }

    /// Lists in `replica.users` the users its text mentions, as this node's
    /// tracker shows them (users it cannot find are left out: the other side
    /// writes their mentions as the text they carry).
    ///
    /// # Errors
    ///
    /// A lookup failure other than "not found" or "unsupported".
    pub(in crate::engine) async fn fill_users(&self, replica: &mut Replica) -> Result<()> {
        let mut users = Vec::new();
        for id in mentioned_users(replica) {
            if let Some(p) = self.profile(&id).await? {
                users.push(p);
            }
        }
        replica.users = users;
        Ok(())
    }

    /// The other side's users that the replica mentions and that this side's
    /// user mapping matches: by the connection's table (account id, then
    /// email), then by email when both sites show it.
    ///
    /// # Errors
    ///
    /// A lookup failure other than "not found" or "unsupported".
    pub(in crate::engine) async fn resolve_users(
        &self,
        conn: &Connection,
        replica: &Replica,
    ) -> Result<UserMatches> {
        let mapping = &conn.users;
        let mut matches = UserMatches::new();
        for id in mentioned_users(replica) {
            let theirs = replica.users.iter().find(|p| p.id == id);
            let email = theirs.and_then(|p| p.email.as_deref());
            let ours = match mapping.table_match(&id, email) {
                Some(ours) => {
                    let found = self.profile(ours).await?;
                    if found.is_none() {
                        tracing::warn!(connection = %conn.name, user = %ours,
                            "the user mapping names an account this tracker does not know; mentions of it arrive as text");
                    }
                    found
                }
                None => match email {
                    Some(email) if mapping.by_email => self.by_email(email).await?,
                    _ => None,
                },
            };
            if let Some(p) = ours {
                matches.insert(id, UserRef::new(p.id, p.display_name));
            }
        }
        Ok(matches)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
