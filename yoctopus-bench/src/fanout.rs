//! The fan-outs: one trigger on a controller connection makes `bench-yoctopus --fanout` push to
//! every other open connection from a background task, and the load generator times the pushes'
//! arrival. Written once here so that the servers and the load generator agree on the trigger,
//! the push each connection must receive, and the server's answer.
//!
//! There are two ways of pushing ([`Via`]): `fanout:notify` notifies every other connection by id,
//! one `notify` call each; `fanout:multicast` makes one `multicast` call whose settings filter
//! matches the connections the load generator labelled [`GROUP`] (with the built-in
//! `yoctopus:label` `update`, [`LABEL`]), which the hand-written `bench-multicast-baseline` serves
//! too, so that the two can be compared.
//!
//! For the cluster configurations there is a third, [`NOTIFY_ONE`]: one `notify` by id, from a
//! client's request, to one connection that may be held by another server of the cluster, with
//! [`WHOAMI`] for a client to learn its own connection id. The load generator times those on its
//! own clock, since it holds both clients.
//!
//! Both programs stamp their events with the system's real-time clock ([`unix_nanos`]), which
//! every process of the machine shares: the server the moment just before its first `notify`
//! call, the load generator the trigger's sending and every push's arrival. The fan-out time is
//! then the issue's "call to last client receiving it", without guessing how long the trigger
//! took to reach the server.

use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::request::Endpoint;

/// `fanout:notify` `create`, with `{"kind": "string", "data": any}`: notify every open connection
/// but the caller's with `kind` and `data`, one `notify` by id each, from a background task.
pub const TRIGGER: Endpoint = Endpoint {
    endpoint: "fanout:notify",
    method: "create",
};

/// `fanout:multicast` `create`, with `{"kind": "string", "label": "string", "data": any}`: push
/// `kind` and `data` to every connection labelled `label`, in one multicast.
pub const MULTICAST_TRIGGER: Endpoint = Endpoint {
    endpoint: "fanout:multicast",
    method: "create",
};

/// Yoctopus's built-in `yoctopus:label` `update`, whose `data` is the label: how the load
/// generator puts its idle connections in the multicast's group.
pub const LABEL: Endpoint = Endpoint {
    endpoint: "yoctopus:label",
    method: "update",
};

/// The label of the connections a multicast trigger reaches.
pub const GROUP: &str = "bench-multicast";

/// The push's `meta.type`.
pub const KIND: &str = "bench:fanout";

/// `fanout:notify-one` `create`, with `{"to": "<connection id>", "kind": "string", "data": any}`:
/// notify the one connection `to`, wherever in the cluster it is held, from the handler itself
/// (one `Connections::notify` by id, awaited), and answer [`NotifiedOne`]. What a chat's direct
/// message does: the cluster configurations time it from one client to another.
pub const NOTIFY_ONE: Endpoint = Endpoint {
    endpoint: "fanout:notify-one",
    method: "create",
};

/// `fanout:whoami` `read`, any `data`: the caller's own connection id and its server's node id
/// ([`Identity`]), so that a client can be addressed by another, and the load generator can check
/// which server of a cluster holds each of its connections.
pub const WHOAMI: Endpoint = Endpoint {
    endpoint: "fanout:whoami",
    method: "read",
};

/// The `meta.type` of the pushes [`NOTIFY_ONE`] is asked for.
pub const ONE_KIND: &str = "bench:one";

/// What [`WHOAMI`] answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Identity {
    /// The caller's connection id, as Yoctopus writes it: `<node id>-<number>`.
    pub id: String,
    /// The node id of the server holding it: 16 hex digits.
    pub node: String,
}

/// What [`NOTIFY_ONE`] answers once its `notify` call has returned `Ok` (a failed call is an error
/// answer, with the error's text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NotifiedOne {
    /// How long the `notify` call took on the server, in microseconds: for a connection on
    /// another server of the cluster, the request to that server through NATS and its answer.
    pub call_us: u64,
}

/// The push data of the notify-one request number `seq`.
pub fn one_data(seq: u64) -> Value {
    serde_json::json!({ "seq": seq, "message": format!("one {seq}") })
}

/// Appends the [`NOTIFY_ONE`] request: `meta.id` the number `id`, asking for a push of `kind` with
/// `data` to connection `to`.
pub fn write_notify_one(out: &mut Vec<u8>, id: u64, to: &str, kind: &str, data: &Value) {
    let data = serde_json::json!({ "to": to, "kind": kind, "data": data });
    write_request(out, NOTIFY_ONE, id, &data);
}

/// Appends the [`WHOAMI`] request: `meta.id` the number `id`.
pub fn write_whoami(out: &mut Vec<u8>, id: u64) {
    write_request(out, WHOAMI, id, &Value::Null);
}

/// Which call a fan-out measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// One `Connections::notify` by id per connection ([`TRIGGER`]).
    Notify,
    /// One `Connections::multicast` to the connections labelled [`GROUP`] ([`MULTICAST_TRIGGER`]).
    Multicast,
}

impl Via {
    /// The name used on command lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notify => "notify",
            Self::Multicast => "multicast",
        }
    }

    /// The endpoint its triggers go to.
    pub fn trigger(self) -> Endpoint {
        match self {
            Self::Notify => TRIGGER,
            Self::Multicast => MULTICAST_TRIGGER,
        }
    }
}

impl std::str::FromStr for Via {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "notify" => Ok(Self::Notify),
            "multicast" => Ok(Self::Multicast),
            other => Err(format!(
                "unknown fan-out `{other}`; expected `notify` or `multicast`"
            )),
        }
    }
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the server answers to a trigger, once every `notify` call, or the `multicast` call, has
/// returned. The hand-written multicast server answers the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Answer {
    /// Connections whose `notify` returned `Ok` (queued for them); for a multicast, the count it
    /// answered (the connections it was queued for, or written to).
    pub notified: usize,
    /// Connections whose `notify` failed (closed meanwhile, queue full); for a multicast, those
    /// matched but not reached, when the server can tell (Yoctopus's count leaves them out).
    pub failed: usize,
    /// The first failure, if any.
    pub first_error: Option<String>,
    /// How long `Connections::ids` took, in microseconds; 0 for a multicast, which lists nothing.
    pub ids_us: u64,
    /// From just before the first `notify` call to the return of the last, in microseconds; for a
    /// multicast, from just before the push is serialized to the multicast's return (the loop of
    /// writes, for the hand-written server).
    pub calls_us: u64,
    /// When the first `notify` was called, or the multicast's push began to be serialized:
    /// [`unix_nanos`] on the server.
    pub first_call_unix_ns: u64,
}

/// The push data of trigger `round`.
pub fn data(round: u64) -> Value {
    serde_json::json!({ "round": round, "message": format!("fan-out {round}") })
}

/// Appends the trigger request: `meta.id` the number `id`, asking for pushes of `kind` with `data`
/// `via` notify (to every other connection) or multicast (to the connections labelled [`GROUP`]).
pub fn write_trigger(out: &mut Vec<u8>, via: Via, id: u64, kind: &str, data: &Value) {
    let data = match via {
        Via::Notify => serde_json::json!({ "kind": kind, "data": data }),
        Via::Multicast => serde_json::json!({ "kind": kind, "label": GROUP, "data": data }),
    };
    write_request(out, via.trigger(), id, &data);
}

/// Appends the request that labels a connection `label`: `meta.id` the number `id`.
pub fn write_label(out: &mut Vec<u8>, id: u64, label: &str) {
    write_request(out, LABEL, id, &Value::from(label));
}

fn write_request(out: &mut Vec<u8>, to: Endpoint, id: u64, data: &Value) {
    let Endpoint { endpoint, method } = to;
    write!(
        out,
        r#"{{"meta":{{"id":{id},"endpoint":"{endpoint}","method":"{method}"}},"data":{data}}}"#
    )
    .expect("writing into a Vec cannot fail");
}

/// The push every connection must receive, as PROTOCOL.md writes it:
/// `{"meta":{"method":"notify","type":KIND},"data":DATA}`. The load generator compares a push with
/// these bytes first and, should they differ, with its JSON value (key order and spacing aside).
pub fn expected_push(kind: &str, data: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    out.extend_from_slice(br#"{"meta":{"method":"notify","type":"#);
    serde_json::to_writer(&mut out, kind).expect("a string serializes");
    out.extend_from_slice(br#"},"data":"#);
    serde_json::to_writer(&mut out, data).expect("a JSON value serializes");
    out.push(b'}');
    out
}

/// Nanoseconds since the Unix epoch on the real-time clock (0 for a clock set before 1970), which
/// every process of the machine reads alike.
pub fn unix_nanos(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
    })
}

/// [`unix_nanos`] of now.
pub fn now_nanos() -> u64 {
    unix_nanos(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::{data, expected_push, write_label, write_trigger, Via, KIND};

    fn json(bytes: &[u8]) -> serde_json::Value {
        serde_json::from_slice(bytes).expect("JSON")
    }

    #[test]
    fn the_multicast_trigger_and_the_label_name_the_group() {
        let mut out = Vec::new();
        write_trigger(&mut out, Via::Multicast, 4, KIND, &data(4));
        assert_eq!(
            json(&out),
            serde_json::json!({
                "meta": {"id": 4, "endpoint": "fanout:multicast", "method": "create"},
                "data": {
                    "kind": "bench:fanout",
                    "label": "bench-multicast",
                    "data": {"round": 4, "message": "fan-out 4"},
                },
            })
        );
        out.clear();
        write_label(&mut out, 1, super::GROUP);
        assert_eq!(
            json(&out),
            serde_json::json!({
                "meta": {"id": 1, "endpoint": "yoctopus:label", "method": "update"},
                "data": "bench-multicast",
            })
        );
        for via in [Via::Notify, Via::Multicast] {
            assert_eq!(via.as_str().parse(), Ok(via));
        }
        assert!("broadcast".parse::<Via>().is_err());
    }

    #[test]
    fn the_notify_one_and_whoami_requests_are_the_protocol_s_json() {
        let mut out = Vec::new();
        super::write_notify_one(
            &mut out,
            7,
            "00000000000000ab-3",
            super::ONE_KIND,
            &super::one_data(5),
        );
        assert_eq!(
            json(&out),
            serde_json::json!({
                "meta": {"id": 7, "endpoint": "fanout:notify-one", "method": "create"},
                "data": {
                    "to": "00000000000000ab-3",
                    "kind": "bench:one",
                    "data": {"seq": 5, "message": "one 5"},
                },
            })
        );
        out.clear();
        super::write_whoami(&mut out, 1);
        assert_eq!(
            json(&out),
            serde_json::json!({
                "meta": {"id": 1, "endpoint": "fanout:whoami", "method": "read"},
                "data": null,
            })
        );
    }

    #[test]
    fn the_trigger_and_the_push_are_the_protocol_s_json() {
        let mut out = Vec::new();
        write_trigger(&mut out, Via::Notify, 3, KIND, &data(3));
        let trigger: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
        assert_eq!(
            trigger,
            serde_json::json!({
                "meta": {"id": 3, "endpoint": "fanout:notify", "method": "create"},
                "data": {"kind": "bench:fanout", "data": {"round": 3, "message": "fan-out 3"}},
            })
        );
        let push: serde_json::Value =
            serde_json::from_slice(&expected_push(KIND, &data(3))).expect("JSON");
        assert_eq!(
            push,
            serde_json::json!({
                "meta": {"method": "notify", "type": "bench:fanout"},
                "data": {"round": 3, "message": "fan-out 3"},
            })
        );
    }
}
