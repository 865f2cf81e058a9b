// A generic listener; the caret sits on the generics.
use yoctopus_core::prelude::*;

#[plugin]
mod logger {
    #[on(connection_opened)]
    async fn opened<T>() {}
}

fn main() {}
