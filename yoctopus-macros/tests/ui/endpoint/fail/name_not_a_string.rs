// The endpoint name is an identifier, not a string literal; the caret sits on the identifier.
use yoctopus_core::prelude::*;

#[plugin]
mod chat {
    #[endpoint(name = message, method = "read")]
    async fn message() {}
}

fn main() {}
