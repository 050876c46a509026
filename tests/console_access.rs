//! Who gets into the console, over real HTTP: anonymous callers, viewers'
//! writes, CSRF tokens, bearer tokens, forged and signed-out sessions, the
//! sign-in form's own token, and that no secret ever shows in an answer.
//!
//! The API's routes are a table ([`API`]): a new route is one line there, and
//! every test below covers it.

use std::sync::Mutex;

use reqwest::{Method, StatusCode, redirect};
use serde_json::{Value, json};

use twinsync::server::console::{
    Action, ApiToken, CSRF_HEADER, Console, LOGIN_COOKIE, LOGIN_PATH, Operator, Role,
    SESSION_COOKIE, SessionKey, hash_password,
};
use twinsync::testkit::rig::LocalRig;
use twinsync::transport::http::{HttpServer, ServerHandle, ServerTls};

const ADA_PASSWORD: &str = "ada's correct horse battery";
const VIC_PASSWORD: &str = "vic's staple of viewing";
const OWNER_TOKEN: &str = "owner-token-3f9a1c77e0b24d6a9c1e";
const VIEWER_TOKEN: &str = "viewer-token-8b2d4f6a0c1e3a5b7d9f";
const SESSION_KEY: &[u8] = b"console-access-session-key-0f1e2d3c4b5a69788796";
const OTHER_KEY: &[u8] = b"another-console-session-key-a1b2c3d4e5f60718293a";

/// An API route: its method, its path (`{id}` is the rig's connection,
/// `{key}` issue SUP-1, `{tid}` the trigger the site starts with, `{job}` a
/// job that does not exist), a valid JSON body, and what it asks the role for.
struct ApiRoute {
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    needs: Action,
}

const fn route(method: &'static str, path: &'static str, needs: Action) -> ApiRoute {
    ApiRoute {
        method,
        path,
        body: None,
        needs,
    }
}

const fn with_body(
    method: &'static str,
    path: &'static str,
    body: &'static str,
    needs: Action,
) -> ApiRoute {
    ApiRoute {
        method,
        path,
        body: Some(body),
        needs,
    }
}

/// Every route of the JSON API (`src/server/console/api.rs`).
const API: &[ApiRoute] = &[
    route("GET", "/api/v1/me", Action::Read),
    route("GET", "/api/v1/connections", Action::Read),
    with_body(
        "POST",
        "/api/v1/connections/initiate",
        r#"{"local_project": "SUP", "destination_project": "DEV", "name": "made by a viewer"}"#,
        Action::Connections,
    ),
    with_body(
        "POST",
        "/api/v1/connections/accept",
        r#"{"code": "not-an-invitation", "project": "DEV"}"#,
        Action::Connections,
    ),
    route("GET", "/api/v1/connections/{id}", Action::Read),
    route("DELETE", "/api/v1/connections/{id}", Action::Connections),
    route(
        "POST",
        "/api/v1/connections/{id}/activate",
        Action::Connections,
    ),
    route(
        "POST",
        "/api/v1/connections/{id}/deactivate",
        Action::Connections,
    ),
    route("GET", "/api/v1/connections/{id}/twins", Action::Read),
    route("GET", "/api/v1/connections/{id}/errors", Action::Read),
    route("GET", "/api/v1/connections/{id}/conflicts", Action::Read),
    route(
        "POST",
        "/api/v1/connections/{id}/twins/{key}/retry",
        Action::RetryResolve,
    ),
    route(
        "POST",
        "/api/v1/connections/{id}/twins/{key}/resolve",
        Action::RetryResolve,
    ),
    route(
        "POST",
        "/api/v1/connections/{id}/twins/{key}/confirm-deletion",
        Action::Deletions,
    ),
    route(
        "POST",
        "/api/v1/connections/{id}/twins/{key}/dismiss-deletion",
        Action::Deletions,
    ),
    route("GET", "/api/v1/connections/{id}/triggers", Action::Read),
    with_body(
        "POST",
        "/api/v1/connections/{id}/triggers",
        r#"{"project": "SUP", "query": "labels = added-by-a-viewer"}"#,
        Action::Triggers,
    ),
    with_body(
        "PUT",
        "/api/v1/connections/{id}/triggers/{tid}",
        r#"{"note": "edited by a viewer"}"#,
        Action::Triggers,
    ),
    route(
        "DELETE",
        "/api/v1/connections/{id}/triggers/{tid}",
        Action::Triggers,
    ),
    route(
        "POST",
        "/api/v1/connections/{id}/triggers/{tid}/disable",
        Action::Triggers,
    ),
    route(
        "POST",
        "/api/v1/connections/{id}/triggers/{tid}/enable",
        Action::Triggers,
    ),
    route(
        "GET",
        "/api/v1/connections/{id}/test-run?key=SUP-1",
        Action::TestRun,
    ),
    route("GET", "/api/v1/connections/{id}/rules", Action::Read),
    with_body(
        "POST",
        "/api/v1/connections/{id}/rules/draft",
        r#"{"labels": true}"#,
        Action::Rules,
    ),
    route(
        "POST",
        "/api/v1/connections/{id}/rules/publish",
        Action::Rules,
    ),
    with_body(
        "POST",
        "/api/v1/connections/{id}/rules/rollback",
        r#"{"version": 1}"#,
        Action::Rules,
    ),
    with_body(
        "POST",
        "/api/v1/connections/{id}/bulk",
        r#"{"jql": "project = SUP"}"#,
        Action::BulkExalate,
    ),
    route("GET", "/api/v1/jobs/{job}", Action::Read),
];

/// The console's pages that anonymous visitors are sent to sign in from.
const PAGES: &[&str] = &[
    "/console",
    "/console/connections/{id}",
    "/console/connections/{id}?q=SUP&page=2",
    "/console/connections/{id}/test-run?key={key}",
    "/console/jobs/{job}",
    "/console/initiate",
    "/console/accept",
];

/// The console's page forms (each needs the `csrf` field).
const PAGE_FORMS: &[&str] = &[
    "/console/logout",
    "/console/connections/{id}/activate",
    "/console/connections/{id}/deactivate",
    "/console/connections/{id}/delete",
    "/console/connections/{id}/twins/{key}/retry",
    "/console/connections/{id}/twins/{key}/resolve",
    "/console/connections/{id}/twins/{key}/confirm-deletion",
    "/console/connections/{id}/twins/{key}/dismiss-deletion",
    "/console/connections/{id}/triggers",
    "/console/connections/{id}/triggers/{tid}",
    "/console/connections/{id}/triggers/{tid}/enable",
    "/console/connections/{id}/triggers/{tid}/disable",
    "/console/connections/{id}/triggers/{tid}/remove",
    "/console/connections/{id}/rules/draft",
    "/console/connections/{id}/rules/publish",
    "/console/connections/{id}/rules/rollback",
    "/console/connections/{id}/bulk",
    "/console/initiate",
    "/console/accept",
];

/// An answer, as a test looks at it.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    location: Option<String>,
    set_cookies: Vec<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The value this answer sets cookie `name` to.
    fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies.iter().find_map(|c| {
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (n, v) = pair.split_once('=')?;
            (n == name).then(|| v.to_owned())
        })
    }
}

/// How a request says who it is from.
#[derive(Clone, Debug, Default)]
struct As {
    /// `Cookie` header value.
    cookie: Option<String>,
    bearer: Option<String>,
    /// `X-CSRF-Token`.
    csrf_header: Option<String>,
}

impl As {
    fn anonymous() -> As {
        As::default()
    }

    fn bearer(token: &str) -> As {
        As {
            bearer: Some(token.to_owned()),
            ..As::default()
        }
    }
}

/// A signed-in browser's session: its cookie and CSRF token.
#[derive(Clone, Debug)]
struct Session {
    cookie: String,
    csrf: String,
}

impl Session {
    /// Reading, or writing without the CSRF token.
    fn bare(&self) -> As {
        As {
            cookie: Some(format!("{SESSION_COOKIE}={}", self.cookie)),
            ..As::default()
        }
    }

    /// Writing with the CSRF token in the header.
    fn with_csrf(&self) -> As {
        As {
            csrf_header: Some(self.csrf.clone()),
            ..self.bare()
        }
    }
}

/// A node's console served on loopback, with a client that follows no
/// redirects and keeps every answer's body for the secrets check.
struct Site {
    rig: LocalRig,
    server: Option<ServerHandle>,
    base: String,
    http: reqwest::Client,
    bodies: Mutex<Vec<String>>,
    trigger: u64,
    key: &'static [u8],
}

impl Site {
    /// The rig (SUP ↔ DEV, issue SUP-1) with a console: `ada` an owner,
    /// `vic` a viewer, an owner token and a viewer token, and one trigger.
    async fn start() -> Site {
        Site::start_keyed(SESSION_KEY).await
    }

    /// As [`start`](Site::start), with session key `key`.
    async fn start_keyed(key: &'static [u8]) -> Site {
        let rig = tokio::task::block_in_place(|| {
            let rig = LocalRig::new();
            rig.user().create("SUP", "Bug", "Printer on fire");
            rig
        });
        let ada = rig.admin.clone();
        let console = Console::builder(rig.node.clone())
            .operator(
                Operator::new(
                    "ada",
                    &hash_password(ADA_PASSWORD).unwrap(),
                    Role::Owner,
                    ada.clone(),
                )
                .unwrap(),
            )
            .operator(
                Operator::new(
                    "vic",
                    &hash_password(VIC_PASSWORD).unwrap(),
                    Role::Viewer,
                    ada.clone(),
                )
                .unwrap(),
            )
            .token(ApiToken::new("ci", OWNER_TOKEN, Role::Owner, ada.clone()).unwrap())
            .token(ApiToken::new("dashboard", VIEWER_TOKEN, Role::Viewer, ada).unwrap())
            .session_key(SessionKey::from_bytes(key).unwrap())
            .build()
            .unwrap();
        let server = HttpServer::bind(
            "127.0.0.1:0".parse().unwrap(),
            ServerTls::plain_http_on_loopback(),
        )
        .unwrap()
        .serve_router(console.router())
        .unwrap();
        let base = format!("http://{}", server.local_addr());
        let http = reqwest::Client::builder()
            .redirect(redirect::Policy::none())
            .build()
            .unwrap();
        let mut site = Site {
            rig,
            server: Some(server),
            base,
            http,
            bodies: Mutex::default(),
            trigger: 0,
            key,
        };
        let added = site
            .call(
                "POST",
                &site.path("/api/v1/connections/{id}/triggers"),
                &As::bearer(OWNER_TOKEN),
                Some(r#"{"project": "SUP", "query": "labels = customer"}"#),
            )
            .await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
        site.trigger = added.json()["id"].as_u64().expect("a trigger id");
        site
    }

    /// A route's path with its placeholders filled in.
    fn path(&self, template: &str) -> String {
        template
            .replace("{id}", self.rig.conn.id.as_str())
            .replace("{key}", "SUP-1")
            .replace("{tid}", &self.trigger.to_string())
            .replace("{job}", "no-such-job")
    }

    /// Sends a request; the answer (its body kept for the secrets check).
    async fn send(&self, request: reqwest::RequestBuilder, who: &As) -> Answer {
        let mut request = request;
        if let Some(cookie) = &who.cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(token) = &who.bearer {
            request = request.bearer_auth(token);
        }
        if let Some(csrf) = &who.csrf_header {
            request = request.header(CSRF_HEADER, csrf);
        }
        let response = request.send().await.expect("the console answers");
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let set_cookies = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|c| c.to_str().unwrap().to_owned())
            .collect();
        let body = response.text().await.expect("a body");
        self.bodies.lock().unwrap().push(body.clone());
        Answer {
            status,
            location,
            set_cookies,
            body,
        }
    }

    /// An API call with an optional JSON body.
    async fn call(&self, method: &str, path: &str, who: &As, body: Option<&str>) -> Answer {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        self.send(request, who).await
    }

    /// A page form posted (urlencoded).
    async fn post_form(&self, path: &str, who: &As, fields: &[(&str, &str)]) -> Answer {
        let request = self.http.post(format!("{}{path}", self.base)).form(fields);
        self.send(request, who).await
    }

    /// The sign-in form: its cookie (`twinsync_login=…`) and CSRF token.
    async fn login_form(&self) -> (String, String) {
        let form = self.call("GET", LOGIN_PATH, &As::anonymous(), None).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let cookie = form
            .cookie(LOGIN_COOKIE)
            .expect("the sign-in form sets its cookie");
        let csrf = hidden_csrf(&form.body).expect("the sign-in form has a csrf field");
        (format!("{LOGIN_COOKIE}={cookie}"), csrf)
    }

    /// Signs in with the form, as a browser does.
    async fn sign_in(&self, name: &str, password: &str) -> Session {
        let (cookie, csrf) = self.login_form().await;
        let who = As {
            cookie: Some(cookie),
            ..As::default()
        };
        let answer = self
            .post_form(
                LOGIN_PATH,
                &who,
                &[("name", name), ("password", password), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        assert_eq!(answer.location.as_deref(), Some("/console"));
        let cookie = answer
            .cookie(SESSION_COOKIE)
            .expect("signing in sets the session cookie");
        let me = self
            .call(
                "GET",
                "/api/v1/me",
                &As {
                    cookie: Some(format!("{SESSION_COOKIE}={cookie}")),
                    ..As::default()
                },
                None,
            )
            .await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        assert_eq!(me.json()["name"], name);
        let csrf = me.json()["csrf"].as_str().expect("a CSRF token").to_owned();
        Session { cookie, csrf }
    }

    /// What the console shows of the node's state: connections, triggers,
    /// rules, and DEV's issues.
    async fn state(&self) -> Value {
        let owner = As::bearer(OWNER_TOKEN);
        let mut state = serde_json::Map::new();
        for path in [
            "/api/v1/connections",
            "/api/v1/connections/{id}/triggers",
            "/api/v1/connections/{id}/rules",
        ] {
            let answer = self.call("GET", &self.path(path), &owner, None).await;
            assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
            state.insert(path.to_owned(), answer.json());
        }
        let dev = tokio::task::block_in_place(|| self.rig.issues("DEV").len());
        state.insert("DEV issues".to_owned(), json!(dev));
        Value::Object(state)
    }

    /// No answer so far showed a password, a token or the session key.
    fn assert_no_secrets(&self) {
        use base64::Engine as _;
        let key_b64 = [
            base64::engine::general_purpose::STANDARD.encode(self.key),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.key),
        ];
        let key_text = String::from_utf8_lossy(self.key).into_owned();
        let bodies = self.bodies.lock().unwrap();
        assert!(!bodies.is_empty());
        for body in bodies.iter() {
            for secret in [
                ADA_PASSWORD,
                VIC_PASSWORD,
                OWNER_TOKEN,
                VIEWER_TOKEN,
                &key_text,
            ]
            .into_iter()
            .chain(key_b64.iter().map(String::as_str))
            {
                assert!(!body.contains(secret), "an answer shows {secret:?}: {body}");
            }
        }
    }

    async fn stop(mut self) {
        self.assert_no_secrets();
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

/// A form's fields.
type Fields<'a> = Vec<(&'a str, &'a str)>;

/// The value of the hidden `csrf` input of a page's form.
fn hidden_csrf(html: &str) -> Option<String> {
    html.split("<input").skip(1).find_map(|tag| {
        let tag = tag.split('>').next()?;
        if !tag.contains(r#"name="csrf""#) {
            return None;
        }
        let (_, rest) = tag.split_once(r#"value=""#)?;
        Some(rest.split('"').next()?.to_owned())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_requests_get_nothing() {
    let site = Site::start().await;
    let before = site.state().await;
    for route in API {
        let path = site.path(route.path);
        let answer = site
            .call(route.method, &path, &As::anonymous(), route.body)
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{} {path}: {}",
            route.method,
            answer.body
        );
        assert_eq!(answer.json()["error"]["kind"], "Unauthenticated", "{path}");
    }
    for form in PAGE_FORMS {
        let form = &site.path(form);
        let answer = site
            .post_form(form, &As::anonymous(), &[("csrf", "anything")])
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "POST {form}: {}",
            answer.body
        );
    }
    assert_eq!(
        site.state().await,
        before,
        "an anonymous request changed something"
    );
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_page_visits_are_sent_to_sign_in() {
    let site = Site::start().await;
    for page in PAGES {
        let page = &site.path(page);
        let answer = site.call("GET", page, &As::anonymous(), None).await;
        assert_eq!(
            answer.status,
            StatusCode::SEE_OTHER,
            "GET {page}: {}",
            answer.body
        );
        assert_eq!(answer.location.as_deref(), Some(LOGIN_PATH), "GET {page}");
    }
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_reads_but_every_write_is_refused_and_changes_nothing() {
    let site = Site::start().await;
    let vic = site.sign_in("vic", VIC_PASSWORD).await;
    let before = site.state().await;
    for who in [vic.with_csrf(), As::bearer(VIEWER_TOKEN)] {
        for route in API {
            let path = site.path(route.path);
            let answer = site.call(route.method, &path, &who, route.body).await;
            if Role::Viewer.may(route.needs) {
                assert!(
                    answer.status == StatusCode::OK || answer.status == StatusCode::NOT_FOUND,
                    "a viewer reads {path}: {} {}",
                    answer.status,
                    answer.body
                );
            } else {
                assert_eq!(
                    answer.status,
                    StatusCode::FORBIDDEN,
                    "a viewer's {} {path}: {}",
                    route.method,
                    answer.body
                );
                assert_eq!(answer.json()["error"]["kind"], "PermissionDenied", "{path}");
            }
        }
    }
    let after = site.state().await;
    assert_eq!(after, before, "a viewer's refused writes changed something");
    let triggers = &after["/api/v1/connections/{id}/triggers"];
    assert_eq!(triggers.as_array().map(Vec::len), Some(1), "{triggers}");
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_writes_only_with_its_csrf_token() {
    let site = Site::start().await;
    let ada = site.sign_in("ada", ADA_PASSWORD).await;
    let triggers = site.path("/api/v1/connections/{id}/triggers");
    let body = Some(r#"{"project": "SUP", "query": "labels = urgent"}"#);
    let count = |answer: &Answer| answer.json().as_array().map(Vec::len);

    let missing = site.call("POST", &triggers, &ada.bare(), body).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN, "{}", missing.body);
    let wrong = As {
        csrf_header: Some(format!("{}x", ada.csrf)),
        ..ada.bare()
    };
    let refused = site.call("POST", &triggers, &wrong, body).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    // Someone else's token is no better.
    let vic = site.sign_in("vic", VIC_PASSWORD).await;
    let crossed = As {
        csrf_header: Some(vic.csrf.clone()),
        ..ada.bare()
    };
    let refused = site.call("POST", &triggers, &crossed, body).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let listed = site.call("GET", &triggers, &ada.bare(), None).await;
    assert_eq!(count(&listed), Some(1), "a refused write added a trigger");

    let added = site.call("POST", &triggers, &ada.with_csrf(), body).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let listed = site.call("GET", &triggers, &ada.bare(), None).await;
    assert_eq!(count(&listed), Some(2));

    // A page form: the token in the `csrf` field.
    let refused = site.post_form("/console/logout", &ada.bare(), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let refused = site
        .post_form("/console/logout", &ada.bare(), &[("csrf", "stale")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let me = site.call("GET", "/api/v1/me", &ada.bare(), None).await;
    assert_eq!(me.status, StatusCode::OK, "a refused sign-out signed out");
    let out = site
        .post_form("/console/logout", &ada.bare(), &[("csrf", &ada.csrf)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    assert_eq!(out.location.as_deref(), Some(LOGIN_PATH));
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_token_writes_without_csrf_and_a_wrong_one_is_refused() {
    let site = Site::start().await;
    let triggers = site.path("/api/v1/connections/{id}/triggers");
    let body = Some(r#"{"project": "SUP", "query": "labels = scripted"}"#);
    let added = site
        .call("POST", &triggers, &As::bearer(OWNER_TOKEN), body)
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let me = site
        .call("GET", "/api/v1/me", &As::bearer(OWNER_TOKEN), None)
        .await;
    assert_eq!(
        me.json(),
        json!({"name": "ci", "role": "owner", "csrf": null})
    );

    let before = site.state().await;
    let wrong = format!("{OWNER_TOKEN}0");
    for token in [
        wrong.as_str(),
        "",
        "owner-token",
        &OWNER_TOKEN[..OWNER_TOKEN.len() - 1],
    ] {
        for (method, body) in [("GET", None), ("POST", body)] {
            let answer = site.call(method, &triggers, &As::bearer(token), body).await;
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "{method} with token {token:?}: {}",
                answer.body
            );
        }
    }
    // Not a bearer token at all.
    let basic = site
        .send(
            site.http
                .get(format!("{}/api/v1/me", site.base))
                .basic_auth("ci", Some(OWNER_TOKEN)),
            &As::anonymous(),
        )
        .await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED, "{}", basic.body);
    assert_eq!(site.state().await, before);
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_or_edited_session_cookie_is_no_session() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let site = Site::start().await;
    let vic = site.sign_in("vic", VIC_PASSWORD).await;
    let (body, tag) = vic.cookie.split_once('.').expect("body.tag");
    // vic's session, edited to name ada.
    let mut ticket: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).unwrap()).unwrap();
    let field = ticket
        .as_object()
        .and_then(|o| o.iter().find(|(_, v)| *v == "vic").map(|(k, _)| k.clone()))
        .expect("the ticket names its operator");
    ticket[&field] = json!("ada");
    let promoted = format!(
        "{}.{tag}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&ticket).unwrap())
    );
    // A session sealed by another console's key.
    let other = Site::start_keyed(OTHER_KEY).await;
    let foreign = other.sign_in("ada", ADA_PASSWORD).await;
    // The sign-in form's ticket is no session either.
    let (login_cookie, _) = site.login_form().await;
    let login_value = login_cookie.split_once('=').unwrap().1.to_owned();
    let flipped_tag = {
        let mut t = tag.to_owned().into_bytes();
        t[0] = if t[0] == b'A' { b'B' } else { b'A' };
        String::from_utf8(t).unwrap()
    };
    let forged = [
        ("edited to another operator", promoted),
        ("with a changed tag", format!("{body}.{flipped_tag}")),
        ("without a tag", body.to_owned()),
        ("from another key", foreign.cookie.clone()),
        ("a sign-in form's ticket", login_value),
        ("junk", "not-a-session".to_owned()),
    ];
    let before = site.state().await;
    for (what, value) in &forged {
        let who = As {
            cookie: Some(format!("{SESSION_COOKIE}={value}")),
            csrf_header: Some(vic.csrf.clone()),
            ..As::default()
        };
        let me = site.call("GET", "/api/v1/me", &who, None).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{what}: {}", me.body);
        let write = site
            .call(
                "POST",
                &site.path("/api/v1/connections/{id}/deactivate"),
                &who,
                None,
            )
            .await;
        assert_eq!(
            write.status,
            StatusCode::UNAUTHORIZED,
            "{what}: {}",
            write.body
        );
    }
    assert_eq!(site.state().await, before);
    other.stop().await;
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_out_session_stays_out_even_when_its_cookie_is_replayed() {
    let site = Site::start().await;
    let ada = site.sign_in("ada", ADA_PASSWORD).await;
    let out = site
        .post_form("/console/logout", &ada.bare(), &[("csrf", &ada.csrf)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    let cleared = out
        .set_cookies
        .iter()
        .find(|c| c.starts_with(&format!("{SESSION_COOKIE}=")))
        .expect("signing out clears the cookie");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");

    let before = site.state().await;
    let me = site.call("GET", "/api/v1/me", &ada.bare(), None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.body);
    let write = site
        .call(
            "POST",
            &site.path("/api/v1/connections/{id}/deactivate"),
            &ada.with_csrf(),
            None,
        )
        .await;
    assert_eq!(write.status, StatusCode::UNAUTHORIZED, "{}", write.body);
    let again = site
        .post_form("/console/logout", &ada.bare(), &[("csrf", &ada.csrf)])
        .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "{}", again.body);
    assert_eq!(site.state().await, before);

    // Signing in again makes a new session, which works.
    let back = site.sign_in("ada", ADA_PASSWORD).await;
    assert_ne!(back.cookie, ada.cookie);
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_needs_the_forms_own_token_and_the_right_password() {
    let site = Site::start().await;
    let (cookie, csrf) = site.login_form().await;
    let (other_cookie, other_csrf) = site.login_form().await;
    let ada = ("name", "ada");
    let password = ("password", ADA_PASSWORD);
    let with = |cookie: &str| As {
        cookie: Some(cookie.to_owned()),
        ..As::default()
    };
    let refusals: Vec<(&str, As, Fields)> = vec![
        ("no csrf field", with(&cookie), vec![ada, password]),
        (
            "no form cookie",
            As::anonymous(),
            vec![ada, password, ("csrf", &csrf)],
        ),
        (
            "another form's token",
            with(&cookie),
            vec![ada, password, ("csrf", &other_csrf)],
        ),
        (
            "a stale form's cookie",
            with(&other_cookie),
            vec![ada, password, ("csrf", &csrf)],
        ),
        (
            "an empty token",
            with(&cookie),
            vec![ada, password, ("csrf", "")],
        ),
    ];
    for (what, who, fields) in refusals {
        let answer = site.post_form(LOGIN_PATH, &who, &fields).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{what}: {}",
            answer.body
        );
        assert_eq!(answer.cookie(SESSION_COOKIE), None, "{what}");
    }
    for (name, pw) in [
        ("ada", "wrong"),
        ("nobody", ADA_PASSWORD),
        ("vic", ADA_PASSWORD),
    ] {
        let (cookie, csrf) = site.login_form().await;
        let answer = site
            .post_form(
                LOGIN_PATH,
                &with(&cookie),
                &[("name", name), ("password", pw), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{name}: {}",
            answer.body
        );
        assert!(
            answer.body.contains("Wrong name or password"),
            "{}",
            answer.body
        );
        assert_eq!(answer.cookie(SESSION_COOKIE), None, "{name}");
    }
    // The right form, name and password.
    site.sign_in("ada", ADA_PASSWORD).await;
    site.stop().await;
}
