//! Remote connections: a node owns one side and talks to the node of the other
//! side through a [`Transport`].
//!
//! # How a remote connection syncs
//!
//! Each node keeps its own twin state (`local` = its issue, `remote` = the
//! peer's issue). Its cycle polls its own project and sends the
//! [`Replica`](crate::replica::Replica) of every changed issue under sync;
//! the receiver plans it with the [planner](crate::plan) against its issue,
//! executes the plan with the same executor as a local connection (intents and
//! markers: no duplicates across crashes) and acknowledges with its twin
//! state, from which the sender records the twin (its state is the receiver's,
//! seen from the other side, as a local connection keeps one state for both
//! directions).
//!
//! Every message is idempotent, so a network that loses, repeats, delays or
//! reorders messages, and nodes that crash and restart, lose nothing and
//! duplicate nothing:
//!
//! - a change stays queued on the sender until an acknowledgement for it
//!   arrives, and is sent again each cycle until then;
//! - each replica carries a sequence number that only grows; the receiver
//!   remembers (in its store) the last one it applied per issue and ignores
//!   older ones, so a late or replayed replica never undoes a newer one, even
//!   after a restart that emptied the authenticator's in-memory replay memory;
//!   acknowledgements are ordered the same way;
//! - applying a replica twice writes nothing the second time (the planner's
//!   three-way merge), and a create that lost its answer is settled by its
//!   marker.
//!
//! # Attachments
//!
//! The receiver fetches an attachment's content from the sender when it needs
//! it (a signed `fetch`, served only for attachments of issues under sync). A
//! node that the other cannot call (a node in a private network) instead
//! sends, with each replica, the content of the attachments its twin state
//! does not link yet.
//!
//! # The outbox, and a peer that is down
//!
//! Notices (an unexalate, a request to send an issue again) wait in a durable
//! outbox in the store, posted with the change that produced them, and are
//! delivered in order before any replica; replicas wait in the sync queue
//! until acknowledged. When the other node cannot be reached the connection
//! records since when, backs off, and keeps everything for later; no twin
//! fails because of it. See `outbox.rs` and `reach.rs`.
//!
//! # Private nodes
//!
//! A node built with [`reachable(false)`](super::NodeBuilder::reachable) only
//! opens connections itself: its peer keeps what it would send in the
//! outbox (the latest replica per issue, and notices, in order), and the
//! private node pulls it at the start of each cycle and between cycles
//! ([`Node::next_pull`](super::Node::next_pull), [`Node::pull`](super::Node::pull));
//! a message is removed once the next pull says it was taken.

mod accept;
mod acks;
mod answer;
mod endpoint;
pub(super) mod failures;
pub(super) mod initiate;
pub(super) mod link;
mod outbox;
mod reach;
mod receive;
mod refusal;
mod rejoin;
pub(super) mod runtime;
pub(super) mod secrets;
mod send;
pub(super) mod setup;
mod token;
mod twins;
mod wire;
#[cfg(test)]
mod wire_fixtures;
