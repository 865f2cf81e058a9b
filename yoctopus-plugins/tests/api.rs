//! The `api` plugin over real sockets: `api:api` `read` for known plugins, `api-changed` pushes
//! when plugins come and go while the server runs, and what happens to requests then.

#![allow(
    unreachable_pub,
    reason = "test plugins' items are public as a user's would be"
)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use support::{start, Client};
use yoctopus_core::prelude::*;

/// Greets people; one optional field and one custom validator, for the marks beside the format.
#[plugin]
mod greeter {
    use yoctopus_core::prelude::*;

    fn short(name: &str) -> bool {
        name.len() <= 20
    }

    #[derive(RequestFormat)]
    pub struct Hello {
        #[format(with = short)]
        pub name: String,
        pub title: Option<String>,
    }

    /// The answer.
    #[derive(serde::Serialize, schemars::JsonSchema)]
    pub struct Greeting {
        pub message: String,
    }

    /// Greets by name.
    #[endpoint(name = "hello", method = "read")]
    async fn hello(request: Hello) -> Greeting {
        let title = request
            .title
            .map(|title| format!("{title} "))
            .unwrap_or_default();
        Greeting {
            message: format!("Hello, {title}{}!", request.name),
        }
    }
}

/// Counts, in a setting: a plugin with settings, added while connections are open.
#[plugin]
mod counter {
    use yoctopus_core::prelude::*;

    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub count: u32,
    }

    #[endpoint(name = "count", method = "update")]
    async fn count(settings: ConnectionSettings<Settings>) -> Reply<Settings, u32> {
        let count = settings.count + 1;
        Reply::new(count).settings(Settings { count })
    }
}

/// Holds its answer until told to go on: a request in flight while its plugin is removed.
#[plugin]
mod slow {
    use std::sync::Arc;

    use yoctopus_core::prelude::*;

    /// Released by the test.
    pub struct Gate(pub Arc<tokio::sync::Semaphore>);

    #[endpoint(name = "wait", method = "read")]
    async fn wait(gate: State<Gate>) -> &'static str {
        let _ = gate.0.acquire().await;
        "done"
    }
}

#[tokio::test]
async fn read_answers_every_endpoint_with_its_format_marks_and_schemas() {
    let server = start(vec![greeter::plugin(), yoctopus_plugins::api::plugin()]).await;
    let mut client = Client::connect(server.local_addr()).await;
    let api = client.ok("api:api", "read", json!({})).await;
    let expected = json!({
        "yoctopus:label": {
            "update": {
                "requestFormat": "string",
                "description": "`yoctopus:label` `update`, `data` a string: sets the connection's label.",
                "requestSchema": { "type": "string" },
                "responseSchema": { "type": "object", "additionalProperties": false }
            }
        },
        "greeter:hello": {
            "read": {
                "requestFormat": { "name": "string", "title": "string" },
                "optional": ["title"],
                "validators": { "name": "short" },
                "description": "Greets by name.",
                "requestSchema": {
                    "$ref": "#/definitions/Hello",
                    "definitions": {
                        "Hello": {
                            "type": "object",
                            "properties": {
                                "name": {
                                    "type": "string",
                                    "description": "checked by the custom validator `short`",
                                    "x-validator": "short"
                                },
                                "title": { "type": ["string", "null"] }
                            },
                            "required": ["name"]
                        }
                    }
                },
                "responseSchema": {
                    "$ref": "#/definitions/Greeting",
                    "definitions": {
                        "Greeting": {
                            "description": "The answer.",
                            "type": "object",
                            "properties": { "message": { "type": "string" } },
                            "required": ["message"]
                        }
                    }
                }
            }
        },
        "api:api": {
            "read": {
                "description": "Every endpoint and method, by the name clients use, with its request format and the\nJSON Schemas of its request and response.",
                "requestSchema": true,
                "responseSchema": true
            },
            "subscribe": {
                "description": "From now on, an `api-changed` push after each change of the API. Subscribing twice\nchanges nothing.",
                "requestSchema": true,
                "responseSchema": {
                    "$ref": "#/definitions/Subscription",
                    "definitions": {
                        "Subscription": {
                            "description": "Whether the connection is subscribed to `api-changed`.",
                            "type": "object",
                            "properties": {
                                "subscribed": {
                                    "description": "`true` after `subscribe`, `false` after `unsubscribe`.",
                                    "type": "boolean"
                                }
                            },
                            "required": ["subscribed"]
                        }
                    }
                }
            },
            "unsubscribe": {
                "description": "No more `api-changed` pushes: none is sent after this answer.",
                "requestSchema": true,
                "responseSchema": {
                    "$ref": "#/definitions/Subscription",
                    "definitions": {
                        "Subscription": {
                            "description": "Whether the connection is subscribed to `api-changed`.",
                            "type": "object",
                            "properties": {
                                "subscribed": {
                                    "description": "`true` after `subscribe`, `false` after `unsubscribe`.",
                                    "type": "boolean"
                                }
                            },
                            "required": ["subscribed"]
                        }
                    }
                }
            }
        }
    });
    assert_eq!(
        api,
        expected,
        "{}",
        serde_json::to_string_pretty(&api).unwrap()
    );
    drop(client);
    server.shutdown().await;
}

#[tokio::test]
async fn subscribers_hear_each_plugin_added_or_removed_until_they_unsubscribe() {
    let server = start(vec![yoctopus_plugins::api::plugin()]).await;
    let mut subscriber = Client::connect(server.local_addr()).await;
    let mut bystander = Client::connect(server.local_addr()).await;
    let subscribed = subscriber.ok("api:api", "subscribe", json!({})).await;
    assert_eq!(subscribed, json!({"subscribed": true}));
    // A second subscribe changes nothing: still one push per change.
    subscriber.ok("api:api", "subscribe", json!({})).await;

    server
        .add_plugin(greeter::plugin())
        .expect("the plugin is added");
    let push = subscriber.recv().await;
    assert_eq!(
        push["meta"],
        json!({"method": "notify", "type": "api-changed"}),
        "{push}"
    );
    assert_eq!(
        push["data"]["greeter:hello"]["read"]["requestFormat"],
        json!({"name": "string", "title": "string"}),
        "{push}"
    );
    assert_eq!(
        push["data"],
        bystander.ok("api:api", "read", json!({})).await
    );
    assert_eq!(
        subscriber.recv_within(Duration::from_millis(300)).await,
        None,
        "one push per change"
    );

    server
        .remove_plugin("greeter")
        .expect("the plugin is removed");
    let push = subscriber.recv().await;
    assert_eq!(push["meta"]["type"], "api-changed", "{push}");
    assert!(push["data"].get("greeter:hello").is_none(), "{push}");

    let unsubscribed = subscriber.ok("api:api", "unsubscribe", json!({})).await;
    assert_eq!(unsubscribed, json!({"subscribed": false}));
    server
        .add_plugin(greeter::plugin())
        .expect("the plugin is added again");
    assert_eq!(
        subscriber.recv_within(Duration::from_millis(500)).await,
        None,
        "no push after unsubscribing"
    );
    assert_eq!(
        bystander.recv_within(Duration::from_millis(100)).await,
        None,
        "no push without subscribing"
    );
    // The connection is still served.
    let greeting = subscriber
        .ok("greeter:hello", "read", json!({"name": "Ada"}))
        .await;
    assert_eq!(greeting, json!({"message": "Hello, Ada!"}));
    drop(subscriber);
    drop(bystander);
    server.shutdown().await;
}

#[tokio::test]
async fn a_removed_plugin_answers_the_requests_it_had_and_no_later_ones() {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let slow = slow::plugin().provide(slow::Gate(Arc::clone(&gate)));
    let server = start(vec![slow]).await;
    let mut client = Client::connect(server.local_addr()).await;
    let in_flight = client.send("slow:wait", "read", json!(null)).await;
    // Let the server read and route it before the plugin goes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let removed = server.remove_plugin("slow").expect("the plugin is removed");
    assert_eq!(removed.name(), "slow");
    let (refused, _) = client.request("slow:wait", "read", json!(null)).await;
    assert_eq!(
        refused["error"], "unknown endpoint `slow:wait`",
        "{refused}"
    );
    gate.add_permits(1);
    let answer = client.recv().await;
    assert_eq!(answer["meta"]["id"], json!(in_flight), "{answer}");
    assert_eq!(answer["data"], "done", "{answer}");
    drop(client);
    server.shutdown().await;
}

#[tokio::test]
async fn a_plugin_added_while_connections_are_open_serves_them_with_its_settings() {
    let server = start(vec![]).await;
    let mut early = Client::connect(server.local_addr()).await;
    let (unknown, _) = early.request("counter:count", "update", json!(null)).await;
    assert_eq!(
        unknown["error"], "unknown endpoint `counter:count`",
        "{unknown}"
    );
    server
        .add_plugin(counter::plugin())
        .expect("the plugin is added");
    let mut late = Client::connect(server.local_addr()).await;
    for expected in 1..=3 {
        assert_eq!(
            early.ok("counter:count", "update", json!(null)).await,
            json!(expected)
        );
    }
    assert_eq!(
        late.ok("counter:count", "update", json!(null)).await,
        json!(1)
    );
    // Removed and added back, the plugin finds the settings the connection kept.
    server
        .remove_plugin("counter")
        .expect("the plugin is removed");
    server
        .add_plugin(counter::plugin())
        .expect("the plugin is added again");
    assert_eq!(
        early.ok("counter:count", "update", json!(null)).await,
        json!(4)
    );
    drop(early);
    drop(late);
    server.shutdown().await;
}

#[tokio::test]
async fn changes_that_would_break_the_server_are_refused_and_change_nothing() {
    #[plugin]
    mod reader {
        #[endpoint(name = "count", method = "read", requires(super::counter.count > 0))]
        async fn count() {}
    }

    let server = start(vec![counter::plugin()]).await;
    let duplicate = server.add_plugin(counter::plugin()).unwrap_err();
    assert_eq!(
        duplicate.to_string(),
        "plugin `counter` is registered twice"
    );
    let bundled = server.remove_plugin("yoctopus").unwrap_err();
    assert_eq!(
        bundled.to_string(),
        "plugin `yoctopus` is part of every server and cannot be removed"
    );
    let unknown = server.remove_plugin("nobody").unwrap_err();
    assert_eq!(unknown.to_string(), "plugin `nobody` is not registered");
    server
        .add_plugin(reader::plugin())
        .expect("its needs are met");
    let needed = server.remove_plugin("counter").unwrap_err();
    assert_eq!(
        needed.to_string(),
        "plugin `reader` reads settings of plugin `counter`, which is not registered"
    );
    let mut client = Client::connect(server.local_addr()).await;
    assert_eq!(
        client.ok("counter:count", "update", json!(null)).await,
        json!(1)
    );
    let names: Vec<String> = server.api().endpoint_names().map(str::to_owned).collect();
    assert_eq!(names, ["yoctopus:label", "counter:count", "reader:count"]);
    let _: Value = client.ok("reader:count", "read", json!(null)).await;
    drop(client);
    server.shutdown().await;
}
