//! [`Scheduling`]: what [`Node::run`](crate::engine::Node::run) shares with
//! the rest of the node. A leaf module: the node's state holds it.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures::task::AtomicWaker;

use crate::model::{ConnectionId, IssueKey};

/// The scheduler's shared flags: connections told of a change, the running
/// loop's waker, whether a shutdown was asked for, and connections whose
/// next cycle scans everything.
#[derive(Default)]
pub(in crate::engine) struct Scheduling {
    notified: Mutex<BTreeSet<ConnectionId>>,
    waker: AtomicWaker,
    stopping: AtomicBool,
    full_scan: Mutex<HashSet<ConnectionId>>,
    /// Issues hinted (by a webhook) per connection since its last cycle.
    hints: Mutex<BTreeMap<ConnectionId, BTreeSet<IssueKey>>>,
}

/// What became of one hint for one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::engine) enum HintTaken {
    /// Queued (or already pending); the connection is woken.
    Queued,
    /// The intake holds `capacity` issues already: dropped.
    Full,
}

impl Scheduling {
    /// Marks `connection` as having queued work and wakes the running loop.
    pub(in crate::engine) fn notify(&self, connection: &ConnectionId) {
        lock(&self.notified).insert(connection.clone());
        self.waker.wake();
    }

    /// The connections notified since the last call.
    pub(in crate::engine) fn take_notified(&self) -> BTreeSet<ConnectionId> {
        std::mem::take(&mut *lock(&self.notified))
    }

    /// Ready once a connection was notified.
    pub(in crate::engine) fn poll_notified(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.waker.register(cx.waker());
        if lock(&self.notified).is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }

    pub(in crate::engine) fn set_stopping(&self, stopping: bool) {
        self.stopping.store(stopping, Ordering::SeqCst);
    }

    pub(in crate::engine) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Makes the cycles of `connection` scan everything (`true`) or only
    /// what changed since the watermark (`false`).
    pub(in crate::engine) fn set_full_scan(&self, connection: &ConnectionId, full: bool) {
        let mut set = lock(&self.full_scan);
        if full {
            set.insert(connection.clone());
        } else {
            set.remove(connection);
        }
    }

    pub(in crate::engine) fn full_scan(&self, connection: &ConnectionId) -> bool {
        lock(&self.full_scan).contains(connection)
    }

    /// Records that `key` changed for `connection` and wakes the running
    /// loop, unless `capacity` issues are pending already (then the hint is
    /// dropped: polling covers it).
    pub(in crate::engine) fn hint(
        &self,
        connection: &ConnectionId,
        key: &IssueKey,
        capacity: usize,
    ) -> HintTaken {
        {
            let mut hints = lock(&self.hints);
            let pending: usize = hints.values().map(BTreeSet::len).sum();
            let known = hints.get(connection).is_some_and(|k| k.contains(key));
            if !known {
                if pending >= capacity {
                    return HintTaken::Full;
                }
                hints
                    .entry(connection.clone())
                    .or_default()
                    .insert(key.clone());
            }
        }
        self.notify(connection);
        HintTaken::Queued
    }

    /// The issues hinted for `connection` since the last call.
    pub(in crate::engine) fn take_hints(&self, connection: &ConnectionId) -> BTreeSet<IssueKey> {
        lock(&self.hints).remove(connection).unwrap_or_default()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
