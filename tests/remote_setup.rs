//! Setting up remote connections: every way accepting can fail (each with
//! its own error and nothing half-made on either side), the protocol version
//! check, and who may set connections up and change them.

use std::time::Duration;

use twinsync::connection::{
    ConnectionStatus, DEFAULT_PROJECT_LEVEL_GROUP, Invitation, InvitationCode, InvitationError,
    InvitationStatus, NewInvitation, ProjectLevelPolicy,
};
use twinsync::engine::{DeleteOptions, InitiateRequest, Initiated};
use twinsync::model::{ProjectKey, UserId};
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::remote_rig::{RemoteRig, RigSide};
use twinsync::tracker::Tracker;
use twinsync::{Error, ErrorKind};

fn user(u: &str) -> UserId {
    lit::user_id(u)
}

fn dev() -> ProjectKey {
    lit::project("DEV")
}

fn invite(
    rig: &RemoteRig,
    request: InitiateRequest,
) -> (twinsync::connection::Connection, InvitationCode) {
    match block_on(rig.a.node.admin(&user("ada")).initiate(request)).unwrap() {
        Initiated::Invitation { connection, code } => (connection, code),
        other => panic!("an invitation: {other:?}"),
    }
}

fn accept(side: &RigSide, code: &str) -> Result<twinsync::connection::Connection, Error> {
    block_on(side.node.admin(&user("ada")).accept(code, &dev()))
}

/// Nothing was made on B, and A's connection (if any) is still pending.
fn nothing_half_made(rig: &RemoteRig) {
    assert!(
        rig.b.node.connections().unwrap().is_empty(),
        "B made nothing"
    );
    for conn in rig.a.node.connections().unwrap() {
        assert_eq!(
            conn.status,
            ConnectionStatus::Pending,
            "A still waits: {conn}"
        );
    }
}

fn invitation_error(err: &Error) -> &InvitationError {
    InvitationError::from_error(err).unwrap_or_else(|| panic!("an invitation error: {err}"))
}

#[test]
fn a_malformed_or_corrupted_code_is_told_apart_from_a_wrong_one() {
    let rig = RemoteRig::new();
    let (_, code) = invite(&rig, InitiateRequest::new(lit::project("SUP")));
    let err = accept(&rig.b, "hello there").unwrap_err();
    assert!(
        matches!(invitation_error(&err), InvitationError::Malformed { .. }),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    let text = code.as_str();
    let i = text.len() / 2;
    let swapped = if &text[i..=i] == "A" { "B" } else { "A" };
    let mangled = format!("{}{swapped}{}", &text[..i], &text[i + 1..]);
    let err = accept(&rig.b, &mangled).unwrap_err();
    assert_eq!(invitation_error(&err), &InvitationError::Corrupted, "{err}");
    assert!(err.to_string().contains("copy it again"), "{err}");
    nothing_half_made(&rig);
    // The real code still works, with line breaks from an email in it.
    let wrapped = format!("{}\n  {}", &text[..30], &text[30..]);
    accept(&rig.b, &wrapped).unwrap();
}

#[test]
fn an_expired_code_is_refused() {
    let rig = RemoteRig::new();
    let (conn, code) = invite(
        &rig,
        InitiateRequest::new(lit::project("SUP")).validity(Duration::from_secs(3600)),
    );
    rig.advance(2 * 3600);
    let err = accept(&rig.b, code.as_str()).unwrap_err();
    assert!(
        matches!(invitation_error(&err), InvitationError::Expired { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("expired"), "{err}");
    nothing_half_made(&rig);
    let listed = rig.a.node.invitations().unwrap();
    assert_eq!(listed[0].connection, conn.id);
    assert_eq!(listed[0].status, InvitationStatus::Expired);
}

#[test]
fn a_code_works_once() {
    let rig = RemoteRig::new();
    let (_, code) = invite(&rig, InitiateRequest::new(lit::project("SUP")));
    let accepted = accept(&rig.b, code.as_str()).unwrap();
    let c = rig.another_node("https://c.example", true);
    let err = accept(&c, code.as_str()).unwrap_err();
    assert!(
        matches!(invitation_error(&err), InvitationError::AlreadyUsed { .. }),
        "{err}"
    );
    assert!(c.node.connections().unwrap().is_empty());
    // Accepting on the same node again is refused too, naming the connection
    // the code made here.
    let err = accept(&rig.b, code.as_str()).unwrap_err();
    assert_eq!(
        invitation_error(&err),
        &InvitationError::AcceptedAlready {
            connection: accepted.id.clone(),
            name: accepted.name.clone(),
        }
    );
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert!(
        err.to_string()
            .contains(&format!("already accepted as connection {}", accepted.name)),
        "{err}"
    );
    assert_eq!(rig.b.node.connections().unwrap(), [accepted]);
    // With another project it is refused: the connection exists here.
    let err = block_on(
        rig.b
            .node
            .admin(&user("ada"))
            .accept(code.as_str(), &lit::project("SUP")),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
}

#[test]
fn a_revoked_code_is_refused_and_its_pending_connection_goes() {
    let rig = RemoteRig::new();
    let (conn, code) = invite(&rig, InitiateRequest::new(lit::project("SUP")));
    let err = block_on(rig.a.node.admin(&user("uma")).revoke_invitation(&conn.id)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    block_on(rig.a.node.admin(&user("ada")).revoke_invitation(&conn.id)).unwrap();
    assert!(rig.a.node.connections().unwrap().is_empty());
    assert!(matches!(
        rig.a.node.invitations().unwrap()[0].status,
        InvitationStatus::Revoked { .. }
    ));
    let err = accept(&rig.b, code.as_str()).unwrap_err();
    assert!(
        matches!(invitation_error(&err), InvitationError::Revoked { .. }),
        "{err}"
    );
    nothing_half_made(&rig);
}

#[test]
fn a_code_whose_connection_the_initiator_deleted_is_unknown_there() {
    let rig = RemoteRig::new();
    let (conn, code) = invite(&rig, InitiateRequest::new(lit::project("SUP")));
    block_on(
        rig.a
            .node
            .admin(&user("ada"))
            .delete_connection(&conn.id, DeleteOptions::default()),
    )
    .unwrap();
    assert!(rig.a.node.invitations().unwrap().is_empty());
    let err = accept(&rig.b, code.as_str()).unwrap_err();
    assert!(
        matches!(
            invitation_error(&err),
            InvitationError::UnknownConnection { .. }
        ),
        "{err}"
    );
    nothing_half_made(&rig);
}

#[test]
fn a_forged_code_fails_the_proof_of_the_secret() {
    let rig = RemoteRig::new();
    let (conn, _) = invite(&rig, InitiateRequest::new(lit::project("SUP")));
    let mut new = NewInvitation::new(
        conn.id.clone(),
        conn.name.clone(),
        conn.a.instance.clone(),
        conn.a.project.clone(),
    );
    new.initiator_node = Some(rig.a.node.node_url().clone());
    // The same connection, with a secret of its own.
    let forged = Invitation::create(new, &*rig.clock).unwrap();
    let err = accept(&rig.b, forged.encode().as_str()).unwrap_err();
    assert!(
        matches!(invitation_error(&err), InvitationError::BadProof { .. }),
        "{err}"
    );
    nothing_half_made(&rig);
    assert_eq!(
        rig.a.node.invitations().unwrap()[0].status,
        InvitationStatus::Pending
    );
}

#[test]
fn a_missing_project_an_unreachable_initiator_or_a_caller_who_may_not_is_refused() {
    let rig = RemoteRig::new();
    let (_, code) = invite(&rig, InitiateRequest::new(lit::project("SUP")));
    let err = block_on(
        rig.b
            .node
            .admin(&user("ada"))
            .accept(code.as_str(), &lit::project("NOPE")),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(
        err.to_string().contains("project NOPE does not exist"),
        "{err}"
    );
    let err = block_on(rig.b.node.admin(&user("uma")).accept(code.as_str(), &dev())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    rig.network.unregister(rig.a.node.node_url());
    let err = accept(&rig.b, code.as_str()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_temporary());
    nothing_half_made(&rig);
    // A code made by this very node is a local connection's business.
    let (_, own) = invite(
        &rig,
        InitiateRequest::new(lit::project("SUP")).name("second"),
    );
    let err = block_on(rig.a.node.admin(&user("ada")).accept(own.as_str(), &dev())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[test]
fn an_old_initiator_is_refused_naming_both_versions_and_nothing_is_made() {
    let mut rig = RemoteRig::new();
    // A code written by a node that speaks version 0.
    rig.restart_a_speaking(0);
    let (_, code) = invite(&rig, InitiateRequest::new(lit::project("SUP")));
    let err = accept(&rig.b, code.as_str()).unwrap_err();
    assert!(
        matches!(
            invitation_error(&err),
            InvitationError::IncompatibleProtocol { theirs: 0, .. }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("version 0"), "{err}");
    nothing_half_made(&rig);

    // A current code, but the initiator was downgraded since.
    rig.restart_a_speaking(twinsync::connection::PROTOCOL_VERSION);
    let (_, code) = invite(
        &rig,
        InitiateRequest::new(lit::project("SUP")).name("again"),
    );
    rig.restart_a_speaking(0);
    let err = accept(&rig.b, code.as_str()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Incompatible, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("version 0") && text.contains("version 1"),
        "{text}"
    );
    nothing_half_made(&rig);
    assert!(
        rig.a
            .node
            .invitations()
            .unwrap()
            .iter()
            .all(|i| i.status == InvitationStatus::Pending),
        "the invitations can still be used once the initiator is upgraded"
    );
}

#[test]
fn an_old_destination_is_refused_at_initiation_and_nothing_is_made() {
    let mut rig = RemoteRig::new();
    rig.restart_b_speaking(0);
    for admin in [true, false] {
        let request = InitiateRequest::new(lit::project("SUP"))
            .destination("https://b.example")
            .destination_project(lit::project("DEV"))
            .admin_access(admin);
        let err = block_on(rig.a.node.admin(&user("ada")).initiate(request)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Incompatible, "{err}");
        let text = err.to_string();
        assert!(
            text.contains("version 0") && text.contains("version 1"),
            "{text}"
        );
        assert!(rig.a.node.connections().unwrap().is_empty());
        assert!(rig.a.node.invitations().unwrap().is_empty());
        assert!(rig.b.node.connections().unwrap().is_empty());
    }
    // An old acceptor refuses a current code before it contacts anyone.
    let (_, code) = invite(&rig, InitiateRequest::new(lit::project("SUP")));
    let err = accept(&rig.b, code.as_str()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Incompatible, "{err}");
    nothing_half_made(&rig);
}

#[test]
fn only_permitted_callers_set_up_and_change_connections() {
    let rig = RemoteRig::new();
    // uma administers nothing; pat administers SUP but project-level
    // connections are off.
    for who in ["uma", "pat"] {
        let err = block_on(
            rig.a
                .node
                .admin(&user(who))
                .initiate(InitiateRequest::new(lit::project("SUP"))),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{who}: {err}");
    }
    assert!(rig.a.node.connections().unwrap().is_empty());

    // Only a global admin turns them on.
    let on = ProjectLevelPolicy {
        enabled: true,
        ..ProjectLevelPolicy::default()
    };
    let err = block_on(rig.a.node.admin(&user("pat")).set_project_level_policy(&on)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    block_on(rig.a.node.admin(&user("ada")).set_project_level_policy(&on)).unwrap();
    assert_eq!(rig.a.node.project_level_policy().unwrap(), on);

    // No group: every project admin may, for their own project only.
    let initiated = block_on(
        rig.a
            .node
            .admin(&user("pat"))
            .initiate(InitiateRequest::new(lit::project("SUP"))),
    )
    .unwrap();
    let pending = initiated.connection().clone();
    let err = block_on(
        rig.a
            .node
            .admin(&user("pat"))
            .initiate(InitiateRequest::new(lit::project("DEV")).name("not pat's")),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    // The group exists and is empty: no project admin may.
    rig.a.tracker.set_group(DEFAULT_PROJECT_LEVEL_GROUP, &[]);
    let err = block_on(
        rig.a
            .node
            .admin(&user("pat"))
            .revoke_invitation(&pending.id),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    // The group lists pat: pat may again.
    rig.a
        .tracker
        .set_group(DEFAULT_PROJECT_LEVEL_GROUP, &[user("pat")]);
    block_on(
        rig.a
            .node
            .admin(&user("pat"))
            .revoke_invitation(&pending.id),
    )
    .unwrap();

    // Changing a connection: activate, deactivate, delete.
    let conn = rig.connect();
    for who in ["uma", "pat"] {
        // pat administers SUP on B's tracker, not DEV.
        let err = block_on(rig.b.node.admin(&user(who)).deactivate(&conn.id)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{who}: {err}");
    }
    let err = block_on(rig.a.node.admin(&user("uma")).deactivate(&conn.id)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    block_on(rig.a.node.admin(&user("pat")).deactivate(&conn.id)).unwrap();
    let err = block_on(rig.a.node.admin(&user("uma")).activate(&conn.id)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    block_on(rig.a.node.admin(&user("pat")).activate(&conn.id)).unwrap();
    let err = block_on(
        rig.b
            .node
            .admin(&user("uma"))
            .delete_connection(&conn.id, DeleteOptions::default()),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        rig.b.node.connection(&conn.id).unwrap().status,
        ConnectionStatus::Active,
        "nothing changed"
    );
}

#[test]
fn invitations_survive_a_restart_of_the_initiator() {
    let mut rig = RemoteRig::new();
    let (conn, code) = invite(&rig, InitiateRequest::new(lit::project("SUP")));
    let (revoked, _) = invite(&rig, InitiateRequest::new(lit::project("SUP")));
    block_on(
        rig.a
            .node
            .admin(&user("ada"))
            .revoke_invitation(&revoked.id),
    )
    .unwrap();
    rig.restart_a();
    let listed = rig.a.node.invitations().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .any(|i| i.connection == conn.id && i.status == InvitationStatus::Pending)
    );
    assert!(listed.iter().any(
        |i| i.connection == revoked.id && matches!(i.status, InvitationStatus::Revoked { .. })
    ));
    let accepted = accept(&rig.b, code.as_str()).unwrap();
    assert_eq!(accepted.status, ConnectionStatus::Active);
    // An explicit name stays unique on the initiator.
    let err = block_on(
        rig.a
            .node
            .admin(&user("ada"))
            .initiate(InitiateRequest::new(lit::project("SUP")).name(conn.name.clone())),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    // The acceptor has a connection of that name already: the next gets another.
    let other = rig.another_node("https://c.example", true);
    let (_, code) = match block_on(
        other
            .node
            .admin(&user("ada"))
            .initiate(InitiateRequest::new(lit::project("SUP"))),
    )
    .unwrap()
    {
        Initiated::Invitation { connection, code } => (connection, code),
        x => panic!("{x:?}"),
    };
    let second = accept(&rig.b, code.as_str()).unwrap();
    assert_eq!(second.name, format!("{} (2)", accepted.name));
}

#[test]
fn an_accept_that_failed_finding_the_twins_is_finished_by_accepting_again() {
    use twinsync::tracker::memory::{Fault, OpKind};

    let rig = RemoteRig::new();
    let (conn, code) = invite(&rig, InitiateRequest::new(lit::project("SUP")));
    // The initiator takes the code; finding B's twins (a search) then fails.
    rig.b
        .tracker
        .inject(OpKind::Search, Fault::Fail(ErrorKind::PermissionDenied));
    let err = accept(&rig.b, code.as_str()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert_eq!(
        rig.b.node.connection(&conn.id).unwrap().status,
        ConnectionStatus::Pending,
        "not active before its twins are found"
    );
    let accepted = accept(&rig.b, code.as_str()).unwrap();
    assert_eq!(accepted.status, ConnectionStatus::Active);
    assert_eq!(rig.b.node.connections().unwrap(), [accepted]);
    // Finished: now the code is used here as well.
    let err = accept(&rig.b, code.as_str()).unwrap_err();
    assert!(
        matches!(
            invitation_error(&err),
            InvitationError::AcceptedAlready { .. }
        ),
        "{err}"
    );
}

/// A network that loses the answer to the first redeem request.
struct LoseWelcome {
    network: twinsync::transport::InProcessNetwork,
    lost: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for LoseWelcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoseWelcome")
    }
}

#[async_trait::async_trait]
impl twinsync::transport::Transport for LoseWelcome {
    async fn call(
        &self,
        to: &twinsync::model::NodeUrl,
        request: Vec<u8>,
    ) -> twinsync::Result<Vec<u8>> {
        let redeem = String::from_utf8_lossy(&request).contains(r#""type":"redeem""#);
        let answer = self.network.call(to, request).await?;
        if redeem && !self.lost.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::new(ErrorKind::Timeout, "the answer was lost"));
        }
        Ok(answer)
    }
}

#[test]
fn an_acceptor_whose_welcome_was_lost_accepts_again_and_nobody_else_can() {
    let mut rig = RemoteRig::new();
    let (conn, code) = invite(&rig, InitiateRequest::new(lit::project("SUP")));
    rig.b.node = block_on(
        twinsync::engine::Node::builder()
            .tracker(std::sync::Arc::new(rig.b.tracker.clone()))
            .store(rig.b.store.clone())
            .clock(rig.clock.clone())
            .transport(std::sync::Arc::new(LoseWelcome {
                network: rig.network.clone(),
                lost: std::sync::atomic::AtomicBool::new(false),
            }))
            .node_key(twinsync::testkit::node_key("https://b.example"))
            .build(),
    )
    .unwrap();
    let err = accept(&rig.b, code.as_str()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(rig.b.node.connections().unwrap().is_empty());
    assert_eq!(
        rig.a.node.connection(&conn.id).unwrap().status,
        ConnectionStatus::Active,
        "the initiator took the redeem"
    );
    // Another node with the code is refused; B, trying again, gets in.
    let c = rig.another_node("https://c.example", true);
    let err = accept(&c, code.as_str()).unwrap_err();
    assert!(
        matches!(invitation_error(&err), InvitationError::AlreadyUsed { .. }),
        "{err}"
    );
    let accepted = accept(&rig.b, code.as_str()).unwrap();
    assert_eq!(accepted.status, ConnectionStatus::Active);
    assert_eq!(accepted.b.project.as_str(), "DEV");
    // Once in, the code is used here too.
    let err = accept(&rig.b, code.as_str()).unwrap_err();
    assert!(
        matches!(
            invitation_error(&err),
            InvitationError::AcceptedAlready { .. }
        ),
        "{err}"
    );
    rig.b.reachable = true;
    rig.network.register(
        rig.b.node.node_url(),
        std::sync::Arc::new(rig.b.node.clone()),
    );
    block_on(rig.a.human.create_issue(&twinsync::tracker::NewIssue::new(
        lit::project("SUP"),
        "Bug",
        "x",
    )))
    .unwrap();
    let twin = block_on(rig.a.node.exalate(&conn.id, &lit::key("SUP-1"))).unwrap();
    assert_eq!(twin.twin.unwrap().key.as_str(), "DEV-1");
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;
    use twinsync::transport::Endpoint;

    /// A request from a real exchange: a signed replica from A to B.
    fn signed_request(rig: &RemoteRig) -> Vec<u8> {
        let conn = rig.connect();
        block_on(rig.a.human.create_issue(&twinsync::tracker::NewIssue::new(
            lit::project("SUP"),
            "Bug",
            "x",
        )))
        .unwrap();
        // The replica message, as A would send it (A's node answers Hello too).
        let _ = block_on(rig.a.node.exalate(&conn.id, &lit::key("SUP-1"))).unwrap();
        let hello = br#"{"type":"hello","protocol":1}"#.to_vec();
        let answer = block_on(rig.b.node.handle(hello));
        assert!(String::from_utf8_lossy(&answer).contains(r#""type":"hello""#));
        format!(
            r#"{{"type":"signed","connection":"{}","from":"https://a.example","signature":{{"sent_at_ms":0,"nonce":"{}","tag":"{}"}},"body":"{{}}"}}"#,
            conn.id,
            "00".repeat(16),
            "00".repeat(32)
        )
        .into_bytes()
    }

    fn answers(node: &twinsync::engine::Node, request: Vec<u8>) {
        let answer = block_on(node.handle(request));
        let value: serde_json::Value = serde_json::from_slice(&answer).expect("a json answer");
        assert!(value.get("type").is_some(), "{value}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn arbitrary_bytes_get_an_answer(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let rig = RemoteRig::new();
            answers(&rig.b.node, bytes);
        }

        #[test]
        fn mangled_messages_get_an_answer(at in 0usize..400, byte in any::<u8>(), cut in 0usize..400) {
            let rig = RemoteRig::new();
            let mut request = signed_request(&rig);
            let i = at % request.len();
            request[i] = byte;
            answers(&rig.b.node, request.clone());
            request.truncate(cut % (request.len() + 1));
            answers(&rig.b.node, request);
        }
    }

    #[test]
    fn a_forged_signature_is_refused() {
        let rig = RemoteRig::new();
        let request = signed_request(&rig);
        let answer = String::from_utf8(block_on(rig.b.node.handle(request))).unwrap();
        assert!(answer.contains("refused"), "{answer}");
        assert!(answer.contains("signature does not match"), "{answer}");
    }
}
