use time::macros::datetime;

use super::*;
use crate::connection::{NewInvitation, Secret};
use crate::model::InstanceUrl;
use crate::testkit::ids as lit;

fn now() -> OffsetDateTime {
    datetime!(2026-01-01 0:00 UTC)
}

fn id(text: &str) -> ConnectionId {
    ConnectionId::parse(text).unwrap()
}

fn invitation(connection: &str) -> Invitation {
    let new = NewInvitation::new(
        id(connection),
        format!("{connection} name"),
        InstanceUrl::parse("https://support.example").unwrap(),
        lit::project("SUP"),
    );
    Invitation::with_secret(new, Secret::from_bytes([7; 32]), now()).unwrap()
}

fn nonce() -> Nonce {
    Nonce::from_bytes([3; 16])
}

fn pending_with(connections: &[&str]) -> PendingInvitations {
    let mut pending = PendingInvitations::new();
    for c in connections {
        pending.insert(invitation(c)).unwrap();
    }
    pending
}

/// The acceptor's side: answer the challenge with the invitation's secret.
fn accept(pending: &mut PendingInvitations, c: &str) -> Result<(), InvitationError> {
    let challenge = pending.challenge(&id(c), nonce(), now())?;
    let proof = challenge.respond(invitation(c).secret(), Role::Acceptor);
    pending.redeem(&id(c), &proof, now()).map(|_| ())
}

#[test]
fn an_invitation_is_accepted_once() {
    let mut pending = pending_with(&["c1"]);
    assert_eq!(pending.state(&id("c1")), Some(InvitationState::Pending));
    accept(&mut pending, "c1").unwrap();
    assert_eq!(
        pending.state(&id("c1")),
        Some(InvitationState::Used { at: now() })
    );
    let used = InvitationError::AlreadyUsed {
        connection: id("c1"),
    };
    assert_eq!(accept(&mut pending, "c1"), Err(used.clone()));
    assert_eq!(pending.revoke(&id("c1"), now()), Err(used));
}

#[test]
fn a_revoked_invitation_cannot_be_accepted() {
    let mut pending = pending_with(&["c1"]);
    let challenge = pending.challenge(&id("c1"), nonce(), now()).unwrap();
    pending.revoke(&id("c1"), now()).unwrap();
    pending.revoke(&id("c1"), now()).unwrap();
    let revoked = InvitationError::Revoked {
        connection: id("c1"),
    };
    assert_eq!(accept(&mut pending, "c1"), Err(revoked));
    // A challenge issued before the revocation is void too.
    let proof = challenge.respond(invitation("c1").secret(), Role::Acceptor);
    assert_eq!(
        pending.redeem(&id("c1"), &proof, now()),
        Err(InvitationError::NoChallenge {
            connection: id("c1")
        })
    );
}

#[test]
fn revoked_between_challenge_and_proof_is_still_revoked() {
    let mut pending = pending_with(&["c1"]);
    let challenge = pending.challenge(&id("c1"), nonce(), now()).unwrap();
    let proof = challenge.respond(invitation("c1").secret(), Role::Acceptor);
    // Marked revoked by another path (a restore) after the challenge went out.
    pending.entries.get_mut(&id("c1")).unwrap().state = InvitationState::Revoked { at: now() };
    assert_eq!(
        pending.redeem(&id("c1"), &proof, now()),
        Err(InvitationError::Revoked {
            connection: id("c1")
        })
    );
}

#[test]
fn an_unknown_connection_is_reported_as_such() {
    let mut pending = pending_with(&["c1"]);
    let unknown = InvitationError::UnknownConnection {
        connection: id("nope"),
    };
    assert_eq!(
        pending.challenge(&id("nope"), nonce(), now()),
        Err(unknown.clone())
    );
    let proof = Proof::from_bytes([0; 32]);
    assert_eq!(
        pending.redeem(&id("nope"), &proof, now()).map(|_| ()),
        Err(unknown.clone())
    );
    assert_eq!(pending.revoke(&id("nope"), now()), Err(unknown));
}

#[test]
fn an_expired_invitation_cannot_be_accepted() {
    let mut pending = pending_with(&["c1"]);
    let later = now() + Invitation::DEFAULT_VALIDITY;
    assert_eq!(
        pending.challenge(&id("c1"), nonce(), later),
        Err(InvitationError::Expired {
            connection: id("c1"),
            expired_at: later,
        })
    );
    // Challenged in time, answered too late.
    let challenge = pending.challenge(&id("c1"), nonce(), now()).unwrap();
    let proof = challenge.respond(invitation("c1").secret(), Role::Acceptor);
    assert!(matches!(
        pending.redeem(&id("c1"), &proof, later),
        Err(InvitationError::Expired { .. })
    ));
    assert_eq!(pending.state(&id("c1")), Some(InvitationState::Pending));
}

#[test]
fn a_wrong_proof_spends_the_challenge_and_leaves_the_invitation_pending() {
    let mut pending = pending_with(&["c1"]);
    let challenge = pending.challenge(&id("c1"), nonce(), now()).unwrap();
    let wrong = challenge.respond(&Secret::from_bytes([8; 32]), Role::Acceptor);
    assert_eq!(
        pending.redeem(&id("c1"), &wrong, now()).map(|_| ()),
        Err(InvitationError::BadProof {
            connection: id("c1")
        })
    );
    let right = challenge.respond(invitation("c1").secret(), Role::Acceptor);
    assert!(matches!(
        pending.redeem(&id("c1"), &right, now()),
        Err(InvitationError::NoChallenge { .. })
    ));
    assert_eq!(pending.state(&id("c1")), Some(InvitationState::Pending));
    accept(&mut pending, "c1").unwrap();
}

#[test]
fn a_new_challenge_replaces_the_old_one() {
    let mut pending = pending_with(&["c1"]);
    let old = pending.challenge(&id("c1"), nonce(), now()).unwrap();
    pending
        .challenge(&id("c1"), Nonce::from_bytes([4; 16]), now())
        .unwrap();
    let stale = old.respond(invitation("c1").secret(), Role::Acceptor);
    assert!(matches!(
        pending.redeem(&id("c1"), &stale, now()),
        Err(InvitationError::BadProof { .. })
    ));
}

#[test]
fn a_connection_gets_one_invitation() {
    let mut pending = pending_with(&["c1"]);
    assert_eq!(
        pending.insert(invitation("c1")),
        Err(InvitationError::DuplicateConnection {
            connection: id("c1")
        })
    );
}

#[test]
fn the_list_shows_each_invitation_status_without_secrets() {
    let mut pending = pending_with(&["a", "b", "c", "d"]);
    accept(&mut pending, "b").unwrap();
    pending.revoke(&id("c"), now()).unwrap();
    let mut expired = NewInvitation::new(
        id("d"),
        "d name",
        InstanceUrl::parse("https://support.example").unwrap(),
        lit::project("SUP"),
    );
    expired.validity = std::time::Duration::from_secs(60);
    let expired = Invitation::with_secret(expired, Secret::from_bytes([7; 32]), now()).unwrap();
    pending.restore(expired, InvitationState::Pending);

    let later = now() + time::Duration::hours(1);
    let list = pending.list(later);
    let statuses: Vec<_> = list
        .iter()
        .map(|s| (s.connection.as_str(), s.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("a", InvitationStatus::Pending),
            ("b", InvitationStatus::Used { at: now() }),
            ("c", InvitationStatus::Revoked { at: now() }),
            ("d", InvitationStatus::Expired),
        ]
    );
    assert_eq!(list[0].name, "a name");
    let json = serde_json::to_string(&list).unwrap();
    assert!(json.contains("\"status\":\"revoked\""), "{json}");
    for text in [json, format!("{pending:?}")] {
        assert!(!text.contains(&hex::encode([7u8; 32])), "{text}");
    }
}

#[test]
fn state_survives_a_restore_through_the_code() {
    let mut pending = pending_with(&["a", "b"]);
    accept(&mut pending, "a").unwrap();
    let stored: Vec<(String, InvitationState)> = pending
        .iter()
        .map(|(inv, state)| (inv.encode().as_str().to_owned(), state))
        .collect();

    let mut restored = PendingInvitations::new();
    for (code, state) in &stored {
        restored.restore(Invitation::parse(code).unwrap(), *state);
    }
    assert_eq!(restored.list(now()), pending.list(now()));
    assert!(matches!(
        accept(&mut restored, "a"),
        Err(InvitationError::AlreadyUsed { .. })
    ));
    accept(&mut restored, "b").unwrap();
    assert_eq!(restored.remove(&id("b")), Some(invitation("b")));
    assert_eq!(restored.get(&id("b")), None);
}
