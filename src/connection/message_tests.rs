use std::time::Duration;

use super::*;
use crate::clock::ManualClock;
use crate::connection::Challenge;

fn secret() -> Secret {
    Secret::from_bytes([0x42; 32])
}

fn id(text: &str) -> ConnectionId {
    ConnectionId::parse(text).unwrap()
}

fn challenge() -> Challenge {
    Challenge::new(id("c1"), Nonce::from_bytes([1; 16]))
}

struct Pair {
    clock: Arc<ManualClock>,
    initiator: MessageAuthenticator,
    acceptor: MessageAuthenticator,
}

fn pair(options: AuthOptions) -> Pair {
    let clock = Arc::new(ManualClock::default());
    let make = |role| {
        MessageAuthenticator::with_options(&secret(), &id("c1"), role, clock.clone(), options)
    };
    Pair {
        initiator: make(Role::Initiator),
        acceptor: make(Role::Acceptor),
        clock,
    }
}

fn nonce(n: u8) -> Nonce {
    Nonce::from_bytes([n; 16])
}

#[test]
fn signed_messages_verify_in_both_directions() {
    let p = pair(AuthOptions::default());
    let sig = p.initiator.sign(b"to acceptor").unwrap();
    p.acceptor.verify(b"to acceptor", &sig).unwrap();
    let sig = p.acceptor.sign(b"to initiator").unwrap();
    p.initiator.verify(b"to initiator", &sig).unwrap();
    let sig = p.initiator.sign(b"").unwrap();
    p.acceptor.verify(b"", &sig).unwrap();
}

#[test]
fn altered_or_foreign_messages_have_a_bad_tag() {
    let p = pair(AuthOptions::default());
    let sig = p.initiator.sign_with_nonce(b"body", nonce(1));

    assert_eq!(p.acceptor.verify(b"bodx", &sig), Err(AuthError::BadTag));
    let mut later = sig.clone();
    later.sent_at_ms += 1;
    assert_eq!(p.acceptor.verify(b"body", &later), Err(AuthError::BadTag));
    let mut renonced = sig.clone();
    renonced.nonce = nonce(2);
    assert_eq!(
        p.acceptor.verify(b"body", &renonced),
        Err(AuthError::BadTag)
    );
    let mut retagged = sig.clone();
    retagged.tag[0] ^= 1;
    assert_eq!(
        p.acceptor.verify(b"body", &retagged),
        Err(AuthError::BadTag)
    );

    // Reflected back to its sender.
    assert_eq!(p.initiator.verify(b"body", &sig), Err(AuthError::BadTag));
    // Another connection, or another secret.
    let clock: Arc<dyn Clock> = p.clock.clone();
    let other_connection =
        MessageAuthenticator::new(&secret(), &id("c2"), Role::Acceptor, clock.clone());
    assert_eq!(
        other_connection.verify(b"body", &sig),
        Err(AuthError::BadTag)
    );
    let other_secret = MessageAuthenticator::new(
        &Secret::from_bytes([9; 32]),
        &id("c1"),
        Role::Acceptor,
        clock,
    );
    assert_eq!(other_secret.verify(b"body", &sig), Err(AuthError::BadTag));

    // The untouched message still passes: nothing above was remembered.
    p.acceptor.verify(b"body", &sig).unwrap();
}

#[test]
fn a_replayed_message_is_refused() {
    let p = pair(AuthOptions::default());
    let sig = p.initiator.sign_with_nonce(b"body", nonce(1));
    p.acceptor.verify(b"body", &sig).unwrap();
    assert_eq!(p.acceptor.verify(b"body", &sig), Err(AuthError::Replayed));
    p.clock.advance(Duration::from_secs(299));
    assert_eq!(p.acceptor.verify(b"body", &sig), Err(AuthError::Replayed));
    // The same nonce on another body is a replay too.
    let again = p.initiator.sign_with_nonce(b"other", nonce(1));
    assert_eq!(
        p.acceptor.verify(b"other", &again),
        Err(AuthError::Replayed)
    );
}

#[test]
fn stale_messages_are_refused_either_way() {
    let p = pair(AuthOptions::default());
    let sig = p.initiator.sign_with_nonce(b"late", nonce(1));
    p.clock
        .advance(Duration::from_secs(5 * 60) + Duration::from_millis(1));
    assert_eq!(
        p.acceptor.verify(b"late", &sig),
        Err(AuthError::Stale {
            offset: Duration::from_millis(300_001),
            in_future: false,
            window: Duration::from_secs(300),
        })
    );

    let ahead = Arc::new(ManualClock::new(p.clock.now() + Duration::from_secs(301)));
    let fast = MessageAuthenticator::new(&secret(), &id("c1"), Role::Initiator, ahead);
    let sig = fast.sign_with_nonce(b"early", nonce(2));
    assert!(matches!(
        p.acceptor.verify(b"early", &sig),
        Err(AuthError::Stale {
            in_future: true,
            ..
        })
    ));

    // At the edge of the window a message is still fresh.
    let sig = p.initiator.sign_with_nonce(b"edge", nonce(3));
    p.clock.advance(Duration::from_secs(300));
    p.acceptor.verify(b"edge", &sig).unwrap();
}

#[test]
fn the_window_is_configurable() {
    let p = pair(AuthOptions {
        window: Duration::from_secs(1),
        ..AuthOptions::default()
    });
    let sig = p.initiator.sign_with_nonce(b"body", nonce(1));
    p.clock.advance(Duration::from_secs(2));
    assert!(matches!(
        p.acceptor.verify(b"body", &sig),
        Err(AuthError::Stale { .. })
    ));
}

#[test]
fn nonces_are_forgotten_once_they_could_only_be_stale() {
    let p = pair(AuthOptions::default());
    for n in 0..10 {
        let sig = p.initiator.sign_with_nonce(b"body", nonce(n));
        p.acceptor.verify(b"body", &sig).unwrap();
    }
    assert_eq!(p.acceptor.seen.lock().unwrap().by_nonce.len(), 10);
    p.clock.advance(Duration::from_secs(301));
    let sig = p.initiator.sign_with_nonce(b"body", nonce(100));
    p.acceptor.verify(b"body", &sig).unwrap();
    let seen = p.acceptor.seen.lock().unwrap();
    assert_eq!(seen.by_nonce.len(), 1);
    assert_eq!(seen.by_time.len(), 1);
}

#[test]
fn a_full_replay_memory_refuses_old_messages_rather_than_replays() {
    let p = pair(AuthOptions {
        max_remembered: 2,
        ..AuthOptions::default()
    });
    let mut sigs = Vec::new();
    for n in 0..3 {
        let sig = p.initiator.sign_with_nonce(b"body", nonce(n));
        p.acceptor.verify(b"body", &sig).unwrap();
        sigs.push(sig);
        p.clock.advance(Duration::from_millis(10));
    }
    assert_eq!(p.acceptor.seen.lock().unwrap().by_nonce.len(), 2);
    assert_eq!(
        p.acceptor.verify(b"body", &sigs[0]),
        Err(AuthError::BeyondReplayMemory)
    );
    assert_eq!(
        p.acceptor.verify(b"body", &sigs[2]),
        Err(AuthError::Replayed)
    );
}

#[test]
fn setting_the_clock_back_does_not_let_a_replay_through() {
    let p = pair(AuthOptions::default());
    let start = p.clock.now();
    let first = p.initiator.sign_with_nonce(b"body", nonce(1));
    p.acceptor.verify(b"body", &first).unwrap();
    p.clock.advance(Duration::from_secs(400));
    let second = p.initiator.sign_with_nonce(b"body", nonce(2));
    p.acceptor.verify(b"body", &second).unwrap();
    p.clock.set(start);
    assert_eq!(
        p.acceptor.verify(b"body", &first),
        Err(AuthError::BeyondReplayMemory)
    );
}

#[test]
fn signatures_travel_as_json() {
    let p = pair(AuthOptions::default());
    let sig = p.initiator.sign(b"body").unwrap();
    let json = serde_json::to_string(&sig).unwrap();
    let back: MessageSignature = serde_json::from_str(&json).unwrap();
    assert_eq!(back, sig);
    assert_eq!(back.sent_at_ms, 1_767_225_600_000);
    p.acceptor.verify(b"body", &back).unwrap();
}

#[test]
fn keys_and_secret_never_show() {
    let p = pair(AuthOptions::default());
    let mut texts = vec![
        format!("{:?}", p.initiator),
        format!("{:#?}", p.acceptor),
        format!("{:?}", challenge()),
    ];
    let sig = p.initiator.sign_with_nonce(b"body", nonce(1));
    texts.push(format!("{sig:?}"));
    for err in [p.acceptor.verify(b"other", &sig).unwrap_err(), {
        p.acceptor.verify(b"body", &sig).unwrap();
        p.acceptor.verify(b"body", &sig).unwrap_err()
    }] {
        texts.push(err.to_string());
        texts.push(format!("{:?}", crate::Error::from(err)));
    }
    let secrets = [
        hex::encode(secret().expose_bytes()),
        hex::encode(*p.initiator.send_key),
        hex::encode(*p.initiator.receive_key),
    ];
    assert_ne!(secrets[1], secrets[2], "each direction has its own key");
    for text in &texts {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{text}");
            assert!(!text.contains(&secret[..16]), "{text}");
        }
    }
}

#[test]
fn a_message_bound_to_one_request_line_does_not_verify_for_another() {
    let clock = Arc::new(ManualClock::default());
    let make = |role, line: Option<&str>| {
        let auth = MessageAuthenticator::new(&secret(), &id("c1"), role, clock.clone());
        match line {
            Some(line) => auth.bound_to(line),
            None => auth,
        }
    };
    let sender = make(Role::Initiator, Some(SYNC_REQUEST_LINE));
    let sig = sender.sign_with_nonce(b"body", nonce(1));
    assert_eq!(
        make(Role::Acceptor, Some("POST /elsewhere")).verify(b"body", &sig),
        Err(AuthError::BadTag)
    );
    assert_eq!(
        make(Role::Acceptor, None).verify(b"body", &sig),
        Err(AuthError::BadTag),
        "an unbound receiver does not take a bound message"
    );
    make(Role::Acceptor, Some(SYNC_REQUEST_LINE))
        .verify(b"body", &sig)
        .unwrap();
}
