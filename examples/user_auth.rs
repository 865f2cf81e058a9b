//! The original README's `auth`, `user` and `logger` plugins: logging in changes connection
//! settings that later requests' requirements check; users are kept in shared state; `user` is
//! also reachable under the alias `account`; `logger` listens to `auth.authenticated` from outside
//! the `auth` plugin, and to connections opening and closing.
//!
//! Run it with `cargo run --example user_auth` (port from `PORT`, default 3000). Try, in order:
//! `{"meta":{"id":1,"endpoint":"user:user","method":"update"},"data":{"id":"u1","status":"active","credit":5,"address":{"street":"Main St 1","city":"Springfield","zip":"12345"}}}`
//! (refused: not logged in), then
//! `{"meta":{"id":2,"endpoint":"auth:session","method":"create"},"data":{"email":"alice@example.com","password":"wonderland"}}`,
//! then the first request again. The server's log shows `Connection 1 auth changed to true`
//! after the login, and nothing more for a second login: setting listeners hear only real changes.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;
use yoctopus_core::prelude::*;

/// A user as the example keeps it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct User {
    /// The user's id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Login email.
    pub email: String,
    /// `"active"`, `"inactive"` or `"pending"`.
    pub status: String,
    /// Remaining credit.
    pub credit: f64,
    #[serde(skip)]
    password: String,
    #[serde(skip)]
    roles: Vec<String>,
}

/// The users, shared with every handler through `State<Users>`.
#[derive(Debug, Default)]
pub struct Users {
    by_id: Mutex<HashMap<String, User>>,
}

impl Users {
    /// Alice (an administrator) and Bob (not one).
    fn with_alice() -> Self {
        let users = Self::default();
        users.lock().insert(
            "u1".to_owned(),
            User {
                id: "u1".to_owned(),
                name: "Alice".to_owned(),
                email: "alice@example.com".to_owned(),
                status: "active".to_owned(),
                credit: 10.0,
                password: "wonderland".to_owned(),
                roles: vec!["admin".to_owned()],
            },
        );
        users.lock().insert(
            "u2".to_owned(),
            User {
                id: "u2".to_owned(),
                name: "Bob".to_owned(),
                email: "bob@example.com".to_owned(),
                status: "active".to_owned(),
                credit: 5.0,
                password: "builder".to_owned(),
                roles: Vec::new(),
            },
        );
        users
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, User>> {
        self.by_id
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Who is on this connection.
#[plugin]
pub mod auth {
    use serde::Serialize;
    use yoctopus_core::prelude::*;

    use super::Users;

    /// Connection-scoped: every connection starts logged out.
    #[settings]
    #[derive(Debug, Default, Clone)]
    pub struct Settings {
        /// Whether the connection has logged in.
        pub authenticated: bool,
        /// The logged-in user.
        pub user_id: Option<String>,
        /// Whether that user is an administrator.
        pub is_admin: bool,
        /// How many times this connection logged in.
        pub login_count: u32,
    }

    /// `auth:session` `create`.
    #[derive(RequestFormat)]
    pub struct Login {
        /// The login email.
        pub email: Email,
        /// The password.
        pub password: String,
    }

    /// The answer to a login.
    #[derive(Serialize, schemars::JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct Welcome {
        /// The logged-in user.
        pub user_id: String,
    }

    /// `auth:session` `create`: the original's `{settings: {...}, response: {...}}`. The settings
    /// are changed in place (`login_count` counts up from whatever it is when the change is
    /// applied), before the reply is sent.
    #[endpoint(name = "session", method = "create")]
    async fn login(
        request: Login,
        users: State<Users>,
    ) -> Result<Reply<Settings, Welcome>, &'static str> {
        let users = users.lock();
        let user = users
            .values()
            .find(|user| user.email == request.email.as_str() && user.password == request.password)
            .ok_or("unknown email or wrong password")?;
        let user_id = user.id.clone();
        let is_admin = user.roles.iter().any(|role| role == "admin");
        Ok(Reply::new(Welcome {
            user_id: user_id.clone(),
        })
        .change(move |auth: &mut Settings| {
            auth.authenticated = true;
            auth.user_id = Some(user_id);
            auth.is_admin = is_admin;
            auth.login_count += 1;
        }))
    }

    /// `auth:session` `delete`: log out, keeping the login count; answers `{}`.
    #[endpoint(name = "session", method = "delete", requires(self.authenticated))]
    async fn logout() -> Reply<Settings> {
        Reply::only_change(|auth: &mut Settings| {
            auth.authenticated = false;
            auth.user_id = None;
            auth.is_admin = false;
        })
    }
}

/// Users: create, read, update, delete.
#[plugin]
pub mod user {
    use serde::Serialize;
    use yoctopus_core::prelude::*;

    use super::{auth, User, Users};

    /// `user:user` `create`.
    #[derive(RequestFormat)]
    pub struct Create {
        /// Display name.
        pub name: String,
        /// Login email.
        pub email: Email,
        /// Age in years.
        pub age: u32,
    }

    /// `user:user` `read` and `delete`.
    #[derive(RequestFormat)]
    pub struct ById {
        /// The user's id.
        pub id: String,
    }

    /// `user:user` `update`.
    #[derive(RequestFormat)]
    pub struct Update {
        /// The user's id.
        pub id: String,
        /// The new status.
        pub status: Status,
        /// The new credit; must be positive.
        #[format(with = positive)]
        pub credit: f64,
        /// The postal address.
        pub address: Address,
    }

    /// A union of literal values.
    #[derive(RequestFormat, Clone, Copy)]
    pub enum Status {
        /// `"active"`
        Active,
        /// `"inactive"`
        Inactive,
        /// `"pending"`
        Pending,
    }

    /// A nested format.
    #[derive(RequestFormat)]
    pub struct Address {
        /// Street and number.
        pub street: String,
        /// City.
        pub city: String,
        /// Postal code.
        pub zip: String,
    }

    fn positive(credit: &f64) -> Result<(), String> {
        if *credit > 0.0 {
            Ok(())
        } else {
            Err(format!("credit must be positive, got {credit}"))
        }
    }

    /// A new user's id and details.
    #[derive(Serialize, schemars::JsonSchema)]
    pub struct Created {
        /// The new id.
        pub id: String,
        /// Display name.
        pub name: String,
        /// Login email.
        pub email: String,
    }

    #[endpoint(name = "user", method = "create")]
    async fn create(request: Create, users: State<Users>) -> Created {
        let mut users = users.lock();
        let id = format!("u{}", users.len() + 1);
        users.insert(
            id.clone(),
            User {
                id: id.clone(),
                name: request.name.clone(),
                email: request.email.to_string(),
                status: "pending".to_owned(),
                credit: 0.0,
                password: String::new(),
                roles: Vec::new(),
            },
        );
        Created {
            id,
            name: request.name,
            email: request.email.into_string(),
        }
    }

    #[endpoint(name = "user", method = "read")]
    async fn read(request: ById, users: State<Users>) -> Result<User, String> {
        users
            .lock()
            .get(&request.id)
            .cloned()
            .ok_or_else(|| format!("no user `{}`", request.id))
    }

    /// Administrators may update anyone; other users only themselves. Which user a request is
    /// about is in its `data`, so that check is the handler's: a requirement sees the
    /// connection, not the request.
    #[endpoint(name = "user", method = "update", requires(auth.authenticated))]
    async fn update(
        request: Update,
        users: State<Users>,
        auth: ConnectionSettings<auth::Settings>,
    ) -> Result<User, String> {
        if !may_edit(&auth, &request.id) {
            return Err(format!(
                "you may update only your own user, not `{}`",
                request.id
            ));
        }
        let mut users = users.lock();
        let user = users
            .get_mut(&request.id)
            .ok_or_else(|| format!("no user `{}`", request.id))?;
        user.status = match request.status {
            Status::Active => "active",
            Status::Inactive => "inactive",
            Status::Pending => "pending",
        }
        .to_owned();
        user.credit = request.credit;
        Ok(user.clone())
    }

    #[endpoint(name = "user", method = "delete", requires(auth.is_admin))]
    async fn delete(request: ById, users: State<Users>) -> Result<(), String> {
        users
            .lock()
            .remove(&request.id)
            .map(drop)
            .ok_or_else(|| format!("no user `{}`", request.id))
    }

    /// Administrators may edit anyone, users themselves.
    pub(crate) fn may_edit(auth: &auth::Settings, user_id: &str) -> bool {
        auth.is_admin || auth.user_id.as_deref() == Some(user_id)
    }
}

/// The original README's `logger`: it declares nothing of its own and only listens, to another
/// plugin's setting and to the connections' lifecycle.
#[plugin]
pub mod logger {
    use yoctopus_core::prelude::*;

    /// Heard only when `auth.authenticated` really changes: a second login does not repeat it.
    #[on(super::auth.authenticated)]
    async fn authentication_changed(change: Changed<bool>, id: ConnectionId) {
        tracing::info!("Connection {id} auth changed to {}", change.value);
    }

    #[on(connection_opened)]
    async fn opened(id: ConnectionId, upgrade: UpgradeRequest) {
        tracing::info!("Connection {id} opened on {}", upgrade.path());
    }

    #[on(connection_closed)]
    async fn closed(id: ConnectionId, closed: Closed) {
        tracing::info!("Connection {id} closed with code {}", closed.code);
    }
}

#[cfg(test)]
#[path = "support/api_documents.rs"]
mod api_documents;

/// The title of this example's API documents (`cargo run --example api_docs`).
pub const TITLE: &str = "User authentication";

/// The plugins this example serves, as `main` registers them and `api_docs` documents them.
pub fn plugins() -> Vec<Plugin> {
    vec![
        auth::plugin(),
        user::plugin().alias("user", "account"),
        logger::plugin(),
    ]
}

#[yoctopus_core::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let server = ServerBuilder::from_env()?
        .state(Users::with_alice())
        .plugins(plugins())
        .start()
        .await?;
    println!("user_auth listening on ws://{}", server.local_addr());
    server
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The example over a real socket: who may update whom.

    use futures_util::{SinkExt, StreamExt};
    use serde_json::{json, Value};
    use tokio_tungstenite::tungstenite::Message;
    use yoctopus_core::prelude::*;

    use super::{auth, user, Users};

    #[test]
    fn the_committed_api_documents_are_current() {
        let api = yoctopus_core::Server::builder()
            .plugins(super::plugins())
            .api()
            .expect("the plugins fit together");
        super::api_documents::assert_current("user_auth", super::TITLE, &api);
    }

    struct Client(
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
    );

    impl Client {
        async fn request(&mut self, endpoint: &str, method: &str, data: Value) -> Value {
            let request =
                json!({"meta": {"id": 1, "endpoint": endpoint, "method": method}, "data": data});
            self.0
                .send(Message::text(request.to_string()))
                .await
                .expect("the request is sent");
            let wait = std::time::Duration::from_secs(10);
            loop {
                let message = tokio::time::timeout(wait, self.0.next())
                    .await
                    .expect("a reply in time")
                    .expect("the connection is open")
                    .expect("a readable message");
                if let Message::Text(text) = message {
                    return serde_json::from_str(&text).expect("JSON");
                }
            }
        }
    }

    async fn logged_in(addr: std::net::SocketAddr, email: &str, password: &str) -> Client {
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}"))
            .await
            .expect("connected");
        let mut client = Client(socket);
        let reply = client
            .request(
                "auth:session",
                "create",
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(reply["meta"]["status"], "ok", "{reply}");
        client
    }

    fn update(id: &str) -> Value {
        json!({"id": id, "status": "inactive", "credit": 3, "address": {"street": "Main St 1", "city": "Springfield", "zip": "12345"}})
    }

    #[tokio::test]
    async fn a_user_may_update_only_themselves_and_an_admin_anyone() {
        let server = Server::builder()
            .port(0)
            .state(Users::with_alice())
            .plugin(auth::plugin())
            .plugin(user::plugin())
            .start()
            .await
            .expect("the example starts");
        let mut bob = logged_in(server.local_addr(), "bob@example.com", "builder").await;
        let refused = bob.request("user:user", "update", update("u1")).await;
        assert_eq!(
            refused["error"],
            json!("you may update only your own user, not `u1`"),
            "{refused}"
        );
        let own = bob.request("user:user", "update", update("u2")).await;
        assert_eq!(own["data"]["status"], "inactive", "{own}");
        let mut alice = logged_in(server.local_addr(), "alice@example.com", "wonderland").await;
        let other = alice.request("user:user", "update", update("u2")).await;
        assert_eq!(other["meta"]["status"], "ok", "{other}");
    }
}
