//! Atlassian's Jira Cloud OpenAPI spec and ADF schema, read from
//! `../shared/reference/jira/` beside the crate (or `TWINSYNC_JIRA_SPEC_DIR`),
//! as validators: of the emulator's exchanges (`tests/jira_fidelity.rs`) and
//! of every request body a strict emulator receives.
//!
//! The files are not part of the crate: they are read at test time only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use twinsync::tracker::jira::emulator::{CheckedRequest, Exchange, RequestValidator};

pub const SPEC: &str = "jira-cloud-platform-v3.openapi.json";
pub const ADF_SCHEMA: &str = "adf-schema-v1-full.json";

/// Where the reference files are expected.
pub fn expected_dir() -> PathBuf {
    std::env::var_os("TWINSYNC_JIRA_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/jira")
        })
}

/// The reference directory, if both files are there.
pub fn find_dir() -> Option<PathBuf> {
    let dir = expected_dir();
    (dir.join(SPEC).is_file() && dir.join(ADF_SCHEMA).is_file()).then_some(dir)
}

/// What to say when the files are missing.
pub fn missing_message() -> String {
    format!(
        "jira reference spec not found: expected {SPEC} and {ADF_SCHEMA} in {} \
         (Atlassian's files; set TWINSYNC_JIRA_SPEC_DIR to another directory that holds them)",
        expected_dir().display()
    )
}

/// The reference directory; fails the test, saying where the files are
/// expected, when they are not there.
pub fn required_dir() -> PathBuf {
    find_dir().unwrap_or_else(|| panic!("{}", missing_message()))
}

pub fn load(dir: &Path, name: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(name))
        .unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not json: {e}"))
}

/// The ADF schema (draft-04) as a validator.
pub fn adf_validator(dir: &Path) -> jsonschema::Validator {
    jsonschema::draft4::options()
        .build(&load(dir, ADF_SCHEMA))
        .expect("the adf schema compiles")
}

/// Validators for the schemas of Atlassian's OpenAPI spec, with `$ref`s into
/// `#/components/schemas/…` resolved inside the spec.
pub struct Spec {
    doc: Value,
    cache: BTreeMap<String, jsonschema::Validator>,
    /// The spec's path templates, split into segments.
    templates: Vec<(Vec<String>, String)>,
}

impl Spec {
    pub fn new(doc: Value) -> Self {
        let templates = doc
            .get("paths")
            .and_then(Value::as_object)
            .map(|paths| {
                paths
                    .keys()
                    .map(|k| (k.split('/').map(str::to_owned).collect(), k.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Spec {
            doc,
            cache: BTreeMap::new(),
            templates,
        }
    }

    pub fn operation(&self, method: &str, route: &str) -> Option<&Value> {
        self.doc
            .get("paths")?
            .get(route)?
            .get(method.to_ascii_lowercase())
    }

    /// The spec's template for a concrete path (`/rest/api/3/issue/SUP-1` →
    /// `/rest/api/3/issue/{issueIdOrKey}`), preferring literal segments, among
    /// the templates that have `method`.
    pub fn template_of(&self, method: &str, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.split('/').collect();
        self.templates
            .iter()
            .filter(|(t, _)| t.len() == segments.len())
            .filter(|(t, _)| {
                t.iter()
                    .zip(&segments)
                    .all(|(t, s)| t == s || (t.starts_with('{') && t.ends_with('}')))
            })
            .filter(|(_, key)| self.operation(method, key).is_some())
            .min_by_key(|(t, _)| t.iter().filter(|s| s.starts_with('{')).count())
            .map(|(_, key)| key.clone())
    }

    /// A validator for `schema`, an OpenAPI schema object from the spec.
    pub fn validator(&mut self, id: String, schema: &Value) -> &jsonschema::Validator {
        let components = &self.doc["components"];
        self.cache.entry(id).or_insert_with(|| {
            let mut root = match schema {
                Value::Object(map) => map.clone(),
                _ => serde_json::Map::new(),
            };
            root.insert("components".into(), components.clone());
            // Jira writes times as `2021-01-17T12:34:00.000+0000` (the spec's own
            // examples do), which its `format: date-time` would refuse; the
            // emulator sends what Jira sends, so formats are not checked.
            jsonschema::draft4::options()
                .should_validate_formats(false)
                .build(&Value::Object(root))
                .expect("the spec's schema compiles")
        })
    }

    /// The problems of `instance` against `schema` (at most five), none if valid.
    pub fn problems(&mut self, what: &str, schema: &Value, instance: &Value) -> Vec<String> {
        self.validator(what.to_owned(), schema)
            .iter_errors(instance)
            .map(|e| format!("{what}: {} at {}", e, e.instance_path()))
            .take(5)
            .collect()
    }

    fn validate(
        &mut self,
        what: String,
        schema: &Value,
        instance: &Value,
        checked: &mut Vec<String>,
        failures: &mut Vec<String>,
    ) {
        let errors = self.problems(&what, schema, instance);
        if errors.is_empty() {
            checked.push(what);
        } else {
            failures.extend(errors);
        }
    }

    /// Checks a request body sent to `method path` against the operation's
    /// request schema; `Err` with the problems.
    pub fn check_request(&mut self, method: &str, path: &str, body: &Value) -> Vec<String> {
        let Some(route) = self.template_of(method, path) else {
            return vec![format!("{method} {path} is not an operation of the spec")];
        };
        let op = self.operation(method, &route).cloned().unwrap_or_default();
        match op.pointer("/requestBody/content/application~1json/schema") {
            Some(schema) => self.problems(&format!("request {method} {route}"), schema, body),
            None => vec![format!("{method} {route} takes no json body in the spec")],
        }
    }

    /// Checks an exchange; returns what was validated, or the failures.
    pub fn check(&mut self, x: &Exchange) -> Result<Vec<String>, Vec<String>> {
        let route = x.route.clone().unwrap_or_default();
        let Some(op) = self.operation(&x.method, &route).cloned() else {
            return Err(vec![format!("{} {route} is not in the spec", x.method)]);
        };
        let mut checked = Vec::new();
        let mut failures = Vec::new();
        if let Some(body) = &x.request {
            match op.pointer("/requestBody/content/application~1json/schema") {
                Some(schema) => {
                    let what = format!("request {} {route}", x.method);
                    self.validate(what, schema, body, &mut checked, &mut failures);
                }
                None => failures.push(format!(
                    "{} {route} takes no json body in the spec",
                    x.method
                )),
            }
        }
        let status = x.status.to_string();
        let Some(answer) = op.pointer(&format!("/responses/{status}")) else {
            return Err(vec![format!(
                "{} {route} never answers {status} in the spec",
                x.method
            )]);
        };
        if let (Some(body), Some(schema)) = (
            &x.response,
            answer.pointer("/content/application~1json/schema"),
        ) {
            let what = format!("response {status} {} {route}", x.method);
            self.validate(what, schema, body, &mut checked, &mut failures);
        }
        if failures.is_empty() {
            Ok(checked)
        } else {
            Err(failures)
        }
    }
}

/// Every ADF document inside `value` (objects with `"type": "doc"`).
pub fn adf_documents<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Object(map) => {
            if map.get("type") == Some(&json!("doc")) && map.contains_key("content") {
                out.push(value);
                return;
            }
            for v in map.values() {
                adf_documents(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| adf_documents(v, out)),
        _ => {}
    }
}

/// A strict-mode validator: every JSON body sent to `/rest/api/3/…` must fit
/// its operation's request schema in Atlassian's spec, and every ADF document
/// in it the ADF schema. (The spec describes v3; v2 bodies, wiki-markup
/// strings, are let through.) Clones share the loaded files.
#[derive(Clone)]
pub struct StrictValidator(Arc<Inner>);

struct Inner {
    checked: AtomicUsize,
    spec: Mutex<Spec>,
    adf: jsonschema::Validator,
}

impl StrictValidator {
    /// Reads the reference files; fails the test when they are missing.
    pub fn load() -> Self {
        let dir = required_dir();
        StrictValidator(Arc::new(Inner {
            checked: AtomicUsize::new(0),
            spec: Mutex::new(Spec::new(load(&dir, SPEC))),
            adf: adf_validator(&dir),
        }))
    }

    /// How many v3 request bodies were checked.
    pub fn checked(&self) -> usize {
        self.0.checked.load(Ordering::SeqCst)
    }

    /// The problems of one request body (none when Jira would take it).
    pub fn problems(&self, request: &CheckedRequest<'_>) -> Vec<String> {
        if !request.path.starts_with("/rest/api/3/") {
            return Vec::new();
        }
        self.0.checked.fetch_add(1, Ordering::SeqCst);
        let mut problems = self
            .0
            .spec
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .check_request(request.method, request.path, request.body);
        let mut docs = Vec::new();
        adf_documents(request.body, &mut docs);
        for doc in docs {
            for e in self.0.adf.iter_errors(doc).take(3) {
                problems.push(format!("adf: {e} at {}", e.instance_path()));
            }
        }
        problems
    }
}

impl RequestValidator for StrictValidator {
    fn validate(&self, request: &CheckedRequest<'_>) -> Result<(), Vec<String>> {
        let problems = self.problems(request);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}
