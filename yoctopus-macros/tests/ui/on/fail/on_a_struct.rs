// `#[on]` on a struct; the caret sits on `on`.
use yoctopus_core::prelude::*;

#[plugin]
mod logger {
    #[on(connection_opened)]
    struct Opened;
}

fn main() {}
