// The `#[settings]` struct is a unit struct, without fields; the caret sits on the struct's name.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings;
}

fn main() {}
