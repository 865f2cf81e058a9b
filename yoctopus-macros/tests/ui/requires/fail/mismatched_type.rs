// A requirement compares a `bool` setting with a number; the caret sits on the number.
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

    #[endpoint(method = "read", requires(auth.authenticated == 1))]
    async fn message() {}
}

fn main() {}
