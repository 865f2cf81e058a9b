//! Every row of PROTOCOL.md's error table, each followed by a good request on the same connection;
//! binary frames, absent `data`, the `id` echo, and replies that overtake a slow handler's.

mod common;

use std::collections::HashMap;

use common::{start_with, Client};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use yoctopus_core::{plugin, ErrorEvent, Server};

#[plugin]
mod echo {
    use serde_json::{json, Value};
    use yoctopus_core::prelude::*;

    #[settings]
    #[derive(Default, Clone)]
    pub(crate) struct Settings {
        pub(crate) open: bool,
    }

    #[endpoint(name = "echo", method = "read")]
    async fn echo(data: Value) -> Value {
        data
    }

    #[derive(RequestFormat)]
    pub(crate) struct Named {
        name: String,
        age: u8,
    }

    #[endpoint(name = "checked", method = "create")]
    async fn checked(request: Named) -> Value {
        json!({ "name": request.name, "age": request.age })
    }

    #[endpoint(name = "guarded", method = "read", requires(self.open))]
    async fn guarded() -> &'static str {
        "open"
    }

    #[endpoint(name = "fail", method = "update")]
    async fn fail() -> Result<Value, String> {
        Err("the disk is full".to_owned())
    }

    #[endpoint(name = "panic", method = "delete")]
    async fn panic() -> Value {
        panic!("boom")
    }

    #[endpoint(name = "whoami", method = "read")]
    async fn whoami(id: ConnectionId) -> ConnectionId {
        id
    }

    /// A gate that `slow` waits at and `release` opens; no timing involved.
    pub(crate) struct Gate(pub(crate) tokio::sync::Notify);

    #[endpoint(name = "slow", method = "read")]
    async fn slow(gate: State<Gate>) -> &'static str {
        gate.0.notified().await;
        "slow"
    }

    #[endpoint(name = "release", method = "create")]
    async fn release(gate: State<Gate>) -> &'static str {
        gate.0.notify_one();
        "released"
    }
}

async fn start_echo() -> (Server, Client) {
    let builder = Server::builder().state(echo::Gate(tokio::sync::Notify::new()));
    let server = start_with(builder, [echo::plugin()]).await;
    let client = Client::connect(server.local_addr()).await;
    (server, client)
}

/// A good request after an error: the connection is still open and answers normally.
async fn assert_still_serving(client: &mut Client) {
    client
        .assert_ok(
            "echo:echo",
            "read",
            json!({"still": "here"}),
            json!({"still": "here"}),
        )
        .await;
}

/// Sends `frame` as text and asserts that the reply is an invalid-message error whose `meta` holds
/// only `status` and whose message carries the parser's reason.
async fn assert_invalid_json(client: &mut Client, frame: &str) {
    client.send_text(frame).await;
    let reply = client.recv_json().await;
    let error = reply["error"].as_str().unwrap_or_default();
    let reason = error.strip_prefix("invalid message: ").unwrap_or_default();
    assert!(
        !reason.is_empty(),
        "no parser reason for {frame:?}: {reply}"
    );
    assert_eq!(
        reply,
        json!({"meta": {"status": "error"}, "error": error}),
        "the reply to {frame:?}"
    );
}

#[tokio::test]
async fn a_frame_that_is_not_json_answers_invalid_message_and_keeps_the_connection_open() {
    let (_server, mut client) = start_echo().await;
    for frame in [
        "{not json",
        "nonsense",
        "{\"meta\":",
        "",
        "{\"meta\":{}} trailing",
    ] {
        assert_invalid_json(&mut client, frame).await;
        assert_still_serving(&mut client).await;
    }
}

#[tokio::test]
async fn json_that_is_not_an_object_answers_invalid_message_and_keeps_the_connection_open() {
    let (_server, mut client) = start_echo().await;
    for frame in ["[1,2]", "42", "\"hi\"", "null", "true", " [{\"meta\":{}}]"] {
        client.send_text(frame).await;
        assert_eq!(
            client.recv_json().await,
            json!({"meta": {"status": "error"}, "error": "invalid message: expected a JSON object"}),
            "the reply to {frame:?}"
        );
        assert_still_serving(&mut client).await;
    }
}

#[tokio::test]
async fn a_missing_meta_is_named_and_keeps_the_connection_open() {
    let (_server, mut client) = start_echo().await;
    for frame in [r#"{"data":{"name":"Ada"}}"#, "{}"] {
        client.send_text(frame).await;
        assert_eq!(
            client.recv_json().await,
            json!({"meta": {"status": "error"}, "error": "invalid message: `meta` is missing"}),
            "the reply to {frame}"
        );
        assert_still_serving(&mut client).await;
    }
}

#[tokio::test]
async fn a_meta_that_is_not_an_object_is_named_and_keeps_the_connection_open() {
    let (_server, mut client) = start_echo().await;
    for frame in [
        r#"{"meta":[1,2,3]}"#,
        r#"{"meta":"echo:echo"}"#,
        r#"{"meta":7}"#,
    ] {
        client.send_text(frame).await;
        assert_eq!(
            client.recv_json().await,
            json!({"meta": {"status": "error"}, "error": "invalid message: `meta` must be an object"}),
            "the reply to {frame}"
        );
        assert_still_serving(&mut client).await;
    }
}

#[tokio::test]
async fn a_missing_endpoint_or_method_is_named_and_meta_echoes_what_was_read() {
    let (_server, mut client) = start_echo().await;
    for (frame, expected) in [
        (
            r#"{"meta":{"id":"7","method":"read"},"data":null}"#,
            json!({
                "meta": {"id": "7", "method": "read", "status": "error"},
                "error": "invalid message: `meta.endpoint` is missing"
            }),
        ),
        (
            r#"{"meta":{"id":8,"endpoint":"echo:echo"}}"#,
            json!({
                "meta": {"id": 8, "endpoint": "echo:echo", "status": "error"},
                "error": "invalid message: `meta.method` is missing"
            }),
        ),
        (
            r#"{"meta":{}}"#,
            json!({
                "meta": {"status": "error"},
                "error": "invalid message: `meta.endpoint` is missing"
            }),
        ),
    ] {
        client.send_text(frame).await;
        assert_eq!(client.recv_json().await, expected, "the reply to {frame}");
        assert_still_serving(&mut client).await;
    }
}

#[tokio::test]
async fn an_endpoint_or_method_that_is_not_a_string_is_named_and_meta_echoes_it() {
    let (_server, mut client) = start_echo().await;
    for (frame, expected) in [
        (
            r#"{"meta":{"id":"e","endpoint":5,"method":"read"}}"#,
            json!({
                "meta": {"id": "e", "endpoint": 5, "method": "read", "status": "error"},
                "error": "invalid message: `meta.endpoint` must be a string"
            }),
        ),
        (
            r#"{"meta":{"id":9,"endpoint":"echo:echo","method":["read"]}}"#,
            json!({
                "meta": {"id": 9, "endpoint": "echo:echo", "method": ["read"], "status": "error"},
                "error": "invalid message: `meta.method` must be a string"
            }),
        ),
    ] {
        client.send_text(frame).await;
        assert_eq!(client.recv_json().await, expected, "the reply to {frame}");
        assert_still_serving(&mut client).await;
    }
}

#[tokio::test]
async fn a_null_endpoint_or_method_is_named_as_not_a_string_and_meta_echoes_it() {
    let (_server, mut client) = start_echo().await;
    for (frame, expected) in [
        (
            r#"{"meta":{"id":10,"endpoint":null,"method":"read"}}"#,
            json!({
                "meta": {"id": 10, "endpoint": null, "method": "read", "status": "error"},
                "error": "invalid message: `meta.endpoint` must be a string"
            }),
        ),
        (
            r#"{"meta":{"id":11,"endpoint":"echo:echo","method":null}}"#,
            json!({
                "meta": {"id": 11, "endpoint": "echo:echo", "method": null, "status": "error"},
                "error": "invalid message: `meta.method` must be a string"
            }),
        ),
    ] {
        client.send_text(frame).await;
        assert_eq!(client.recv_json().await, expected, "the reply to {frame}");
        assert_still_serving(&mut client).await;
    }
}

#[tokio::test]
async fn an_unknown_endpoint_is_named_and_keeps_the_connection_open() {
    let (_server, mut client) = start_echo().await;
    for endpoint in ["nope:thing", "echo:nothing", "echo", "echo:", ":echo"] {
        client
            .assert_error(
                endpoint,
                "read",
                Value::Null,
                json!(format!("unknown endpoint `{endpoint}`")),
            )
            .await;
        assert_still_serving(&mut client).await;
    }
}

#[tokio::test]
async fn an_unknown_method_of_a_known_endpoint_names_both_and_keeps_the_connection_open() {
    let (_server, mut client) = start_echo().await;
    client
        .assert_error(
            "echo:echo",
            "destroy",
            Value::Null,
            json!("endpoint `echo:echo` has no method `destroy`"),
        )
        .await;
    assert_still_serving(&mut client).await;
    client
        .assert_error(
            "echo:checked",
            "read",
            json!({"name": "Ada", "age": 36}),
            json!("endpoint `echo:checked` has no method `read`"),
        )
        .await;
    assert_still_serving(&mut client).await;
}

#[tokio::test]
async fn a_request_format_not_met_lists_each_field_and_keeps_the_connection_open() {
    let (_server, mut client) = start_echo().await;
    client
        .assert_error(
            "echo:checked",
            "create",
            json!({"name": 1}),
            json!([
                "name: expected string, got number",
                "age: missing, expected non-negative integer"
            ]),
        )
        .await;
    assert_still_serving(&mut client).await;
    client
        .assert_ok(
            "echo:checked",
            "create",
            json!({"name": "Ada", "age": 36}),
            json!({"name": "Ada", "age": 36}),
        )
        .await;
}

#[tokio::test]
async fn a_requirement_not_met_is_named_and_keeps_the_connection_open() {
    let (_server, mut client) = start_echo().await;
    client
        .assert_error(
            "echo:guarded",
            "read",
            Value::Null,
            json!("requirement not met: echo.open"),
        )
        .await;
    assert_still_serving(&mut client).await;
}

#[tokio::test]
async fn a_handler_error_answers_its_message_and_keeps_the_connection_open() {
    let (_server, mut client) = start_echo().await;
    client
        .assert_error(
            "echo:fail",
            "update",
            Value::Null,
            json!("the disk is full"),
        )
        .await;
    assert_still_serving(&mut client).await;
}

#[tokio::test]
async fn a_handler_panic_answers_internal_error_reports_to_the_hook_and_the_server_keeps_serving() {
    let (events, mut reported) = tokio::sync::mpsc::unbounded_channel();
    let builder = Server::builder()
        .state(echo::Gate(tokio::sync::Notify::new()))
        .on_error(move |event| {
            let _ = events.send(event.clone());
        });
    let server = start_with(builder, [echo::plugin()]).await;
    let mut client = Client::connect(server.local_addr()).await;
    let mut other = Client::connect(server.local_addr()).await;
    let id = client.ok("echo:whoami", "read", Value::Null).await;

    client
        .assert_error("echo:panic", "delete", Value::Null, json!("internal error"))
        .await;

    let event = tokio::time::timeout(common::WAIT, reported.recv())
        .await
        .expect("the error hook was called in time")
        .expect("the hook is still registered");
    match event {
        ErrorEvent::HandlerPanicked { connection, .. } => assert_eq!(json!(connection), id),
        other => panic!("expected a HandlerPanicked event, got {other:?}"),
    }
    assert_still_serving(&mut client).await;
    assert_still_serving(&mut other).await;
    let mut newcomer = Client::connect(server.local_addr()).await;
    assert_still_serving(&mut newcomer).await;
    assert!(
        reported.try_recv().is_err(),
        "only the panic was reported to the hook"
    );
}

#[tokio::test]
async fn a_handler_panic_reports_its_message_to_the_error_hook() {
    let (events, mut reported) = tokio::sync::mpsc::unbounded_channel();
    let builder = Server::builder()
        .state(echo::Gate(tokio::sync::Notify::new()))
        .on_error(move |event| {
            let _ = events.send(event.clone());
        });
    let server = start_with(builder, [echo::plugin()]).await;
    let mut client = Client::connect(server.local_addr()).await;
    client
        .assert_error("echo:panic", "delete", Value::Null, json!("internal error"))
        .await;
    let event = tokio::time::timeout(common::WAIT, reported.recv())
        .await
        .expect("the error hook was called in time")
        .expect("the hook is still registered");
    match event {
        ErrorEvent::HandlerPanicked { message, .. } => assert_eq!(message, "boom"),
        other => panic!("expected a HandlerPanicked event, got {other:?}"),
    }
}

#[tokio::test]
async fn a_binary_frame_gets_an_error_push_and_keeps_the_connection_open() {
    let (_server, mut client) = start_echo().await;
    client.send_binary(&[0, 159, 146, 150]).await;
    assert_eq!(
        client.recv_json().await,
        json!({
            "meta": {"method": "notify", "type": "error"},
            "data": {"message": "binary messages are not accepted"}
        })
    );
    assert_still_serving(&mut client).await;
}

#[tokio::test]
async fn absent_data_reaches_the_handler_as_null() {
    let (_server, mut client) = start_echo().await;
    client
        .send_text(r#"{"meta":{"id":"d","endpoint":"echo:echo","method":"read"}}"#)
        .await;
    assert_eq!(
        client.recv_json().await,
        json!({
            "meta": {"id": "d", "endpoint": "echo:echo", "method": "read", "status": "ok"},
            "data": null
        })
    );
    client
        .send_text(r#"{"meta":{"id":"c","endpoint":"echo:checked","method":"create"}}"#)
        .await;
    assert_eq!(
        client.recv_json().await,
        json!({
            "meta": {"id": "c", "endpoint": "echo:checked", "method": "create", "status": "error"},
            "error": ["data: expected object, got null"]
        })
    );
}

#[tokio::test]
async fn the_id_comes_back_exactly_as_sent() {
    let (_server, mut client) = start_echo().await;
    for id in [
        json!("1"),
        json!("007"),
        json!(""),
        json!(42),
        json!(-7),
        json!(0),
        json!(1.5),
        json!(u64::MAX),
    ] {
        let reply = client
            .request(id.clone(), "echo:echo", "read", json!(true))
            .await;
        assert_eq!(
            reply,
            json!({
                "meta": {"id": id, "endpoint": "echo:echo", "method": "read", "status": "ok"},
                "data": true
            })
        );
    }
}

#[tokio::test]
async fn a_numeric_id_is_echoed_byte_for_byte() {
    #[derive(serde::Deserialize)]
    struct Reply<'a> {
        #[serde(borrow)]
        meta: HashMap<&'a str, &'a RawValue>,
    }

    let (_server, mut client) = start_echo().await;
    for id in ["17.50", "1e3", "123456789012345678901234567890", "-0"] {
        client
            .send_text(&format!(
                r#"{{"meta":{{"id":{id},"endpoint":"echo:echo","method":"read"}},"data":1}}"#
            ))
            .await;
        let text = client.recv_text().await;
        let reply: Reply<'_> = serde_json::from_str(&text).expect("the reply is JSON");
        assert_eq!(reply.meta["id"].get(), id, "the reply {text}");
        assert_eq!(reply.meta["status"].get(), r#""ok""#, "the reply {text}");
    }
}

#[tokio::test]
async fn a_request_without_an_id_is_answered_without_one() {
    let (_server, mut client) = start_echo().await;
    client
        .send_text(r#"{"meta":{"endpoint":"echo:echo","method":"read"},"data":"x"}"#)
        .await;
    assert_eq!(
        client.recv_json().await,
        json!({"meta": {"endpoint": "echo:echo", "method": "read", "status": "ok"}, "data": "x"})
    );
}

#[tokio::test]
async fn a_slow_handler_does_not_hold_back_a_later_fast_reply() {
    let (_server, mut client) = start_echo().await;
    client
        .send_request("slow", "echo:slow", "read", Value::Null)
        .await;
    client
        .send_request("fast", "echo:echo", "read", json!("quick"))
        .await;
    assert_eq!(
        client.recv_json().await,
        json!({
            "meta": {"id": "fast", "endpoint": "echo:echo", "method": "read", "status": "ok"},
            "data": "quick"
        })
    );
    client
        .send_request("release", "echo:release", "create", Value::Null)
        .await;
    let mut replies = client.recv_many(2).await;
    replies.sort_by_key(|reply| reply["meta"]["id"].to_string());
    assert_eq!(
        replies,
        [
            json!({
                "meta": {"id": "release", "endpoint": "echo:release", "method": "create", "status": "ok"},
                "data": "released"
            }),
            json!({
                "meta": {"id": "slow", "endpoint": "echo:slow", "method": "read", "status": "ok"},
                "data": "slow"
            }),
        ]
    );
}
