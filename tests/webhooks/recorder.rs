//! A `metrics` recorder for this test binary: counters by name and labels.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use metrics::{
    Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};

type Counts = Arc<Mutex<BTreeMap<String, u64>>>;

struct Counting(Counts);

struct One {
    key: String,
    counts: Counts,
}

impl CounterFn for One {
    fn increment(&self, value: u64) {
        *self
            .counts
            .lock()
            .unwrap()
            .entry(self.key.clone())
            .or_default() += value;
    }

    fn absolute(&self, value: u64) {
        self.counts.lock().unwrap().insert(self.key.clone(), value);
    }
}

impl Recorder for Counting {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        Counter::from_arc(Arc::new(One {
            key: format!("{}{{{}}}", key.name(), labels.join(",")),
            counts: self.0.clone(),
        }))
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

/// The counters recorded so far (the recorder is installed on first call).
pub fn counter(name_and_labels: &str) -> u64 {
    static COUNTS: OnceLock<Counts> = OnceLock::new();
    let counts = COUNTS.get_or_init(|| {
        let counts = Counts::default();
        metrics::set_global_recorder(Counting(counts.clone()))
            .expect("no other recorder in this test binary");
        counts
    });
    counts
        .lock()
        .unwrap()
        .get(name_and_labels)
        .copied()
        .unwrap_or(0)
}
