// The `#[settings]` struct is generic; the caret sits on the generic parameters.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings<T> {
        pub user: T,
    }
}

fn main() {}
