//! The direct setup ("Yes, I have admin access") authenticates for real: the
//! destination sets a connection up only with a one-time establish token one
//! of its admins issued there, for that project, unexpired and unused. The
//! user id an initiating node sends counts for nothing.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use twinsync::connection::{EstablishToken, PROTOCOL_VERSION};
use twinsync::engine::{InitiateRequest, Initiated};
use twinsync::model::{ProjectKey, UserId};
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::remote_rig::RemoteRig;
use twinsync::tracker::{IssueUpdate, NewIssue, Tracker};
use twinsync::transport::Endpoint;
use twinsync::{Error, ErrorKind};

fn user(u: &str) -> UserId {
    lit::user_id(u)
}

/// A token an admin of B issues there.
fn issue(rig: &RemoteRig, project: &str, validity: Duration) -> EstablishToken {
    block_on(
        rig.b
            .node
            .admin(&user("ada"))
            .issue_establish_token(&lit::project(project), validity),
    )
    .expect("a token")
}

/// "Yes, I have admin access" to B, for DEV, with `token`.
fn direct(project: &str, token: Option<EstablishToken>) -> InitiateRequest {
    let request = InitiateRequest::new(lit::project("SUP"))
        .destination("https://b.example")
        .destination_project(lit::project(project))
        .admin_access(true);
    match token {
        Some(token) => request.establish_token(token),
        None => request,
    }
}

fn initiate(rig: &RemoteRig, request: InitiateRequest) -> Result<Initiated, Error> {
    block_on(rig.a.node.admin(&user("ada")).initiate(request))
}

/// (A's connections, B's connections, A's invitations).
fn counts(rig: &RemoteRig) -> (usize, usize, usize) {
    (
        rig.a.node.connections().unwrap().len(),
        rig.b.node.connections().unwrap().len(),
        rig.a.node.invitations().unwrap().len(),
    )
}

/// An `Establish` request as any node could send it, with a `caller` field
/// as twinsync 0.1's initiators did.
fn raw_establish(rig: &RemoteRig, token: Option<&str>) -> serde_json::Value {
    let initiated = initiate(rig, InitiateRequest::new(lit::project("SUP"))).unwrap();
    let Initiated::Invitation { code, .. } = initiated else {
        panic!("an invitation");
    };
    let mut request = serde_json::json!({
        "type": "establish",
        "code": code.as_str(),
        "project": "DEV",
        "caller": "ada",
        "reachable": true,
        "protocol": PROTOCOL_VERSION,
    });
    if let Some(token) = token {
        request["token"] = token.into();
    }
    let answer = block_on(rig.b.node.handle(serde_json::to_vec(&request).unwrap()));
    serde_json::from_slice(&answer).expect("a JSON answer")
}

#[test]
fn without_a_token_the_initiator_refuses_and_so_does_the_destination() {
    let rig = RemoteRig::new();
    let err = initiate(&rig, direct("DEV", None)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(
        err.to_string(),
        "with admin access to the destination, paste the establish token an admin of \
         https://b.example issued there for project DEV (Admin::issue_establish_token on that \
         node; InitiateRequest::establish_token here), or initiate without admin access for an \
         invitation code"
    );
    assert_eq!(counts(&rig), (0, 0, 0), "nothing made");

    // A node that sends the request itself, naming a global admin of B as
    // its caller, is refused: B trusts no user id a node sends.
    let answer = raw_establish(&rig, None);
    assert_eq!(answer["type"], "refused", "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "setting a connection up directly on the node at https://b.example needs an \
             establish token from one of its admins"
        ),
        "{message}"
    );
    assert!(
        message.contains("Admin::issue_establish_token"),
        "{message}"
    );
    assert!(rig.b.node.connections().unwrap().is_empty());

    let forged = raw_establish(&rig, Some("twinsync-establish-made-up"));
    assert_eq!(forged["type"], "refused", "{forged}");
    assert!(rig.b.node.connections().unwrap().is_empty());
}

#[test]
fn a_forged_foreign_expired_used_or_misdirected_token_is_refused() {
    let rig = RemoteRig::new();
    let refused = |request: InitiateRequest, kind: ErrorKind, says: &str| {
        let before = counts(&rig);
        let err = initiate(&rig, request).unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        let text = err.to_string();
        assert!(
            text.starts_with("the node at https://b.example/node refused: "),
            "{text}"
        );
        assert!(text.contains(says), "{text}");
        assert!(text.contains("ask an admin"), "{text}");
        assert_eq!(counts(&rig), before, "nothing made on either side");
        text
    };

    // Well formed, but never issued by B.
    let forged: EstablishToken = format!("twinsync-establish-{}", "A".repeat(43))
        .parse()
        .unwrap();
    refused(
        direct("DEV", Some(forged)),
        ErrorKind::Unauthenticated,
        "not issued by this node",
    );
    // Issued by an admin of A, on A.
    let foreign = block_on(
        rig.a
            .node
            .admin(&user("ada"))
            .issue_establish_token(&lit::project("DEV"), Duration::from_secs(600)),
    )
    .unwrap();
    refused(
        direct("DEV", Some(foreign)),
        ErrorKind::Unauthenticated,
        "not issued by this node",
    );
    // Expired.
    let short = issue(&rig, "DEV", Duration::from_secs(60));
    rig.advance(61);
    refused(
        direct("DEV", Some(short)),
        ErrorKind::Unauthenticated,
        "this establish token expired at ",
    );
    // For another project of B.
    let for_dev = issue(&rig, "DEV", Duration::from_secs(600));
    refused(
        direct("SUP", Some(for_dev.clone())),
        ErrorKind::PermissionDenied,
        "issued for project DEV, not SUP",
    );
    // Still unused after those refusals: it works, once.
    let first = initiate(&rig, direct("DEV", Some(for_dev.clone()))).unwrap();
    assert!(matches!(first, Initiated::Established(_)), "{first:?}");
    let text = refused(
        direct("DEV", Some(for_dev.clone())).name("again"),
        ErrorKind::Unauthenticated,
        "this establish token was used already, and a token works once",
    );
    assert!(!text.contains(for_dev.as_str()), "{text}");
}

/// Everything the `tracing` events and spans of a test say, as text.
#[derive(Default)]
struct Capture(Mutex<String>);

struct Visitor<'a>(&'a Mutex<String>);

impl tracing::field::Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let mut text = self.0.lock().unwrap();
        let _ = write!(text, "{}={value:?} ", field.name());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        span.record(&mut Visitor(&self.0));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut Visitor(&self.0));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        event.record(&mut Visitor(&self.0));
        self.0.lock().unwrap().push('\n');
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The one capture of this test binary, installed as the global subscriber
/// the first time it is asked for. A global subscriber (unlike a scoped one)
/// is seen by every thread, so a callsite another test registers at the same
/// moment can never be cached as disabled. Other tests' events land here too;
/// the checks below only look for this test's own.
fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Arc<Capture>> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Arc::new(Capture::default());
        tracing::subscriber::set_global_default(capture.clone())
            .expect("no other global subscriber in this test binary");
        capture
    })
}

#[test]
fn a_valid_token_sets_up_a_working_connection_and_never_shows() {
    let capture = capture();
    let rig = RemoteRig::new();
    let (token, conn, refusal) = {
        let token = issue(&rig, "DEV", Duration::from_secs(3600));
        let request = direct("DEV", Some(token.clone()));
        assert!(!format!("{request:?}").contains(token.as_str()));
        let initiated = initiate(&rig, request).unwrap();
        assert!(!format!("{initiated:?}").contains(token.as_str()));
        let Initiated::Established(conn) = initiated else {
            panic!("established: {initiated:?}");
        };
        let refusal = initiate(&rig, direct("DEV", Some(token.clone())).name("again")).unwrap_err();
        (token, conn, refusal)
    };
    let logs = capture.0.lock().unwrap().clone();
    assert!(logs.contains("establish token issued"), "{logs}");
    assert!(logs.contains("connection established"), "{logs}");
    let body = &token.as_str()["twinsync-establish-".len()..];
    assert!(!logs.contains(body), "the token is in the logs: {logs}");
    for shown in [
        refusal.to_string(),
        format!("{refusal:?}"),
        format!("{token:?}"),
        format!("{:?}", rig.b.node),
    ] {
        assert!(!shown.contains(body), "{shown}");
    }
    // B keeps only the token's digest.
    let kept = {
        use twinsync::store::Store;
        let mut txn = rig.b.store.begin().unwrap();
        txn.node_record().unwrap()
    };
    assert_eq!(kept.establish_tokens.len(), 1);
    assert!(!format!("{kept:?}").contains(body));
    assert_eq!(kept.establish_tokens[0].used_for.as_ref(), Some(&conn.id));

    // The connection works both ways.
    block_on(rig.a.human.create_issue(&NewIssue::new(
        lit::project("SUP"),
        "Bug",
        "Printer on fire",
    )))
    .unwrap();
    let twin = block_on(rig.a.node.exalate(&conn.id, &lit::key("SUP-1"))).unwrap();
    assert_eq!(twin.twin.unwrap().key.as_str(), "DEV-1");
    let dev1 = rig.b.issue("DEV-1");
    let edit = IssueUpdate {
        summary: Some("Printer still on fire".into()),
        ..IssueUpdate::default()
    };
    block_on(rig.b.human.update_issue(&dev1.id, &edit)).unwrap();
    rig.sync(&conn);
    rig.sync(&conn);
    assert_eq!(rig.a.issue("SUP-1").summary, "Printer still on fire");
}

#[test]
fn only_an_admin_of_the_destination_project_issues_a_token_and_for_a_while() {
    let rig = RemoteRig::new();
    let issue_as = |who: &str, project: &str, validity: Duration| {
        block_on(
            rig.b
                .node
                .admin(&user(who))
                .issue_establish_token(&ProjectKey::new(project).unwrap(), validity),
        )
    };
    let hour = Duration::from_secs(3600);
    for who in ["uma", "pat"] {
        let err = issue_as(who, "DEV", hour).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{who}: {err}");
    }
    let err = issue_as("ada", "NOPE", hour).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    for validity in [
        Duration::ZERO,
        EstablishToken::MAX_VALIDITY + Duration::from_secs(1),
    ] {
        let err = issue_as("ada", "DEV", validity).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    }
    let token = issue_as("ada", "DEV", EstablishToken::MAX_VALIDITY).unwrap();
    assert!(token.as_str().starts_with("twinsync-establish-"));

    // Tokens past their time are dropped when the next one is issued.
    rig.advance(EstablishToken::MAX_VALIDITY.as_secs() + 1);
    issue_as("ada", "DEV", hour).unwrap();
    let kept = {
        use twinsync::store::Store;
        rig.b.store.begin().unwrap().node_record().unwrap()
    };
    assert_eq!(kept.establish_tokens.len(), 1);
}
