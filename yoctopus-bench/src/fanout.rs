//! The notify fan-out: one trigger on a controller connection makes `bench-yoctopus --fanout`
//! notify every other open connection by id from a background task, and the load generator times
//! the pushes' arrival. Written once here so that the server and the load generator agree on the
//! trigger, the push each connection must receive, and the server's answer.
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

/// The push's `meta.type`.
pub const KIND: &str = "bench:fanout";

/// What the server answers to a trigger, once every `notify` call has returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// Connections whose `notify` returned `Ok` (queued for them).
    pub notified: usize,
    /// Connections whose `notify` failed (closed meanwhile, queue full).
    pub failed: usize,
    /// The first failure, if any.
    pub first_error: Option<String>,
    /// How long `Connections::ids` took, in microseconds.
    pub ids_us: u64,
    /// From just before the first `notify` call to the return of the last, in microseconds.
    pub calls_us: u64,
    /// When the first `notify` was called: [`unix_nanos`] on the server.
    pub first_call_unix_ns: u64,
}

/// The push data of trigger `round`.
pub fn data(round: u64) -> Value {
    serde_json::json!({ "round": round, "message": format!("fan-out {round}") })
}

/// Appends the trigger request: `meta.id` the number `id`, asking for pushes of `kind` with `data`.
pub fn write_trigger(out: &mut Vec<u8>, id: u64, kind: &str, data: &Value) {
    let Endpoint { endpoint, method } = TRIGGER;
    let data = serde_json::json!({ "kind": kind, "data": data });
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
    use super::{data, expected_push, write_trigger, KIND};

    #[test]
    fn the_trigger_and_the_push_are_the_protocol_s_json() {
        let mut out = Vec::new();
        write_trigger(&mut out, 3, KIND, &data(3));
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
