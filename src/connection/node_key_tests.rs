use super::*;

fn conn(id: &str) -> ConnectionId {
    ConnectionId::parse(id).unwrap()
}

#[test]
fn a_key_is_never_printed_and_its_text_round_trips() {
    let key = NodeKey::generate().unwrap();
    let text = key.expose_hex();
    assert_eq!(text.len(), 64);
    let printed = format!("{key:?} {:?} {}", key.id(), key.id());
    assert!(!printed.contains(text.as_str()), "{printed}");
    assert!(!printed.contains(&text[..16]), "{printed}");
    assert_eq!(
        format!("{key:?}"),
        format!("NodeKey {{ id: {} }}", key.id())
    );
    let again = NodeKey::from_hex(&format!("  {}\n", text.as_str())).unwrap();
    assert_eq!(again.id(), key.id());
    assert_ne!(NodeKey::generate().unwrap().id(), key.id());
}

#[test]
fn malformed_key_text_is_refused_without_quoting_it() {
    let secretish = "ab".repeat(31);
    for bad in [
        String::new(),
        secretish.clone(),
        format!("{secretish}zzzz"),
        "x".repeat(64),
    ] {
        let err = NodeKey::from_hex(&bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(!err.to_string().contains(&secretish[..10]), "{err}");
        assert!(err.to_string().contains("64 hex digits"), "{err}");
    }
}

#[test]
fn sealed_secrets_open_only_for_their_key_connection_and_record() {
    let key = NodeKey::from_bytes([7; 32]);
    let code = b"twinsync-invite-the-secret-code";
    let sealed = seal(&key, SecretKind::PeerLink, &conn("c1"), code).unwrap();
    assert!(
        !sealed.windows(code.len()).any(|w| w == code),
        "the secret is not in the sealed bytes"
    );
    assert_eq!(sealed[0], SEALED);
    assert_eq!(
        inspect(SecretKind::PeerLink, &conn("c1"), &sealed).unwrap(),
        Stored::Sealed(key.id())
    );
    let opened = open(Some(&key), SecretKind::PeerLink, &conn("c1"), &sealed).unwrap();
    assert_eq!(opened.as_slice(), code);
    let again = seal(&key, SecretKind::PeerLink, &conn("c1"), code).unwrap();
    assert_ne!(again, sealed, "a fresh nonce each time");

    // Moved to another connection or record: refused, and the message says so.
    for (kind, c) in [(SecretKind::PeerLink, "c2"), (SecretKind::Invitation, "c1")] {
        let err = open(Some(&key), kind, &conn(c), &sealed).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
        assert!(err.to_string().contains("altered or moved"), "{err}");
    }
    // Any flipped bit is refused.
    for i in [2, HEADER_LEN, sealed.len() - 1] {
        let mut bad = sealed.clone();
        bad[i] ^= 1;
        let err = open(Some(&key), SecretKind::PeerLink, &conn("c1"), &bad).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Storage | ErrorKind::InvalidConfig),
            "{err}"
        );
        assert!(!err.to_string().contains("twinsync-invite"), "{err}");
    }
}

#[test]
fn a_wrong_or_missing_key_is_named_by_its_id() {
    let key = NodeKey::from_bytes([7; 32]);
    let other = NodeKey::from_bytes([8; 32]);
    let sealed = seal(&key, SecretKind::Invitation, &conn("c1"), b"code").unwrap();
    let err = open(Some(&other), SecretKind::Invitation, &conn("c1"), &sealed).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "the node key does not match the one these secrets were sealed with (key id {}; \
             this node's key id is {})",
            key.id(),
            other.id()
        )),
        "{text}"
    );
    let err = open(None, SecretKind::Invitation, &conn("c1"), &sealed).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    assert!(err.to_string().contains(&key.id().to_string()), "{err}");
    assert!(err.to_string().contains("TWINSYNC_NODE_KEY"), "{err}");
}

#[test]
fn clear_short_and_newer_secrets_are_told_apart() {
    let c = conn("c1");
    assert_eq!(
        inspect(SecretKind::PeerLink, &c, b"twinsync-invite-abc").unwrap(),
        Stored::Clear
    );
    let key = NodeKey::from_bytes([1; 32]);
    let err = open(Some(&key), SecretKind::PeerLink, &c, b"twinsync-invite-abc").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(!err.to_string().contains("abc"), "{err}");
    let err = inspect(SecretKind::PeerLink, &c, &[SEALED, FORMAT, 1, 2]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    let mut newer = seal(&key, SecretKind::PeerLink, &c, b"x").unwrap();
    newer[1] = 9;
    let err = inspect(SecretKind::PeerLink, &c, &newer).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Incompatible);
}

#[test]
fn key_files_must_be_private_and_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.key");
    let key = NodeKey::generate().unwrap();
    key.write_new_file(&path).unwrap();
    assert_eq!(NodeKey::from_file(&path).unwrap().id(), key.id());
    let err = NodeKey::generate()
        .unwrap()
        .write_new_file(&path)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert_eq!(NodeKey::from_file(&path).unwrap().id(), key.id(), "kept");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = NodeKey::from_file(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        let text = err.to_string();
        assert!(
            text.contains("open to group or others (mode 640)"),
            "{text}"
        );
        assert!(text.contains("chmod 600"), "{text}");
        assert!(!text.contains(key.expose_hex().as_str()), "{text}");
    }

    let missing = NodeKey::from_file(dir.path().join("nope.key")).unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::InvalidConfig);
    assert!(missing.to_string().contains("nope.key"), "{missing}");

    let garbage = dir.path().join("garbage.key");
    NodeKey::from_bytes([3; 32])
        .write_new_file(&garbage)
        .unwrap();
    std::fs::write(&garbage, "not a key at all\n").unwrap();
    let err = NodeKey::from_file(&garbage).unwrap_err();
    assert!(
        err.to_string().contains("does not hold a node key"),
        "{err}"
    );
    assert!(!err.to_string().contains("not a key at all"), "{err}");
}

#[test]
fn a_missing_environment_variable_is_named() {
    // Setting variables needs `unsafe` (forbidden in this crate): the
    // integration tests (tests/secrets.rs) read a set one.
    let var = "TWINSYNC_NODE_KEY_NEVER_SET_7f3a";
    let err = NodeKey::from_env(var).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    assert!(
        err.to_string().contains(&format!("{var} is not set")),
        "{err}"
    );
}
