// The `#[settings]` struct does not implement `Clone`; the caret sits on the struct's name.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    #[settings]
    #[derive(Default)]
    pub struct Settings {
        pub authenticated: bool,
    }
}

fn main() {}
