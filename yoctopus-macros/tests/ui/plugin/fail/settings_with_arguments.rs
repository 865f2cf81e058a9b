// `#[settings]` is given an argument; the caret sits on the argument.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    #[settings(name = "auth")]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub authenticated: bool,
    }
}

fn main() {}
