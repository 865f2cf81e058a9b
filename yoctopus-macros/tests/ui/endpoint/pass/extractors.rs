// Every extractor: `Connection`, `ConnectionSettings<T>`, `ConnectionId`, `Notify`, `State<T>`, alone,
// together, and beside a request in any position.
use std::sync::Arc;

use yoctopus_core::prelude::*;

pub struct Database {
    pub url: String,
}

#[plugin]
mod auth {
    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub user_id: Option<String>,
    }
}

#[plugin]
mod chat {
    use std::sync::atomic::AtomicU64;

    use yoctopus_core::prelude::*;

    use super::{auth, Database};

    #[derive(RequestFormat)]
    pub struct Message {
        pub text: String,
    }

    #[endpoint(method = "connection")]
    async fn connection(connection: Connection) -> String {
        connection.id().to_string()
    }

    #[endpoint(method = "settings")]
    async fn settings(auth: ConnectionSettings<auth::Settings>) -> Option<String> {
        auth.user_id.clone()
    }

    #[endpoint(method = "id")]
    async fn id(id: ConnectionId) -> String {
        id.to_string()
    }

    #[endpoint(method = "notify")]
    async fn notify(notify: Notify) -> bool {
        notify.send("hello", &"world").is_ok()
    }

    #[endpoint(method = "state")]
    async fn state(database: State<Database>, counter: State<AtomicU64>) -> String {
        let _ = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        database.url.clone()
    }

    #[endpoint(method = "all")]
    async fn all(
        _id: ConnectionId,
        message: Message,
        _connection: Connection,
        _auth: ConnectionSettings<auth::Settings>,
        _notify: Notify,
        _database: State<Database>,
    ) -> String {
        message.text
    }

    #[endpoint(method = "raw")]
    async fn raw(data: serde_json::Value, _id: ConnectionId) -> serde_json::Value {
        data
    }
}

fn main() {
    let _ = Arc::new(Database { url: String::new() });
    let _ = (auth::plugin(), chat::plugin());
}
