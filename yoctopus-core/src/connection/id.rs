//! Connection ids: unique across server processes and restarts, because a server of a cluster
//! addresses connections on other servers by id and must learn from the id alone which server
//! holds it.
//!
//! An id is the holding node's id (64 random bits drawn when the server starts, or set by the
//! deployment) and a sequence number on that node. It travels in JSON as a string,
//! `"5f1c0d2e9a7b3c41-17"`, since a JSON number cannot carry 128 bits exactly everywhere.

use std::fmt;
use std::str::FromStr;

/// The id of one server process (a node of a cluster).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u64);

impl NodeId {
    /// A node id from the operating system's random source: unique across processes and restarts
    /// with overwhelming probability.
    pub fn random() -> Self {
        let mut bytes = [0u8; 8];
        // The OS random source failing is a broken machine; the clock keeps ids distinct per
        // process at least.
        if getrandom::fill(&mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos());
            bytes = (nanos as u64 ^ u64::from(std::process::id()).rotate_left(32)).to_be_bytes();
        }
        Self(u64::from_be_bytes(bytes))
    }

    /// A node id chosen by the deployment.
    pub const fn new(id: u64) -> Self {
        Self(id)
    }

    /// The id as a number.
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl FromStr for NodeId {
    type Err = IdError;

    fn from_str(text: &str) -> Result<Self, IdError> {
        if text.len() != 16 {
            return Err(IdError);
        }
        u64::from_str_radix(text, 16).map(Self).map_err(|_| IdError)
    }
}

/// Identifies a connection: its node and its number there. Never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId {
    node: NodeId,
    sequence: u64,
}

impl ConnectionId {
    pub(crate) fn new(node: NodeId, sequence: u64) -> Self {
        Self { node, sequence }
    }

    /// The node that holds the connection.
    pub fn node(self) -> NodeId {
        self.node
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.node, self.sequence)
    }
}

/// A text that is not a connection or node id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a Yoctopus id: expected 16 hex digits for the node, then `-` and a number")]
pub struct IdError;

impl FromStr for ConnectionId {
    type Err = IdError;

    fn from_str(text: &str) -> Result<Self, IdError> {
        let (node, sequence) = text.split_once('-').ok_or(IdError)?;
        if sequence.is_empty() || !sequence.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(IdError);
        }
        Ok(Self {
            node: node.parse()?,
            sequence: sequence.parse().map_err(|_| IdError)?,
        })
    }
}

impl serde::Serialize for NodeId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for NodeId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for ConnectionId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl schemars::JsonSchema for ConnectionId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("ConnectionId")
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9a-f]{16}-[0-9]+$",
            "description": "A connection id: the node's 16 hex digits, `-`, and a sequence number"
        })
    }
}

impl<'de> serde::Deserialize<'de> for ConnectionId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::{ConnectionId, NodeId};

    #[test]
    fn ids_read_back_what_they_write() {
        let id = ConnectionId::new(NodeId::new(0x5f1c_0d2e_9a7b_3c41), 17);
        assert_eq!(id.to_string(), "5f1c0d2e9a7b3c41-17");
        assert_eq!("5f1c0d2e9a7b3c41-17".parse(), Ok(id));
        assert_eq!(serde_json::to_value(id).unwrap(), "5f1c0d2e9a7b3c41-17");
        assert_eq!(
            serde_json::from_value::<ConnectionId>("5f1c0d2e9a7b3c41-17".into()).unwrap(),
            id
        );
        for bad in [
            "",
            "17",
            "5f1c-17",
            "5f1c0d2e9a7b3c41-",
            "5f1c0d2e9a7b3c41-+1",
            "zz1c0d2e9a7b3c41-1",
        ] {
            assert!(bad.parse::<ConnectionId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn random_nodes_differ() {
        assert_ne!(NodeId::random(), NodeId::random());
    }
}
