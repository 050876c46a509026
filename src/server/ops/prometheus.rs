//! The Prometheus recorder behind `/metrics` (feature `prometheus`).

use std::time::Duration;

use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use crate::error::{Error, ErrorKind, Result};
use crate::metrics::{CYCLE_BUCKETS, CYCLE_DURATION, LATENCY_BUCKETS, SYNC_LATENCY};

/// A Prometheus recorder for twinsync's metrics, not installed: histograms
/// get buckets ([`LATENCY_BUCKETS`], [`CYCLE_BUCKETS`]) so that they render
/// as Prometheus histograms. Install it yourself, or use it for one thread
/// (`metrics::with_local_recorder`, as tests do); its
/// [`handle`](PrometheusRecorder::handle) renders what it recorded.
pub fn prometheus_recorder() -> PrometheusRecorder {
    // Both bucket lists are constants and not empty: setting them cannot fail.
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(SYNC_LATENCY.to_owned()), LATENCY_BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full(CYCLE_DURATION.to_owned()), CYCLE_BUCKETS)
        })
        .unwrap_or_else(|err| {
            tracing::error!(error = %err, "histogram buckets refused; histograms render as summaries");
            PrometheusBuilder::new()
        });
    builder.build_recorder()
}

/// Installs [`prometheus_recorder`] as the process's recorder, describes
/// twinsync's metrics to it ([`describe`](crate::metrics::describe)) and
/// returns the handle for [`Ops::prometheus`](super::Ops::prometheus).
///
/// Install it once, before building nodes. Histogram samples are kept until
/// the next render (a scrape) or upkeep: run [`upkeep`] beside the server
/// when nobody may scrape for a long time.
///
/// To use another recorder (another exporter, or several combined), install
/// it instead with `metrics::set_global_recorder`, call
/// [`describe`](crate::metrics::describe), and give `/metrics` its text with
/// [`Ops::metrics_with`](super::Ops::metrics_with).
///
/// # Errors
///
/// `InvalidConfig` when a recorder is installed already.
pub fn install_prometheus() -> Result<PrometheusHandle> {
    let recorder = prometheus_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| {
        Error::new(
            ErrorKind::InvalidConfig,
            format!("cannot install the Prometheus recorder: {e}"),
        )
    })?;
    crate::metrics::describe();
    Ok(handle)
}

/// Runs the recorder's upkeep every `every` (real time), forever: drop or
/// cancel the future to stop it. Keeps histogram samples from piling up
/// between scrapes.
pub async fn upkeep(handle: PrometheusHandle, every: Duration) {
    loop {
        futures_timer::Delay::new(every).await;
        handle.run_upkeep();
    }
}
