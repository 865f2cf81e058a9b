//! Authentication before the WebSocket exists: an upgrade check (`#[on(upgrade)]`) reads a token
//! from the query string, refuses a missing or unknown one with HTTP 401, and gives the user
//! behind a known one to the connection as its first settings. Browsers cannot set headers on a
//! WebSocket, which is why the token travels in the URL (or a cookie) and not in `Authorization`.
//!
//! Run it with `cargo run --example token_auth` (on 127.0.0.1, port from `PORT`, default 3000),
//! then connect to `ws://127.0.0.1:3000/?token=demo-token` and send
//! `{"meta":{"id":"1","endpoint":"session:whoami","method":"read"},"data":null}`; the answer's
//! `data` is `{"userId":"demo"}`. `ws://127.0.0.1:3000/` or `ws://127.0.0.1:3000/?token=nope` is
//! answered `401 Unauthorized` and never becomes a WebSocket.
//!
//! `demo-token` (user `demo`) is always known. More tokens come from the `TOKENS` environment
//! variable, as comma-separated `token=user` pairs:
//!
//! ```sh
//! TOKENS='s3cret=alice,t0ken=bob' cargo run --example token_auth
//! ```
//!
//! A `TOKENS` entry without `=`, or with an empty token or user, stops the server at start-up with
//! an error naming the entry.

use std::collections::HashMap;
use std::fmt;

use yoctopus_core::prelude::*;

/// The token every run knows, for trying the example without configuring anything.
const DEMO_TOKEN: &str = "demo-token";
/// The user behind [`DEMO_TOKEN`].
const DEMO_USER: &str = "demo";

/// The known tokens and the user behind each, shared with the upgrade check through
/// `State<Tokens>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    users_by_token: HashMap<String, String>,
}

impl Tokens {
    /// The demo token, plus those of the `TOKENS` environment variable when it is set.
    pub fn from_env() -> Result<Self, BadTokenEntry> {
        Self::parse(std::env::var("TOKENS").ok().as_deref().unwrap_or_default())
    }

    /// The demo token, plus the `token=user` pairs of `list` (comma-separated; blanks between
    /// entries are ignored). A token listed twice keeps its last user.
    pub fn parse(list: &str) -> Result<Self, BadTokenEntry> {
        let mut users_by_token = HashMap::from([(DEMO_TOKEN.to_owned(), DEMO_USER.to_owned())]);
        for entry in list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
        {
            let (token, user) = entry
                .split_once('=')
                .map(|(token, user)| (token.trim(), user.trim()))
                .filter(|(token, user)| !token.is_empty() && !user.is_empty())
                .ok_or_else(|| BadTokenEntry(entry.to_owned()))?;
            users_by_token.insert(token.to_owned(), user.to_owned());
        }
        Ok(Self { users_by_token })
    }

    /// The user behind `token`, if the token is known.
    pub fn user_of(&self, token: &str) -> Option<&str> {
        self.users_by_token.get(token).map(String::as_str)
    }
}

/// A `TOKENS` entry that is not `token=user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadTokenEntry(String);

impl fmt::Display for BadTokenEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`TOKENS` entry `{}` is not `token=user` (expected e.g. `TOKENS=token1=alice,token2=bob`)",
            self.0
        )
    }
}

impl std::error::Error for BadTokenEntry {}

/// Who is on this connection, decided once, at the upgrade.
#[plugin]
pub mod session {
    use serde_json::json;
    use yoctopus_core::prelude::*;

    use super::Tokens;

    /// Connection-scoped; the upgrade check sets it for every connection it admits, so no request
    /// ever sees the empty default. On the wire it is `session.userId`.
    #[settings(rename_all = "camelCase")]
    #[derive(Debug, Default, Clone)]
    pub struct Settings {
        /// The user behind the connection's token.
        pub user_id: String,
    }

    /// Runs before the WebSocket is created: a refusal is the HTTP answer to the upgrade, and the
    /// settings returned are the connection's from its first moment.
    #[on(upgrade)]
    async fn check_token(
        upgrade: UpgradeRequest,
        tokens: State<Tokens>,
    ) -> Result<Settings, Refusal> {
        let token = upgrade
            .query_param("token")
            .ok_or_else(|| Refusal::unauthorized("a `token` query parameter is required"))?;
        let user_id = tokens
            .user_of(&token)
            .ok_or_else(|| Refusal::unauthorized("unknown token"))?;
        Ok(Settings {
            user_id: user_id.to_owned(),
        })
    }

    #[on(connection_opened)]
    async fn opened(id: ConnectionId, session: ConnectionSettings<Settings>) {
        tracing::info!("Connection {id} opened for user {}", session.user_id);
    }

    /// `session:whoami` `read`: `{"userId": "..."}`.
    #[endpoint(name = "whoami", method = "read")]
    async fn whoami(session: ConnectionSettings<Settings>) -> serde_json::Value {
        json!({ "userId": session.user_id })
    }
}

#[cfg(test)]
#[path = "support/api_documents.rs"]
mod api_documents;

/// The title of this example's API documents (`cargo run --example api_docs`).
pub const TITLE: &str = "Token authentication";

/// The plugins this example serves, as `main` registers them and `api_docs` documents them.
pub fn plugins() -> Vec<Plugin> {
    vec![session::plugin()]
}

#[yoctopus_core::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let server = ServerBuilder::from_env()?
        .state(Tokens::from_env()?)
        .plugins(plugins())
        .start()
        .await?;
    println!(
        "token_auth listening on ws://{}/?token={DEMO_TOKEN}",
        server.local_addr()
    );
    server
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{BadTokenEntry, Tokens};

    #[test]
    fn the_committed_api_documents_are_current() {
        let api = yoctopus_core::Server::builder()
            .plugins(super::plugins())
            .api()
            .expect("the plugins fit together");
        super::api_documents::assert_current("token_auth", super::TITLE, &api);
    }

    #[test]
    fn the_demo_token_is_known_without_configuration() {
        let tokens = Tokens::parse("").unwrap();
        assert_eq!(tokens.user_of("demo-token"), Some("demo"));
        assert_eq!(tokens.user_of("nope"), None);
    }

    #[test]
    fn tokens_are_comma_separated_token_user_pairs() {
        let tokens = Tokens::parse(" token1=alice, token2 = bob ,").unwrap();
        assert_eq!(tokens.user_of("token1"), Some("alice"));
        assert_eq!(tokens.user_of("token2"), Some("bob"));
        assert_eq!(tokens.user_of("demo-token"), Some("demo"));
    }

    #[test]
    fn an_entry_without_a_token_or_a_user_is_an_error_naming_it() {
        for list in ["alice", "=alice", "token1="] {
            assert_eq!(
                Tokens::parse(list),
                Err(BadTokenEntry(list.to_owned())),
                "{list}"
            );
        }
    }
}
