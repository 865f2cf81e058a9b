// A listener of a `bool` setting takes `Changed<String>`; the caret sits on the argument type.
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
    async fn changed(_change: Changed<String>) {}
}

fn main() {}
