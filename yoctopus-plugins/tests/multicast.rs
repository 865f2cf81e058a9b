//! The `multicast` plugin over real sockets: a handler's `Multicast` reaches exactly the
//! connections whose settings match, by the JSON filter or the typed one.

#![allow(
    unreachable_pub,
    reason = "test plugins' items are public as a user's would be"
)]

mod support;

use std::time::Duration;

use serde_json::json;
use support::{start, Client};
use yoctopus_core::prelude::*;

/// Who is an admin, and an endpoint that alerts them.
#[plugin]
mod staff {
    use yoctopus_core::prelude::*;
    use yoctopus_plugins::multicast::Multicast;

    #[settings(rename_all = "camelCase")]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub is_admin: bool,
        pub team: String,
    }

    #[derive(RequestFormat)]
    pub struct Join {
        pub admin: bool,
        pub team: String,
    }

    #[endpoint(name = "join", method = "update")]
    async fn join(request: Join) -> Reply<Settings> {
        Reply::only_settings(Settings {
            is_admin: request.admin,
            team: request.team,
        })
    }

    /// How many connections the alert reached.
    #[derive(serde::Serialize, schemars::JsonSchema)]
    pub struct Reached {
        pub reached: usize,
    }

    /// Alerts the admins, by the original's JSON filter.
    #[endpoint(name = "alert", method = "create")]
    async fn alert(multicast: Multicast) -> Result<Reached, String> {
        let reached = multicast
            .send(
                &serde_json::json!({ "staff": { "isAdmin": true } }),
                "admin-alert",
                &serde_json::json!({ "message": "System update" }),
            )
            .await
            .map_err(|error| error.to_string())?;
        Ok(Reached { reached })
    }

    /// Tells one team, by the typed filter.
    #[endpoint(name = "team", method = "create")]
    async fn team(multicast: Multicast) -> Result<Reached, String> {
        let reached = multicast
            .send(
                yoctopus_core::filter!(self.team == "blue"),
                "team-news",
                &"blue wins",
            )
            .await
            .map_err(|error| error.to_string())?;
        Ok(Reached { reached })
    }
}

#[tokio::test]
async fn a_multicast_reaches_exactly_the_matching_connections() {
    let server = start(vec![yoctopus_plugins::multicast::plugin(), staff::plugin()]).await;
    let mut clients = Vec::new();
    for (admin, team) in [
        (true, "blue"),
        (false, "blue"),
        (true, "red"),
        (false, "red"),
    ] {
        let mut client = Client::connect(server.local_addr()).await;
        client
            .ok(
                "staff:join",
                "update",
                json!({"admin": admin, "team": team}),
            )
            .await;
        clients.push((admin, team, client));
    }
    let mut caller = Client::connect(server.local_addr()).await;
    assert_eq!(
        caller.ok("staff:alert", "create", json!(null)).await,
        json!({"reached": 2})
    );
    assert_eq!(
        caller.ok("staff:team", "create", json!(null)).await,
        json!({"reached": 2})
    );
    for (admin, team, client) in &mut clients {
        let mut expected = Vec::new();
        if *admin {
            expected.push(json!({"meta": {"method": "notify", "type": "admin-alert"}, "data": {"message": "System update"}}));
        }
        if *team == "blue" {
            expected.push(
                json!({"meta": {"method": "notify", "type": "team-news"}, "data": "blue wins"}),
            );
        }
        for push in expected {
            assert_eq!(client.recv().await, push, "admin {admin}, team {team}");
        }
        assert_eq!(
            client.recv_within(Duration::from_millis(200)).await,
            None,
            "admin {admin}, team {team}"
        );
    }
    assert_eq!(caller.recv_within(Duration::from_millis(100)).await, None);
    drop(clients);
    drop(caller);
    server.shutdown().await;
}

#[tokio::test]
async fn a_server_refuses_to_start_when_a_handler_takes_multicast_without_the_plugin() {
    let refused = Server::builder()
        .port(0)
        .plugin(staff::plugin())
        .start()
        .await
        .expect_err("the multicast plugin is missing");
    let message = format!("{:?}", refused);
    assert!(message.contains("Registered"), "{message}");
}
