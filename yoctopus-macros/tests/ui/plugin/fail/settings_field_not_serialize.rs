// A setting's type is not `Serialize`, so `Connection::get` cannot read it; the caret sits on the type.
use yoctopus_core::prelude::*;

#[derive(Default, Clone)]
pub struct Session {
    pub token: String,
}

#[plugin]
mod auth {
    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub authenticated: bool,
        pub session: super::Session,
    }
}

fn main() {}
