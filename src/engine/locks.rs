//! Async locks by key: work on one twin waits for earlier work on the same
//! twin, and nothing else.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use futures::lock::{Mutex as AsyncMutex, OwnedMutexGuard};

/// One async lock per key, made on first use and forgotten when free.
pub(super) struct KeyedLocks<K> {
    locks: Mutex<HashMap<K, Arc<AsyncMutex<()>>>>,
}

impl<K: Eq + Hash + Clone> KeyedLocks<K> {
    pub(super) fn new() -> Self {
        KeyedLocks {
            locks: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until `key` is free and holds it until the guard is dropped.
    pub(super) async fn lock(&self, key: K) -> KeyGuard<'_, K> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            locks.entry(key.clone()).or_default().clone()
        };
        let guard = lock.lock_owned().await;
        KeyGuard {
            locks: self,
            key,
            guard: Some(guard),
        }
    }

    /// How many keys have a lock now (held or awaited).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.locks.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Holds one key of a [`KeyedLocks`].
pub(super) struct KeyGuard<'a, K: Eq + Hash + Clone> {
    locks: &'a KeyedLocks<K>,
    key: K,
    guard: Option<OwnedMutexGuard<()>>,
}

impl<K: Eq + Hash + Clone> Drop for KeyGuard<'_, K> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = self.locks.locks.lock().unwrap_or_else(|e| e.into_inner());
        // Forget the lock when nobody holds or waits for it (the map's own
        // reference is the only one left).
        if locks
            .get(&self.key)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            locks.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    #[test]
    fn one_key_waits_other_keys_do_not_and_free_keys_are_forgotten() {
        let locks = KeyedLocks::new();
        futures::executor::block_on(async {
            let a = locks.lock("a").await;
            assert!(
                locks.lock("b").now_or_never().is_some(),
                "another key is free"
            );
            assert!(
                locks.lock("a").now_or_never().is_none(),
                "the same key waits"
            );
            drop(a);
            assert!(locks.lock("a").now_or_never().is_some(), "free again");
        });
        assert_eq!(locks.len(), 0, "nothing kept for free keys");
    }
}
