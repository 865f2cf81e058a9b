// A requirement is a string literal; the caret sits on the literal.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub authenticated: bool,
        pub user_id: Option<String>,
    }

    #[endpoint(method = "read", requires("auth.authenticated"))]
    async fn session() {}
}

fn main() {}
