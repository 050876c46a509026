//! Crashes on purpose: a switch shared by a tracker wrapper and a store
//! wrapper that counts every tracker call and every store commit as a step and
//! "kills the process" at a chosen step: from then on no call reaches the
//! tracker and no commit reaches the store, exactly as if the process died.
//! The switch can also stall the process: a chosen tracker call waits, before
//! it is sent, until the test lets it go (a worker paused past its lease).

use std::fmt;
use std::sync::{Arc, Mutex};

use crate::error::{Error, ErrorKind, Result};
use crate::store::{Store, StoreTxn};
use crate::tracker::Tracker;

/// How the crash happens at its step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashMode {
    /// Before the step takes effect (the call is not sent, the commit not made).
    Before,
    /// After the step took effect but before its answer arrives (a tracker
    /// call applied with its answer lost; a commit made).
    After,
}

#[derive(Debug, Default)]
struct SwitchState {
    steps: u64,
    crash_at: Option<(u64, CrashMode)>,
    crashed: bool,
    /// Tracker calls so far, and the one that stalls with its gate.
    calls: u64,
    stall_at: Option<(u64, futures::channel::oneshot::Receiver<()>)>,
}

/// Counts steps and decides when the crash happens. Clones share the switch.
#[derive(Clone, Debug, Default)]
pub struct CrashSwitch {
    state: Arc<Mutex<SwitchState>>,
}

enum Step {
    Go,
    GoThenCrash,
    Dead,
}

fn dead() -> Error {
    Error::new(ErrorKind::Unavailable, "the process crashed (simulated)")
}

impl CrashSwitch {
    /// A switch that never crashes until told.
    pub fn new() -> Self {
        CrashSwitch::default()
    }

    /// Crashes at step `at` (counted from now, 1 = the next step).
    pub fn crash_in(&self, at: u64, mode: CrashMode) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.crash_at = Some((s.steps + at.max(1), mode));
    }

    /// Whether the crash happened.
    pub fn crashed(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).crashed
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).steps
    }

    /// Stalls the process at tracker call `at` (counted from now, 1 = the
    /// next call): that call waits, before it is sent, until the returned
    /// sender sends or is dropped.
    pub fn stall_in(&self, at: u64) -> futures::channel::oneshot::Sender<()> {
        let (go, gate) = futures::channel::oneshot::channel();
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.stall_at = Some((s.calls + at.max(1), gate));
        go
    }

    /// Drops a stall planned and not reached.
    pub fn clear_stall(&self) {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .stall_at = None;
    }

    /// The gate a tracker call waits at, when this call stalls.
    fn tracker_call(&self) -> Option<futures::channel::oneshot::Receiver<()>> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.calls += 1;
        if s.stall_at.as_ref().is_some_and(|(at, _)| *at == s.calls) {
            return s.stall_at.take().map(|(_, gate)| gate);
        }
        None
    }

    /// Back to life (a restarted process), with no crash planned.
    pub fn revive(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.crashed = false;
        s.crash_at = None;
    }

    fn step(&self) -> Step {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.crashed {
            return Step::Dead;
        }
        s.steps += 1;
        match s.crash_at {
            Some((at, mode)) if at == s.steps => {
                s.crashed = true;
                match mode {
                    CrashMode::Before => Step::Dead,
                    CrashMode::After => Step::GoThenCrash,
                }
            }
            _ => Step::Go,
        }
    }
}

/// A tracker that dies with its [`CrashSwitch`].
pub struct CrashTracker {
    inner: Arc<dyn Tracker>,
    switch: CrashSwitch,
}

impl fmt::Debug for CrashTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrashTracker")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl CrashTracker {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Tracker>, switch: CrashSwitch) -> Self {
        CrashTracker { inner, switch }
    }
}

/// Each call of [`CrashTracker`] is a step, except `capabilities` and
/// `instance`: starting a node is not a step, it happens after the restart.
macro_rules! step {
    ($self:ident, $method:ident, local, $args:tt, $call:expr) => {
        $call
    };
    ($self:ident, instance, $kind:ident, $args:tt, $call:expr) => {
        $call
    };
    ($self:ident, $method:ident, $kind:ident, $args:tt, $call:expr) => {{
        if let Some(gate) = $self.switch.tracker_call() {
            // Stalled: the call waits until the test lets it go.
            let _ = gate.await;
        }
        match $self.switch.step() {
            Step::Dead => Err(dead()),
            Step::Go => $call,
            Step::GoThenCrash => {
                let _lost = $call;
                Err(dead())
            }
        }
    }};
}

crate::forward_tracker!([] CrashTracker, inner, step);

/// A store that dies with its [`CrashSwitch`]: each commit is a step; after
/// the crash every commit fails and rolls back.
#[derive(Debug)]
pub struct CrashStore {
    inner: Arc<dyn Store>,
    switch: CrashSwitch,
}

impl CrashStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>, switch: CrashSwitch) -> Self {
        CrashStore { inner, switch }
    }
}

impl Store for CrashStore {
    fn begin(&self) -> Result<Box<dyn StoreTxn + '_>> {
        if self.switch.crashed() {
            return Err(dead());
        }
        Ok(Box::new(CrashTxn {
            inner: self.inner.begin()?,
            switch: &self.switch,
        }))
    }
}

struct CrashTxn<'a> {
    inner: Box<dyn StoreTxn + 'a>,
    switch: &'a CrashSwitch,
}

impl StoreTxn for CrashTxn<'_> {
    crate::store::forward_store_txn!(inner);

    fn commit(self: Box<Self>) -> Result<()> {
        match self.switch.step() {
            Step::Dead => Err(dead()),
            Step::Go => self.inner.commit(),
            Step::GoThenCrash => {
                self.inner.commit()?;
                Err(dead())
            }
        }
    }
}
