// A requirement names a plugin module that does not exist; the caret sits on the module name.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub authenticated: bool,
        pub user_id: Option<String>,
    }
}

#[plugin]
mod chat {
    #[endpoint(method = "read", requires(autth.authenticated))]
    async fn message() {}
}

fn main() {}
