//! What an operator does in the console, in a real browser: work a
//! connection (a trigger typo fixed in place, Test Run, a conflict resolved,
//! an error retried, a bulk exalate watched to the end), and set up a
//! connection between two nodes through their two consoles.

use std::time::Duration;

use fantoccini::Locator;
use twinsync::server::console::{Console, LOGIN_PATH, Operator, Role, hash_password};
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::remote_rig::RemoteRig;
use twinsync::testkit::rig::LocalRig;
use twinsync::tracker::memory::{Fault, OpKind};
use twinsync::transport::http::{HttpServer, ServerHandle, ServerTls};
use twinsync::{ErrorKind, engine::Node, model::UserId};

use super::harness::Browser;
use super::{PAGE, PASSWORD, runtime};

/// How long a bulk exalate may take to finish.
const BULK: Duration = Duration::from_secs(30);

/// `node`'s console with the owner `ada`, served on loopback.
fn serve_node(node: &Node, admin: UserId) -> ServerHandle {
    let hash = hash_password(PASSWORD).unwrap();
    let console = Console::builder(node.clone())
        .operator(Operator::new("ada", &hash, Role::Owner, admin).unwrap())
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

/// Signs in as `ada` on the site at `base` (the browser's own site, or
/// another one).
async fn sign_in(browser: &Browser, base: &str) {
    browser
        .client
        .goto(&format!("{base}{LOGIN_PATH}"))
        .await
        .unwrap();
    browser.fill("name", "ada").await;
    browser.fill("password", PASSWORD).await;
    browser.click("form button").await;
    browser.wait_for_path("/console", PAGE).await;
}

/// Types `value` into field `name` of the form whose action ends with
/// `action` (after clearing it).
async fn fill_in(browser: &Browser, action: &str, name: &str, value: &str) {
    let css = format!("form[action$=\"{action}\"] [name=\"{name}\"]");
    let field = browser.element(&css).await;
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

/// Submits the form whose action ends with `action`.
async fn submit(browser: &Browser, action: &str) {
    browser
        .click(&format!(
            "form[action$=\"{action}\"] button[type=\"submit\"]"
        ))
        .await;
}

/// The value of the form field `css` (what the browser would send).
async fn value_of(browser: &Browser, css: &str) -> String {
    browser
        .client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

#[test]
fn an_owner_works_a_connection_in_the_browser() {
    let rig = LocalRig::new();
    let conn = rig.conn.id.clone();
    // SUP-1 in conflict; SUP-2 failed (its comment was refused); SUP-3..7
    // not under sync yet.
    rig.user().create("SUP", "Bug", "Printer on fire");
    rig.user().create("SUP", "Bug", "Scanner jams");
    for i in 3..=7 {
        rig.user().create("SUP", "Task", &format!("Chore {i}"));
    }
    block_on(rig.node.exalate(&conn, &lit::key("SUP-1"))).unwrap();
    block_on(rig.node.exalate(&conn, &lit::key("SUP-2"))).unwrap();
    rig.advance(10);
    rig.user().edit_summary("SUP-1", "Printer on fire, floor 3");
    rig.user().comment("SUP-2", "it jams on A3");
    rig.advance(10);
    rig.user().edit_summary("DEV-1", "Printer smokes");
    rig.tracker
        .inject(OpKind::AddComment, Fault::Fail(ErrorKind::PermissionDenied));
    rig.sync();
    assert_eq!(rig.node.conflicts(&conn).unwrap().len(), 1);
    assert_eq!(rig.node.status(&conn).unwrap().errors.len(), 1);

    runtime().block_on(async {
        let server = serve_node(&rig.node, rig.admin.clone());
        let base = format!("http://{}", server.local_addr());
        let browser = Browser::start(&base).await;
        sign_in(&browser, &base).await;

        // The connections page lists it; its name opens it.
        browser.wait_for_text("main", &rig.conn.name, PAGE).await;
        browser.screenshot("connections").await;
        browser
            .click(&format!("a[href=\"/console/connections/{conn}\"]"))
            .await;
        let page = format!("/console/connections/{conn}");
        browser.wait_for_path(&page, PAGE).await;
        browser.wait_for_text("main", "DEV-1", PAGE).await;

        // A trigger with a typo: the error next to the form, the query kept.
        fill_in(&browser, "/triggers", "query", "labels = escalate AND").await;
        submit(&browser, "/triggers").await;
        browser
            .wait_for_text("#trigger-add-error", "column", PAGE)
            .await;
        let kept = value_of(&browser, "form[action$=\"/triggers\"] [name=\"query\"]").await;
        assert_eq!(kept, "labels = escalate AND");
        browser.screenshot("trigger-error").await;
        assert!(rig.node.triggers(&conn).unwrap().is_empty());
        // Fixed.
        fill_in(&browser, "/triggers", "query", "labels = escalate").await;
        submit(&browser, "/triggers").await;
        browser.wait_for_text("main", "Added trigger", PAGE).await;
        assert_eq!(rig.node.triggers(&conn).unwrap().len(), 1);

        // Test Run of an issue not under sync: the plan, nothing written.
        fill_in(&browser, "/test-run", "key", "SUP-3").await;
        submit(&browser, "/test-run").await;
        browser.wait_for_text("main", "would create", PAGE).await;
        browser.screenshot("test-run").await;
        assert_eq!(rig.issues("DEV").len(), 2, "Test Run wrote nothing");

        // The conflict, resolved.
        browser.goto(&page).await;
        browser.screenshot("connection").await;
        submit(&browser, "/twins/SUP-1/resolve").await;
        browser.wait_for_text("main", "resolved", PAGE).await;
        assert!(rig.node.conflicts(&conn).unwrap().is_empty());

        // The error, retried: the comment arrives.
        submit(&browser, "/twins/SUP-2/retry").await;
        browser.wait_for_text("main", "Retried SUP-2", PAGE).await;
        assert!(rig.node.status(&conn).unwrap().errors.is_empty());
        assert_eq!(rig.issue("DEV-2").comments.len(), 1);

        // Bulk exalate, watched to the end.
        fill_in(&browser, "/bulk", "jql", "project = SUP").await;
        submit(&browser, "/bulk").await;
        browser.wait_for_text("main", "Finished", BULK).await;
        browser.screenshot("bulk-exalate").await;
        assert_eq!(rig.issues("DEV").len(), 7, "every SUP issue has a twin");

        browser.close().await;
        server.shutdown().await;
    });
}

#[test]
fn two_nodes_are_connected_through_their_two_consoles() {
    let rig = RemoteRig::new();
    let ada = lit::user_id("ada");
    runtime().block_on(async {
        let a = serve_node(&rig.a.node, ada.clone());
        let b = serve_node(&rig.b.node, ada.clone());
        // Two host names: browsers keep cookies per host, not per port, so
        // two consoles on one host name would share (and replace) one
        // session cookie.
        let (a_base, b_base) = (
            format!("http://{}", a.local_addr()),
            format!("http://localhost:{}", b.local_addr().port()),
        );
        let browser = Browser::start(&a_base).await;

        // On A: initiate without admin access on B: an invitation code.
        sign_in(&browser, &a_base).await;
        browser.goto("/console/initiate").await;
        fill_in(&browser, "/console/initiate", "local_project", "SUP").await;
        browser.click("#admin-no").await;
        submit(&browser, "/console/initiate").await;
        browser.wait_for_text("main", "Copy", PAGE).await;
        let code = value_of(&browser, "#invitation-code").await;
        assert!(code.starts_with("twinsync-invite-"), "{code}");
        browser.screenshot("initiated").await;

        // On B: a mangled code is refused in words; the real one works.
        sign_in(&browser, &b_base).await;
        browser
            .client
            .goto(&format!("{b_base}/console/accept"))
            .await
            .unwrap();
        fill_in(&browser, "/console/accept", "code", "hello there").await;
        fill_in(&browser, "/console/accept", "project", "DEV").await;
        submit(&browser, "/console/accept").await;
        browser.wait_for_text("main .notice", "code", PAGE).await;
        assert!(rig.b.node.connections().unwrap().is_empty());
        fill_in(&browser, "/console/accept", "code", &code).await;
        fill_in(&browser, "/console/accept", "project", "DEV").await;
        submit(&browser, "/console/accept").await;
        browser
            .wait_for_text("main", "is set up on both sides and active", PAGE)
            .await;
        browser.screenshot("accepted").await;
        assert_eq!(rig.b.node.connections().unwrap().len(), 1);

        // A's console shows it active too.
        browser
            .client
            .goto(&format!("{a_base}/console"))
            .await
            .unwrap();
        browser.wait_for_text("main", "active", PAGE).await;

        browser.close().await;
        a.shutdown().await;
        b.shutdown().await;
    });
}
