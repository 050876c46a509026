//! [`Runtime`]: what a node keeps in memory for its remote connections. A
//! leaf module: the node's state holds it, so it imports no engine code that
//! names the node.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

use crate::connection::{Challenge, MessageAuthenticator, PendingInvitations};
use crate::engine::locks::KeyedLocks;
use crate::model::{ConnectionId, InstanceUrl, IssueId, NodeUrl};
use crate::store::PeerOutage;
use crate::transport::Transport;

/// A node's remote machinery: its transport and what it keeps in memory.
pub(in crate::engine) struct Runtime {
    pub(super) transport: Option<Arc<dyn Transport>>,
    pub(super) reachable: bool,
    pub(super) protocol: u16,
    /// Where other nodes reach this one.
    pub(super) node_url: NodeUrl,
    /// Where the nodes of other trackers are reached: tracker URL → node URL.
    pub(super) directory: BTreeMap<InstanceUrl, NodeUrl>,
    /// Loaded from the store on first use; challenges live only here.
    pub(super) invitations: Mutex<Option<PendingInvitations>>,
    pub(super) auth: Mutex<HashMap<ConnectionId, Arc<MessageAuthenticator>>>,
    /// The stored outage of each connection's other node, as last read or
    /// written (absent: not read yet), so that an answer costs no store read.
    pub(super) outages: Mutex<HashMap<ConnectionId, Option<PeerOutage>>>,
    /// When this node (in a private network) last pulled, per connection.
    pub(super) pulled: Mutex<HashMap<ConnectionId, OffsetDateTime>>,
    /// Challenges to an acceptor confirming again (its welcome was lost).
    pub(super) reconfirm: Mutex<HashMap<ConnectionId, Challenge>>,
    /// Incoming replicas of one twin are applied one at a time (those of
    /// other twins and connections go on meanwhile).
    pub(super) apply: KeyedLocks<(ConnectionId, IssueId)>,
}

impl Runtime {
    pub(in crate::engine) fn new(
        transport: Option<Arc<dyn Transport>>,
        reachable: bool,
        protocol: u16,
        node_url: NodeUrl,
        directory: BTreeMap<InstanceUrl, NodeUrl>,
    ) -> Self {
        Runtime {
            transport,
            reachable,
            protocol,
            node_url,
            directory,
            invitations: Mutex::new(None),
            auth: Mutex::new(HashMap::new()),
            outages: Mutex::new(HashMap::new()),
            pulled: Mutex::new(HashMap::new()),
            reconfirm: Mutex::new(HashMap::new()),
            apply: KeyedLocks::new(),
        }
    }
}
