// A listener returns a number, which means nothing to the runtime; the caret sits on the type.
use yoctopus_core::prelude::*;

#[plugin]
mod logger {
    #[on(connection_closed)]
    async fn closed() -> u32 {
        0
    }
}

fn main() {}
