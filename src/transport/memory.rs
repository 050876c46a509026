//! [`InProcessNetwork`]: nodes in one process, reachable by node URL, with
//! seeded network faults for simulations.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::{Endpoint, Transport};
use crate::error::{Error, ErrorKind, Result};
use crate::model::NodeUrl;

/// What can go wrong on an [`InProcessNetwork`], as chances per call.
///
/// Each call draws once from a random number generator seeded with
/// [`seed`](NetworkFaults::seed), so a run replays exactly.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct NetworkFaults {
    /// The seed of the draws.
    pub seed: u64,
    /// The request is lost on the way: not handled, the caller gets `Timeout`.
    pub drop: f64,
    /// The request is handled but its answer is lost: the caller gets `Timeout`.
    pub lose_answer: f64,
    /// The request is handled, and a copy of it arrives again later.
    pub duplicate: f64,
    /// The request is held and arrives later, in random order with the other
    /// held requests ([`InProcessNetwork::deliver_held`]); the caller gets `Timeout`.
    pub delay: f64,
}

impl NetworkFaults {
    /// Each fault with chance `each`, drawn from `seed`.
    pub fn uniform(seed: u64, each: f64) -> Self {
        NetworkFaults {
            seed,
            drop: each,
            lose_answer: each,
            duplicate: each,
            delay: each,
        }
    }
}

/// What an [`InProcessNetwork`] did, for tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NetworkStats {
    /// Calls made.
    pub calls: u64,
    /// Requests handled (duplicates and late deliveries included).
    pub delivered: u64,
    /// Requests lost on the way.
    pub dropped: u64,
    /// Answers lost.
    pub answers_lost: u64,
    /// Requests delivered twice.
    pub duplicated: u64,
    /// Requests held for later.
    pub delayed: u64,
}

/// A small, fast, seeded generator (SplitMix64): enough for fault draws.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Default)]
struct State {
    nodes: HashMap<NodeUrl, Arc<dyn Endpoint>>,
    faults: Option<(NetworkFaults, Rng)>,
    held: Vec<(NodeUrl, Vec<u8>)>,
    stats: NetworkStats,
}

enum Fate {
    Deliver,
    Drop,
    LoseAnswer,
    Duplicate,
    Delay,
}

/// Nodes in one process that call each other by node URL.
///
/// [`register`](InProcessNetwork::register) a node to make it reachable at its
/// node URL; a node that is not registered (a node in a private network)
/// can still call the others through the network, and pulls its messages.
/// Clones share the network.
///
/// With [`set_faults`](InProcessNetwork::set_faults) the network drops,
/// duplicates, delays and reorders requests and loses answers, from a seed.
///
/// ```
/// use std::sync::Arc;
/// use async_trait::async_trait;
/// use twinsync::model::NodeUrl;
/// use twinsync::transport::{Endpoint, InProcessNetwork, Transport};
///
/// struct Echo;
///
/// #[async_trait]
/// impl Endpoint for Echo {
///     async fn handle(&self, request: Vec<u8>) -> Vec<u8> {
///         request
///     }
/// }
///
/// # futures::executor::block_on(async {
/// let network = InProcessNetwork::new();
/// let url = NodeUrl::parse("https://echo.example")?;
/// network.register(&url, Arc::new(Echo));
/// assert_eq!(network.call(&url, b"hi".to_vec()).await?, b"hi");
///
/// let nobody = NodeUrl::parse("https://private.example")?;
/// assert!(network.call(&nobody, b"hi".to_vec()).await.is_err());
/// # Ok::<(), twinsync::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Default)]
pub struct InProcessNetwork {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for InProcessNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        let mut nodes: Vec<&str> = state.nodes.keys().map(NodeUrl::as_str).collect();
        nodes.sort_unstable();
        f.debug_struct("InProcessNetwork")
            .field("nodes", &nodes)
            .field("held", &state.held.len())
            .finish_non_exhaustive()
    }
}

impl InProcessNetwork {
    /// An empty network without faults.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes `endpoint` reachable at `url`, replacing whatever was there (a
    /// restarted node registers again).
    pub fn register(&self, url: &NodeUrl, endpoint: Arc<dyn Endpoint>) {
        self.lock().nodes.insert(url.clone(), endpoint);
    }

    /// Makes the node at `url` unreachable (it can still call others).
    pub fn unregister(&self, url: &NodeUrl) {
        self.lock().nodes.remove(url);
    }

    /// Turns faults on (`Some`) or off (`None`). Held requests stay held.
    pub fn set_faults(&self, faults: Option<NetworkFaults>) {
        self.lock().faults = faults.map(|f| (f, Rng(f.seed)));
    }

    /// How many requests are held for later delivery.
    pub fn held(&self) -> usize {
        self.lock().held.len()
    }

    /// What the network did so far.
    pub fn stats(&self) -> NetworkStats {
        self.lock().stats
    }

    /// Delivers every held request, in random order (drawn from the faults'
    /// seed; in order when faults are off); their answers are lost. Returns
    /// how many were delivered to a registered node.
    pub async fn deliver_held(&self) -> usize {
        let batch = {
            let mut state = self.lock();
            let mut held = std::mem::take(&mut state.held);
            if let Some((_, rng)) = state.faults.as_mut() {
                for i in (1..held.len()).rev() {
                    let j = (rng.next() % (i as u64 + 1)) as usize;
                    held.swap(i, j);
                }
            }
            held.into_iter()
                .filter_map(|(to, request)| {
                    let node = state.nodes.get(&to).cloned()?;
                    Some((node, request))
                })
                .collect::<Vec<_>>()
        };
        let n = batch.len();
        for (node, request) in batch {
            self.lock().stats.delivered += 1;
            let _lost = node.handle(request).await;
        }
        n
    }

    /// Drops every held request.
    pub fn clear_held(&self) {
        self.lock().held.clear();
    }

    fn fate(&self) -> Fate {
        let mut state = self.lock();
        state.stats.calls += 1;
        let Some((faults, rng)) = state.faults.as_mut() else {
            return Fate::Deliver;
        };
        let faults = *faults;
        let roll = rng.unit();
        let mut edge = 0.0;
        let mut fate = Fate::Deliver;
        for (chance, candidate) in [
            (faults.drop, Fate::Drop),
            (faults.lose_answer, Fate::LoseAnswer),
            (faults.duplicate, Fate::Duplicate),
            (faults.delay, Fate::Delay),
        ] {
            edge += chance;
            if roll < edge {
                fate = candidate;
                break;
            }
        }
        match fate {
            Fate::Drop => state.stats.dropped += 1,
            Fate::LoseAnswer => state.stats.answers_lost += 1,
            Fate::Duplicate => state.stats.duplicated += 1,
            Fate::Delay => state.stats.delayed += 1,
            Fate::Deliver => {}
        }
        fate
    }
}

fn timeout(to: &NodeUrl) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!("no answer from the node at {to} (simulated network fault)"),
    )
}

#[async_trait]
impl Transport for InProcessNetwork {
    async fn call(&self, to: &NodeUrl, request: Vec<u8>) -> Result<Vec<u8>> {
        let node = self.lock().nodes.get(to).cloned().ok_or_else(|| {
            Error::new(
                ErrorKind::Unavailable,
                format!(
                    "no node is reachable at {to}; check the url, or accept from that node's side \
                     when it is in a private network"
                ),
            )
        })?;
        match self.fate() {
            Fate::Drop => Err(timeout(to)),
            Fate::Delay => {
                self.lock().held.push((to.clone(), request));
                Err(timeout(to))
            }
            Fate::LoseAnswer => {
                self.lock().stats.delivered += 1;
                let _lost = node.handle(request).await;
                Err(timeout(to))
            }
            Fate::Duplicate => {
                self.lock().held.push((to.clone(), request.clone()));
                self.lock().stats.delivered += 1;
                Ok(node.handle(request).await)
            }
            Fate::Deliver => {
                self.lock().stats.delivered += 1;
                Ok(node.handle(request).await)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(Mutex<Vec<Vec<u8>>>);

    #[async_trait]
    impl Endpoint for Counter {
        async fn handle(&self, request: Vec<u8>) -> Vec<u8> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(request.clone());
            request
        }
    }

    fn url(s: &str) -> NodeUrl {
        NodeUrl::parse(s).unwrap()
    }

    #[test]
    fn faults_replay_from_their_seed_and_held_requests_arrive_later() {
        let run = |seed| {
            let network = InProcessNetwork::new();
            let node = Arc::new(Counter(Mutex::new(Vec::new())));
            network.register(&url("https://b.example"), node.clone());
            network.set_faults(Some(NetworkFaults::uniform(seed, 0.15)));
            let mut outcomes = Vec::new();
            for i in 0..200u8 {
                let r =
                    futures::executor::block_on(network.call(&url("https://b.example"), vec![i]));
                outcomes.push(r.is_ok());
            }
            let held = network.held();
            let late = futures::executor::block_on(network.deliver_held());
            assert_eq!(held, late);
            assert_eq!(network.held(), 0);
            let seen = node.0.lock().unwrap().clone();
            (outcomes, seen, network.stats())
        };
        let (a, seen, stats) = run(3);
        assert_eq!(run(3).0, a, "same seed, same faults");
        assert_ne!(run(4).0, a, "another seed, other faults");
        assert!(stats.dropped > 0 && stats.duplicated > 0 && stats.delayed > 0);
        assert!(stats.answers_lost > 0);
        // Dropped requests never arrive; duplicated ones arrive twice.
        assert_eq!(seen.len() as u64, stats.delivered);
        assert_eq!(
            stats.delivered,
            200 - stats.dropped + stats.duplicated,
            "{stats:?}"
        );
        // Late deliveries come out of order.
        let order: Vec<u8> = seen.iter().map(|r| r[0]).collect();
        assert!(order.windows(2).any(|w| w[0] > w[1]), "{order:?}");
    }

    #[test]
    fn an_unregistered_node_is_unavailable() {
        let network = InProcessNetwork::new();
        let err = futures::executor::block_on(network.call(&url("https://x.example"), vec![]))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.is_temporary());
        assert!(err.to_string().contains("https://x.example"), "{err}");
    }
}
