//! The recorded exchanges of every released protocol version
//! (`tests/fixtures/wire/`) still read: every request, response and signed
//! body parses into this build's messages, and those of the current version
//! write back exactly as recorded.

use serde_json::Value;

use super::wire::{Body, Request, Response};
use crate::connection::PROTOCOL_VERSION;

fn fixture(version: u16) -> Vec<Value> {
    let path = format!(
        "{}/tests/fixtures/wire/protocol-{version}.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{path}: {e}")))
        .collect()
}

/// Parses `value` as `T`; for the current version it must also write back
/// as recorded (no field renamed, dropped or added).
fn reads<T>(what: &str, value: &Value, exact: bool)
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    let parsed: T = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("a recorded {what} no longer reads ({e}): {value}"));
    if exact {
        let back = serde_json::to_value(&parsed).unwrap();
        assert_eq!(&back, value, "a recorded {what} writes back differently");
    }
}

/// The bodies inside a signed message, messages within `messages` included.
fn bodies(message: &Value) -> Vec<Value> {
    if message["type"] != "signed" {
        return Vec::new();
    }
    let body: Value = serde_json::from_str(message["body"].as_str().unwrap()).unwrap();
    let mut out: Vec<Value> = body["items"].as_array().cloned().unwrap_or_default();
    out.push(body);
    out
}

#[test]
fn every_released_protocol_version_still_reads() {
    for version in 1..=PROTOCOL_VERSION {
        let exact = version == PROTOCOL_VERSION;
        let exchanges = fixture(version);
        assert!(
            !exchanges.is_empty(),
            "protocol {version}: an empty fixture"
        );
        for exchange in &exchanges {
            reads::<Request>("request", &exchange["request"], exact);
            reads::<Response>("response", &exchange["response"], exact);
            for message in [&exchange["request"], &exchange["response"]] {
                for body in bodies(message) {
                    reads::<Body>("body", &body, exact);
                }
            }
        }
    }
}

#[test]
fn a_message_that_changed_shape_is_caught() {
    // The check can fail: a recorded hello without its protocol, or with a
    // renamed field, does not pass as the current version.
    let broken = serde_json::json!({"type": "hello", "protocole": 2});
    assert!(serde_json::from_value::<Request>(broken).is_err());
    let renamed = serde_json::json!({
        "type": "hello", "protocol": 2, "instance": "https://a.example",
        "node_url": "https://a.example/node", "features": [],
    });
    let parsed: Response = serde_json::from_value(renamed.clone()).unwrap();
    assert_ne!(serde_json::to_value(parsed).unwrap(), renamed);
}
