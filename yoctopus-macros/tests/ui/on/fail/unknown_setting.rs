// A listener names a setting the auth plugin does not declare; the caret sits on the name.
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
    #[on(super::auth.authentikated)]
    async fn changed() {}
}

fn main() {}
