//! Establish tokens on the destination: issued by one of its admins, checked
//! and used once when another node sets a connection up directly.
//!
//! A node that knows the destination's URL cannot set up a connection there
//! on its own: the direct setup needs a token that an admin of the
//! destination issued (their permission checked then, and again when it is
//! used), for that project, unexpired and unused. The destination keeps only
//! the token's digest.

use std::time::Duration;

use subtle::ConstantTimeEq;

use crate::connection::{EstablishToken, establish_token_digest};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, ProjectKey, UserId};
use crate::store::{EstablishTokenRecord, StoreTxn};

use super::setup::missing_project;
use super::wire::SecretText;
use crate::engine::node::Node;

/// Where a presented token stands among the node's tokens.
fn check<'t>(
    tokens: &'t [EstablishTokenRecord],
    digest: &str,
    project: &ProjectKey,
    connection: &ConnectionId,
    now: time::OffsetDateTime,
) -> Result<&'t EstablishTokenRecord> {
    let again = "ask an admin of this node to issue a new one (Admin::issue_establish_token)";
    let found = tokens
        .iter()
        .find(|t| bool::from(t.digest.as_bytes().ct_eq(digest.as_bytes())))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Unauthenticated,
                format!(
                    "this establish token was not issued by this node, or it was mistyped; \
                     {again}"
                ),
            )
        })?;
    match &found.used_for {
        // The same setup again (its answer was lost): it may finish.
        Some(used) if used == connection => return Ok(found),
        Some(_) => {
            return Err(Error::new(
                ErrorKind::Unauthenticated,
                format!("this establish token was used already, and a token works once; {again}"),
            ));
        }
        None => {}
    }
    if found.expires <= now {
        return Err(Error::new(
            ErrorKind::Unauthenticated,
            format!(
                "this establish token expired at {}; {again}",
                found
                    .expires
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_else(|_| found.expires.to_string())
            ),
        ));
    }
    if &found.project != project {
        return Err(Error::new(
            ErrorKind::PermissionDenied,
            format!(
                "this establish token was issued for project {}, not {project}; set the \
                 connection up with project {} or ask an admin of this node for a token for \
                 {project}",
                found.project, found.project
            ),
        ));
    }
    Ok(found)
}

impl Node {
    /// Issues an establish token for `project` for `caller`, whose permission
    /// it checks (behind
    /// [`Admin::issue_establish_token`](crate::engine::Admin::issue_establish_token)).
    pub(in crate::engine) async fn issue_establish_token(
        &self,
        project: &ProjectKey,
        validity: Duration,
        caller: &UserId,
    ) -> Result<EstablishToken> {
        if validity.is_zero() || validity > EstablishToken::MAX_VALIDITY {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "an establish token is valid for more than 0 seconds and at most {} days",
                    EstablishToken::MAX_VALIDITY.as_secs() / 86_400
                ),
            ));
        }
        self.tracker()
            .project(project)
            .await
            .map_err(|e| missing_project(e, project, self.instance()))?;
        self.check_permission(caller, project).await?;
        // A connection set up with the token stores a secret.
        self.require_node_key()?;
        let token = EstablishToken::generate()?;
        let now = self.now();
        let expires = time::Duration::try_from(validity)
            .ok()
            .and_then(|v| now.checked_add(v))
            .ok_or_else(|| Error::new(ErrorKind::InvalidInput, "the validity is too long"))?;
        let mut txn = self.txn()?;
        let mut record = txn.node_record()?;
        record.establish_tokens.retain(|t| t.expires > now);
        record.establish_tokens.push(EstablishTokenRecord {
            digest: token.digest(),
            project: project.clone(),
            issued_by: caller.clone(),
            issued: now,
            expires,
            used_for: None,
        });
        txn.put_node_record(&record)?;
        txn.commit()?;
        tracing::info!(%project, issued_by = %caller, %expires, "establish token issued");
        Ok(token)
    }

    /// The token presented with a direct setup of `connection` with
    /// `project`, if it may be used for it (nothing changes).
    ///
    /// # Errors
    ///
    /// `Unauthenticated` when there is none, or it is unknown, expired or
    /// used; `PermissionDenied` when it is for another project. No message
    /// holds the token.
    pub(super) fn establish_token(
        &self,
        token: Option<&SecretText>,
        project: &ProjectKey,
        connection: &ConnectionId,
    ) -> Result<EstablishTokenRecord> {
        let Some(token) = token else {
            return Err(Error::new(
                ErrorKind::Unauthenticated,
                format!(
                    "setting a connection up directly on the node at {} needs an establish \
                     token from one of its admins: ask an admin there to issue one for project \
                     {project} (Admin::issue_establish_token) and pass it with \
                     InitiateRequest::establish_token, or initiate without admin access and \
                     have them accept the invitation code",
                    self.instance()
                ),
            ));
        };
        let digest = establish_token_digest(token.as_str());
        let record = self.txn()?.node_record()?;
        check(
            &record.establish_tokens,
            &digest,
            project,
            connection,
            self.now(),
        )
        .cloned()
    }

    /// Marks the token with `digest` used for `connection`, in the
    /// transaction that records the connection (checked again there: two
    /// setups racing for one token cannot both win).
    pub(super) fn use_establish_token(
        &self,
        txn: &mut dyn StoreTxn,
        digest: &str,
        project: &ProjectKey,
        connection: &ConnectionId,
    ) -> Result<()> {
        let mut record = txn.node_record()?;
        let now = self.now();
        check(&record.establish_tokens, digest, project, connection, now)?;
        for token in &mut record.establish_tokens {
            if token.digest == digest {
                token.used_for = Some(connection.clone());
            }
        }
        txn.put_node_record(&record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn record(project: &str, used_for: Option<&str>) -> EstablishTokenRecord {
        EstablishTokenRecord {
            digest: establish_token_digest("t1"),
            project: ProjectKey::new(project).unwrap(),
            issued_by: UserId::new("ada").unwrap(),
            issued: datetime!(2026-01-01 0:00 UTC),
            expires: datetime!(2026-01-01 1:00 UTC),
            used_for: used_for.map(|c| ConnectionId::parse(c).unwrap()),
        }
    }

    #[test]
    fn a_token_works_for_its_project_until_it_expires_and_once() {
        let (dev, c1, c2) = (
            ProjectKey::new("DEV").unwrap(),
            ConnectionId::parse("c1").unwrap(),
            ConnectionId::parse("c2").unwrap(),
        );
        let before = datetime!(2026-01-01 0:30 UTC);
        let after = datetime!(2026-01-01 1:00 UTC);
        let digest = establish_token_digest("t1");
        let fresh = [record("DEV", None)];
        assert!(check(&fresh, &digest, &dev, &c1, before).is_ok());
        let err = check(&fresh, &establish_token_digest("t2"), &dev, &c1, before).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(err.to_string().contains("not issued by this node"), "{err}");
        let err = check(&fresh, &digest, &dev, &c1, after).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(err.to_string().contains("expired at 2026-01-01"), "{err}");
        let err = check(
            &fresh,
            &digest,
            &ProjectKey::new("OPS").unwrap(),
            &c1,
            before,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert!(
            err.to_string().contains("issued for project DEV, not OPS"),
            "{err}"
        );

        let used = [record("DEV", Some("c1"))];
        assert!(
            check(&used, &digest, &dev, &c1, after).is_ok(),
            "the same setup again finishes, even once expired"
        );
        let err = check(&used, &digest, &dev, &c2, before).unwrap_err();
        assert!(err.to_string().contains("used already"), "{err}");
    }
}
