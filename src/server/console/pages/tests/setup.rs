//! The pages that set things up or follow them: bulk exalate progress,
//! initiate, accept, sign-in and errors, and [`explain`]'s words.

use super::*;

#[test]
fn the_job_page_polls_while_running_and_says_finished_when_done() {
    let rig = LocalRig::new();
    let mut view = JobView::new("job-7", &rig.conn, "project = SUP");
    view.record(&crate::engine::BulkEvent::Started { total: Some(3) });
    view.record(&crate::engine::BulkEvent::Skipped {
        key: lit::key("SUP-1"),
    });
    view.record(&crate::engine::BulkEvent::Failed {
        key: lit::key("SUP-2"),
        kind: ErrorKind::PermissionDenied,
        error: "cannot create in DEV".into(),
    });
    let running = job(&ctx(Role::Collaborator), &view).into_string();
    assert!(
        running.contains(r#"<progress id="job-progress" max="3" value="2">"#),
        "{running}"
    );
    assert!(running.contains(r#"data-job="job-7""#));
    assert!(running.contains("/api/v1/jobs/"));
    assert!(running.contains("credentials: 'same-origin'"));
    assert!(running.contains(r#"<noscript><meta http-equiv="refresh" content="2"></noscript>"#));
    assert!(running.contains("SUP-2: cannot create in DEV"));
    assert!(!running.contains("Finished"));

    view.record(&crate::engine::BulkEvent::Synced {
        key: lit::key("SUP-3"),
        twin: Some(lit::key("DEV-1")),
        writes: 2,
    });
    view.done = true;
    let done = job(&ctx(Role::Collaborator), &view).into_string();
    assert!(done.contains("Finished: 3 issues looked at, 1 synced, 1 already in step, 1 failed."));
    assert!(done.contains(&format!(r#"href="/console/connections/{}""#, rig.conn.id)));
    assert!(!done.contains("<script>") && !done.contains("refresh"));
    let json = serde_json::to_value(&view).expect("json");
    assert_eq!(json["connection"], "SUP_to_DEV");
    assert_eq!(json["failures"][0]["key"], "SUP-2");
    assert!(json.get("connection_id").is_none());
}

#[test]
fn the_initiate_result_shows_the_code_while_debug_does_not() {
    let rig = LocalRig::new();
    let clock = ManualClock::default();
    let new = NewInvitation::new(
        ConnectionId::generate().expect("id"),
        "SUP_to_PARTNER",
        InstanceUrl::parse("https://rig.example").expect("url"),
        lit::project("SUP"),
    );
    let code = Invitation::create(new, &clock)
        .expect("invitation")
        .encode();
    let view = InitiateView {
        result: Some(crate::engine::Initiated::Invitation {
            connection: rig.conn.clone(),
            code: code.clone(),
        }),
        ..InitiateView::default()
    };
    let html = initiate(&ctx(Role::Owner), &view).into_string();
    assert!(html.contains(code.as_str()), "{html}");
    assert!(html.contains("shown once"));
    assert!(html.contains("navigator.clipboard"));
    assert!(!format!("{view:?}").contains(code.as_str()));
    assert!(!format!("{view:?}").contains(&code.as_str()[20..40]));

    let form = initiate(&ctx(Role::Owner), &InitiateView::default()).into_string();
    assert!(form.contains(r#"name="establish_token""#));
    assert!(form.contains(r#"value="yes""#) && form.contains(r#"value="no""#));
    let viewer = initiate(&ctx(Role::Viewer), &InitiateView::default()).into_string();
    assert!(viewer.contains("Only an owner"));
    assert_eq!(post_forms(&viewer), 1);
}

#[test]
fn accept_offers_the_projects_and_says_what_failed() {
    let view = AcceptView {
        projects: vec![lit::project("DEV"), lit::project("OPS")],
        project: "OPS".into(),
        error: Some("This invitation code expired.".into()),
        accepted: None,
    };
    let html = accept(&ctx(Role::Owner), &view).into_string();
    assert!(
        html.contains(r#"<option value="OPS" selected>OPS</option>"#),
        "{html}"
    );
    assert!(html.contains(r#"role="alert">This invitation code expired."#));
    assert!(html.contains(r#"name="code""#));
    let typed = accept(&ctx(Role::Owner), &AcceptView::default()).into_string();
    assert!(typed.contains(r#"<input type="text" name="project""#));
}

#[test]
fn sign_in_and_error_pages_say_what_went_wrong() {
    let html = login(Some("Wrong name or password"), "tok").into_string();
    assert!(html.contains("Wrong name or password"));
    assert!(html.contains(r#"name="password""#));
    assert!(!html.contains("Sign out"), "nobody is signed in");
    let html = error_page(Some(&ctx(Role::Viewer)), 404, "no connection <x>").into_string();
    assert!(html.contains("Not found") && html.contains("no connection &lt;x&gt;"));
    assert!(html.contains("Sign out"));
    assert!(
        !format!("{:?}", ctx(Role::Owner)).contains(CSRF),
        "no token in Debug"
    );
}

#[test]
fn explain_gives_each_invitation_error_its_own_words() {
    let id = || ConnectionId::parse("c1").expect("id");
    let epoch = time::OffsetDateTime::UNIX_EPOCH;
    let cases: Vec<Error> = vec![
        InvitationError::Malformed {
            reason: "too short",
        }
        .into(),
        InvitationError::Corrupted.into(),
        InvitationError::UnsupportedFormat {
            found: 9,
            supported: 1,
        }
        .into(),
        InvitationError::UnsupportedMode { code: 7 }.into(),
        InvitationError::IncompatibleProtocol {
            ours: 3,
            theirs: 1,
            minimum: 2,
        }
        .into(),
        InvitationError::Expired {
            connection: id(),
            expired_at: epoch,
        }
        .into(),
        InvitationError::AlreadyUsed { connection: id() }.into(),
        InvitationError::AcceptedAlready {
            connection: id(),
            name: "SUP_to_DEV".into(),
        }
        .into(),
        InvitationError::Revoked { connection: id() }.into(),
        InvitationError::UnknownConnection { connection: id() }.into(),
        InvitationError::DuplicateConnection { connection: id() }.into(),
        InvitationError::NoChallenge { connection: id() }.into(),
        InvitationError::BadProof { connection: id() }.into(),
        Error::new(ErrorKind::NotFound, "project DEV does not exist"),
        Error::new(
            ErrorKind::PermissionDenied,
            "uma may not set up connections for DEV",
        ),
        Error::new(
            ErrorKind::Unavailable,
            "no node is reachable at https://b.example",
        ),
        Error::new(ErrorKind::Unauthenticated, "the establish token is unknown"),
        Error::new(ErrorKind::AlreadyExists, "connection SUP_to_DEV exists"),
        crate::trigger::Jql::parse("labels = ")
            .expect_err("not jql")
            .into(),
    ];
    let words: Vec<String> = cases.iter().map(explain).collect();
    let distinct: HashSet<&String> = words.iter().collect();
    assert_eq!(distinct.len(), words.len(), "{words:#?}");
    for (err, said) in cases.iter().zip(&words) {
        assert!(said.ends_with('.'), "a sentence: {said}");
        assert!(said.len() > 40, "{err}: {said}");
    }
    assert!(words[0].contains("twinsync-invite-"));
    assert!(words[5].contains("expired at 1970-01-01T00:00:00Z"));
    assert!(words[6].contains("already used"));
    assert!(words[7].contains("SUP_to_DEV"));
    assert!(words[8].contains("revoked"));
    assert!(words[13].contains("project DEV does not exist"));
    assert!(words[15].contains("cannot be reached"));
    assert!(
        words[18].starts_with("The query is not valid JQL"),
        "{}",
        words[18]
    );
}
