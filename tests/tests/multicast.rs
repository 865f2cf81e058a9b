//! Multicast over real sockets: among 200 connections, a push reaches exactly those whose
//! settings match the filter (scalar, nested, array, the bundled plugin's label, the typed
//! `filter!` form), once each, and no other connection.

mod common;

use common::{start_with, Client};
use serde_json::{json, Value};
use yoctopus_core::{filter, Push, Server, SettingsFilter};

#[yoctopus_core::plugin]
pub(crate) mod profile {
    use yoctopus_core::prelude::*;

    #[derive(Debug, Default, Clone, serde::Serialize)]
    pub(crate) struct Address {
        pub(crate) city: String,
    }

    #[settings(rename_all = "camelCase")]
    #[derive(Debug, Default, Clone)]
    pub(crate) struct Settings {
        pub(crate) is_admin: bool,
        pub(crate) user_id: String,
        pub(crate) tags: Vec<String>,
        pub(crate) address: Address,
    }

    /// Settings made from the connection's number, so the test knows who matches what.
    #[endpoint(name = "setup", method = "create")]
    async fn setup(n: u32) -> Reply<Settings> {
        let cities = ["Oslo", "Bergen", "Tromsø"];
        Reply::only_settings(Settings {
            is_admin: n.is_multiple_of(5),
            user_id: format!("user-{n}"),
            tags: vec![if n.is_multiple_of(2) { "even" } else { "odd" }.to_owned()],
            address: Address {
                city: cities[n as usize % 3].to_owned(),
            },
        })
    }

    #[endpoint(name = "ping", method = "read")]
    async fn ping() -> &'static str {
        "pong"
    }
}

/// A filter, its name, and which connection numbers it must reach.
type Case = (&'static str, SettingsFilter, Box<dyn Fn(u32) -> bool>);

/// Pushes that reached each client before the reply to a ping.
async fn pushes_before_reply(clients: &mut [Client]) -> Vec<Vec<Value>> {
    let mut seen = Vec::with_capacity(clients.len());
    for client in clients.iter_mut() {
        client
            .send_request("ping", "profile:ping", "read", Value::Null)
            .await;
        let mut pushes = Vec::new();
        loop {
            let message = client.recv_json().await;
            if message["meta"]["id"] == json!("ping") {
                break;
            }
            pushes.push(message);
        }
        seen.push(pushes);
    }
    seen
}

#[tokio::test]
async fn a_multicast_reaches_exactly_the_matching_connections_among_200() {
    let server = start_with(Server::builder(), [profile::plugin()]).await;
    let mut clients = Vec::with_capacity(200);
    for n in 0..200u32 {
        let mut client = Client::connect(server.local_addr()).await;
        client
            .assert_ok("profile:setup", "create", json!(n), json!({}))
            .await;
        clients.push(client);
    }
    clients[7]
        .assert_ok("yoctopus:label", "update", json!("lobby"), json!({}))
        .await;
    let connections = server.connections();
    let cases: Vec<Case> = vec![
        (
            "scalar",
            SettingsFilter::from_json(json!({"profile": {"isAdmin": true}})).expect("a filter"),
            Box::new(|n| n % 5 == 0),
        ),
        (
            "one user",
            SettingsFilter::from_json(json!({"profile": {"userId": "user-17"}})).expect("a filter"),
            Box::new(|n| n == 17),
        ),
        (
            "array",
            SettingsFilter::from_json(json!({"profile": {"tags": ["even"]}})).expect("a filter"),
            Box::new(|n| n % 2 == 0),
        ),
        (
            "nested",
            SettingsFilter::from_json(json!({"profile": {"address": {"city": "Oslo"}}}))
                .expect("a filter"),
            Box::new(|n| n % 3 == 0),
        ),
        (
            "label",
            SettingsFilter::from_json(json!({"yoctopus": {"label": "lobby"}})).expect("a filter"),
            Box::new(|n| n == 7),
        ),
        (
            "typed",
            filter!(profile.is_admin, profile.address.city == "Oslo"),
            Box::new(|n| n % 15 == 0),
        ),
        (
            "typed, nobody",
            filter!(profile.user_id == "user-999"),
            Box::new(|_| false),
        ),
    ];
    for (name, filter, matches) in cases {
        let push = Push::new("alert", &json!({"case": name})).expect("a push serializes");
        let expected: Vec<u32> = (0..200).filter(|n| matches(*n)).collect();
        let reached = connections
            .multicast(filter, push)
            .await
            .expect("a local multicast answers");
        assert_eq!(reached, expected.len(), "{name}: how many were reached");
        let seen = pushes_before_reply(&mut clients).await;
        for (n, pushes) in seen.iter().enumerate() {
            let n = n as u32;
            if matches(n) {
                assert_eq!(
                    pushes,
                    &vec![
                        json!({"meta": {"method": "notify", "type": "alert"}, "data": {"case": name}})
                    ],
                    "{name}: connection {n} gets the push once"
                );
            } else {
                assert!(pushes.is_empty(), "{name}: connection {n} got {pushes:?}");
            }
        }
    }
}
