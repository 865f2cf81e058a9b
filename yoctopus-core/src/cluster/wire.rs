//! What the nodes of a cluster say to each other on NATS: the subjects, and the messages.
//!
//! Every subject starts `yoctopus.<cluster>.`:
//!
//! | subject | who listens | what travels |
//! | --- | --- | --- |
//! | `node.<node id>` | that node alone | a push or close for one of its connections, a look-up by id; answered |
//! | `all` | every node | multicasts and register queries; each node answers on the reply subject |
//! | `members` | every node | heartbeats: a node joining, alive, leaving |
//! | `api` | every node | a node's API changed |
//! | `interest` | every node | a node took up or let go a topic (see [`routes`](super::routes)) |
//! | `topic.<token>` | the nodes holding the topic | multicasts and register queries that pin a route; answered like `all` |
//!
//! A request is one line of JSON (the [`Request`]) and, for pushes and multicasts, a newline and
//! the push's frame exactly as it will be written to the WebSocket: rendered once, on the node
//! that made it, never re-encoded. Answers are JSON.

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::routes::Token;
use crate::connection::{ConnectionId, NodeId};
use crate::filter::SettingsFilter;

/// The subjects of one cluster.
#[derive(Debug, Clone)]
pub(crate) struct Subjects {
    prefix: String,
}

impl Subjects {
    pub(crate) fn new(cluster: &str) -> Self {
        Self {
            prefix: format!("yoctopus.{cluster}"),
        }
    }

    pub(crate) fn node(&self, node: NodeId) -> String {
        format!("{}.node.{node}", self.prefix)
    }

    pub(crate) fn all(&self) -> String {
        format!("{}.all", self.prefix)
    }

    pub(crate) fn members(&self) -> String {
        format!("{}.members", self.prefix)
    }

    pub(crate) fn api(&self) -> String {
        format!("{}.api", self.prefix)
    }

    pub(crate) fn interest(&self) -> String {
        format!("{}.interest", self.prefix)
    }

    pub(crate) fn topic(&self, token: Token) -> String {
        format!("{}.topic.{token:016x}", self.prefix)
    }
}

/// A request to one node (on its subject) or to all (on `all`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Request {
    /// Queue the frame after the header for connection `id`.
    Push { id: ConnectionId },
    /// Close connection `id`.
    Close {
        id: ConnectionId,
        code: u16,
        reason: String,
    },
    /// Queue the frame after the header for every connection matching `filter`.
    Multicast { filter: SettingsFilter },
    /// Tell of connections: those matching `filter` (all without one), or connection `id`.
    Survey {
        filter: Option<SettingsFilter>,
        id: Option<ConnectionId>,
        export: bool,
        #[serde(default)]
        count_only: bool,
    },
    /// Tell every topic held (a node that missed some of the announcements asks).
    Holdings,
}

impl Request {
    /// The request for `survey`.
    pub(crate) fn survey(survey: &crate::delivery::Survey) -> Self {
        Self::Survey {
            filter: survey.filter.clone(),
            id: survey.id,
            export: survey.export,
            count_only: survey.count_only,
        }
    }

    /// The request on the wire, with `frame` after it when it carries one.
    pub(crate) fn encode(&self, frame: Option<&[u8]>) -> Bytes {
        let mut out = BytesMut::with_capacity(96 + frame.map_or(0, <[u8]>::len)).writer();
        // A request of ids, codes, strings and filters always serializes.
        let _ = serde_json::to_writer(&mut out, self);
        let mut out = out.into_inner();
        if let Some(frame) = frame {
            out.put_u8(b'\n');
            out.put_slice(frame);
        }
        out.freeze()
    }

    /// The request, and the frame after it (empty when none); `None` when it is not one.
    pub(crate) fn decode(payload: &Bytes) -> Option<(Self, Bytes)> {
        let end = payload
            .iter()
            .position(|&byte| byte == b'\n')
            .unwrap_or(payload.len());
        let request = serde_json::from_slice(&payload[..end]).ok()?;
        let frame = payload.slice((end + 1).min(payload.len())..);
        Some((request, frame))
    }
}

/// A node's answer to a push or close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Delivered {
    /// Queued.
    Ok,
    /// No open connection has the id.
    Unknown,
    /// The connection stopped reading and is being closed.
    QueueFull,
    /// The request could not be read (another version, or not a Yoctopus node).
    Unreadable,
}

/// One connection a survey found, on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FoundWire {
    pub(crate) id: ConnectionId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) settings: Option<Value>,
}

/// A node's answer (or one part of it) to a multicast or survey on `all`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Answer {
    /// Who answers.
    pub(crate) node: NodeId,
    /// For a multicast: how many connections it was queued for.
    #[serde(default)]
    pub(crate) reached: usize,
    /// For a survey: connections found.
    #[serde(default)]
    pub(crate) found: Vec<FoundWire>,
    /// For a survey: how many connections this part tells of (the only answer to a count).
    #[serde(default)]
    pub(crate) count: usize,
    /// Whether more parts of this answer follow (a large survey answer is split so that no
    /// message exceeds the NATS server's payload limit).
    #[serde(default)]
    pub(crate) more: bool,
}

/// What a heartbeat says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Presence {
    /// Just joined (or back after losing NATS): everyone answers with a heartbeat at once, so
    /// the newcomer learns every member without waiting a whole interval.
    Hello,
    /// Still here.
    Alive,
    /// Leaving: forget it now.
    Leaving,
}

/// A node's answer to [`Request::Holdings`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct HoldingsAnswer {
    /// The number of its latest transition.
    pub(crate) seq: u64,
    pub(crate) tokens: Vec<Token>,
}

/// A node took up or let go topics, on `interest`; every member acknowledges it on the reply
/// subject once applied (an [`Answer`] with nothing else in it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Interest {
    pub(crate) node: NodeId,
    /// In the order they were made.
    pub(crate) transitions: Vec<Change>,
}

/// One topic taken up or let go, numbered among its node's transitions.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct Change {
    pub(crate) seq: u64,
    pub(crate) token: Token,
    pub(crate) held: bool,
}

/// A heartbeat on `members`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Beat {
    pub(crate) node: NodeId,
    pub(crate) presence: Presence,
    /// How long the others may wait for its next heartbeat before counting it gone.
    pub(crate) expire_ms: u64,
    /// Its open connections.
    pub(crate) connections: usize,
    /// The number of its latest topic transition announced.
    #[serde(default)]
    pub(crate) interest_seq: u64,
    /// A fingerprint of its routes: nodes that route differently miss each other's multicasts.
    #[serde(default)]
    pub(crate) routes: u64,
}

/// A node's API changed, on `api`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ApiChange {
    pub(crate) node: NodeId,
    pub(crate) read: Value,
}

#[cfg(test)]
mod tests {
    use super::{Request, Subjects};
    use crate::connection::{ConnectionId, NodeId};
    use crate::filter::SettingsFilter;

    #[test]
    fn a_request_reads_back_with_its_frame_untouched() {
        let id = ConnectionId::new(NodeId::new(7), 3);
        let frame = br#"{"meta":{"method":"notify","type":"t"},"data":"a\nb"}"#;
        let bytes = Request::Push { id }.encode(Some(frame));
        let (request, read_frame) = Request::decode(&bytes).unwrap();
        assert!(matches!(request, Request::Push { id: read } if read == id));
        assert_eq!(&read_frame[..], &frame[..]);

        let filter = SettingsFilter::all().with("chat", "room", "a\nb");
        let bytes = Request::Multicast {
            filter: filter.clone(),
        }
        .encode(Some(b"{}"));
        let (request, read_frame) = Request::decode(&bytes).unwrap();
        assert!(matches!(request, Request::Multicast { filter: read } if read == filter));
        assert_eq!(&read_frame[..], b"{}");
    }

    #[test]
    fn what_is_not_a_request_is_refused() {
        for payload in [&b""[..], b"{", b"{\"op\":\"explode\"}\n{}", b"\xff\n"] {
            assert!(Request::decode(&bytes::Bytes::copy_from_slice(payload)).is_none());
        }
    }

    #[test]
    fn subjects_are_scoped_by_cluster() {
        let subjects = Subjects::new("chat");
        assert_eq!(subjects.all(), "yoctopus.chat.all");
        assert_eq!(
            subjects.node(NodeId::new(0xab)),
            "yoctopus.chat.node.00000000000000ab"
        );
    }
}
