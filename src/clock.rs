//! Injectable time: the engine and the in-memory tracker never read the system
//! clock directly, so tests and simulations run on virtual time.

use std::fmt::Debug;
use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use time::OffsetDateTime;

/// A source of the current time and of delays.
///
/// Implementations must be cheap to call and safe to share between threads.
pub trait Clock: Debug + Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> OffsetDateTime;

    /// A future that completes after `duration` has passed on this clock.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// The real wall clock; `sleep` uses a runtime-independent timer thread.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(futures_timer::Delay::new(duration))
    }
}

/// A virtual clock that only moves when told to, or when somebody sleeps on it.
///
/// `sleep` advances the clock by the requested duration and completes at once,
/// so a test that waits an hour for a rate limit runs in microseconds and stays
/// deterministic.
///
/// ```
/// use std::time::Duration;
/// use twinsync::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::new(time::macros::datetime!(2026-01-01 0:00 UTC));
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(clock.now(), time::macros::datetime!(2026-01-01 0:01:30 UTC));
/// futures::executor::block_on(clock.sleep(Duration::from_secs(30)));
/// assert_eq!(clock.now(), time::macros::datetime!(2026-01-01 0:02 UTC));
/// ```
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        ManualClock {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    /// Sets the clock to `to` (which may be earlier, to model clock skew).
    pub fn set(&self, to: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Default for ManualClock {
    /// A clock standing at 2026-01-01 00:00 UTC.
    fn default() -> Self {
        ManualClock::new(time::macros::datetime!(2026-01-01 0:00 UTC))
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.advance(duration);
        Box::pin(futures::future::ready(()))
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        (**self).sleep(duration)
    }
}
