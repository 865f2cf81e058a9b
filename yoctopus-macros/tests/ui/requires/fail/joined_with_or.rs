// A requirement joins two tests with `||`, which needs a predicate function; the caret sits on `||`.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub authenticated: bool,
        pub user_id: Option<String>,
    }

    #[endpoint(method = "read", requires(auth.authenticated || auth.user_id != None))]
    async fn session() {}
}

fn main() {}
