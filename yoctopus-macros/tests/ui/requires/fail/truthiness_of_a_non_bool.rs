// A requirement tests an `Option<String>` setting as if it were a `bool`; the caret sits on the setting name.
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
    use super::auth;

    #[endpoint(method = "read", requires(auth.user_id))]
    async fn message() {}
}

fn main() {}
