//! A chat server: users named in the URL, rooms, messages to a room, direct messages, a rate
//! limit. It shows an upgrade check that admits a connection with its first settings, a
//! requirement on an `Option` setting, request formats with custom validators, the connection
//! register (`Connections`) finding a room's members by their settings, and lifecycle listeners
//! (`request_received` for the rate limit, `connection_closed` to tell a room who left however
//! the connection ended).
//!
//! Run it with `cargo run --example chat` (on 127.0.0.1, port from `PORT`, default 3000), then
//! connect to `ws://127.0.0.1:3000/?user=ann` and send, in order:
//!
//! ```text
//! {"meta":{"id":1,"endpoint":"chat:room","method":"join"},"data":{"room":"general"}}
//! {"meta":{"id":2,"endpoint":"chat:message","method":"create"},"data":{"text":"hello"}}
//! {"meta":{"id":3,"endpoint":"chat:direct","method":"create"},"data":{"to":"bob","text":"hi"}}
//! {"meta":{"id":4,"endpoint":"chat:users","method":"read"},"data":null}
//! ```
//!
//! # As a cluster
//!
//! With `NATS_URL` set, each chat server is a node of one cluster, and the contract below holds
//! across them: start a NATS server (`nats-server -a 127.0.0.1 -p 4222`), then
//!
//! ```text
//! NATS_URL=nats://127.0.0.1:4222 PORT=3001 cargo run --example chat
//! NATS_URL=nats://127.0.0.1:4222 PORT=3002 cargo run --example chat
//! NATS_URL=nats://127.0.0.1:4222 PORT=3003 cargo run --example chat
//! ```
//!
//! and users on different ports share rooms, direct messages and `chat:users`. Nothing in the
//! plugin knows: `Connections` reaches every server's connections. The route on `chat.room`
//! sends a room's queries only to the servers with someone in it.
//!
//! # The contract
//!
//! - `GET http://HOST:PORT/` (a plain HTTP request, no upgrade) answers the chat's web page,
//!   `examples/chat/web/index.html`, and the page's files below it (`/style.css`, `/js/...`),
//!   through the framework's `StaticFiles`; any other plain HTTP path is `404 Not Found`, another
//!   method at a file's path `405 Method Not Allowed`. The page is a chat in the browser, built on
//!   the generated TypeScript client (`examples/chat/web/README.md`).
//! - `ws://HOST:PORT/?user=NAME`, NAME being 1 to 32 characters of `A-Z a-z 0-9 _ -`; anything
//!   else (no `user`, an empty one, 33 characters, a space, `%2F`) is answered `401 Unauthorized`
//!   and never becomes a WebSocket. One user may hold several connections.
//! - `chat:room` `join`, `{"room": NAME}` (the same rule for the name; a bad one is an error
//!   reply): answers `{"room": NAME, "users": [...]}`, the room's users sorted, each once, the
//!   joiner included. Every other connection in the room gets a push `joined` with
//!   `{"user", "room"}`. Joining another room leaves the first: every connection left in it gets
//!   `left` with `{"user", "room"}`. Joining the room one is already in answers the same shape and
//!   pushes nothing.
//! - `chat:message` `create`, `{"text": TEXT}`, TEXT being 1 to 500 characters (Unicode scalar
//!   values, not bytes), once in a room (else `requirement not met: chat.room != None`): every
//!   other connection in the room gets `message` with `{"user", "room", "text"}`; the answer is
//!   `{"delivered": N}`, the number of connections reached.
//! - `chat:direct` `create`, `{"to": USER, "text": TEXT}` (the same rule for TEXT): every
//!   connection of USER gets `direct` with `{"from", "text"}`, except the sending connection
//!   itself when a user writes to themselves; the answer is `{"delivered": N}`. A user with no
//!   connection is an error reply, ``user `USER` is not connected``.
//! - `chat:users` `read`: `{"users": [...]}`, every connected user once, sorted.
//! - A connection in a room that closes, however it closes (close frame, vanished, unanswered
//!   pings, shutdown), is `left` for the others in the room. At a shutdown the others are closing
//!   too: the push is queued for those still open; one whose close frame went first may miss it.
//! - More than 10 `chat:message` `create` from one connection within any one second: the excess
//!   requests are answered `rate limited: more than 10 messages within one second` and the
//!   connection stays usable. Every such request counts, before its format and requirement are
//!   checked; refused ones do not.
//!
//! Joins, leaves and messages are per connection: a user with two connections in a room is
//! `joined` twice (once per connection) and `left` for each connection that leaves, so a client
//! keeping a member list counts connections per user; the `users` of a join answer list each user
//! once.
//!
//! The connection's settings are the `chat` plugin's `user` (a string, given by the upgrade
//! check) and `room` (a string, or `null` before the first join): `chat.user` and `chat.room` in
//! settings filters, exports and requirement errors.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use yoctopus_core::prelude::*;

/// The most characters in a user or room name.
const MAX_NAME_CHARS: usize = 32;
/// The most characters in a message.
const MAX_TEXT_CHARS: usize = 500;
/// The most `chat:message` `create` one connection may send within [`RATE_WINDOW`].
const MESSAGES_PER_WINDOW: usize = 10;
/// The window of the rate limit.
const RATE_WINDOW: Duration = Duration::from_secs(1);

/// Whether `name` is 1 to 32 characters of `A-Z a-z 0-9 _ -`: the rule for user and room names.
pub fn is_valid_name(name: &str) -> bool {
    (1..=MAX_NAME_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

/// When each connection's latest accepted messages were sent, at most
/// [`MESSAGES_PER_WINDOW`] of them within [`RATE_WINDOW`]: a sliding window, so no second
/// anywhere holds more than the limit.
#[derive(Debug, Default)]
pub struct MessageWindows {
    sent: Mutex<HashMap<ConnectionId, VecDeque<Instant>>>,
}

impl MessageWindows {
    /// Whether connection `id` may send a message at `now`; one it may is counted.
    pub fn admit(&self, id: ConnectionId, now: Instant) -> bool {
        let mut sent = self.lock();
        let window = sent.entry(id).or_default();
        while window
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= RATE_WINDOW)
        {
            window.pop_front();
        }
        if window.len() >= MESSAGES_PER_WINDOW {
            return false;
        }
        window.push_back(now);
        true
    }

    /// Forgets connection `id`'s window (it closed).
    pub fn forget(&self, id: ConnectionId) {
        self.lock().remove(&id);
    }

    /// How many connections have a window.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no connection has a window.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ConnectionId, VecDeque<Instant>>> {
        self.sent.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Users, rooms, messages.
#[plugin]
pub mod chat {
    use std::collections::BTreeSet;
    use std::time::Instant;

    use serde::Serialize;
    use yoctopus_core::prelude::*;
    use yoctopus_core::{Connections, Push, PushMessage, SettingsFilter};

    use super::{is_valid_name, MessageWindows, MAX_TEXT_CHARS, MESSAGES_PER_WINDOW};

    /// Connection-scoped. The upgrade check sets `user` for every connection it admits, so no
    /// request ever sees the empty default; `room` is `None` (`null`) until the first join and
    /// never goes back to `None`. On the wire: `chat.user`, `chat.room`.
    #[settings]
    #[derive(Debug, Default, Clone)]
    pub struct Settings {
        /// Who is on this connection, from `?user=NAME`.
        pub user: String,
        /// The room the connection is in.
        pub room: Option<String>,
    }

    /// `chat:room` `join`.
    #[derive(RequestFormat)]
    pub struct JoinRoom {
        /// The room's name.
        #[format(with = room_name)]
        pub room: String,
    }

    /// `chat:message` `create`.
    #[derive(RequestFormat)]
    pub struct RoomMessage {
        /// What is said, 1 to 500 characters.
        #[format(with = message_text)]
        pub text: String,
    }

    /// `chat:direct` `create`.
    #[derive(RequestFormat)]
    pub struct DirectMessage {
        /// The user written to.
        pub to: String,
        /// What is said, 1 to 500 characters.
        #[format(with = message_text)]
        pub text: String,
    }

    /// The answer to a join.
    #[derive(Debug, Serialize, schemars::JsonSchema)]
    pub struct RoomMembers {
        /// The room joined.
        pub room: String,
        /// Its users, sorted, each once.
        pub users: Vec<String>,
    }

    /// The answer to a message: how many connections it reached.
    #[derive(Debug, Serialize, schemars::JsonSchema)]
    pub struct Delivered {
        /// The number of connections the push was queued for.
        pub delivered: usize,
    }

    /// The answer to `chat:users` `read`.
    #[derive(Debug, Serialize, schemars::JsonSchema)]
    pub struct Users {
        /// Every connected user, sorted, each once.
        pub users: Vec<String>,
    }

    fn room_name(room: &str) -> Result<(), String> {
        if is_valid_name(room) {
            Ok(())
        } else {
            Err(format!(
                "a room name is 1 to {} characters of A-Z, a-z, 0-9, `_` and `-`",
                super::MAX_NAME_CHARS
            ))
        }
    }

    fn message_text(text: &str) -> Result<(), String> {
        let chars = text.chars().count();
        if (1..=MAX_TEXT_CHARS).contains(&chars) {
            Ok(())
        } else {
            Err(format!(
                "a message is 1 to {MAX_TEXT_CHARS} characters, got {chars}"
            ))
        }
    }

    #[provide]
    fn message_windows() -> MessageWindows {
        MessageWindows::default()
    }

    /// Admits `?user=NAME` with a valid NAME as that user, in no room; refuses anything else
    /// with 401 before the WebSocket exists.
    #[on(upgrade)]
    async fn check_user(upgrade: UpgradeRequest) -> Result<Settings, Refusal> {
        let user = upgrade
            .query_param("user")
            .ok_or_else(|| Refusal::unauthorized("a `user` query parameter is required"))?;
        if !is_valid_name(&user) {
            return Err(Refusal::unauthorized(format!(
                "a user name is 1 to {} characters of A-Z, a-z, 0-9, `_` and `-`",
                super::MAX_NAME_CHARS
            )));
        }
        Ok(Settings {
            user: user.into_owned(),
            room: None,
        })
    }

    /// The rate limit. It takes `Meta` and not `Data`, so requests keep their one-pass reading.
    #[on(request_received)]
    async fn limit_messages(
        meta: Meta,
        id: ConnectionId,
        windows: State<MessageWindows>,
    ) -> Result<(), Reject> {
        if meta.endpoint != "chat:message" || meta.method != "create" {
            return Ok(());
        }
        if windows.admit(id, Instant::now()) {
            Ok(())
        } else {
            tracing::debug!(%id, "a message was rate limited");
            Err(Reject::new(format!(
                "rate limited: more than {MESSAGES_PER_WINDOW} messages within one second"
            )))
        }
    }

    /// However the connection ended, the others in its room hear that it left. It is still in
    /// the register while this runs, which is why the push skips it by id.
    #[on(connection_closed)]
    async fn leave_on_close(
        id: ConnectionId,
        chat: ConnectionSettings<Settings>,
        connections: Connections,
    ) -> Result<(), String> {
        let Some(room) = &chat.room else {
            return Ok(());
        };
        let left = push(&Left {
            user: chat.user.clone(),
            room: room.clone(),
        })?;
        let reached = push_to_room(&connections, room, id, &left).await?;
        tracing::debug!(%id, room, reached, "told the room who left");
        Ok(())
    }

    /// A closed connection's rate-limit window goes with it.
    #[on(connection_closed)]
    async fn forget_window(id: ConnectionId, windows: State<MessageWindows>) {
        windows.forget(id);
    }

    /// `chat:room` `join`: leaves the room the connection was in (if another), enters this one.
    ///
    /// The room is set at once (not by a `Reply::change` applied after the handler), so that the
    /// register already counts the joiner among the room's members below, and so that two joins
    /// of one connection running side by side each see which room the other left.
    #[endpoint(name = "room", method = "join")]
    async fn join(
        request: JoinRoom,
        connection: Connection,
        connections: Connections,
    ) -> Result<RoomMembers, String> {
        let room = request.room;
        let id = connection.id();
        let mut previous = None;
        connection
            .update(|chat: &mut Settings| previous = chat.room.replace(room.clone()))
            .map_err(|error| error.to_string())?;
        if previous.as_deref() != Some(room.as_str()) {
            let user = connection.settings::<Settings>().user.clone();
            if let Some(old) = previous {
                let left = push(&Left {
                    user: user.clone(),
                    room: old.clone(),
                })?;
                push_to_room(&connections, &old, id, &left).await?;
            }
            let joined = push(&Joined {
                user,
                room: room.clone(),
            })?;
            push_to_room(&connections, &room, id, &joined).await?;
        }
        let users = users_of(&connections, Some(&room)).await?;
        Ok(RoomMembers { room, users })
    }

    /// `chat:message` `create`: to every other connection in the room.
    #[endpoint(name = "message", method = "create", requires(self.room != None))]
    async fn message(
        request: RoomMessage,
        id: ConnectionId,
        chat: ConnectionSettings<Settings>,
        connections: Connections,
    ) -> Result<Delivered, String> {
        let room = chat
            .room
            .as_deref()
            .ok_or("the requirement `chat.room != None` guarantees a room")?;
        let message = push(&Message {
            user: chat.user.clone(),
            room: room.to_owned(),
            text: request.text,
        })?;
        let delivered = push_to_room(&connections, room, id, &message).await?;
        Ok(Delivered { delivered })
    }

    /// `chat:direct` `create`: to every connection of a user (but the sending one).
    #[endpoint(name = "direct", method = "create")]
    async fn direct(
        request: DirectMessage,
        id: ConnectionId,
        chat: ConnectionSettings<Settings>,
        connections: Connections,
    ) -> Result<Delivered, String> {
        let targets = connections
            .select(SettingsFilter::all().with("chat", "user", request.to.as_str()))
            .await
            .map_err(|error| error.to_string())?
            .value;
        if targets.is_empty() {
            return Err(format!("user `{}` is not connected", request.to));
        }
        let direct = push(&Direct {
            from: chat.user.clone(),
            text: request.text,
        })?;
        let delivered = deliver(&connections, targets, id, &direct).await;
        Ok(Delivered { delivered })
    }

    /// `chat:users` `read`: every connected user.
    #[endpoint(name = "users", method = "read")]
    async fn users(connections: Connections) -> Result<Users, String> {
        Ok(Users {
            users: users_of(&connections, None).await?,
        })
    }

    /// A push made once, for every connection it goes to.
    fn push<T: PushMessage>(data: &T) -> Result<Push, String> {
        Push::of(data).map_err(|error| error.to_string())
    }

    /// Someone joined the room the receiver is in.
    #[push("joined")]
    #[derive(Serialize, schemars::JsonSchema)]
    pub struct Joined {
        /// Who joined.
        pub user: String,
        /// The room.
        pub room: String,
    }

    /// Someone left the room the receiver is in: joined another, or their connection closed.
    #[push("left")]
    #[derive(Serialize, schemars::JsonSchema)]
    pub struct Left {
        /// Who left.
        pub user: String,
        /// The room they left.
        pub room: String,
    }

    /// A message to the receiver's room.
    #[push("message")]
    #[derive(Serialize, schemars::JsonSchema)]
    pub struct Message {
        /// Who sent it.
        pub user: String,
        /// The room.
        pub room: String,
        /// The message.
        pub text: String,
    }

    /// A message to the receiver's user alone.
    #[push("direct")]
    #[derive(Serialize, schemars::JsonSchema)]
    pub struct Direct {
        /// Who sent it.
        pub from: String,
        /// The message.
        pub text: String,
    }

    /// The connections in `room`: `chat.room` holds the JSON string `room`.
    fn in_room(room: &str) -> SettingsFilter {
        SettingsFilter::all().with("chat", "room", room)
    }

    /// Pushes to every connection in `room` but `sender`; answers how many it reached.
    async fn push_to_room(
        connections: &Connections,
        room: &str,
        sender: ConnectionId,
        push: &Push,
    ) -> Result<usize, String> {
        let members = connections
            .select(in_room(room))
            .await
            .map_err(|error| error.to_string())?
            .value;
        Ok(deliver(connections, members, sender, push).await)
    }

    /// Pushes to every one of `targets` but `sender`; answers how many it reached. A target that
    /// closed meanwhile, or stopped reading (and is being closed for it), is not counted.
    async fn deliver(
        connections: &Connections,
        targets: Vec<ConnectionId>,
        sender: ConnectionId,
        push: &Push,
    ) -> usize {
        let mut delivered = 0;
        for target in targets.into_iter().filter(|&target| target != sender) {
            match connections.push(target, push.clone()).await {
                Ok(()) => delivered += 1,
                Err(error) => tracing::debug!(%target, %error, "a push was not delivered"),
            }
        }
        delivered
    }

    /// The users of the connections in `room` (every connection for `None`), sorted, each once.
    ///
    /// One query gathers the users (and rooms) of the connections asked about: a room's alone
    /// (`exports_matching`, which on a cluster goes only to the servers with someone in the room),
    /// or everyone's (`exports`). `Connections::get` would reach only this server's. It costs a
    /// walk over every connection of each server asked, which a chat of many rooms would trade
    /// for an index of its own. A connection whose `connection_closed` listeners are running is
    /// still listed.
    async fn users_of(
        connections: &Connections,
        room: Option<&str>,
    ) -> Result<Vec<String>, String> {
        let exports = match room {
            Some(room) => connections.exports_matching(in_room(room)).await,
            None => connections.exports().await,
        }
        .map_err(|error| error.to_string())?
        .value;
        let users: BTreeSet<String> = exports
            .iter()
            .map(|(_, settings)| &settings["chat"])
            .filter_map(|chat| chat["user"].as_str())
            .map(str::to_owned)
            .collect();
        Ok(users.into_iter().collect())
    }
}

#[cfg(test)]
#[path = "support/api_documents.rs"]
mod api_documents;

/// The title of this example's API documents (`cargo run --example api_docs`).
pub const TITLE: &str = "Chat";

/// The plugins this example serves, as `main` registers them and `api_docs` documents them.
pub fn plugins() -> Vec<Plugin> {
    vec![chat::plugin(), yoctopus_plugins::api::plugin()]
}

/// The chat's web page and its scripts, `examples/chat/web/`, served at `/` to plain HTTP GETs.
pub fn web_page() -> std::io::Result<StaticFiles> {
    StaticFiles::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/chat/web"))
}

#[yoctopus_core::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let server = ServerBuilder::from_env()?
        // With `NATS_URL` set, the server is one of a cluster, and a room's queries go only to
        // the servers with someone in the room; alone, the route changes nothing.
        .cluster_route("chat", "room")
        .plugins(plugins())
        .static_files(web_page()?)
        .start()
        .await?;
    println!("chat listening on ws://{}/?user=NAME", server.local_addr());
    server
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The contract over real sockets, plus the rate limit's window with made-up instants.

    use std::collections::VecDeque;
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};

    use futures_util::{SinkExt, StreamExt};
    use serde_json::{json, Value};
    use tokio::net::TcpStream;
    use tokio_tungstenite::tungstenite::{self, Message};
    use tokio_tungstenite::WebSocketStream;
    use yoctopus_core::prelude::*;

    use super::{is_valid_name, MessageWindows};

    #[test]
    fn the_committed_api_documents_are_current() {
        let api = yoctopus_core::Server::builder()
            .plugins(super::plugins())
            .api()
            .expect("the plugins fit together");
        super::api_documents::assert_current("chat", super::TITLE, &api);
    }

    /// How long any one wait may take.
    pub(super) const WAIT: Duration = Duration::from_secs(10);

    /// One plain HTTP/1.1 GET of `path`: the status line's code and the whole response.
    async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = TcpStream::connect(addr).await.expect("the server accepts");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .expect("the request goes out");
        let mut response = Vec::new();
        tokio::time::timeout(WAIT, stream.read_to_end(&mut response))
            .await
            .expect("the server answers and closes")
            .expect("the response reads");
        let response = String::from_utf8(response).expect("the response is UTF-8");
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {response:?}"));
        (status, response)
    }

    #[tokio::test]
    async fn a_browser_gets_the_page_and_every_file_it_loads_from_the_chat_port() {
        let server = start_with(Server::builder().static_files(super::web_page().unwrap())).await;
        let (status, page) = http_get(server.local_addr(), "/").await;
        assert_eq!(status, 200, "{page}");
        assert!(
            page.to_ascii_lowercase()
                .contains("content-type: text/html"),
            "{page}"
        );
        assert!(
            page.contains(r#"<script type="module" src="js/demo/chat.js">"#),
            "{page}"
        );
        // The page's script imports the bindings and the client, relative to itself.
        for path in [
            "/style.css",
            "/js/demo/chat.js",
            "/js/generated/chat.js",
            "/js/src/index.js",
            "/js/src/client.js",
        ] {
            let (status, response) = http_get(server.local_addr(), path).await;
            assert_eq!(status, 200, "{path}: {response}");
        }
        let (status, _) = http_get(server.local_addr(), "/no-such-page").await;
        assert_eq!(status, 404);
        // The WebSocket is still on the same port and path.
        let mut ann = Client::connect(&server, "ann").await;
        ann.join("general", &["ann"]).await;
    }

    async fn start() -> Server {
        start_with(Server::builder()).await
    }

    /// The example's plugin on `builder`, on a free port of 127.0.0.1.
    pub(super) async fn start_with(builder: ServerBuilder) -> Server {
        builder
            .port(0)
            .plugins(super::plugins())
            .start()
            .await
            .expect("the example starts")
    }

    /// A client over a TCP stream of its own, so that a test can also drop it without a close
    /// frame. Pushes that arrive while it waits for a reply are kept, in order, for `push`.
    pub(super) struct Client {
        pub(super) socket: WebSocketStream<TcpStream>,
        next_id: u64,
        pushes: VecDeque<Value>,
    }

    impl Client {
        /// Connects as `user` and makes one request, whose reply proves that the server has
        /// entered the connection in its register (it does so after the `101`).
        pub(super) async fn connect(server: &Server, user: &str) -> Self {
            let mut client = Self::try_connect(server.local_addr(), &format!("/?user={user}"))
                .await
                .unwrap_or_else(|error| panic!("{user} connects: {error}"));
            let reply = client.request("chat:users", "read", Value::Null).await;
            assert_eq!(reply["meta"]["status"], "ok", "{reply}");
            client
        }

        async fn try_connect(addr: SocketAddr, path: &str) -> Result<Self, tungstenite::Error> {
            let stream = tokio::time::timeout(WAIT, TcpStream::connect(addr))
                .await
                .expect("TCP connects in time")
                .expect("TCP connects");
            let (socket, _) = tokio::time::timeout(
                WAIT,
                tokio_tungstenite::client_async(format!("ws://{addr}{path}"), stream),
            )
            .await
            .expect("a handshake answer in time")?;
            Ok(Self {
                socket,
                next_id: 0,
                pushes: VecDeque::new(),
            })
        }

        /// Sends a request without waiting; answers its id.
        pub(super) async fn send(&mut self, endpoint: &str, method: &str, data: Value) -> u64 {
            self.next_id += 1;
            let request = json!({
                "meta": {"id": self.next_id, "endpoint": endpoint, "method": method},
                "data": data,
            });
            tokio::time::timeout(WAIT, self.socket.send(Message::text(request.to_string())))
                .await
                .expect("the request is sent in time")
                .expect("the request is sent");
            self.next_id
        }

        /// The next text message, push or reply.
        async fn receive(&mut self) -> Value {
            loop {
                let message = tokio::time::timeout(WAIT, self.socket.next())
                    .await
                    .expect("a message in time")
                    .expect("the connection is open")
                    .expect("a readable message");
                if let Message::Text(text) = message {
                    return serde_json::from_str(&text).expect("JSON");
                }
            }
        }

        /// The next reply; pushes before it are kept.
        pub(super) async fn reply(&mut self) -> Value {
            loop {
                let message = self.receive().await;
                if message["meta"]["method"] == "notify" {
                    self.pushes.push_back(message);
                } else {
                    return message;
                }
            }
        }

        /// Sends a request and waits for its reply.
        pub(super) async fn request(&mut self, endpoint: &str, method: &str, data: Value) -> Value {
            let id = self.send(endpoint, method, data).await;
            let reply = self.reply().await;
            assert_eq!(
                reply["meta"]["id"], id,
                "replies come one at a time: {reply}"
            );
            reply
        }

        /// Sends a request and asserts its whole reply is `ok` with `data`.
        pub(super) async fn assert_ok(
            &mut self,
            endpoint: &str,
            method: &str,
            request: Value,
            data: Value,
        ) {
            let reply = self.request(endpoint, method, request).await;
            assert_eq!(reply, ok(self.next_id, endpoint, method, data));
        }

        /// Sends a request and asserts its whole reply is an error saying `error`.
        pub(super) async fn assert_error(
            &mut self,
            endpoint: &str,
            method: &str,
            request: Value,
            error: Value,
        ) {
            let reply = self.request(endpoint, method, request).await;
            assert_eq!(reply, refused(self.next_id, endpoint, method, error));
        }

        pub(super) async fn join(&mut self, room: &str, users: &[&str]) {
            self.assert_ok(
                "chat:room",
                "join",
                json!({"room": room}),
                json!({"room": room, "users": users}),
            )
            .await;
        }

        pub(super) async fn say(&mut self, text: &str, delivered: usize) {
            self.assert_ok(
                "chat:message",
                "create",
                json!({"text": text}),
                json!({"delivered": delivered}),
            )
            .await;
        }

        /// The next push (bounded, like every wait).
        pub(super) async fn push(&mut self) -> Value {
            match self.pushes.pop_front() {
                Some(push) => push,
                None => {
                    let message = self.receive().await;
                    assert_eq!(message["meta"]["method"], "notify", "a push: {message}");
                    message
                }
            }
        }

        /// Asserts that no push came before the reply to a request sent now: a push made before
        /// this call would have been queued ahead of that reply.
        pub(super) async fn assert_no_push(&mut self) {
            let reply = self.request("chat:users", "read", Value::Null).await;
            assert_eq!(reply["meta"]["status"], "ok", "{reply}");
            assert_eq!(self.pushes, VecDeque::<Value>::new(), "no push");
        }
    }

    pub(super) fn ok(id: u64, endpoint: &str, method: &str, data: Value) -> Value {
        json!({
            "meta": {"id": id, "endpoint": endpoint, "method": method, "status": "ok"},
            "data": data,
        })
    }

    pub(super) fn refused(id: u64, endpoint: &str, method: &str, error: Value) -> Value {
        json!({
            "meta": {"id": id, "endpoint": endpoint, "method": method, "status": "error"},
            "error": error,
        })
    }

    pub(super) fn notify(kind: &str, data: Value) -> Value {
        json!({"meta": {"method": "notify", "type": kind}, "data": data})
    }

    pub(super) fn joined(user: &str, room: &str) -> Value {
        notify("joined", json!({"user": user, "room": room}))
    }

    pub(super) fn left(user: &str, room: &str) -> Value {
        notify("left", json!({"user": user, "room": room}))
    }

    #[tokio::test]
    async fn a_missing_or_invalid_user_name_is_refused_with_401() {
        let server = start().await;
        let too_long = "a".repeat(33);
        for path in [
            "/".to_owned(),
            "/?name=ann".to_owned(),
            "/?user=".to_owned(),
            format!("/?user={too_long}"),
            "/?user=ann%20lee".to_owned(),
            "/?user=ann+lee".to_owned(),
            "/?user=ann%2F".to_owned(),
            "/?user=%C3%A9".to_owned(),
        ] {
            match Client::try_connect(server.local_addr(), &path).await {
                Err(tungstenite::Error::Http(response)) => {
                    assert_eq!(response.status().as_u16(), 401, "{path}");
                }
                Err(other) => panic!("{path}: expected an HTTP refusal, got {other}"),
                Ok(_) => panic!("{path}: the handshake was accepted"),
            }
        }
        let longest = "a".repeat(32);
        for user in ["A-z_0-9", "x", longest.as_str()] {
            Client::connect(&server, user).await;
        }
    }

    #[tokio::test]
    async fn joining_answers_the_rooms_users_and_tells_every_other_connection_in_it() {
        let server = start().await;
        let mut bob = Client::connect(&server, "bob").await;
        let mut ann = Client::connect(&server, "ann").await;
        let mut ann_again = Client::connect(&server, "ann").await;
        let mut carol = Client::connect(&server, "carol").await;
        carol.join("random", &["carol"]).await;

        bob.join("general", &["bob"]).await;
        ann.join("general", &["ann", "bob"]).await;
        assert_eq!(bob.push().await, joined("ann", "general"));
        ann_again.join("general", &["ann", "bob"]).await;
        assert_eq!(bob.push().await, joined("ann", "general"));
        assert_eq!(ann.push().await, joined("ann", "general"));

        for client in [&mut bob, &mut ann, &mut ann_again, &mut carol] {
            client.assert_no_push().await;
        }
    }

    #[tokio::test]
    async fn joining_the_room_one_is_in_answers_again_and_pushes_nothing() {
        let server = start().await;
        let mut ann = Client::connect(&server, "ann").await;
        let mut bob = Client::connect(&server, "bob").await;
        ann.join("general", &["ann"]).await;
        bob.join("general", &["ann", "bob"]).await;
        assert_eq!(ann.push().await, joined("bob", "general"));

        bob.join("general", &["ann", "bob"]).await;
        ann.assert_no_push().await;
        bob.assert_no_push().await;
    }

    #[tokio::test]
    async fn switching_rooms_tells_the_old_room_who_left_and_the_new_one_who_joined() {
        let server = start().await;
        let mut ann = Client::connect(&server, "ann").await;
        let mut bob = Client::connect(&server, "bob").await;
        let mut carol = Client::connect(&server, "carol").await;
        ann.join("general", &["ann"]).await;
        carol.join("random", &["carol"]).await;
        bob.join("general", &["ann", "bob"]).await;
        assert_eq!(ann.push().await, joined("bob", "general"));

        bob.join("random", &["bob", "carol"]).await;
        assert_eq!(ann.push().await, left("bob", "general"));
        assert_eq!(carol.push().await, joined("bob", "random"));
        ann.join("random", &["ann", "bob", "carol"]).await;
        assert_eq!(bob.push().await, joined("ann", "random"));
        assert_eq!(carol.push().await, joined("ann", "random"));

        for client in [&mut ann, &mut bob, &mut carol] {
            client.assert_no_push().await;
        }
    }

    #[tokio::test]
    async fn a_bad_room_name_is_an_error_reply_and_leaves_the_connection_where_it_was() {
        let server = start().await;
        let mut ann = Client::connect(&server, "ann").await;
        ann.join("general", &["ann"]).await;
        let rule = "room: a room name is 1 to 32 characters of A-Z, a-z, 0-9, `_` and `-`";
        for room in ["", &"r".repeat(33), "the lounge", "a/b", "café"] {
            ann.assert_error("chat:room", "join", json!({"room": room}), json!([rule]))
                .await;
        }
        ann.assert_error(
            "chat:room",
            "join",
            json!({"room": 7}),
            json!(["room: expected string, got number"]),
        )
        .await;
        let mut bob = Client::connect(&server, "bob").await;
        bob.join("general", &["ann", "bob"]).await;
        bob.join(&"r".repeat(32), &["bob"]).await;
    }

    #[tokio::test]
    async fn a_message_reaches_every_other_connection_in_the_room_and_no_one_else() {
        let server = start().await;
        let mut ann = Client::connect(&server, "ann").await;
        let mut ann_again = Client::connect(&server, "ann").await;
        let mut bob = Client::connect(&server, "bob").await;
        let mut carol = Client::connect(&server, "carol").await;
        let mut dave = Client::connect(&server, "dave").await;
        carol.join("random", &["carol"]).await;
        ann.join("general", &["ann"]).await;
        ann_again.join("general", &["ann"]).await;
        bob.join("general", &["ann", "bob"]).await;
        assert_eq!(ann.push().await, joined("ann", "general"));
        assert_eq!(ann.push().await, joined("bob", "general"));
        assert_eq!(ann_again.push().await, joined("bob", "general"));

        ann.say("hello", 2).await;
        let message = notify(
            "message",
            json!({"user": "ann", "room": "general", "text": "hello"}),
        );
        assert_eq!(ann_again.push().await, message);
        assert_eq!(bob.push().await, message);
        for client in [&mut ann, &mut ann_again, &mut bob, &mut carol, &mut dave] {
            client.assert_no_push().await;
        }

        carol.say("anyone?", 0).await;
        for client in [&mut ann, &mut ann_again, &mut bob, &mut carol, &mut dave] {
            client.assert_no_push().await;
        }
    }

    #[tokio::test]
    async fn a_message_before_joining_is_refused_naming_the_requirement() {
        let server = start().await;
        let mut ann = Client::connect(&server, "ann").await;
        ann.assert_error(
            "chat:message",
            "create",
            json!({"text": "hello"}),
            json!("requirement not met: chat.room != None"),
        )
        .await;
        ann.join("general", &["ann"]).await;
        ann.say("hello", 0).await;
    }

    #[tokio::test]
    async fn a_message_of_0_or_501_characters_is_refused_and_500_are_delivered() {
        let server = start().await;
        let mut ann = Client::connect(&server, "ann").await;
        let mut bob = Client::connect(&server, "bob").await;
        ann.join("general", &["ann"]).await;
        bob.join("general", &["ann", "bob"]).await;
        assert_eq!(ann.push().await, joined("bob", "general"));

        for (text, chars) in [(String::new(), 0), ("x".repeat(501), 501)] {
            ann.assert_error(
                "chat:message",
                "create",
                json!({"text": text}),
                json!([format!(
                    "text: a message is 1 to 500 characters, got {chars}"
                )]),
            )
            .await;
        }
        bob.assert_no_push().await;

        // Characters, not bytes: 500 two-byte characters are a message.
        let longest = "é".repeat(500);
        ann.say(&longest, 1).await;
        assert_eq!(
            bob.push().await,
            notify(
                "message",
                json!({"user": "ann", "room": "general", "text": longest})
            )
        );
    }

    #[tokio::test]
    async fn a_direct_message_reaches_every_connection_of_the_user() {
        let server = start().await;
        let mut ann = Client::connect(&server, "ann").await;
        let mut bob = Client::connect(&server, "bob").await;
        let mut bob_again = Client::connect(&server, "bob").await;
        let mut carol = Client::connect(&server, "carol").await;

        ann.assert_ok(
            "chat:direct",
            "create",
            json!({"to": "bob", "text": "psst"}),
            json!({"delivered": 2}),
        )
        .await;
        let direct = notify("direct", json!({"from": "ann", "text": "psst"}));
        assert_eq!(bob.push().await, direct);
        assert_eq!(bob_again.push().await, direct);

        // To oneself: the user's other connections, not the sending one.
        bob.assert_ok(
            "chat:direct",
            "create",
            json!({"to": "bob", "text": "note to self"}),
            json!({"delivered": 1}),
        )
        .await;
        assert_eq!(
            bob_again.push().await,
            notify("direct", json!({"from": "bob", "text": "note to self"}))
        );
        for client in [&mut ann, &mut bob, &mut bob_again, &mut carol] {
            client.assert_no_push().await;
        }
    }

    #[tokio::test]
    async fn a_direct_message_to_a_user_who_is_not_connected_is_an_error_naming_them() {
        let server = start().await;
        let mut ann = Client::connect(&server, "ann").await;
        ann.assert_error(
            "chat:direct",
            "create",
            json!({"to": "zoe", "text": "hi"}),
            json!("user `zoe` is not connected"),
        )
        .await;
        ann.assert_error(
            "chat:direct",
            "create",
            json!({"to": "zoe", "text": ""}),
            json!(["text: a message is 1 to 500 characters, got 0"]),
        )
        .await;
    }

    #[tokio::test]
    async fn api_read_lists_every_chat_endpoint_with_its_format() {
        let server = start().await;
        let mut ann = Client::connect(&server, "ann").await;
        let api = ann.request("api:api", "read", json!({})).await;
        assert_eq!(api["meta"]["status"], "ok", "{api}");
        let chat: Vec<(&str, &str, Value)> = vec![
            ("chat:room", "join", json!({"room": "string"})),
            ("chat:message", "create", json!({"text": "string"})),
            (
                "chat:direct",
                "create",
                json!({"to": "string", "text": "string"}),
            ),
            ("chat:users", "read", Value::Null),
        ];
        for (endpoint, method, format) in chat {
            let described = &api["data"][endpoint][method];
            assert!(described.is_object(), "{endpoint} {method} missing: {api}");
            assert_eq!(described["requestFormat"], format, "{endpoint} {method}");
            assert!(
                described["responseSchema"].is_object(),
                "{endpoint} {method}"
            );
        }
        assert_eq!(
            api["data"]["chat:message"]["create"]["requirements"],
            json!(["chat.room != None"])
        );
        let endpoints: Vec<&String> = api["data"]
            .as_object()
            .expect("the API is an object")
            .keys()
            .filter(|name| name.starts_with("chat:"))
            .collect();
        assert_eq!(endpoints.len(), 4, "{endpoints:?}");
    }

    #[tokio::test]
    async fn users_lists_every_connected_user_once_sorted() {
        let server = start().await;
        let mut zed = Client::connect(&server, "zed").await;
        zed.assert_ok("chat:users", "read", Value::Null, json!({"users": ["zed"]}))
            .await;
        let _ann = Client::connect(&server, "ann").await;
        let _ann_again = Client::connect(&server, "ann").await;
        let mut bob = Client::connect(&server, "Bob").await;
        bob.join("general", &["Bob"]).await;
        for client in [&mut zed, &mut bob] {
            client
                .assert_ok(
                    "chat:users",
                    "read",
                    Value::Null,
                    json!({"users": ["Bob", "ann", "zed"]}),
                )
                .await;
        }
    }

    #[tokio::test]
    async fn a_member_closing_with_a_close_frame_is_left_for_the_others_in_the_room() {
        let server = start().await;
        let mut ann = Client::connect(&server, "ann").await;
        let mut bob = Client::connect(&server, "bob").await;
        let mut carol = Client::connect(&server, "carol").await;
        carol.join("random", &["carol"]).await;
        ann.join("general", &["ann"]).await;
        bob.join("general", &["ann", "bob"]).await;
        assert_eq!(ann.push().await, joined("bob", "general"));

        tokio::time::timeout(WAIT, bob.socket.close(None))
            .await
            .expect("closed in time")
            .expect("the close frame is sent");
        assert_eq!(ann.push().await, left("bob", "general"));
        carol.assert_no_push().await;
    }

    #[tokio::test]
    async fn a_member_vanishing_without_a_close_frame_is_left_for_the_others_in_the_room() {
        let server = start().await;
        let mut ann = Client::connect(&server, "ann").await;
        let mut bob = Client::connect(&server, "bob").await;
        ann.join("general", &["ann"]).await;
        bob.join("general", &["ann", "bob"]).await;
        assert_eq!(ann.push().await, joined("bob", "general"));

        // The TCP stream ends under the WebSocket: no close frame is ever sent.
        let mut stream = bob.socket.into_inner();
        tokio::io::AsyncWriteExt::shutdown(&mut stream)
            .await
            .expect("the stream shuts down");
        drop(stream);
        assert_eq!(ann.push().await, left("bob", "general"));
        ann.assert_no_push().await;
    }

    #[tokio::test]
    async fn a_member_that_leaves_pings_unanswered_is_left_for_the_others_in_the_room() {
        let server = start_with(
            Server::builder()
                .ping_interval(Duration::from_millis(200))
                .max_lost_pings(2),
        )
        .await;
        let mut ann = Client::connect(&server, "ann").await;
        let mut bob = Client::connect(&server, "bob").await;
        ann.join("general", &["ann"]).await;
        bob.join("general", &["ann", "bob"]).await;
        assert_eq!(ann.push().await, joined("bob", "general"));

        // Bob's socket stays open but is never read again, so his pings go unanswered; Ann keeps
        // reading (which answers hers) while she waits.
        assert_eq!(ann.push().await, left("bob", "general"));
        ann.assert_no_push().await;
        drop(bob);
    }

    #[tokio::test]
    async fn the_eleventh_message_within_a_second_is_rate_limited_and_the_connection_stays_usable()
    {
        let server = start().await;
        let mut ann = Client::connect(&server, "ann").await;
        let mut bob = Client::connect(&server, "bob").await;
        ann.join("general", &["ann"]).await;
        bob.join("general", &["ann", "bob"]).await;
        assert_eq!(ann.push().await, joined("bob", "general"));

        // Sent together so that they fall well within one second; requests run side by side, so
        // which of them is the excess is the server's to decide.
        let mut sent = Vec::new();
        for n in 1..=11 {
            let text = format!("message {n}");
            sent.push(
                bob.send("chat:message", "create", json!({"text": text}))
                    .await,
            );
        }
        let mut limited = Vec::new();
        for _ in &sent {
            let reply = bob.reply().await;
            let id = reply["meta"]["id"].as_u64().expect("a numeric id");
            assert!(sent.contains(&id), "{reply}");
            if reply != ok(id, "chat:message", "create", json!({"delivered": 1})) {
                assert_eq!(
                    reply,
                    refused(
                        id,
                        "chat:message",
                        "create",
                        json!("rate limited: more than 10 messages within one second")
                    )
                );
                limited.push(id);
            }
        }
        assert_eq!(limited.len(), 1, "one of eleven is the excess");
        let by_text = |push: &Value| push["data"]["text"].as_str().map(str::to_owned);
        let mut pushes = Vec::new();
        for _ in 0..10 {
            pushes.push(ann.push().await);
        }
        pushes.sort_by_key(by_text);
        let mut expected: Vec<Value> = (1..=11)
            .zip(&sent)
            .filter(|&(_, id)| *id != limited[0])
            .map(|(n, _)| {
                let text = format!("message {n}");
                notify(
                    "message",
                    json!({"user": "bob", "room": "general", "text": text}),
                )
            })
            .collect();
        expected.sort_by_key(by_text);
        assert_eq!(pushes, expected);

        bob.assert_ok(
            "chat:users",
            "read",
            Value::Null,
            json!({"users": ["ann", "bob"]}),
        )
        .await;
        bob.assert_ok(
            "chat:direct",
            "create",
            json!({"to": "ann", "text": "still here"}),
            json!({"delivered": 1}),
        )
        .await;
        assert_eq!(
            ann.push().await,
            notify("direct", json!({"from": "bob", "text": "still here"}))
        );
        // Another connection's window is its own.
        ann.say("hi", 1).await;
    }

    #[test]
    fn a_window_admits_ten_messages_per_second_and_forgets_a_closed_connection() {
        let windows = MessageWindows::default();
        let id: ConnectionId = "5f1c0d2e9a7b3c41-1".parse().expect("an id");
        let other: ConnectionId = "5f1c0d2e9a7b3c41-2".parse().expect("an id");
        let start = Instant::now();
        let at = |millis| start + Duration::from_millis(millis);
        for n in 0..10 {
            assert!(windows.admit(id, at(n * 50)), "message {n}");
        }
        assert!(!windows.admit(id, at(999)), "the 11th within a second");
        assert!(windows.admit(other, at(999)), "another connection");
        // A second after the first message, its place is free again, and only its place.
        assert!(windows.admit(id, at(1000)));
        assert!(!windows.admit(id, at(1001)));
        assert!(windows.admit(id, at(1050)));
        assert_eq!(windows.len(), 2);
        windows.forget(id);
        windows.forget(other);
        assert!(windows.is_empty());
    }

    #[test]
    fn names_are_1_to_32_letters_digits_underscores_and_hyphens() {
        for name in ["a", "Ann_Lee-2", &"z".repeat(32)] {
            assert!(is_valid_name(name), "{name}");
        }
        for name in ["", &"z".repeat(33), "ann lee", "ann/", "é", "ann%2F"] {
            assert!(!is_valid_name(name), "{name}");
        }
    }
}

#[cfg(test)]
mod cluster_tests {
    //! The contract across a cluster: three chat servers in this process, nodes of one cluster
    //! meeting on a private NATS server of the test's own, with the users spread over them. What
    //! one server's connection does is seen by the connections of the other two exactly as by
    //! its neighbours on the same server.

    use std::time::Duration;

    use serde_json::{json, Value};
    use yoctopus_core::prelude::*;
    use yoctopus_core::Cluster;
    use yoctopus_tests::nats::NatsServer;

    use super::tests::{joined, left, notify, ok, refused, start_with, Client, WAIT};

    /// How long a gather waits for every node: longer than the tests' exchanges could need, so
    /// that a slow node shows as a failure and not as a shorter answer. Nodes that answer end a
    /// gather at once.
    const GATHER_TIMEOUT: Duration = Duration::from_secs(5);

    /// How the cluster's servers route the chat's multicasts and register queries.
    #[derive(Debug, Clone, Copy)]
    enum Routing {
        /// No route: every query goes to every server.
        Everywhere,
        /// As `main` runs the chat: a query pinning `chat.room` goes only to the servers with
        /// someone in the room.
        ByRoom,
    }

    impl Routing {
        fn name(self) -> &'static str {
            match self {
                Self::Everywhere => "everywhere",
                Self::ByRoom => "by-room",
            }
        }
    }

    /// Three chat servers, nodes of one cluster on a NATS server of their own.
    struct ChatCluster {
        servers: [Server; 3],
        nats: NatsServer,
    }

    impl ChatCluster {
        /// Starts a NATS server, then three chat servers of cluster `name` on it, one after the
        /// other: each joins once the earlier ones are members, and learns of them as it starts.
        async fn start(name: &str, routing: Routing) -> Self {
            let nats = tokio::task::spawn_blocking(NatsServer::start)
                .await
                .expect("the NATS start does not panic")
                .expect("nats-server starts");
            let mut servers = Vec::new();
            for _ in 0..3 {
                let cluster = Cluster::nats(nats.url())
                    .name(format!("{name}-{}", routing.name()))
                    .gather_timeout(GATHER_TIMEOUT);
                let builder = match routing {
                    Routing::Everywhere => Server::builder(),
                    Routing::ByRoom => Server::builder().cluster_route("chat", "room"),
                };
                let server = tokio::time::timeout(WAIT, start_with(builder.cluster(cluster)))
                    .await
                    .expect("the server joins the cluster in time");
                servers.push(server);
            }
            let servers: [Server; 3] = servers.try_into().expect("three servers");
            assert_ne!(servers[0].node_id(), servers[1].node_id());
            assert_ne!(servers[1].node_id(), servers[2].node_id());
            assert_ne!(servers[0].node_id(), servers[2].node_id());
            Self { servers, nats }
        }

        /// Shuts every server down (each within the bounded wait), then the NATS server. A
        /// server that leaves while another's query waits for it is no longer waited for.
        async fn shutdown(self) {
            let Self { servers, nats } = self;
            for server in servers {
                tokio::time::timeout(WAIT, server.shutdown())
                    .await
                    .expect("the server shuts down in time");
            }
            tokio::task::spawn_blocking(move || drop(nats))
                .await
                .expect("nats-server stops");
        }
    }

    fn message(user: &str, room: &str, text: &str) -> Value {
        notify("message", json!({"user": user, "room": room, "text": text}))
    }

    fn direct(from: &str, text: &str) -> Value {
        notify("direct", json!({"from": from, "text": text}))
    }

    /// The next `count` pushes of `client`.
    async fn pushes(client: &mut Client, count: usize) -> Vec<Value> {
        let mut pushes = Vec::with_capacity(count);
        for _ in 0..count {
            pushes.push(client.push().await);
        }
        pushes
    }

    async fn rooms(routing: Routing) {
        let chat = ChatCluster::start("chat-rooms", routing).await;
        let [one, two, three] = &chat.servers;
        let mut dave = Client::connect(one, "dave").await;
        dave.join("random", &["dave"]).await;

        // Each join answers the room's users from every server, and reaches the members on the
        // others.
        let mut ann = Client::connect(one, "ann").await;
        ann.join("general", &["ann"]).await;
        let mut bob = Client::connect(two, "bob").await;
        bob.join("general", &["ann", "bob"]).await;
        assert_eq!(ann.push().await, joined("bob", "general"));
        let mut carol = Client::connect(three, "carol").await;
        carol.join("general", &["ann", "bob", "carol"]).await;
        assert_eq!(ann.push().await, joined("carol", "general"));
        assert_eq!(bob.push().await, joined("carol", "general"));
        // A second connection of Ann's, on another server: joined for every other connection
        // (her first one too), Ann once in the users.
        let mut ann_again = Client::connect(three, "ann").await;
        ann_again.join("general", &["ann", "bob", "carol"]).await;
        assert_eq!(ann.push().await, joined("ann", "general"));
        assert_eq!(bob.push().await, joined("ann", "general"));
        assert_eq!(carol.push().await, joined("ann", "general"));
        // Joining the room one is in pushes nothing, anywhere.
        bob.join("general", &["ann", "bob", "carol"]).await;
        for client in [&mut dave, &mut ann, &mut bob, &mut carol, &mut ann_again] {
            client.assert_no_push().await;
        }

        // A message reaches every other connection in the room, on every server, and counts
        // them all.
        ann.say("hello", 3).await;
        for client in [&mut bob, &mut carol, &mut ann_again] {
            assert_eq!(client.push().await, message("ann", "general", "hello"));
        }
        carol.say("hi all", 3).await;
        for client in [&mut ann, &mut bob, &mut ann_again] {
            assert_eq!(client.push().await, message("carol", "general", "hi all"));
        }
        for client in [&mut dave, &mut ann, &mut bob, &mut carol, &mut ann_again] {
            client.assert_no_push().await;
        }

        // Joining another room is `left` for the old room's members everywhere, `joined` for
        // the new one's.
        bob.join("random", &["bob", "dave"]).await;
        for client in [&mut ann, &mut carol, &mut ann_again] {
            assert_eq!(client.push().await, left("bob", "general"));
        }
        assert_eq!(dave.push().await, joined("bob", "random"));
        bob.say("anyone?", 1).await;
        assert_eq!(dave.push().await, message("bob", "random", "anyone?"));
        ann_again.say("still here", 2).await;
        for client in [&mut ann, &mut carol] {
            assert_eq!(client.push().await, message("ann", "general", "still here"));
        }
        for client in [&mut dave, &mut ann, &mut bob, &mut carol, &mut ann_again] {
            client.assert_no_push().await;
        }

        // Closing the connection (a close frame) is `left` for the members on the other servers.
        tokio::time::timeout(WAIT, carol.socket.close(None))
            .await
            .expect("closed in time")
            .expect("the close frame is sent");
        for client in [&mut ann, &mut ann_again] {
            assert_eq!(client.push().await, left("carol", "general"));
        }
        for client in [&mut dave, &mut ann, &mut bob, &mut ann_again] {
            client.assert_no_push().await;
        }

        drop((dave, ann, bob, carol, ann_again));
        chat.shutdown().await;
    }

    async fn direct_messages(routing: Routing) {
        let chat = ChatCluster::start("chat-direct", routing).await;
        let [one, two, three] = &chat.servers;
        let mut ann = Client::connect(one, "ann").await;
        let mut bob = Client::connect(two, "bob").await;
        let mut bob_again = Client::connect(three, "bob").await;
        let mut bob_third = Client::connect(two, "bob").await;
        let mut carol = Client::connect(three, "carol").await;

        ann.assert_ok(
            "chat:direct",
            "create",
            json!({"to": "bob", "text": "psst"}),
            json!({"delivered": 3}),
        )
        .await;
        for client in [&mut bob, &mut bob_again, &mut bob_third] {
            assert_eq!(client.push().await, direct("ann", "psst"));
        }

        // To oneself: the user's other connections, on this server and the others, not the
        // sending one.
        bob.assert_ok(
            "chat:direct",
            "create",
            json!({"to": "bob", "text": "note to self"}),
            json!({"delivered": 2}),
        )
        .await;
        for client in [&mut bob_again, &mut bob_third] {
            assert_eq!(client.push().await, direct("bob", "note to self"));
        }

        // From the third server to a user on the first alone.
        bob_again
            .assert_ok(
                "chat:direct",
                "create",
                json!({"to": "ann", "text": "hi ann"}),
                json!({"delivered": 1}),
            )
            .await;
        assert_eq!(ann.push().await, direct("bob", "hi ann"));

        // A user connected to no server of the cluster.
        for client in [&mut ann, &mut bob, &mut carol] {
            client
                .assert_error(
                    "chat:direct",
                    "create",
                    json!({"to": "zoe", "text": "hi"}),
                    json!("user `zoe` is not connected"),
                )
                .await;
        }
        for client in [
            &mut ann,
            &mut bob,
            &mut bob_again,
            &mut bob_third,
            &mut carol,
        ] {
            client.assert_no_push().await;
        }

        drop((ann, bob, bob_again, bob_third, carol));
        chat.shutdown().await;
    }

    async fn users(routing: Routing) {
        let chat = ChatCluster::start("chat-users", routing).await;
        let [one, two, three] = &chat.servers;
        let mut zed = Client::connect(three, "zed").await;
        zed.assert_ok("chat:users", "read", Value::Null, json!({"users": ["zed"]}))
            .await;

        let mut ann = Client::connect(one, "ann").await;
        let mut carol = Client::connect(one, "carol").await;
        let mut ann_again = Client::connect(two, "ann").await;
        let mut bob = Client::connect(two, "Bob").await;
        let mut carol_again = Client::connect(three, "carol").await;
        bob.join("general", &["Bob"]).await;
        carol_again.join("general", &["Bob", "carol"]).await;
        assert_eq!(bob.push().await, joined("carol", "general"));
        for client in [
            &mut zed,
            &mut ann,
            &mut carol,
            &mut ann_again,
            &mut bob,
            &mut carol_again,
        ] {
            client
                .assert_ok(
                    "chat:users",
                    "read",
                    Value::Null,
                    json!({"users": ["Bob", "ann", "carol", "zed"]}),
                )
                .await;
        }

        drop((zed, ann, carol, ann_again, bob, carol_again));
        chat.shutdown().await;
    }

    async fn rate_limit(routing: Routing) {
        let chat = ChatCluster::start("chat-rate", routing).await;
        let [one, two, three] = &chat.servers;
        let mut ann = Client::connect(one, "ann").await;
        let mut bob = Client::connect(two, "bob").await;
        let mut bob_again = Client::connect(three, "bob").await;
        ann.join("general", &["ann"]).await;
        bob.join("general", &["ann", "bob"]).await;
        assert_eq!(ann.push().await, joined("bob", "general"));
        bob_again.join("general", &["ann", "bob"]).await;
        assert_eq!(ann.push().await, joined("bob", "general"));
        assert_eq!(bob.push().await, joined("bob", "general"));

        // Bob's first connection sends eleven, at once; then his second, on another server,
        // sends ten within the same second: its window is its own.
        let text = |connection: &str, n: usize| format!("{connection} {n}");
        let mut sent = Vec::new();
        for n in 1..=11 {
            let data = json!({"text": text("first", n)});
            sent.push(bob.send("chat:message", "create", data).await);
        }
        let mut sent_again = Vec::new();
        for n in 1..=10 {
            let data = json!({"text": text("second", n)});
            sent_again.push(bob_again.send("chat:message", "create", data).await);
        }

        let mut answered_again = Vec::new();
        for _ in &sent_again {
            let reply = bob_again.reply().await;
            let id = reply["meta"]["id"].as_u64().expect("a numeric id");
            assert_eq!(
                reply,
                ok(id, "chat:message", "create", json!({"delivered": 2}))
            );
            answered_again.push(id);
        }
        answered_again.sort_unstable();
        assert_eq!(answered_again, sent_again, "each answered once");

        let mut limited = Vec::new();
        let mut answered = Vec::new();
        for _ in &sent {
            let reply = bob.reply().await;
            let id = reply["meta"]["id"].as_u64().expect("a numeric id");
            if reply != ok(id, "chat:message", "create", json!({"delivered": 2})) {
                assert_eq!(
                    reply,
                    refused(
                        id,
                        "chat:message",
                        "create",
                        json!("rate limited: more than 10 messages within one second")
                    )
                );
                limited.push(id);
            }
            answered.push(id);
        }
        answered.sort_unstable();
        assert_eq!(answered, sent, "each answered once");
        assert_eq!(limited.len(), 1, "one of eleven is the excess: {limited:?}");

        let from_first: Vec<Value> = (1..=11)
            .zip(&sent)
            .filter(|&(_, id)| *id != limited[0])
            .map(|(n, _)| message("bob", "general", &text("first", n)))
            .collect();
        let from_second: Vec<Value> = (1..=10)
            .map(|n| message("bob", "general", &text("second", n)))
            .collect();
        let by_text = |push: &Value| push["data"]["text"].as_str().map(str::to_owned);
        let sorted = |mut pushes: Vec<Value>| {
            pushes.sort_by_key(by_text);
            pushes
        };
        assert_eq!(
            sorted(pushes(&mut ann, 20).await),
            sorted([from_first.clone(), from_second.clone()].concat())
        );
        assert_eq!(sorted(pushes(&mut bob, 10).await), sorted(from_second));
        assert_eq!(sorted(pushes(&mut bob_again, 10).await), sorted(from_first));

        // The limited connection stays usable.
        bob.assert_ok(
            "chat:direct",
            "create",
            json!({"to": "ann", "text": "still here"}),
            json!({"delivered": 1}),
        )
        .await;
        assert_eq!(ann.push().await, direct("bob", "still here"));
        for client in [&mut ann, &mut bob, &mut bob_again] {
            client.assert_no_push().await;
        }

        drop((ann, bob, bob_again));
        chat.shutdown().await;
    }

    async fn vanishing(routing: Routing) {
        let chat = ChatCluster::start("chat-vanish", routing).await;
        let [one, two, three] = &chat.servers;
        let mut ann = Client::connect(one, "ann").await;
        let mut bob = Client::connect(two, "bob").await;
        let mut carol = Client::connect(three, "carol").await;
        let mut dave = Client::connect(two, "dave").await;
        let mut erin = Client::connect(three, "erin").await;
        erin.join("random", &["erin"]).await;
        ann.join("general", &["ann"]).await;
        bob.join("general", &["ann", "bob"]).await;
        assert_eq!(ann.push().await, joined("bob", "general"));
        carol.join("general", &["ann", "bob", "carol"]).await;
        assert_eq!(ann.push().await, joined("carol", "general"));
        assert_eq!(bob.push().await, joined("carol", "general"));
        dave.join("general", &["ann", "bob", "carol", "dave"]).await;
        for client in [&mut ann, &mut bob, &mut carol] {
            assert_eq!(client.push().await, joined("dave", "general"));
        }

        // The TCP stream ends under Bob's WebSocket: no close frame is ever sent.
        let mut stream = bob.socket.into_inner();
        tokio::time::timeout(WAIT, tokio::io::AsyncWriteExt::shutdown(&mut stream))
            .await
            .expect("shut down in time")
            .expect("the stream shuts down");
        drop(stream);
        for client in [&mut ann, &mut carol, &mut dave] {
            assert_eq!(client.push().await, left("bob", "general"));
        }
        for client in [&mut ann, &mut carol, &mut dave, &mut erin] {
            client.assert_no_push().await;
        }

        drop((ann, carol, dave, erin));
        chat.shutdown().await;
    }

    #[tokio::test]
    async fn room_members_on_three_servers_see_each_other_join_write_and_leave() {
        rooms(Routing::Everywhere).await;
    }

    #[tokio::test]
    async fn room_members_on_three_servers_see_each_other_join_write_and_leave_routed_by_room() {
        rooms(Routing::ByRoom).await;
    }

    #[tokio::test]
    async fn a_direct_message_reaches_every_connection_of_the_user_on_every_server() {
        direct_messages(Routing::Everywhere).await;
    }

    #[tokio::test]
    async fn a_direct_message_reaches_every_connection_of_the_user_on_every_server_routed_by_room()
    {
        direct_messages(Routing::ByRoom).await;
    }

    #[tokio::test]
    async fn users_read_on_any_server_lists_everyone_on_every_server_once_sorted() {
        users(Routing::Everywhere).await;
    }

    #[tokio::test]
    async fn users_read_on_any_server_lists_everyone_on_every_server_once_sorted_routed_by_room() {
        users(Routing::ByRoom).await;
    }

    #[tokio::test]
    async fn the_rate_limit_is_per_connection_across_the_servers_of_a_cluster() {
        rate_limit(Routing::Everywhere).await;
    }

    #[tokio::test]
    async fn the_rate_limit_is_per_connection_across_the_servers_of_a_cluster_routed_by_room() {
        rate_limit(Routing::ByRoom).await;
    }

    #[tokio::test]
    async fn a_member_vanishing_on_one_server_is_left_for_the_room_on_the_others() {
        vanishing(Routing::Everywhere).await;
    }

    #[tokio::test]
    async fn a_member_vanishing_on_one_server_is_left_for_the_room_on_the_others_routed_by_room() {
        vanishing(Routing::ByRoom).await;
    }
}
