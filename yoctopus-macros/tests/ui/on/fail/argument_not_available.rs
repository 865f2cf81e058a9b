// `Closed` asked for in a `connection_opened` listener; the caret sits on the type.
use yoctopus_core::prelude::*;

#[plugin]
mod logger {
    use yoctopus_core::prelude::*;

    #[on(connection_opened)]
    async fn opened(_closed: Closed) {}
}

fn main() {}
