//! The console's pages over HTTP, as a browser without scripts meets them:
//! sign in through the form, follow the redirects, post the forms with the
//! session's CSRF token, and read what the pages say.

use std::collections::BTreeMap;

use twinsync::server::console::{Console, Operator, Role, hash_password};
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::rig::LocalRig;
use twinsync::transport::http::{HttpServer, ServerHandle, ServerTls};

const PASSWORD: &str = "correct horse battery";

/// A browser without scripts: keeps cookies, follows no redirect by itself.
struct Browser {
    runtime: tokio::runtime::Runtime,
    server: Option<ServerHandle>,
    base: String,
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn open(rig: &LocalRig, role: Role) -> Browser {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let hash = hash_password(PASSWORD).unwrap();
        let console = Console::builder(rig.node.clone())
            .operator(Operator::new("ada", &hash, role, lit::user_id("ada")).unwrap())
            .build()
            .unwrap();
        let server = runtime.block_on(async {
            HttpServer::bind(
                "127.0.0.1:0".parse().unwrap(),
                ServerTls::plain_http_on_loopback(),
            )
            .unwrap()
            .serve_router(console.router())
            .unwrap()
        });
        let base = format!("http://{}", server.local_addr());
        Browser {
            runtime,
            server: Some(server),
            base,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    fn request(&mut self, method: &str, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let page = self.runtime.block_on(async {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut request = self
                .client
                .request(method, format!("{}{path}", self.base))
                .header("cookie", cookie);
            if let Some(form) = form {
                request = request.form(form);
            }
            let response = request.send().await.unwrap();
            let set: Vec<String> = response
                .headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect();
            let location = response
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned());
            let status = response.status().as_u16();
            (set, location, status, response.text().await.unwrap())
        });
        let (set, location, status, body) = page;
        for line in set {
            let pair = line.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page {
            status,
            location,
            body,
        }
    }

    fn get(&mut self, path: &str) -> Page {
        self.request("GET", path, None)
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.request("POST", path, Some(form))
    }

    /// Follows a redirect.
    fn follow(&mut self, page: Page) -> Page {
        match page.location {
            Some(to) if (300..400).contains(&page.status) => self.get(&to),
            _ => page,
        }
    }

    fn sign_in(&mut self, password: &str) -> Page {
        let form = self.get("/console/login");
        let csrf = hidden_csrf(&form.body);
        let page = self.post(
            "/console/login",
            &[("csrf", &csrf), ("name", "ada"), ("password", password)],
        );
        self.follow(page)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

/// The value of the first hidden `csrf` input of a page.
fn hidden_csrf(html: &str) -> String {
    let at = html.find(r#"name="csrf""#).expect("a csrf field");
    let from = html[at..].find("value=\"").unwrap() + at + 7;
    let to = html[from..].find('"').unwrap() + from;
    html[from..to].to_owned()
}

#[test]
fn an_operator_signs_in_sees_the_connection_and_fixes_a_trigger_typo_in_place() {
    let rig = LocalRig::new();
    rig.user().create("SUP", "Bug", "Printer on fire");
    block_on(rig.node.exalate(&rig.conn.id, &lit::key("SUP-1"))).unwrap();
    let mut browser = Browser::open(&rig, Role::Owner);

    let anonymous = browser.get("/console");
    assert_eq!(anonymous.status, 303);
    assert_eq!(anonymous.location.as_deref(), Some("/console/login"));
    let wrong = browser.sign_in("wrong password");
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.body.contains("Wrong name or password"),
        "{}",
        wrong.body
    );

    let home = browser.sign_in(PASSWORD);
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains(&rig.conn.name), "{}", home.body);

    let url = format!("/console/connections/{}", rig.conn.id);
    let page = browser.get(&url);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("SUP-1") && page.body.contains("DEV-1"));
    let csrf = hidden_csrf(&page.body);

    let typo = browser.post(
        &format!("{url}/triggers"),
        &[
            ("csrf", &csrf),
            ("project", "SUP"),
            ("query", "labels = escalate AND"),
            ("note", "escalations"),
            ("enabled", "on"),
        ],
    );
    assert_eq!(typo.status, 400, "{}", typo.body);
    assert!(
        typo.body.contains("labels = escalate AND"),
        "the query as typed is kept"
    );
    assert!(rig.node.triggers(&rig.conn.id).unwrap().is_empty());

    let fixed = browser.post(
        &format!("{url}/triggers"),
        &[
            ("csrf", &csrf),
            ("project", "SUP"),
            ("query", "labels = escalate"),
            ("note", "escalations"),
            ("enabled", "on"),
        ],
    );
    assert_eq!(fixed.status, 303);
    let after = browser.follow(fixed);
    assert!(after.body.contains("Added trigger"), "{}", after.body);
    assert_eq!(rig.node.triggers(&rig.conn.id).unwrap().len(), 1);
    // The notice shows once.
    let again = browser.get(&url);
    assert!(!again.body.contains("Added trigger"));

    // Without the CSRF token nothing changes.
    let forged = browser.post(&format!("{url}/deactivate"), &[]);
    assert_eq!(forged.status, 403);
    assert_eq!(
        rig.node.connection(&rig.conn.id).unwrap().status,
        rig.conn.status
    );

    // Signing out ends the session, also for a replayed cookie.
    let session = browser.cookies.clone();
    let out = browser.post("/console/logout", &[("csrf", &csrf)]);
    assert_eq!(out.status, 303);
    assert_eq!(browser.get("/console").status, 303);
    browser.cookies = session;
    assert_eq!(
        browser.get("/console").status,
        303,
        "the old cookie is void"
    );
}

#[test]
fn a_test_run_and_a_bulk_exalate_from_the_pages() {
    let rig = LocalRig::new();
    for i in 0..3 {
        rig.user().create("SUP", "Bug", &format!("issue {i}"));
    }
    let mut browser = Browser::open(&rig, Role::Collaborator);
    browser.sign_in(PASSWORD);
    let url = format!("/console/connections/{}", rig.conn.id);
    let run = browser.get(&format!("{url}/test-run?key=SUP-1"));
    assert_eq!(run.status, 200, "{}", run.body);
    assert!(run.body.contains("would create"), "{}", run.body);
    assert!(rig.issues("DEV").is_empty());

    let csrf = hidden_csrf(&browser.get(&url).body);
    let started = browser.post(
        &format!("{url}/bulk"),
        &[("csrf", &csrf), ("jql", "project = SUP")],
    );
    assert_eq!(started.status, 303);
    let job_url = started.location.clone().unwrap();
    let mut page = browser.get(&job_url);
    for _ in 0..200 {
        if page.body.contains("Finished") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
        page = browser.get(&job_url);
    }
    assert!(page.body.contains("Finished"), "{}", page.body);
    assert_eq!(rig.issues("DEV").len(), 3);

    // A collaborator may not deactivate: refused, and said so.
    let refused = browser.post(&format!("{url}/deactivate"), &[("csrf", &csrf)]);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(
        rig.node.connection(&rig.conn.id).unwrap().status,
        rig.conn.status
    );
}

#[test]
fn an_owner_confirms_refused_deletions_publishes_rules_and_deletes_the_connection() {
    use twinsync::engine::RuleSpec;
    use twinsync::tracker::Tracker;

    // SUP-1 with ten comments, synced; eight deleted in SUP: the guard
    // refuses to delete them in DEV.
    let rig = LocalRig::new();
    let sup = rig.user().create("SUP", "Bug", "x");
    for i in 0..10 {
        rig.user().comment(&sup.key, &format!("c{i}"));
    }
    block_on(rig.node.exalate(&rig.conn.id, &lit::key("SUP-1"))).unwrap();
    rig.advance(10);
    let sup = rig.issue("SUP-1");
    for c in &sup.comments[2..] {
        block_on(rig.human.delete_comment(&sup.id, &c.id)).unwrap();
    }
    rig.sync();
    assert_eq!(rig.issue("DEV-1").comments.len(), 10, "refused");

    let mut browser = Browser::open(&rig, Role::Owner);
    browser.sign_in(PASSWORD);
    let url = format!("/console/connections/{}", rig.conn.id);
    let page = browser.get(&url);
    assert!(page.body.contains("Confirm"), "{}", page.body);
    let csrf = hidden_csrf(&page.body);
    let confirmed = browser.post(
        &format!("{url}/twins/DEV-1/confirm-deletion"),
        &[("csrf", &csrf)],
    );
    assert_eq!(confirmed.status, 303);
    assert!(browser.follow(confirmed).body.contains("Confirmed"));
    rig.sync();
    assert_eq!(
        rig.issue("DEV-1").comments.len(),
        2,
        "deleted once confirmed"
    );

    // Rule versions of a custom connection: a bad draft is kept in place,
    // a good one is saved and published.
    block_on(rig.admin().upgrade_to_custom(&rig.conn.id)).unwrap();
    let bad = browser.post(
        &format!("{url}/rules/draft"),
        &[("csrf", &csrf), ("spec", "{not json")],
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("{not json"), "{}", bad.body);
    let spec = serde_json::to_string(&RuleSpec::default().with_labels()).unwrap();
    let saved = browser.post(
        &format!("{url}/rules/draft"),
        &[("csrf", &csrf), ("spec", &spec)],
    );
    assert_eq!(saved.status, 303, "{}", saved.body);
    let published = browser.post(&format!("{url}/rules/publish"), &[("csrf", &csrf)]);
    assert!(
        browser
            .follow(published)
            .body
            .contains("Published rule version 1")
    );
    assert_eq!(rig.node.rule_history(&rig.conn.id).unwrap().active, Some(1));

    // Delete, unexalating: both issues stay, their markers go.
    let deleted = browser.post(
        &format!("{url}/delete"),
        &[("csrf", &csrf), ("unexalate", "on")],
    );
    assert_eq!(deleted.location.as_deref(), Some("/console"));
    let home = browser.follow(deleted);
    assert!(home.body.contains("unexalated"), "{}", home.body);
    assert!(rig.node.connections().unwrap().is_empty());
    let dev = block_on(rig.tracker.issue_by_key(&lit::key("DEV-1"))).unwrap();
    assert_eq!(dev.summary, "x", "the twin stays");
}

#[test]
fn too_many_wrong_passwords_hold_the_name_back_even_with_the_right_one() {
    let rig = LocalRig::new();
    let mut browser = Browser::open(&rig, Role::Owner);
    for _ in 0..10 {
        assert_eq!(browser.sign_in("guess").status, 401);
    }
    let held = browser.sign_in(PASSWORD);
    assert_eq!(held.status, 429, "{}", held.body);
    assert!(
        held.body.contains("Too many wrong passwords"),
        "{}",
        held.body
    );
    assert!(!browser.cookies.contains_key("twinsync_session"));
}
