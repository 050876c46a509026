//! The web console in a real browser: headless Chromium, driven through
//! chromedriver, against a node's console served on loopback by the real
//! HTTP server.
//!
//! Needs `chromium` and `chromium-driver` (`.ci/run` installs them); without
//! them these tests fail, saying how to install them. Each test starts its
//! own chromedriver on a port of chromedriver's choosing, so they may run in
//! parallel. Screenshots go to `target/console-screenshots/`.

mod flows;
mod harness;

use std::time::{Duration, Instant};

use twinsync::server::console::{
    Console, LOGIN_COOKIE, LOGIN_PATH, Operator, Role, SESSION_COOKIE, hash_password,
};
use twinsync::testkit::rig::LocalRig;
use twinsync::transport::http::{HttpServer, ServerHandle, ServerTls};

use harness::Browser;

pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// How long a page may take to answer a click.
pub(crate) const PAGE: Duration = Duration::from_secs(10);

/// The rig's node (SUP ↔ DEV on a memory tracker and store) with a console
/// whose owner is `ada`, served on loopback over plain HTTP.
fn serve(rig: &LocalRig) -> ServerHandle {
    let hash = hash_password(PASSWORD).unwrap();
    let console = Console::builder(rig.node.clone())
        .operator(Operator::new("ada", &hash, Role::Owner, rig.admin.clone()).unwrap())
        .build()
        .unwrap();
    HttpServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        ServerTls::plain_http_on_loopback(),
    )
    .unwrap()
    .serve_router(console.router())
    .unwrap()
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn sign_in_see_the_console_and_sign_out_then_be_refused() {
    let started = Instant::now();
    let rig = LocalRig::new();
    runtime().block_on(async {
        let server = serve(&rig);
        let base = format!("http://{}", server.local_addr());
        let browser = Browser::start(&base).await;

        // A wrong password: the form again, with the refusal.
        browser.goto(LOGIN_PATH).await;
        browser.fill("name", "ada").await;
        browser.fill("password", "not the password").await;
        browser.click("form button").await;
        browser
            .wait_for_text("body", "Wrong name or password", PAGE)
            .await;
        assert_eq!(browser.path().await, LOGIN_PATH);
        assert!(
            !browser
                .cookies()
                .await
                .iter()
                .any(|c| c.name() == SESSION_COOKIE),
            "a wrong password made a session"
        );
        browser.screenshot("login").await;

        // The right one: on to the console.
        browser.fill("name", "ada").await;
        browser.fill("password", PASSWORD).await;
        browser.click("form button").await;
        browser.wait_for_path("/console", PAGE).await;
        browser.screenshot("signed-in").await;

        // The API, opened in the browser, knows who is signed in.
        browser.goto("/api/v1/me").await;
        let shown = browser.text_of("body").await;
        assert!(shown.contains(r#""name":"ada""#), "{shown}");
        assert!(shown.contains(r#""role":"owner""#), "{shown}");
        let (status, me) = browser.fetch_json("/api/v1/me").await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["name"], "ada");
        let csrf = me["csrf"]
            .as_str()
            .expect("a session has a CSRF token")
            .to_owned();

        // The session cookie is HttpOnly, and Secure: Chromium keeps Secure
        // cookies of http://127.0.0.1 (a potentially trustworthy origin).
        // (Read on a page of the site: an error page shows no cookies.)
        let cookies = browser.cookies().await;
        let session = cookies
            .iter()
            .find(|c| c.name() == SESSION_COOKIE)
            .unwrap_or_else(|| {
                panic!(
                    "signed in, but the browser keeps no {SESSION_COOKIE} cookie on {base} \
                     (it has {:?})",
                    cookies.iter().map(|c| c.name()).collect::<Vec<_>>()
                )
            });
        assert_eq!(session.http_only(), Some(true), "{session:?}");
        assert_eq!(session.secure(), Some(true), "{session:?}");
        assert!(
            !cookies.iter().any(|c| c.name() == LOGIN_COOKIE),
            "the sign-in form's cookie outlived the sign-in"
        );
        // Scripts of the page cannot read it.
        let visible = browser
            .client
            .execute("return document.cookie;", vec![])
            .await
            .unwrap();
        assert!(
            !visible
                .as_str()
                .unwrap_or_default()
                .contains(SESSION_COOKIE),
            "{visible}"
        );

        // Sign out with the session's CSRF token, as the pages' button does.
        browser
            .post_form("/console/logout", &[("csrf", &csrf)])
            .await;
        browser.wait_for_path(LOGIN_PATH, PAGE).await;
        assert!(
            !browser
                .cookies()
                .await
                .iter()
                .any(|c| c.name() == SESSION_COOKIE),
            "signing out left the session cookie"
        );
        browser.screenshot("signed-out").await;

        // Refused from now on: the console sends the browser to sign in, the
        // API answers 401.
        let (status, body) = browser.fetch_json("/api/v1/me").await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["kind"], "Unauthenticated", "{body}");
        browser.goto("/console").await;
        browser.wait_for_path(LOGIN_PATH, PAGE).await;
        browser.wait_for_text("form", "Sign in", PAGE).await;

        browser.close().await;
        server.shutdown().await;
    });
    println!("the browser test took {:?}", started.elapsed());
}
