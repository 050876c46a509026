//! The initiator's record of the invitations it handed out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Challenge, ConnectionId, Invitation, InvitationError, Mode, Nonce, Proof, Role};
use crate::model::ProjectKey;

/// What became of an invitation, as recorded by the initiator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
#[non_exhaustive]
pub enum InvitationState {
    /// Handed out, not accepted yet (it may have expired since).
    Pending,
    /// Accepted at `at`; it cannot be used again.
    Used {
        /// When it was accepted.
        at: OffsetDateTime,
    },
    /// Revoked by the initiator at `at`.
    Revoked {
        /// When it was revoked.
        at: OffsetDateTime,
    },
}

/// What an invitation's admin sees in a list: its state at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
#[non_exhaustive]
pub enum InvitationStatus {
    /// Can still be accepted.
    Pending,
    /// Was never accepted and is past its expiry.
    Expired,
    /// Was accepted at `at`.
    Used {
        /// When it was accepted.
        at: OffsetDateTime,
    },
    /// Was revoked at `at`.
    Revoked {
        /// When it was revoked.
        at: OffsetDateTime,
    },
}

/// One line of the list of invitations a node issued: everything but the
/// secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InvitationSummary {
    /// The connection's id.
    pub connection: ConnectionId,
    /// The connection's name.
    pub name: String,
    /// The initiator's project.
    pub project: ProjectKey,
    /// The connection's mode.
    pub mode: Mode,
    /// When the invitation expires.
    pub expires_at: OffsetDateTime,
    /// Its status at the time of listing.
    pub status: InvitationStatus,
}

#[derive(Debug)]
struct Entry {
    invitation: Invitation,
    state: InvitationState,
    challenge: Option<Challenge>,
}

/// The invitations an initiator handed out: list them, revoke them, and let
/// each be accepted once.
///
/// Plain in-memory data with explicit times, so that the engine decides when
/// to lock it and how to persist it: store each invitation's
/// [`encode`](Invitation::encode)d code (it carries the secret, so keep it
/// where secrets belong) with its [`InvitationState`], and
/// [`restore`](Self::restore) them on start.
///
/// Accepting takes two steps: [`challenge`](Self::challenge) gives the
/// acceptor a fresh nonce; [`redeem`](Self::redeem) checks its
/// `Proof` and marks the invitation used. A challenge is answered once.
#[derive(Debug, Default)]
pub struct PendingInvitations {
    entries: BTreeMap<ConnectionId, Entry>,
}

impl PendingInvitations {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a new invitation, pending.
    ///
    /// # Errors
    ///
    /// [`InvitationError::DuplicateConnection`] when the connection has an
    /// invitation already.
    pub fn insert(&mut self, invitation: Invitation) -> Result<(), InvitationError> {
        if self.entries.contains_key(invitation.connection()) {
            return Err(InvitationError::DuplicateConnection {
                connection: invitation.connection().clone(),
            });
        }
        self.restore(invitation, InvitationState::Pending);
        Ok(())
    }

    /// Records an invitation in the state it was stored with, replacing any
    /// record of the same connection.
    pub fn restore(&mut self, invitation: Invitation, state: InvitationState) {
        self.entries.insert(
            invitation.connection().clone(),
            Entry {
                invitation,
                state,
                challenge: None,
            },
        );
    }

    /// The invitation for `connection`, if recorded.
    pub fn get(&self, connection: &ConnectionId) -> Option<&Invitation> {
        self.entries.get(connection).map(|e| &e.invitation)
    }

    /// The recorded state of the invitation for `connection`.
    pub fn state(&self, connection: &ConnectionId) -> Option<InvitationState> {
        self.entries.get(connection).map(|e| e.state)
    }

    /// Every recorded invitation with its state, for persisting.
    pub fn iter(&self) -> impl Iterator<Item = (&Invitation, InvitationState)> {
        self.entries.values().map(|e| (&e.invitation, e.state))
    }

    /// Every recorded invitation as its admin sees it at `now`, by connection id.
    pub fn list(&self, now: OffsetDateTime) -> Vec<InvitationSummary> {
        self.entries
            .values()
            .map(|e| InvitationSummary {
                connection: e.invitation.connection().clone(),
                name: e.invitation.name().to_owned(),
                project: e.invitation.project().clone(),
                mode: e.invitation.mode(),
                expires_at: e.invitation.expires_at(),
                status: match e.state {
                    InvitationState::Pending if e.invitation.is_expired(now) => {
                        InvitationStatus::Expired
                    }
                    InvitationState::Pending => InvitationStatus::Pending,
                    InvitationState::Used { at } => InvitationStatus::Used { at },
                    InvitationState::Revoked { at } => InvitationStatus::Revoked { at },
                },
            })
            .collect()
    }

    /// Revokes the invitation for `connection` at `now`; revoking it again
    /// changes nothing.
    ///
    /// # Errors
    ///
    /// [`InvitationError::UnknownConnection`] when none is recorded;
    /// [`InvitationError::AlreadyUsed`] when it was accepted already (delete
    /// the connection instead).
    pub fn revoke(
        &mut self,
        connection: &ConnectionId,
        now: OffsetDateTime,
    ) -> Result<(), InvitationError> {
        let entry = self.entry(connection)?;
        match entry.state {
            InvitationState::Pending => {
                entry.state = InvitationState::Revoked { at: now };
                entry.challenge = None;
                Ok(())
            }
            InvitationState::Revoked { .. } => Ok(()),
            InvitationState::Used { .. } => Err(InvitationError::AlreadyUsed {
                connection: connection.clone(),
            }),
        }
    }

    /// Forgets the invitation for `connection` (when its connection is deleted).
    pub fn remove(&mut self, connection: &ConnectionId) -> Option<Invitation> {
        self.entries.remove(connection).map(|e| e.invitation)
    }

    /// Starts an acceptance: a challenge with `nonce` (use
    /// [`Nonce::generate`]) that the acceptor answers with
    /// [`Challenge::respond`] as [`Role::Acceptor`]. It replaces any earlier
    /// challenge for the connection.
    ///
    /// # Errors
    ///
    /// [`InvitationError::UnknownConnection`], [`Revoked`](InvitationError::Revoked),
    /// [`AlreadyUsed`](InvitationError::AlreadyUsed) or
    /// [`Expired`](InvitationError::Expired) at `now`.
    pub fn challenge(
        &mut self,
        connection: &ConnectionId,
        nonce: Nonce,
        now: OffsetDateTime,
    ) -> Result<Challenge, InvitationError> {
        let entry = self.entry(connection)?;
        entry.usable(now)?;
        let challenge = Challenge::new(connection.clone(), nonce);
        entry.challenge = Some(challenge.clone());
        Ok(challenge)
    }

    /// Completes an acceptance: checks `proof` against the outstanding
    /// challenge and marks the invitation used at `now`. The challenge is
    /// spent whether the proof matches or not.
    ///
    /// # Errors
    ///
    /// In the order checked: [`InvitationError::UnknownConnection`],
    /// [`NoChallenge`](InvitationError::NoChallenge),
    /// [`BadProof`](InvitationError::BadProof), then
    /// [`Revoked`](InvitationError::Revoked),
    /// [`AlreadyUsed`](InvitationError::AlreadyUsed) or
    /// [`Expired`](InvitationError::Expired).
    pub fn redeem(
        &mut self,
        connection: &ConnectionId,
        proof: &Proof,
        now: OffsetDateTime,
    ) -> Result<&Invitation, InvitationError> {
        let entry = self.entry(connection)?;
        let challenge = entry
            .challenge
            .take()
            .ok_or_else(|| InvitationError::NoChallenge {
                connection: connection.clone(),
            })?;
        challenge.verify(entry.invitation.secret(), Role::Acceptor, proof)?;
        entry.usable(now)?;
        entry.state = InvitationState::Used { at: now };
        Ok(&entry.invitation)
    }

    fn entry(&mut self, connection: &ConnectionId) -> Result<&mut Entry, InvitationError> {
        self.entries
            .get_mut(connection)
            .ok_or_else(|| InvitationError::UnknownConnection {
                connection: connection.clone(),
            })
    }
}

impl Entry {
    fn usable(&self, now: OffsetDateTime) -> Result<(), InvitationError> {
        let connection = self.invitation.connection().clone();
        match self.state {
            InvitationState::Revoked { .. } => Err(InvitationError::Revoked { connection }),
            InvitationState::Used { .. } => Err(InvitationError::AlreadyUsed { connection }),
            InvitationState::Pending if self.invitation.is_expired(now) => {
                Err(InvitationError::Expired {
                    connection,
                    expired_at: self.invitation.expires_at(),
                })
            }
            InvitationState::Pending => Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "pending_tests.rs"]
mod tests;
