//! [`Metered`]: the wrapper every node puts around its tracker to count the
//! calls it makes and the errors they return (see [`crate::metrics`]).

use std::fmt;
use std::sync::Arc;

use super::Tracker;

/// A tracker whose calls are counted: reads and writes by method, failures by
/// method and error kind, rate limits as holds. The node wraps its tracker in
/// one, below its retries, so each attempt counts.
pub(crate) struct Metered {
    inner: Arc<dyn Tracker>,
    /// The `tracker` label: the instance URL.
    label: Arc<str>,
}

impl Metered {
    pub(crate) fn new(inner: Arc<dyn Tracker>, label: impl Into<Arc<str>>) -> Self {
        Metered {
            inner,
            label: label.into(),
        }
    }

    fn count<T>(&self, op: &'static str, write: bool, result: &crate::Result<T>) {
        crate::metrics::tracker_call(&self.label, op, write, result.as_ref().err());
    }
}

impl fmt::Debug for Metered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The wrapper is invisible: it shows as the tracker it counts.
        self.inner.fmt(f)
    }
}

/// Each call of [`Metered`]: `capabilities` is answered locally and not
/// counted; every other call counts as a read or a write.
macro_rules! metered {
    ($self:ident, $method:ident, local, $args:tt, $call:expr) => {
        $call
    };
    ($self:ident, $method:ident, read, $args:tt, $call:expr) => {{
        let result = $call;
        $self.count(stringify!($method), false, &result);
        result
    }};
    ($self:ident, $method:ident, $kind:ident, $args:tt, $call:expr) => {{
        let result = $call;
        $self.count(stringify!($method), true, &result);
        result
    }};
}

crate::forward_tracker!([] Metered, inner, metered);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::ids as lit;
    use crate::testkit::setup_memory_tracker;
    use crate::tracker::memory::{Fault, OpKind};
    use crate::tracker::{MemoryTracker, NewIssue};
    use futures::executor::block_on;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    #[test]
    fn counts_reads_writes_and_failures_by_method() {
        let memory = MemoryTracker::new("https://metered.example").unwrap();
        setup_memory_tracker(&memory);
        let tracker = Metered::new(Arc::new(memory.clone()), "https://metered.example");
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            block_on(async {
                tracker
                    .create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "x"))
                    .await
                    .unwrap();
                tracker
                    .create_issues(&[
                        NewIssue::new(lit::project("SUP"), "Bug", "y"),
                        NewIssue::new(lit::project("SUP"), "Bug", "z"),
                    ])
                    .await
                    .unwrap();
                memory.inject(OpKind::GetIssue, Fault::ServerError);
                tracker.issue_by_key(&lit::key("SUP-1")).await.unwrap_err();
                tracker.issue_by_key(&lit::key("SUP-1")).await.unwrap();
            })
        });
        let mut seen = Vec::new();
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let key = key.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let DebugValue::Counter(n) = value else {
                continue;
            };
            seen.push(format!("{} {} {n}", key.name(), labels.join(",")));
        }
        seen.sort();
        let tracker = "tracker=https://metered.example";
        assert_eq!(
            seen,
            [
                format!(
                    "twinsync_tracker_errors_total kind=unavailable,op=issue_by_key,temporary=true,{tracker} 1"
                ),
                format!("twinsync_tracker_reads_total op=issue_by_key,{tracker} 2"),
                format!("twinsync_tracker_writes_total op=create_issue,{tracker} 1"),
                format!("twinsync_tracker_writes_total op=create_issues,{tracker} 1"),
            ]
        );
    }
}
