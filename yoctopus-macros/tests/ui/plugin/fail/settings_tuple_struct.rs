// The `#[settings]` struct is a tuple struct, whose fields have no names; the caret sits on the fields.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings(pub bool);
}

fn main() {}
