// A requirement calls a method on a setting, which is not supported; the caret covers the expression.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub authenticated: bool,
        pub user_id: Option<String>,
    }

    #[endpoint(method = "read", requires(auth.user_id.is_some()))]
    async fn session() {}
}

fn main() {}
