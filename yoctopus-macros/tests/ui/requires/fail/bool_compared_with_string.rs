// A requirement compares a `bool` setting with a string; the caret sits on the string.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub authenticated: bool,
    }
}

#[plugin]
mod chat {
    use super::auth;

    #[endpoint(method = "read", requires(auth.authenticated == "true"))]
    async fn message() {}
}

fn main() {}
