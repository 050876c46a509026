//! The other node of a remote connection as the panel shows it: whether it
//! answers, and how much waits for it.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::engine::node::Node;
use crate::error::Result;
use crate::model::{ConnectionId, InstanceUrl, NodeUrl};

/// The other node of a remote connection: whether it can be reached, and
/// what waits for it. Prints as one line:
///
/// ```text
/// peer https://b.example at https://sync.b.example unreachable since 2026-01-01T00:00:00Z (no node is reachable at https://sync.b.example), 3 messages waiting; next try at 2026-01-01T00:05:00Z
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PeerStatus {
    /// The other node's instance (unknown while the connection is pending).
    pub peer: Option<InstanceUrl>,
    /// Where the other node is reached (its node URL), once known.
    pub node: Option<NodeUrl>,
    /// Whether this node calls the other node; `false` when the other node is
    /// in a private network and pulls what waits for it.
    pub calls: bool,
    /// Since when the other node cannot be reached (this node called it and
    /// the transport said it is unavailable or timed out); `None` while it
    /// answers.
    #[serde(with = "time::serde::rfc3339::option")]
    pub unreachable_since: Option<OffsetDateTime>,
    /// While it cannot be reached: when this node tries again.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_try: Option<OffsetDateTime>,
    /// While it cannot be reached: failed attempts in a row.
    pub attempts: u32,
    /// While it cannot be reached: what the last attempt said.
    pub cause: Option<String>,
    /// Messages waiting for the other node: notices and replicas in the
    /// outbox, and, when this node calls the other node, this side's
    /// changes in the queue (their replicas are made when they go).
    pub waiting: u64,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

impl fmt::Display for PeerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.peer {
            Some(peer) => write!(f, "peer {peer}")?,
            None => f.write_str("peer not known yet")?,
        }
        if let Some(node) = &self.node
            && self
                .peer
                .as_ref()
                .is_none_or(|p| p.as_str() != node.as_str())
        {
            write!(f, " at {node}")?;
        }
        let s = if self.waiting == 1 { "" } else { "s" };
        match self.unreachable_since {
            Some(since) => {
                write!(f, " unreachable since {}", rfc3339(since))?;
                if let Some(cause) = &self.cause {
                    write!(f, " ({cause})")?;
                }
                write!(f, ", {} message{s} waiting", self.waiting)?;
                if let Some(next) = self.next_try {
                    write!(f, "; next try at {}", rfc3339(next))?;
                }
                Ok(())
            }
            None if self.calls => write!(f, " reachable, {} message{s} waiting", self.waiting),
            None => write!(
                f,
                " (private network, it pulls), {} message{s} waiting",
                self.waiting
            ),
        }
    }
}

impl Node {
    /// The other node of a remote connection: whether it can be reached and
    /// what waits for it (what the sync panel shows in its
    /// [`peer`](crate::engine::SyncPanel::peer) line); `None` for a local
    /// connection.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `Storage`.
    pub fn peer_status(&self, connection: &ConnectionId) -> Result<Option<PeerStatus>> {
        let conn = self.connection(connection)?;
        if conn.is_local() {
            return Ok(None);
        }
        let mut txn = self.txn()?;
        let Some(link) = txn.peer_link(&conn.id)? else {
            return Ok(None);
        };
        let outage = txn.peer_outage(&conn.id)?;
        let mut waiting = txn.outbox_len(&conn.id)?;
        if link.peer_reachable {
            waiting += txn.queue_len(&conn.id)?;
        }
        let node = link
            .peer_node
            .or_else(|| link.peer.as_ref().map(NodeUrl::from));
        Ok(Some(PeerStatus {
            node,
            peer: link.peer,
            calls: link.peer_reachable,
            unreachable_since: outage.as_ref().map(|o| o.since),
            next_try: outage.as_ref().map(|o| o.next_try),
            attempts: outage.as_ref().map_or(0, |o| o.attempts),
            cause: outage.map(|o| o.cause),
            waiting,
        }))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn status() -> PeerStatus {
        PeerStatus {
            peer: Some(InstanceUrl::parse("https://b.example").expect("url")),
            node: Some(NodeUrl::parse("https://sync.b.example").expect("url")),
            calls: true,
            unreachable_since: None,
            next_try: None,
            attempts: 0,
            cause: None,
            waiting: 1,
        }
    }

    #[test]
    fn the_line_says_whether_the_peer_answers_and_what_waits() {
        assert_eq!(
            status().to_string(),
            "peer https://b.example at https://sync.b.example reachable, 1 message waiting"
        );
        let down = PeerStatus {
            unreachable_since: Some(datetime!(2026-01-01 0:00 UTC)),
            next_try: Some(datetime!(2026-01-01 0:05 UTC)),
            attempts: 4,
            cause: Some("no node is reachable at https://sync.b.example".into()),
            waiting: 3,
            ..status()
        };
        assert_eq!(
            down.to_string(),
            "peer https://b.example at https://sync.b.example unreachable since \
             2026-01-01T00:00:00Z (no node is reachable at https://sync.b.example), 3 messages \
             waiting; next try at 2026-01-01T00:05:00Z"
        );
        let same = PeerStatus {
            node: Some(NodeUrl::parse("https://b.example").expect("url")),
            ..status()
        };
        assert_eq!(
            same.to_string(),
            "peer https://b.example reachable, 1 message waiting",
            "a node reached at its tracker's URL is named once"
        );
        let pulls = PeerStatus {
            calls: false,
            waiting: 0,
            ..status()
        };
        assert_eq!(
            pulls.to_string(),
            "peer https://b.example at https://sync.b.example (private network, it pulls), 0 \
             messages waiting"
        );
    }
}
