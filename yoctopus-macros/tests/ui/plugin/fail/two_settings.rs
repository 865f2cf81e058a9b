// The plugin has two `#[settings]` structs; the error sits on the second one's name, a note on the first.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub authenticated: bool,
    }

    #[settings]
    #[derive(Default, Clone)]
    pub struct MoreSettings {
        pub admin: bool,
    }
}

fn main() {}
