//! A headless Chromium driven through chromedriver, for the console's
//! browser tests.
//!
//! Each [`Browser`] runs a chromedriver of its own, on a port chromedriver
//! picks itself (`--port=0`, read back from what it prints), so tests may run
//! in parallel threads without clashing; dropping the [`Browser`] (also when
//! a test panics) kills its chromedriver, and Chromium, which talks to it
//! over a pipe, ends with it.
//!
//! chromedriver is `$CHROMEDRIVER` when set, else `/usr/bin/chromedriver`,
//! else found on `PATH`; Chromium is `$CHROME` when set, else
//! `/usr/bin/chromium`. When either is missing the test fails (it never
//! passes without a browser) and says how to install them.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fantoccini::cookies::Cookie;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How to get the browser when it is missing.
const INSTALL: &str = "install them with `sudo apt-get install -y chromium chromium-driver` \
                       (Debian/Ubuntu), or point $CHROMEDRIVER and $CHROME at them";

/// How long chromedriver may take to start and answer.
const DRIVER_START: Duration = Duration::from_secs(20);

/// chromedriver, killed when dropped.
struct Driver {
    child: Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver leads a process group of its own, which the Chromium
        // it starts joins: kill the group, so no browser outlives a test that
        // panicked before it closed its session. Already gone is fine; there
        // is nothing else to do about a failure here.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium, with the address of the site under test.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    /// `http://127.0.0.1:PORT` of the site under test, without a trailing `/`.
    base: String,
    // Dropped after `client`: the session's connection goes first.
    _driver: Driver,
}

/// The program `what` is: `$var` when set (which must then be a file), else
/// the first of `defaults` that is a file, else `name` on `PATH`.
///
/// # Panics
///
/// When none is found, saying how to install the browser.
fn program(what: &str, var: &str, defaults: &[&str], name: Option<&str>) -> PathBuf {
    if let Some(set) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        let set = PathBuf::from(set);
        assert!(
            set.is_file(),
            "${var} is {}, which is not a file; {INSTALL}",
            set.display()
        );
        return set;
    }
    let on_path = name.into_iter().flat_map(|name| {
        std::env::var_os("PATH")
            .map(|path| {
                std::env::split_paths(&path)
                    .map(|dir| dir.join(name))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    defaults
        .iter()
        .map(PathBuf::from)
        .chain(on_path)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            let path = if name.is_some() { ", PATH" } else { "" };
            panic!(
                "{what} not found (${var}, {}{path}): the console's browser tests need it; \
                 {INSTALL}",
                defaults.join(", ")
            )
        })
}

/// Starts chromedriver on a port of its choosing and returns it with the port.
fn start_driver(path: &Path) -> (Driver, u16) {
    let mut child = Command::new(path)
        .arg("--port=0")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}; {INSTALL}", path.display()));
    let stdout = child.stdout.take().expect("chromedriver's stdout is piped");
    let driver = Driver { child };
    let (tx, rx) = mpsc::channel();
    // Reads the port chromedriver announces, then keeps draining its output
    // so it never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sent {
                continue;
            }
            if let Some(port) = announced_port(&line) {
                sent = tx.send(port).is_ok();
            }
        }
    });
    let port = rx.recv_timeout(DRIVER_START).unwrap_or_else(|_| {
        panic!(
            "{} did not say which port it listens on within {DRIVER_START:?}",
            path.display()
        )
    });
    (driver, port)
}

/// The port of "ChromeDriver was started successfully on port 41753."
fn announced_port(line: &str) -> Option<u16> {
    let (_, rest) = line.split_once("started successfully on port ")?;
    rest.trim_end_matches('.').trim().parse().ok()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium, for the site at `base`
    /// (`http://127.0.0.1:PORT`).
    ///
    /// # Panics
    ///
    /// When chromedriver or Chromium is missing (saying how to install
    /// them), or the browser does not start.
    pub async fn start(base: &str) -> Browser {
        let driver_path = program(
            "chromedriver",
            "CHROMEDRIVER",
            &["/usr/bin/chromedriver"],
            Some("chromedriver"),
        );
        let chrome = program("Chromium", "CHROME", &["/usr/bin/chromium"], None);
        let (driver, port) = start_driver(&driver_path);
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chrome.to_string_lossy(),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-dev-shm-usage",
                    "--disable-gpu",
                    "--window-size=1280,900",
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + DRIVER_START;
        // chromedriver prints its port before it answers; try until it does.
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("waiting for chromedriver at {url}: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!(
                    "no browser session from chromedriver at {url} (Chromium {}): {e}",
                    chrome.display()
                ),
            }
        };
        Browser {
            client,
            base: base.trim_end_matches('/').to_owned(),
            _driver: driver,
        }
    }

    /// The full URL of `path` on the site under test.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Opens `path` of the site under test.
    pub async fn goto(&self, path: &str) {
        let url = self.url(path);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// The path (and query) of the page shown now.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("the current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits until the page shown is `path` (after a form's answer, say).
    ///
    /// # Panics
    ///
    /// After `timeout`, with the page shown instead.
    pub async fn wait_for_path(&self, path: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let shown = self.path().await;
            if shown == path {
                return;
            }
            if Instant::now() >= deadline {
                let shot = self.screenshot("timeout").await;
                panic!(
                    "the browser did not reach {path} within {timeout:?}; it shows {shown} \
                     (screenshot {})",
                    shot.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The first element matching `css`.
    ///
    /// # Panics
    ///
    /// When none does, naming the page.
    pub async fn element(&self, css: &str) -> Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("nothing matches {css} on {}: {e}", self.path().await),
        }
    }

    /// Types `value` into the form field named `name` (after clearing it).
    pub async fn fill(&self, name: &str, value: &str) {
        let css = format!("[name=\"{name}\"]");
        let field = self.element(&css).await;
        field.clear().await.expect("clear the field");
        field.send_keys(value).await.expect("type into the field");
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) {
        let element = self.element(css).await;
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// The text of the first element matching `css`.
    pub async fn text_of(&self, css: &str) -> String {
        let element = self.element(css).await;
        element.text().await.expect("the element's text")
    }

    /// Waits until the first element matching `css` shows `text`.
    ///
    /// # Panics
    ///
    /// After `timeout`, with what the element shows instead.
    pub async fn wait_for_text(&self, css: &str, text: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let shown = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if shown.contains(text) {
                return;
            }
            if Instant::now() >= deadline {
                let path = self.path().await;
                let shot = self.screenshot("timeout").await;
                panic!(
                    "{css} on {path} did not show {text:?} within {timeout:?}; it shows {shown:?} \
                     (screenshot {})",
                    shot.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a screenshot as `target/console-screenshots/NAME.png`, prints
    /// and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        println!("screenshot: {}", path.display());
        path
    }

    /// The browser's cookies for the page shown now (HttpOnly ones too).
    pub async fn cookies(&self) -> Vec<Cookie<'static>> {
        self.client.get_all_cookies().await.expect("the cookies")
    }

    /// `fetch(path)` from the page shown now, with the browser's cookies:
    /// the status and the body as JSON (`null` when it is not JSON).
    pub async fn fetch_json(&self, path: &str) -> (u16, Value) {
        let answer = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 fetch(arguments[0], { credentials: 'same-origin', redirect: 'manual' })
                   .then(r => r.text().then(t => {
                     let body = null;
                     try { body = JSON.parse(t); } catch (e) {}
                     done({ status: r.status, body });
                   }))
                   .catch(e => done({ status: 0, body: String(e) }));",
                vec![json!(path)],
            )
            .await
            .unwrap_or_else(|e| panic!("fetch {path} in the browser: {e}"));
        let status = answer["status"].as_u64().expect("a status") as u16;
        (status, answer["body"].clone())
    }

    /// Posts a form with `fields` to `path`, from the page shown now, as a
    /// user's form would (the browser follows the answer).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) {
        let fields: serde_json::Map<String, Value> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        self.client
            .execute(
                "const form = document.createElement('form');
                 form.method = 'post';
                 form.action = arguments[0];
                 for (const [name, value] of Object.entries(arguments[1])) {
                   const input = document.createElement('input');
                   input.type = 'hidden';
                   input.name = name;
                   input.value = value;
                   form.appendChild(input);
                 }
                 document.body.appendChild(form);
                 form.submit();",
                vec![json!(path), Value::Object(fields)],
            )
            .await
            .unwrap_or_else(|e| panic!("post a form to {path}: {e}"));
    }

    /// Ends the browser session (chromedriver goes when `self` drops).
    pub async fn close(self) {
        let Browser {
            client, _driver, ..
        } = self;
        if let Err(e) = client.close().await {
            eprintln!("closing the browser session: {e}");
        }
    }
}

/// `target/console-screenshots`: the target dir is the parent of the tests'
/// `CARGO_TARGET_TMPDIR`.
fn screenshot_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("console-screenshots")
}
