//! Sign-in throttling: after [`MAX_FAILURES`] wrong passwords for one name
//! within [`WINDOW_SECS`], that name may not sign in until the window ends,
//! so a password cannot be guessed at the speed of the network. Names that
//! are no operator's share one count, so the table stays small.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use time::OffsetDateTime;

/// Wrong passwords allowed per name and window.
pub const MAX_FAILURES: u32 = 10;
/// The window, in seconds.
pub const WINDOW_SECS: i64 = 600;

/// Failed sign-ins per name: how many, since when (unix seconds).
#[derive(Debug, Default)]
pub(super) struct Throttle {
    failures: Mutex<HashMap<String, (u32, i64)>>,
}

impl Throttle {
    fn now() -> i64 {
        OffsetDateTime::now_utc().unix_timestamp()
    }

    /// Seconds until `key` may try again, when it may not now.
    pub fn wait(&self, key: &str) -> Option<i64> {
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let (count, since) = *failures.get(key)?;
        let left = since + WINDOW_SECS - Self::now();
        (count >= MAX_FAILURES && left > 0).then_some(left)
    }

    /// Counts a wrong password for `key`.
    pub fn failed(&self, key: &str) {
        let now = Self::now();
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        failures.retain(|_, (_, since)| *since + WINDOW_SECS > now);
        let entry = failures.entry(key.to_owned()).or_insert((0, now));
        entry.0 += 1;
    }

    /// Forgets `key`'s failures (it signed in).
    pub fn succeeded(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_held_back_after_too_many_failures_and_freed_by_a_success() {
        let throttle = Throttle::default();
        for _ in 0..MAX_FAILURES - 1 {
            throttle.failed("ada");
        }
        assert_eq!(throttle.wait("ada"), None);
        throttle.failed("ada");
        let left = throttle.wait("ada").expect("held back");
        assert!(left > 0 && left <= WINDOW_SECS, "{left}");
        assert_eq!(throttle.wait("bob"), None, "others are not");
        throttle.succeeded("ada");
        assert_eq!(throttle.wait("ada"), None);
    }
}
