// `#[on]` names an event that does not exist; the caret sits on the name.
use yoctopus_core::prelude::*;

#[plugin]
mod logger {
    #[on(connection_open)]
    async fn opened() {}
}

fn main() {}
