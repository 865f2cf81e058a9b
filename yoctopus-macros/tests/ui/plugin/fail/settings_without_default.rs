// The `#[settings]` struct does not implement `Default`; the caret sits on the struct's name.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    #[settings]
    #[derive(Clone)]
    pub struct Settings {
        pub authenticated: bool,
    }
}

fn main() {}
