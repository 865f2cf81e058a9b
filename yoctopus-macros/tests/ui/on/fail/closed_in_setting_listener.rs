// A setting listener asks for `Closed`, which only `connection_closed` has; the caret sits on
// the type.
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
mod logger {
    use yoctopus_core::prelude::*;

    #[on(super::auth.authenticated)]
    async fn changed(_closed: Closed) {}
}

fn main() {}
