// `#[on]` without what it listens to; the caret sits on `on`.
use yoctopus_core::prelude::*;

#[plugin]
mod logger {
    #[on]
    async fn opened() {}
}

fn main() {}
