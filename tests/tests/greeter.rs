//! The Quick Start's greeter, end to end.

mod common;

use common::{start, Client};
use serde_json::json;
use yoctopus_core::prelude::*;

#[plugin]
mod greeter {
    use yoctopus_core::prelude::*;

    #[derive(RequestFormat)]
    pub(crate) struct Hello {
        pub(crate) name: String,
    }

    #[endpoint(name = "hello", method = "read")]
    async fn hello(request: Hello) -> serde_json::Value {
        serde_json::json!({ "message": format!("Hello, {}!", request.name) })
    }
}

#[tokio::test]
async fn the_greeter_answers_the_quick_start_request() {
    let server = start([greeter::plugin()]).await;
    let mut client = Client::connect(server.local_addr()).await;
    client
        .send_text(r#"{"meta":{"id":"1","endpoint":"greeter:hello","method":"read"},"data":{"name":"Alice"}}"#)
        .await;
    assert_eq!(
        client.recv_json().await,
        json!({
            "meta": {"id": "1", "endpoint": "greeter:hello", "method": "read", "status": "ok"},
            "data": {"message": "Hello, Alice!"}
        })
    );
}

#[tokio::test]
async fn a_numeric_id_comes_back_as_the_same_number() {
    let server = start([greeter::plugin()]).await;
    let mut client = Client::connect(server.local_addr()).await;
    client
        .send_text(r#"{"meta":{"id":42,"endpoint":"greeter:hello","method":"read"},"data":{"name":"Bob"}}"#)
        .await;
    assert_eq!(
        client.recv_json().await,
        json!({
            "meta": {"id": 42, "endpoint": "greeter:hello", "method": "read", "status": "ok"},
            "data": {"message": "Hello, Bob!"}
        })
    );
}
