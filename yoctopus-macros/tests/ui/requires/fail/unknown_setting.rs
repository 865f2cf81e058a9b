// A requirement names a setting the auth plugin does not declare; the caret sits on the name.
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

    #[endpoint(method = "read", requires(auth.authentikated))]
    async fn message() {}
}

fn main() {}
