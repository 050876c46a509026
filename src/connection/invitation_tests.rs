use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use time::macros::datetime;

use super::*;
use crate::clock::ManualClock;
use crate::model::NodeUrl;
use crate::testkit::ids as lit;

const SECRET: [u8; 32] = [0x5a; 32];

fn now() -> OffsetDateTime {
    datetime!(2026-01-01 0:00 UTC)
}

fn new_invitation() -> NewInvitation {
    NewInvitation::new(
        ConnectionId::parse("c-1").unwrap(),
        "SUP_to_DEV",
        InstanceUrl::parse("https://support.example").unwrap(),
        lit::project("SUP"),
    )
}

fn sample() -> Invitation {
    Invitation::with_secret(new_invitation(), Secret::from_bytes(SECRET), now()).unwrap()
}

/// The payload of a code, without its checksum.
fn payload(code: &InvitationCode) -> Vec<u8> {
    let body = code.as_str().strip_prefix(INVITATION_PREFIX).unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
    bytes.truncate(bytes.len() - CHECKSUM_LEN);
    bytes
}

/// A code for `payload`, with a correct checksum.
fn code_for(payload: &[u8]) -> String {
    let mut bytes = payload.to_vec();
    bytes.extend_from_slice(&checksum(payload));
    format!("{INVITATION_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn secret_renderings() -> [String; 3] {
    [
        hex::encode(SECRET),
        URL_SAFE_NO_PAD.encode(SECRET),
        format!("{SECRET:?}"),
    ]
}

#[test]
fn encode_then_decode_gives_the_same_invitation() {
    let invitation = sample();
    let code = invitation.encode();
    assert!(code.as_str().starts_with("twinsync-invite-"));
    let decoded = Invitation::decode(code.as_str(), now()).unwrap();
    assert_eq!(decoded, invitation);
    assert_eq!(decoded.connection().as_str(), "c-1");
    assert_eq!(decoded.name(), "SUP_to_DEV");
    assert_eq!(decoded.initiator().as_str(), "https://support.example");
    assert_eq!(decoded.project().as_str(), "SUP");
    assert_eq!(decoded.mode(), Mode::Basic);
    assert_eq!(decoded.protocol_version(), PROTOCOL_VERSION);
    assert_eq!(decoded.secret().expose_bytes(), &SECRET);
    assert_eq!(decoded.expires_at(), datetime!(2026-01-08 0:00 UTC));
}

#[test]
fn codes_are_compact() {
    // A typical code fits on two lines of an email.
    assert!(sample().encode().as_str().len() < 160);
}

#[test]
fn create_uses_the_clock_a_week_and_a_fresh_secret() {
    let clock = ManualClock::new(datetime!(2026-03-01 12:00:30.5 UTC));
    let a = Invitation::create(new_invitation(), &clock).unwrap();
    let b = Invitation::create(new_invitation(), &clock).unwrap();
    assert_eq!(a.expires_at(), datetime!(2026-03-08 12:00:30 UTC));
    assert_ne!(a.secret(), b.secret());
}

#[test]
fn whitespace_in_a_pasted_code_is_ignored() {
    let code = sample().encode();
    let text = code.as_str();
    let mut wrapped = String::from("  \n");
    for (i, c) in text.chars().enumerate() {
        if i > 0 && i % 20 == 0 {
            wrapped.push_str("\r\n\t");
        }
        wrapped.push(c);
    }
    wrapped.push_str(" \n");
    assert_eq!(Invitation::decode(&wrapped, now()).unwrap(), sample());
}

fn malformed(text: &str) -> &'static str {
    match Invitation::decode(text, now()) {
        Err(InvitationError::Malformed { reason }) => reason,
        other => panic!("{text:?}: want malformed, got {other:?}"),
    }
}

#[test]
fn text_that_is_not_a_code_is_malformed() {
    assert!(malformed("").contains("does not start with"));
    assert!(malformed("hello").contains("does not start with"));
    assert!(malformed("TWINSYNC-INVITE-AAAA").contains("does not start with"));
    assert!(malformed("twinsync-invite-").contains("too short"));
    assert!(malformed("twinsync-invite-AAAA").contains("too short"));
    assert!(malformed("twinsync-invite-AAAA+/==").contains("not base64url"));
    assert!(malformed(&"twinsync-invite-A".repeat(2000)).contains("longer than"));
}

#[test]
fn a_payload_that_passes_the_checksum_but_breaks_the_layout_is_malformed() {
    let good = payload(&sample().encode());
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(malformed(&code_for(&trailing)).contains("after its last field"));
    let truncated = &good[..good.len() - 1];
    assert!(malformed(&code_for(truncated)).contains("middle of a field"));
    assert!(malformed(&code_for(&good[..1])).contains("middle of a field"));

    // The connection id starts right after the 44-byte header.
    let mut bad_id = good.clone();
    bad_id[45] = b' ';
    assert!(malformed(&code_for(&bad_id)).contains("connection id"));

    let mut bad_url = good.clone();
    let at = bad_url.windows(5).position(|w| w == b"https").unwrap();
    bad_url[at..at + 5].copy_from_slice(b"ftp:/");
    assert!(malformed(&code_for(&bad_url)).contains("instance url"));
}

#[test]
fn a_mangled_code_is_corrupted() {
    let code = sample().encode();
    let mut chars: Vec<char> = code.as_str().chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let mangled: String = chars.into_iter().collect();
    assert_eq!(
        Invitation::decode(&mangled, now()),
        Err(InvitationError::Corrupted)
    );
}

#[test]
fn another_format_version_is_told_apart_from_corruption() {
    let mut bytes = payload(&sample().encode());
    bytes[0] = 3;
    let err = Invitation::decode(&code_for(&bytes), now()).unwrap_err();
    assert_eq!(
        err,
        InvitationError::UnsupportedFormat {
            found: 3,
            supported: 2
        }
    );
    let text = err.to_string();
    assert!(text.contains("format version 3") && text.contains("format version 2"));
}

#[test]
fn a_code_carries_the_initiators_node_url() {
    let mut new = new_invitation();
    new.initiator_node = Some(NodeUrl::parse("https://sync.acme.example").unwrap());
    let invitation = Invitation::with_secret(new, Secret::from_bytes(SECRET), now()).unwrap();
    let back = Invitation::decode(invitation.encode().as_str(), now()).unwrap();
    assert_eq!(back, invitation);
    assert_eq!(back.initiator_node().as_str(), "https://sync.acme.example");
    // Without one, the initiator is reached at its instance URL.
    assert_eq!(
        sample().initiator_node(),
        NodeUrl::from(sample().initiator())
    );
}

#[test]
fn a_format_1_code_of_twinsync_0_1_is_still_read() {
    // Format 1 is format 2 without the node URL field (two length bytes, here 0).
    let mut bytes = payload(&sample().encode());
    assert_eq!(bytes[0], 2);
    assert_eq!(bytes[bytes.len() - 2..], [0, 0]);
    bytes.truncate(bytes.len() - 2);
    bytes[0] = 1;
    let back = Invitation::decode(&code_for(&bytes), now()).unwrap();
    assert_eq!(back, sample());
    assert_eq!(back.initiator_node(), NodeUrl::from(sample().initiator()));
}

#[test]
fn an_unknown_mode_is_incompatible() {
    let mut bytes = payload(&sample().encode());
    bytes[3] = 9;
    let err = Invitation::decode(&code_for(&bytes), now()).unwrap_err();
    assert_eq!(err, InvitationError::UnsupportedMode { code: 9 });
    assert_eq!(err.kind(), ErrorKind::Incompatible);
}

#[test]
fn an_expired_code_is_refused_from_its_expiry_on() {
    let code = sample().encode();
    let expiry = datetime!(2026-01-08 0:00 UTC);
    let just_before = expiry - time::Duration::seconds(1);
    assert!(Invitation::decode(code.as_str(), just_before).is_ok());
    let err = Invitation::decode(code.as_str(), expiry).unwrap_err();
    assert_eq!(
        err,
        InvitationError::Expired {
            connection: ConnectionId::parse("c-1").unwrap(),
            expired_at: expiry,
        }
    );
    // A stored invitation can still be read back.
    assert_eq!(Invitation::parse(code.as_str()).unwrap(), sample());
}

#[test]
fn an_old_protocol_version_is_refused_naming_both_versions() {
    let mut new = new_invitation();
    new.protocol_version = 0;
    let old = Invitation::with_secret(new, Secret::from_bytes(SECRET), now()).unwrap();
    let err = Invitation::decode(old.encode().as_str(), now()).unwrap_err();
    assert_eq!(
        err,
        InvitationError::IncompatibleProtocol {
            ours: PROTOCOL_VERSION,
            theirs: 0,
            minimum: MIN_BASIC,
        }
    );
    let text = err.to_string();
    assert!(text.contains("protocol version 0"), "{text}");
    assert!(
        text.contains(&format!("speaks version {PROTOCOL_VERSION}")),
        "{text}"
    );
    assert_eq!(crate::Error::from(err).kind(), ErrorKind::Incompatible);
}

const MIN_BASIC: u16 = crate::connection::MIN_PROTOCOL_VERSION_BASIC;

#[test]
fn invalid_invitations_are_not_created() {
    type Change = fn(&mut NewInvitation);
    let cases: [(&str, Change); 5] = [
        ("empty name", |n| n.name = String::new()),
        ("blank name", |n| n.name = "   ".to_owned()),
        ("control characters", |n| n.name = "a\nb".to_owned()),
        ("long name", |n| n.name = "x".repeat(129)),
        ("zero validity", |n| n.validity = Duration::ZERO),
    ];
    for (what, change) in cases {
        let mut new = new_invitation();
        change(&mut new);
        let err = Invitation::with_secret(new, Secret::from_bytes(SECRET), now()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{what}");
    }
    // 128 characters of 4 bytes each do not fit a code.
    let mut new = new_invitation();
    new.name = "😀".repeat(100);
    assert!(Invitation::with_secret(new, Secret::from_bytes(SECRET), now()).is_err());
    let mut new = new_invitation();
    new.validity = Duration::from_secs(u64::MAX);
    assert!(Invitation::with_secret(new, Secret::from_bytes(SECRET), now()).is_err());
}

#[test]
fn the_secret_is_never_printed() {
    let invitation = sample();
    let code = invitation.encode();
    let mut texts = vec![
        format!("{invitation:?}"),
        format!("{invitation:#?}"),
        format!("{code:?}"),
    ];
    let mut mangled = code.as_str().to_owned();
    mangled.insert(30, 'Q');
    let mut old = new_invitation();
    old.protocol_version = 0;
    let old = Invitation::with_secret(old, Secret::from_bytes(SECRET), now()).unwrap();
    for text in [
        code.as_str(),
        &mangled,
        &code.as_str()[..40],
        old.encode().as_str(),
    ] {
        for at in [now(), datetime!(2027-01-01 0:00 UTC)] {
            if let Err(err) = Invitation::decode(text, at) {
                texts.push(err.to_string());
                texts.push(format!("{err:?}"));
                let err = crate::Error::from(err);
                texts.push(err.to_string());
                texts.push(format!("{err:?}"));
            }
        }
    }
    assert!(texts.len() > 10, "every kind of text was made");
    let body = &code.as_str()[INVITATION_PREFIX.len()..];
    for text in &texts {
        for secret in secret_renderings() {
            assert!(!text.contains(&secret), "{text}");
        }
        assert!(
            !text.contains(&body[..16]),
            "the code's text leaked: {text}"
        );
    }
}

fn invitation_strategy() -> impl Strategy<Value = Invitation> {
    (
        "[A-Za-z0-9._-]{1,64}",
        "[a-zA-Z0-9 _äö€😀-]{1,40}".prop_filter("not blank", |s| !s.trim().is_empty()),
        "https?://[a-z]{1,20}\\.example(:[1-9][0-9]{0,3})?(/[a-z]{1,10}){0,2}",
        "[A-Z][A-Z0-9]{0,9}",
        1u64..=365 * 24 * 3600,
        any::<[u8; 32]>(),
        0i64..4_000_000_000,
    )
        .prop_map(|(id, name, url, project, validity, secret, created)| {
            let mut new = NewInvitation::new(
                ConnectionId::parse(&id).unwrap(),
                name,
                InstanceUrl::parse(&url).unwrap(),
                lit::project(project),
            );
            new.validity = Duration::from_secs(validity);
            let created = OffsetDateTime::from_unix_timestamp(created).unwrap();
            Invitation::with_secret(new, Secret::from_bytes(secret), created).unwrap()
        })
}

#[derive(Clone, Debug)]
enum Edit {
    Replace(usize, char),
    Insert(usize, char),
    Delete(usize),
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    let c = prop_oneof![
        proptest::char::range('!', '~'),
        Just('-'),
        Just('_'),
        any::<char>(),
    ];
    prop_oneof![
        (any::<usize>(), c.clone()).prop_map(|(i, c)| Edit::Replace(i, c)),
        (any::<usize>(), c).prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<usize>().prop_map(Edit::Delete),
    ]
}

proptest! {
    #[test]
    fn decoding_any_text_never_panics(text in any::<String>()) {
        let _ = Invitation::decode(&text, now());
    }

    #[test]
    fn decoding_any_base64url_after_the_prefix_never_panics(body in "[A-Za-z0-9_-]{0,300}") {
        let _ = Invitation::decode(&format!("{INVITATION_PREFIX}{body}"), now());
    }

    #[test]
    fn decoding_any_checksummed_payload_never_panics(
        mut bytes in proptest::collection::vec(any::<u8>(), 0..200),
        format_one in any::<bool>(),
    ) {
        if format_one && !bytes.is_empty() {
            bytes[0] = INVITATION_FORMAT_VERSION;
        }
        let _ = Invitation::decode(&code_for(&bytes), now());
    }

    #[test]
    fn encode_then_decode_round_trips(invitation in invitation_strategy()) {
        let code = invitation.encode();
        prop_assert_eq!(&Invitation::parse(code.as_str()).unwrap(), &invitation);
        let before_expiry = invitation.expires_at() - time::Duration::seconds(1);
        prop_assert_eq!(Invitation::decode(code.as_str(), before_expiry).unwrap(), invitation);
    }

    #[test]
    fn any_single_character_edit_is_rejected(
        invitation in invitation_strategy(),
        edit in edit_strategy(),
    ) {
        let code = invitation.encode();
        let mut chars: Vec<char> = code.as_str().chars().collect();
        match edit {
            Edit::Replace(i, c) => {
                let i = i % chars.len();
                prop_assume!(chars[i] != c);
                chars[i] = c;
            }
            Edit::Insert(i, c) => {
                // Whitespace is ignored on purpose: pasted codes are often wrapped.
                prop_assume!(!c.is_whitespace());
                chars.insert(i % (chars.len() + 1), c);
            }
            Edit::Delete(i) => {
                let i = i % chars.len();
                chars.remove(i);
            }
        }
        let edited: String = chars.into_iter().collect();
        let result = Invitation::parse(&edited);
        prop_assert!(
            matches!(
                result,
                Err(InvitationError::Malformed { .. } | InvitationError::Corrupted)
            ),
            "{:?} gave {:?}", edit, result
        );
    }
}
