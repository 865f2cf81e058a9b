// A listener takes `self`; the caret sits on `self`.
use yoctopus_core::prelude::*;

#[plugin]
mod logger {
    #[on(connection_opened)]
    async fn opened(self) {}
}

fn main() {}
