//! The API's JSON Schemas checked against real traffic: what a client of a test server sends and
//! receives matches the server's own schema document (every test that uses `common::start` and
//! `common::Client` is checked this way), and traffic the schemas reject is caught, naming the
//! field at fault.

mod common;

use std::future::Future;

use common::schema_check::{self, Check};
use common::{start, Client};
use serde_json::{json, Value};
use yoctopus_core::prelude::*;

#[plugin]
mod board {
    use serde::Serialize;
    use yoctopus_core::prelude::*;
    use yoctopus_core::Connections;

    #[derive(RequestFormat)]
    pub(crate) struct Hello {
        pub(crate) name: String,
    }

    /// The answer to `board:hello` `read`.
    #[derive(Serialize, schemars::JsonSchema)]
    pub(crate) struct Greeting {
        pub(crate) message: String,
    }

    #[endpoint(name = "hello", method = "read")]
    async fn hello(request: Hello) -> Greeting {
        Greeting {
            message: format!("Hello, {}!", request.name),
        }
    }

    #[derive(RequestFormat)]
    pub(crate) struct Post {
        pub(crate) text: String,
        pub(crate) tags: Option<Vec<String>>,
    }

    /// The answer to a post.
    #[derive(Serialize, schemars::JsonSchema)]
    pub(crate) struct Posted {
        /// How many characters the post has.
        pub(crate) length: u32,
        pub(crate) tags: Vec<String>,
    }

    /// A post was made on the board.
    #[push("posted")]
    #[derive(Serialize, schemars::JsonSchema)]
    pub(crate) struct PostedNotice {
        /// The post.
        pub(crate) text: String,
        /// Its tags, as given.
        pub(crate) tags: Vec<String>,
    }

    /// Posts `text`, pushes a `posted` notice to the poster; an empty text is refused.
    #[endpoint(name = "post", method = "create")]
    async fn post(
        request: Post,
        connections: Connections,
        id: ConnectionId,
    ) -> Result<Posted, String> {
        if request.text.is_empty() {
            return Err("a post needs text".to_owned());
        }
        let tags = request.tags.unwrap_or_default();
        let notice = Push::of(&PostedNotice {
            text: request.text.clone(),
            tags: tags.clone(),
        })
        .map_err(|error| error.to_string())?;
        connections
            .push(id, notice)
            .await
            .map_err(|error| error.to_string())?;
        Ok(Posted {
            length: u32::try_from(request.text.chars().count()).unwrap_or(u32::MAX),
            tags,
        })
    }
}

/// An endpoint that takes any `data` and answers it back: the server accepts everything, so
/// whether traffic matches a schema is the schema check's alone to say.
#[plugin]
mod loose {
    #[endpoint(name = "echo", method = "create")]
    async fn echo(data: serde_json::Value) -> serde_json::Value {
        data
    }
}

/// A request frame.
fn request(id: &str, endpoint: &str, method: &str, data: Value) -> Value {
    json!({"meta": {"id": id, "endpoint": endpoint, "method": method}, "data": data})
}

/// The ok response to a request.
fn ok_response(id: &str, endpoint: &str, method: &str, data: Value) -> Value {
    json!({"meta": {"id": id, "endpoint": endpoint, "method": method, "status": "ok"}, "data": data})
}

/// Runs `exchange` on its own task and returns the message it panicked with.
async fn panic_message_of(exchange: impl Future<Output = ()> + Send + 'static) -> String {
    let error = tokio::spawn(exchange)
        .await
        .expect_err("the schema check panics");
    let payload = error.into_panic();
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| {
            payload
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
        })
        .expect("the panic carries a message")
}

/// `server`'s JSON Schema document with the `request` or `response` schema of `loose:echo`
/// `create` replaced by `schema`: a document that says more than the server checks.
fn doctored(server: &Server, part: &str, schema: Value) -> Check {
    let mut document = server.api().json_schema("doctored");
    document["endpoints"]["loose:echo"]["create"][part] = schema;
    Check::new(&document)
}

async fn board() -> Server {
    start([board::plugin().alias("post", "wall"), loose::plugin()]).await
}

#[tokio::test]
async fn real_traffic_matches_the_servers_schemas() {
    let server = board().await;
    let mut client = Client::connect(server.local_addr()).await;
    assert!(
        client.is_schema_checked(),
        "`start` registers the server's check and `Client` finds it"
    );
    client
        .assert_ok(
            "board:hello",
            "read",
            json!({"name": "Ada"}),
            json!({"message": "Hello, Ada!"}),
        )
        .await;
    // Under its alias and under its full name, an ok response and a declared push; an optional
    // field given and left out.
    for (id, endpoint, request, tags) in [
        (
            "1",
            "wall",
            json!({"text": "hi", "tags": ["news"]}),
            json!(["news"]),
        ),
        (
            "2",
            "board:post",
            json!({"text": "hi", "tags": null}),
            json!([]),
        ),
        ("3", "wall", json!({"text": "hi"}), json!([])),
    ] {
        client.send_request(id, endpoint, "create", request).await;
        let mut frames = client.recv_many(2).await;
        frames.sort_by_key(|frame| frame["meta"].get("status").is_some());
        assert_eq!(
            frames,
            [
                json!({"meta": {"method": "notify", "type": "posted"}, "data": {"text": "hi", "tags": tags}}),
                ok_response(id, endpoint, "create", json!({"length": 2, "tags": tags})),
            ]
        );
    }
    // Error responses: the handler's error, a format not met (its request is not checked), an
    // unknown endpoint and method, a frame that is no request at all.
    client
        .assert_error(
            "wall",
            "create",
            json!({"text": ""}),
            json!("a post needs text"),
        )
        .await;
    let refused = client
        .error("board:hello", "read", json!({"name": 5}))
        .await;
    assert!(refused.is_array(), "{refused}");
    client.error("board:nowhere", "read", Value::Null).await;
    client.error("board:hello", "delete", Value::Null).await;
    client.send_text("not JSON").await;
    let reply = client.recv_json().await;
    assert_eq!(reply["meta"], json!({"status": "error"}), "{reply}");
    // The bundled endpoint, and one that takes anything.
    client
        .assert_ok("yoctopus:label", "update", json!("ada"), json!({}))
        .await;
    client
        .assert_ok("loose:echo", "create", json!([1, "two"]), json!([1, "two"]))
        .await;
}

#[tokio::test]
async fn the_check_knows_endpoints_by_the_name_clients_use_and_by_their_full_name() {
    let server = board().await;
    let check = Check::for_server(&server);
    assert!(check.knows("wall", "create"));
    assert!(check.knows("board:post", "create"));
    assert!(check.knows("board:hello", "read"));
    assert!(check.knows("yoctopus:label", "update"));
    assert!(!check.knows("board:post", "read"));
    assert!(!check.knows("board:nowhere", "read"));
    assert!(check.knows_push("posted"));
    assert!(!check.knows_push("error"));
    // What the document does not list passes: it is the tests' to judge.
    assert_eq!(check.request("board:nowhere", "read", &json!(5)), Ok(()));
}

#[tokio::test]
async fn a_request_missing_a_required_field_or_a_response_of_the_wrong_type_is_rejected() {
    let server = board().await;
    let check = Check::for_server(&server);

    let mismatch = check
        .request("board:hello", "read", &json!({"nam": "Ada"}))
        .expect_err("`name` is required");
    assert_eq!(mismatch.what, "the request `data` of `board:hello` `read`");
    assert_eq!(
        mismatch.errors,
        [r#"/: "name" is a required property"#],
        "{mismatch}"
    );
    // The same request answered ok, checked as an exchange.
    let mismatch = check
        .exchange(
            &request("1", "board:hello", "read", json!({"nam": "Ada"})),
            &ok_response("1", "board:hello", "read", json!({"message": "Hello!"})),
        )
        .expect_err("`name` is required");
    assert!(
        mismatch
            .to_string()
            .contains(r#""name" is a required property"#),
        "{mismatch}"
    );
    assert_eq!(
        check.exchange(
            &request("1", "board:hello", "read", json!({"name": "Ada"})),
            &ok_response("1", "board:hello", "read", json!({"message": "Hello!"})),
        ),
        Ok(())
    );
    // A field of the wrong type, through the alias's full name.
    let mismatch = check
        .request(
            "board:post",
            "create",
            &json!({"text": "hi", "tags": "news"}),
        )
        .expect_err("`tags` is an array");
    assert_eq!(mismatch.errors.len(), 1, "{mismatch}");
    assert!(mismatch.errors[0].starts_with("/tags: "), "{mismatch}");

    // A response that is not even an object.
    let mismatch = check
        .response("board:hello", "read", &json!("Hello, Ada!"))
        .expect_err("the response is an object");
    assert_eq!(mismatch.what, "the response `data` of `board:hello` `read`");
    assert_eq!(
        mismatch.errors,
        [r#"/: "Hello, Ada!" is not of type "object""#],
        "{mismatch}"
    );
}

#[tokio::test]
async fn a_client_panics_on_an_accepted_request_its_schema_rejects() {
    let server = board().await;
    let addr = server.local_addr();
    // The server's `loose:echo` takes anything; the document given to the check says it takes
    // `board:hello`'s format.
    schema_check::register_as(
        addr,
        doctored(
            &server,
            "request",
            json!({"$ref": "#/components/schemas/Hello"}),
        ),
    );
    let message = panic_message_of(async move {
        let mut client = Client::connect(addr).await;
        // Refused requests are the tests' business, not the check's.
        client
            .error("board:hello", "read", json!({"nam": "Ada"}))
            .await;
        client
            .ok("loose:echo", "create", json!({"nam": "Ada"}))
            .await;
    })
    .await;
    assert!(
        message.starts_with(
            r#"schema check: the request `data` of `loose:echo` `create` (sent as {"nam":"Ada"}) does not match its schema: /: "name" is a required property"#
        ),
        "{message}"
    );
    assert!(
        message.contains(
            r#"frame: {"meta":{"id":"ok","endpoint":"loose:echo","method":"create","status":"ok"},"data":{"nam":"Ada"}}"#
        ),
        "{message}"
    );
}

#[tokio::test]
async fn a_response_whose_data_does_not_match_its_declared_schema_is_caught() {
    let server = board().await;
    let check = Check::for_server(&server);
    let mismatch = check
        .received(&ok_response(
            "1",
            "board:hello",
            "read",
            json!({"message": 5}),
        ))
        .expect_err("`message` is a string");
    assert_eq!(mismatch.what, "the response `data` of `board:hello` `read`");
    assert_eq!(
        mismatch.errors,
        [r#"/message: 5 is not of type "string""#],
        "{mismatch}"
    );
    let mismatch = check
        .received(&ok_response(
            "1",
            "board:hello",
            "read",
            json!({"greeting": "hi"}),
        ))
        .expect_err("`message` is required");
    assert_eq!(
        mismatch.errors,
        [r#"/: "message" is a required property"#],
        "{mismatch}"
    );
    // Under the full name of an aliased endpoint.
    let mismatch = check
        .received(&ok_response(
            "1",
            "board:post",
            "create",
            json!({"length": -1, "tags": []}),
        ))
        .expect_err("`length` is unsigned");
    assert_eq!(
        mismatch.what,
        "the response `data` of `board:post` `create`"
    );
    assert_eq!(mismatch.errors.len(), 1, "{mismatch}");
    assert!(mismatch.errors[0].starts_with("/length: -1"), "{mismatch}");

    // Through a client: the server echoes what it is sent, the check's document says it
    // answers a `Greeting`.
    let addr = server.local_addr();
    schema_check::register_as(
        addr,
        doctored(
            &server,
            "response",
            json!({"$ref": "#/components/schemas/Greeting"}),
        ),
    );
    let message = panic_message_of(async move {
        let mut client = Client::connect(addr).await;
        client
            .ok("loose:echo", "create", json!({"message": "fine"}))
            .await;
        client
            .ok("loose:echo", "create", json!({"message": 5}))
            .await;
    })
    .await;
    assert_eq!(
        message,
        r#"schema check: the response `data` of `loose:echo` `create` does not match its schema: /message: 5 is not of type "string"
frame: {"meta":{"id":"ok","endpoint":"loose:echo","method":"create","status":"ok"},"data":{"message":5}}"#
    );
}

#[tokio::test]
async fn pushes_error_responses_and_envelopes_are_checked_too() {
    let server = board().await;
    let check = Check::for_server(&server);
    let mismatch = check
        .received(&json!({"meta": {"method": "notify", "type": "posted"}, "data": {"text": "hi"}}))
        .expect_err("`tags` is required");
    assert_eq!(mismatch.what, "the `data` of push `posted`");
    assert_eq!(
        mismatch.errors,
        [r#"/: "tags" is a required property"#],
        "{mismatch}"
    );
    // A push of a type no plugin declares: only its envelope is checked.
    assert_eq!(
        check.received(
            &json!({"meta": {"method": "notify", "type": "error"}, "data": {"message": "no"}})
        ),
        Ok(())
    );
    let mismatch = check
        .received(&json!({"meta": {"method": "multicast", "type": "error"}, "data": 1}))
        .expect_err("a push's method is `notify`");
    assert_eq!(mismatch.what, "a push");

    assert_eq!(
        check.received(&json!({"meta": {"status": "error"}, "error": ["a", "b"]})),
        Ok(())
    );
    let mismatch = check
        .received(&json!({"meta": {"id": "1", "status": "error"}, "error": 5}))
        .expect_err("`error` is a string or strings");
    assert_eq!(mismatch.what, "an error response");
    assert!(mismatch.errors[0].starts_with("/error: 5"), "{mismatch}");

    let mismatch = check
        .received(&json!({"meta": {"id": "1", "endpoint": "board:hello", "method": "read", "status": "ok"}}))
        .expect_err("an ok response has `data`");
    assert_eq!(mismatch.what, "an ok response");
    assert!(
        check
            .received(&json!({"meta": {"id": "1"}, "data": 1}))
            .is_err(),
        "a frame that is neither a response nor a push"
    );
    // Frames that are not JSON objects are left to the tests.
    assert_eq!(check.received(&json!([1, 2])), Ok(()));
    assert_eq!(check.received(&json!("text")), Ok(()));
}
