//! The identifiers of recent deliveries, to drop Jira's retries and repeats.

use std::collections::{HashSet, VecDeque};

/// At most `capacity` identifiers; the oldest is forgotten first.
pub(super) struct Recent {
    capacity: usize,
    order: VecDeque<String>,
    seen: HashSet<String>,
}

impl Recent {
    pub(super) fn new(capacity: usize) -> Self {
        Recent {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            seen: HashSet::new(),
        }
    }

    /// Claims `id`: `false` when it was claimed already.
    pub(super) fn claim(&mut self, id: &str) -> bool {
        if self.seen.contains(id) {
            return false;
        }
        if self.order.len() >= self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        self.order.push_back(id.to_owned());
        self.seen.insert(id.to_owned());
        true
    }

    /// Gives `id` back (its delivery was not handled, so a retry should be).
    pub(super) fn release(&mut self, id: &str) {
        if self.seen.remove(id) {
            self.order.retain(|o| o != id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Recent;

    #[test]
    fn claims_once_and_forgets_the_oldest() {
        let mut recent = Recent::new(2);
        assert!(recent.claim("a"));
        assert!(!recent.claim("a"));
        assert!(recent.claim("b"));
        assert!(recent.claim("c"));
        assert!(recent.claim("a"), "a was forgotten");
        recent.release("a");
        assert!(recent.claim("a"));
    }
}
