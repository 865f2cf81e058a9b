//! Requirements: conditions on a connection's settings or async predicates that an endpoint
//! checks before its handler runs. A denial names the requirement as written and never the
//! connection's values.

mod common;

use common::{start, Client};
use serde_json::{json, Value};
use yoctopus_core::plugin;

/// Holds the settings the requirements read; `auth:session update` sets them all.
#[plugin]
mod auth {
    use yoctopus_core::prelude::*;

    #[derive(Debug, Default, Clone, serde::Serialize)]
    pub(crate) struct Profile {
        pub(crate) verified: bool,
    }

    #[settings]
    #[derive(Default, Clone)]
    pub(crate) struct Settings {
        pub(crate) authenticated: bool,
        pub(crate) banned: bool,
        pub(crate) login_count: u32,
        pub(crate) role: String,
        pub(crate) profile: Profile,
    }

    #[derive(RequestFormat)]
    pub(crate) struct Session {
        authenticated: bool,
        banned: bool,
        login_count: u32,
        role: String,
        verified: bool,
    }

    #[endpoint(name = "session", method = "update")]
    async fn session(request: Session) -> Reply<Settings> {
        Reply::only_settings(Settings {
            authenticated: request.authenticated,
            banned: request.banned,
            login_count: request.login_count,
            role: request.role,
            profile: Profile {
                verified: request.verified,
            },
        })
    }
}

#[plugin]
mod docs {
    use super::auth;
    use yoctopus_core::prelude::*;

    #[settings]
    #[derive(Default, Clone)]
    pub(crate) struct Settings {
        pub(crate) unlocked: bool,
    }

    #[endpoint(name = "page", method = "read", requires(auth.authenticated))]
    async fn read_page() -> &'static str {
        "page"
    }

    #[endpoint(name = "page", method = "update", requires = !auth.banned)]
    async fn update_page() -> &'static str {
        "updated"
    }

    #[endpoint(name = "stats", method = "read", requires(auth.login_count >= 3))]
    async fn stats() -> &'static str {
        "stats"
    }

    #[endpoint(name = "admin", method = "read", requires(auth.role == "admin"))]
    async fn admin() -> &'static str {
        "admin"
    }

    #[endpoint(name = "badge", method = "read", requires(auth.profile.verified))]
    async fn badge() -> &'static str {
        "badge"
    }

    #[endpoint(
        name = "comment",
        method = "create",
        requires(auth.authenticated, !auth.banned, auth.login_count > 0)
    )]
    async fn comment() -> &'static str {
        "commented"
    }

    #[endpoint(name = "draft", method = "update", requires(can_edit))]
    async fn edit_draft() -> &'static str {
        "edited"
    }

    #[endpoint(name = "draft", method = "delete", requires(auth.authenticated, can_edit))]
    async fn delete_draft() -> &'static str {
        "deleted"
    }

    async fn can_edit(connection: &Connection) -> bool {
        let auth = connection.settings::<auth::Settings>();
        auth.role == "editor" || auth.role == "admin"
    }

    #[endpoint(name = "lock", method = "delete")]
    async fn unlock() -> Reply<Settings> {
        Reply::only_settings(Settings { unlocked: true })
    }

    #[endpoint(name = "secret", method = "read", requires(self.unlocked))]
    async fn secret() -> &'static str {
        "secret"
    }

    #[endpoint(name = "vault", method = "read", requires(docs.unlocked))]
    async fn vault() -> &'static str {
        "vault"
    }
}

async fn client() -> (yoctopus_core::Server, Client) {
    let server = start([auth::plugin(), docs::plugin()]).await;
    let client = Client::connect(server.local_addr()).await;
    (server, client)
}

/// Sets every auth setting of the client's connection at once.
async fn sign_in(client: &mut Client, authenticated: bool, banned: bool, logins: u32, role: &str) {
    let session = json!({
        "authenticated": authenticated,
        "banned": banned,
        "login_count": logins,
        "role": role,
        "verified": false
    });
    client
        .assert_ok("auth:session", "update", session, json!({}))
        .await;
}

/// Asserts the whole denial reply: the requirement in plugin terms, and nothing else.
async fn assert_denied(client: &mut Client, endpoint: &str, method: &str, requirement: &str) {
    let reply = client
        .request("denied", endpoint, method, Value::Null)
        .await;
    assert_eq!(
        reply,
        json!({
            "meta": {"id": "denied", "endpoint": endpoint, "method": method, "status": "error"},
            "error": format!("requirement not met: {requirement}")
        })
    );
}

#[tokio::test]
async fn a_bool_setting_requirement_allows_when_true_and_denies_when_false() {
    let (_server, mut client) = client().await;
    assert_denied(&mut client, "docs:page", "read", "auth.authenticated").await;
    sign_in(&mut client, true, false, 0, "").await;
    client
        .assert_ok("docs:page", "read", Value::Null, json!("page"))
        .await;
    sign_in(&mut client, false, false, 0, "").await;
    assert_denied(&mut client, "docs:page", "read", "auth.authenticated").await;
}

#[tokio::test]
async fn a_negated_requirement_allows_when_false_and_denies_when_true() {
    let (_server, mut client) = client().await;
    client
        .assert_ok("docs:page", "update", Value::Null, json!("updated"))
        .await;
    sign_in(&mut client, true, true, 0, "").await;
    assert_denied(&mut client, "docs:page", "update", "!auth.banned").await;
}

#[tokio::test]
async fn a_numeric_comparison_requirement_allows_at_the_bound_and_denies_below_it() {
    let (_server, mut client) = client().await;
    assert_denied(&mut client, "docs:stats", "read", "auth.login_count >= 3").await;
    sign_in(&mut client, true, false, 2, "").await;
    assert_denied(&mut client, "docs:stats", "read", "auth.login_count >= 3").await;
    sign_in(&mut client, true, false, 3, "").await;
    client
        .assert_ok("docs:stats", "read", Value::Null, json!("stats"))
        .await;
    sign_in(&mut client, true, false, 40, "").await;
    client
        .assert_ok("docs:stats", "read", Value::Null, json!("stats"))
        .await;
}

#[tokio::test]
async fn a_string_equality_requirement_allows_only_the_named_value() {
    let (_server, mut client) = client().await;
    assert_denied(&mut client, "docs:admin", "read", "auth.role == \"admin\"").await;
    sign_in(&mut client, true, false, 1, "administrator").await;
    assert_denied(&mut client, "docs:admin", "read", "auth.role == \"admin\"").await;
    sign_in(&mut client, true, false, 1, "admin").await;
    client
        .assert_ok("docs:admin", "read", Value::Null, json!("admin"))
        .await;
}

#[tokio::test]
async fn a_requirement_on_a_nested_setting_reads_through_the_struct() {
    let (_server, mut client) = client().await;
    assert_denied(&mut client, "docs:badge", "read", "auth.profile.verified").await;
    let session = json!({
        "authenticated": true, "banned": false, "login_count": 1, "role": "", "verified": true
    });
    client
        .assert_ok("auth:session", "update", session, json!({}))
        .await;
    client
        .assert_ok("docs:badge", "read", Value::Null, json!("badge"))
        .await;
}

#[tokio::test]
async fn with_several_requirements_the_first_unmet_one_is_named() {
    let (_server, mut client) = client().await;
    assert_denied(&mut client, "docs:comment", "create", "auth.authenticated").await;
    sign_in(&mut client, true, true, 5, "").await;
    assert_denied(&mut client, "docs:comment", "create", "!auth.banned").await;
    sign_in(&mut client, true, false, 0, "").await;
    assert_denied(
        &mut client,
        "docs:comment",
        "create",
        "auth.login_count > 0",
    )
    .await;
    sign_in(&mut client, true, false, 1, "").await;
    client
        .assert_ok("docs:comment", "create", Value::Null, json!("commented"))
        .await;
}

#[tokio::test]
async fn a_denial_never_echoes_the_connections_values() {
    let (_server, mut client) = client().await;
    sign_in(&mut client, true, false, 1, "secret-role-7731").await;
    let reply = client
        .request("denied", "docs:admin", "read", Value::Null)
        .await;
    assert_eq!(
        reply,
        json!({
            "meta": {"id": "denied", "endpoint": "docs:admin", "method": "read", "status": "error"},
            "error": "requirement not met: auth.role == \"admin\""
        })
    );
    assert!(
        !reply.to_string().contains("secret-role-7731"),
        "the denial leaks the connection's role: {reply}"
    );
}

#[tokio::test]
async fn an_async_predicate_requirement_allows_and_denies() {
    let (_server, mut client) = client().await;
    assert_denied(&mut client, "docs:draft", "update", "can_edit").await;
    sign_in(&mut client, false, false, 0, "editor").await;
    client
        .assert_ok("docs:draft", "update", Value::Null, json!("edited"))
        .await;
    sign_in(&mut client, false, false, 0, "viewer").await;
    assert_denied(&mut client, "docs:draft", "update", "can_edit").await;
}

#[tokio::test]
async fn a_setting_requirement_and_an_async_predicate_combine() {
    let (_server, mut client) = client().await;
    sign_in(&mut client, false, false, 0, "editor").await;
    assert_denied(&mut client, "docs:draft", "delete", "auth.authenticated").await;
    sign_in(&mut client, true, false, 0, "viewer").await;
    assert_denied(&mut client, "docs:draft", "delete", "can_edit").await;
    sign_in(&mut client, true, false, 0, "admin").await;
    client
        .assert_ok("docs:draft", "delete", Value::Null, json!("deleted"))
        .await;
}

#[tokio::test]
async fn a_requirement_on_the_plugins_own_settings_through_self() {
    let (_server, mut client) = client().await;
    assert_denied(&mut client, "docs:secret", "read", "docs.unlocked").await;
    client
        .assert_ok("docs:lock", "delete", Value::Null, json!({}))
        .await;
    client
        .assert_ok("docs:secret", "read", Value::Null, json!("secret"))
        .await;
}

#[tokio::test]
async fn a_requirement_on_the_plugins_own_settings_through_its_module_name() {
    let (_server, mut client) = client().await;
    assert_denied(&mut client, "docs:vault", "read", "docs.unlocked").await;
    client
        .assert_ok("docs:lock", "delete", Value::Null, json!({}))
        .await;
    client
        .assert_ok("docs:vault", "read", Value::Null, json!("vault"))
        .await;
}

#[tokio::test]
async fn requirements_are_checked_per_connection() {
    let (server, mut signed_in) = client().await;
    let mut anonymous = Client::connect(server.local_addr()).await;
    sign_in(&mut signed_in, true, false, 5, "admin").await;
    signed_in
        .assert_ok("docs:admin", "read", Value::Null, json!("admin"))
        .await;
    assert_denied(
        &mut anonymous,
        "docs:admin",
        "read",
        "auth.role == \"admin\"",
    )
    .await;
    assert_denied(&mut anonymous, "docs:draft", "update", "can_edit").await;
}
