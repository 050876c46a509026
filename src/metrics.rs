//! The metrics a node reports, through the [`metrics`] facade.
//!
//! The engine counts what it does in a few places (the tracker wrapper every
//! node puts around its tracker, the cycle, the apply path, the run loop)
//! with the `metrics` crate's macros. Without an installed recorder a count
//! costs next to nothing; install one to see them:
//!
//! - with feature `prometheus`,
//!   [`server::ops::install_prometheus`](crate::server::ops::install_prometheus)
//!   installs the Prometheus recorder (histogram buckets set as below) and
//!   gives the handle that `/metrics` renders;
//! - or install any recorder of your own (`metrics::set_global_recorder`,
//!   or an exporter crate's `install`) before building nodes, and call
//!   [`describe`] once after it, so that it knows each metric's meaning and
//!   unit.
//!
//! Every metric carries a `tracker` label: the node's tracker instance URL
//! (normalized, never with credentials), so that nodes of one process stay
//! apart. Labels are bounded: connection names, operation and error kind
//! names; never an issue key, a user or a secret.
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `twinsync_cycles_total` | counter | `connection`, `result` (`ok`, `error`) | sync cycles run (reconcile sweeps included) |
//! | `twinsync_cycle_duration_seconds` | histogram | `connection` | how long a cycle took, on the node's clock |
//! | `twinsync_tracker_reads_total` | counter | `op` | read calls made to the tracker (each attempt) |
//! | `twinsync_tracker_writes_total` | counter | `op` | write calls made to the tracker (each attempt) |
//! | `twinsync_tracker_errors_total` | counter | `op`, `kind`, `temporary` | tracker calls that failed |
//! | `twinsync_errors_total` | counter | `connection`, `kind`, `temporary`, `at` (`twin`, `cycle`) | failures the engine recorded: a twin's sync (as the sync panel lists it) or a whole cycle |
//! | `twinsync_rate_limit_holds_total` | counter | `scope` (`call`, `twin`, `connection`) | waits because the tracker said "too many requests" |
//! | `twinsync_rate_limit_hold_seconds_total` | counter | `scope` | the seconds those waits asked for (each rounded up to a whole second) |
//! | `twinsync_sync_latency_seconds` | histogram | `connection` | from an edit (the origin issue's update time, as its tracker recorded it) to its twin written |
//! | `twinsync_twins_under_sync` | gauge | `connection` | twins of the connection |
//! | `twinsync_queue_length` | gauge | `connection` | issues queued for the next cycle |
//! | `twinsync_outbox_length` | gauge | `connection` | messages waiting for the other node |
//!
//! `op` is a [`Tracker`](crate::tracker::Tracker) method name
//! (`create_issue`, `add_comment`, `updated_since`, …); `kind` an
//! [`ErrorKind`] in snake case (`not_found`, `rate_limited`, …); `temporary`
//! `true` or `false`.
//!
//! Where each is counted, and what to know when reading them:
//!
//! - Tracker calls are counted below the node's retries: a call retried three
//!   times counts three calls (what the tracker's API received).
//! - `twinsync_errors_total{at="twin"}` counts each failed sync of a twin (a
//!   local cycle, an exalate, a replica received from the other node);
//!   `at="cycle"` each cycle that failed as a whole (the tracker down, a
//!   missing project). A connection-wide failure met while syncing a twin
//!   fails both, and counts at both.
//! - Rate-limit holds: `call` when a tracker call was answered "rate
//!   limited" (the call waits its `Retry-After` and is tried again); `twin`
//!   when a twin's sync failed rate limited and backs off; `connection`
//!   when [`Node::run`](crate::engine::Node::run) held back a connection's
//!   cycles after a cycle failed rate limited.
//! - Latency is observed for changes of twins that exist already (an issue
//!   brought under sync may have been edited long before), once per applied
//!   change that wrote something, on the node's clock; an origin clock ahead
//!   of the node's counts as zero. A change that failed and was retried
//!   counts when it finally lands.
//! - The gauges are set at the end of each cycle of the connection: the
//!   queue and outbox lengths every cycle (the store counts them); the twin
//!   count on the connection's first cycle, after a cycle in which a trigger
//!   brought issues under sync, and otherwise at most every five minutes (a
//!   count reads every twin's row, so a quiet cycle does not count). A twin
//!   exalated or unexalated by hand shows within five minutes.
//!
//! Webhook deliveries (`twinsync_webhook_deliveries_total{result}`) are
//! counted by the webhook handler.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, ErrorKind};

/// `twinsync_cycles_total`: see the [module docs](self).
pub const CYCLES: &str = "twinsync_cycles_total";
/// `twinsync_cycle_duration_seconds`.
pub const CYCLE_DURATION: &str = "twinsync_cycle_duration_seconds";
/// `twinsync_tracker_reads_total`.
pub const TRACKER_READS: &str = "twinsync_tracker_reads_total";
/// `twinsync_tracker_writes_total`.
pub const TRACKER_WRITES: &str = "twinsync_tracker_writes_total";
/// `twinsync_tracker_errors_total`.
pub const TRACKER_ERRORS: &str = "twinsync_tracker_errors_total";
/// `twinsync_errors_total`.
pub const ERRORS: &str = "twinsync_errors_total";
/// `twinsync_rate_limit_holds_total`.
pub const RATE_LIMIT_HOLDS: &str = "twinsync_rate_limit_holds_total";
/// `twinsync_rate_limit_hold_seconds_total`.
pub const RATE_LIMIT_HOLD_SECONDS: &str = "twinsync_rate_limit_hold_seconds_total";
/// `twinsync_sync_latency_seconds`.
pub const SYNC_LATENCY: &str = "twinsync_sync_latency_seconds";
/// `twinsync_twins_under_sync`.
pub const TWINS: &str = "twinsync_twins_under_sync";
/// `twinsync_queue_length`.
pub const QUEUE_LENGTH: &str = "twinsync_queue_length";
/// `twinsync_outbox_length`.
pub const OUTBOX_LENGTH: &str = "twinsync_outbox_length";

/// Histogram buckets (upper bounds, in seconds) for
/// [`SYNC_LATENCY`]: from a webhook-fast second to a day behind.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 21600.0, 86400.0,
];

/// Histogram buckets (upper bounds, in seconds) for [`CYCLE_DURATION`].
pub const CYCLE_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

/// Tells the installed recorder what each metric means and its unit (an
/// exporter shows them as `# HELP` lines). Call it once after installing a
/// recorder of your own;
/// [`install_prometheus`](crate::server::ops::install_prometheus) does.
pub fn describe() {
    use ::metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(CYCLES, "Sync cycles run, by connection and result");
    describe_histogram!(CYCLE_DURATION, Unit::Seconds, "How long a sync cycle took");
    describe_counter!(TRACKER_READS, "Read calls made to the tracker, by method");
    describe_counter!(TRACKER_WRITES, "Write calls made to the tracker, by method");
    describe_counter!(
        TRACKER_ERRORS,
        "Tracker calls that failed, by method and error kind"
    );
    describe_counter!(
        ERRORS,
        "Failures the engine recorded (a twin's sync or a whole cycle), by error kind"
    );
    describe_counter!(
        RATE_LIMIT_HOLDS,
        "Waits because the tracker said too many requests"
    );
    describe_counter!(
        RATE_LIMIT_HOLD_SECONDS,
        Unit::Seconds,
        "Seconds of the waits the rate limits asked for"
    );
    describe_histogram!(
        SYNC_LATENCY,
        Unit::Seconds,
        "From an edit of an issue under sync to its twin written"
    );
    describe_gauge!(TWINS, "Twins under sync, by connection");
    describe_gauge!(
        QUEUE_LENGTH,
        "Issues queued for the next cycle, by connection"
    );
    describe_gauge!(
        OUTBOX_LENGTH,
        "Messages waiting for the other node, by connection"
    );
}

/// An error kind as a label value: its name in snake case.
pub fn kind_label(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::NotFound => "not_found",
        ErrorKind::AlreadyExists => "already_exists",
        ErrorKind::Conflict => "conflict",
        ErrorKind::PermissionDenied => "permission_denied",
        ErrorKind::Unauthenticated => "unauthenticated",
        ErrorKind::RateLimited => "rate_limited",
        ErrorKind::Unsupported => "unsupported",
        ErrorKind::InvalidInput => "invalid_input",
        ErrorKind::InvalidConfig => "invalid_configuration",
        ErrorKind::Incompatible => "incompatible",
        ErrorKind::Unavailable => "unavailable",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Storage => "storage",
        ErrorKind::Refused => "refused",
        ErrorKind::Superseded => "superseded",
        ErrorKind::Unexpected => "unexpected",
    }
}

fn flag(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// A tracker call made (`write`: whether it changes the tracker) and, when
/// it failed, its error.
pub(crate) fn tracker_call(
    tracker: &Arc<str>,
    op: &'static str,
    write: bool,
    error: Option<&Error>,
) {
    let name = if write { TRACKER_WRITES } else { TRACKER_READS };
    ::metrics::counter!(name, "tracker" => tracker.clone(), "op" => op).increment(1);
    let Some(err) = error else { return };
    ::metrics::counter!(
        TRACKER_ERRORS,
        "tracker" => tracker.clone(),
        "op" => op,
        "kind" => kind_label(err.kind()),
        "temporary" => flag(err.is_temporary()),
    )
    .increment(1);
    if err.kind() == ErrorKind::RateLimited {
        rate_limit_hold(tracker, "call", err.retry_after().unwrap_or_default());
    }
}

/// A wait because of a rate limit, of `scope` (`call`, `twin`, `connection`).
pub(crate) fn rate_limit_hold(tracker: &Arc<str>, scope: &'static str, wait: Duration) {
    ::metrics::counter!(RATE_LIMIT_HOLDS, "tracker" => tracker.clone(), "scope" => scope)
        .increment(1);
    ::metrics::counter!(
        RATE_LIMIT_HOLD_SECONDS,
        "tracker" => tracker.clone(),
        "scope" => scope,
    )
    .increment((wait.as_millis() as u64).div_ceil(1000));
}

/// A failure the engine recorded `at` a twin or a cycle.
pub(crate) fn error(tracker: &Arc<str>, connection: &str, at: &'static str, err: &Error) {
    ::metrics::counter!(
        ERRORS,
        "tracker" => tracker.clone(),
        "connection" => connection.to_owned(),
        "kind" => kind_label(err.kind()),
        "temporary" => flag(err.is_temporary()),
        "at" => at,
    )
    .increment(1);
}

/// A cycle that ended, after `took`.
pub(crate) fn cycle(tracker: &Arc<str>, connection: &str, ok: bool, took: Duration) {
    let result = if ok { "ok" } else { "error" };
    ::metrics::counter!(
        CYCLES,
        "tracker" => tracker.clone(),
        "connection" => connection.to_owned(),
        "result" => result,
    )
    .increment(1);
    ::metrics::histogram!(
        CYCLE_DURATION,
        "tracker" => tracker.clone(),
        "connection" => connection.to_owned(),
    )
    .record(took.as_secs_f64());
}

/// An applied change's latency.
pub(crate) fn latency(tracker: &Arc<str>, connection: &str, latency: Duration) {
    ::metrics::histogram!(
        SYNC_LATENCY,
        "tracker" => tracker.clone(),
        "connection" => connection.to_owned(),
    )
    .record(latency.as_secs_f64());
}

/// Sets one of the per-connection gauges.
pub(crate) fn gauge(name: &'static str, tracker: &Arc<str>, connection: &str, value: u64) {
    ::metrics::gauge!(
        name,
        "tracker" => tracker.clone(),
        "connection" => connection.to_owned(),
    )
    .set(value as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_labels_are_snake_case_names() {
        for kind in [
            ErrorKind::NotFound,
            ErrorKind::RateLimited,
            ErrorKind::InvalidConfig,
            ErrorKind::Unexpected,
        ] {
            let label = kind_label(kind);
            assert!(
                label.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{label}"
            );
        }
    }
}
