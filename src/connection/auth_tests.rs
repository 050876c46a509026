use super::*;

fn secret() -> Secret {
    Secret::from_bytes([0x42; 32])
}

fn id(text: &str) -> ConnectionId {
    ConnectionId::parse(text).unwrap()
}

fn challenge() -> Challenge {
    Challenge::new(id("c1"), Nonce::from_bytes([1; 16]))
}

#[test]
fn the_right_secret_proves_and_anything_else_does_not() {
    let proof = challenge().respond(&secret(), Role::Acceptor);
    challenge()
        .verify(&secret(), Role::Acceptor, &proof)
        .unwrap();

    let bad = InvitationError::BadProof {
        connection: id("c1"),
    };
    let other_secret = Secret::from_bytes([0x43; 32]);
    let wrong = [
        challenge().respond(&other_secret, Role::Acceptor),
        // One side's proof is not the other's.
        challenge().respond(&secret(), Role::Initiator),
        // An answer to an older challenge.
        Challenge::new(id("c1"), Nonce::from_bytes([2; 16])).respond(&secret(), Role::Acceptor),
        // An answer for another connection with the same secret.
        Challenge::new(id("c2"), Nonce::from_bytes([1; 16])).respond(&secret(), Role::Acceptor),
        Proof::from_bytes([0; 32]),
    ];
    for proof in wrong {
        assert_eq!(
            challenge().verify(&secret(), Role::Acceptor, &proof),
            Err(bad.clone()),
            "{proof:?}"
        );
    }
}

#[test]
fn proofs_travel_as_hex() {
    let proof = challenge().respond(&secret(), Role::Acceptor);
    let json = serde_json::to_string(&proof).unwrap();
    assert_eq!(json.len(), 64 + 2);
    let back: Proof = serde_json::from_str(&json).unwrap();
    assert_eq!(back, proof);
    let challenge_json = serde_json::to_string(&challenge()).unwrap();
    assert_eq!(
        serde_json::from_str::<Challenge>(&challenge_json).unwrap(),
        challenge()
    );
    assert!(serde_json::from_str::<Proof>("\"00\"").is_err());
}
