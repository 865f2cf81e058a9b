// The endpoint name contains `:`, which separates plugin and endpoint; the caret sits on the literal.
use yoctopus_core::prelude::*;

#[plugin]
mod chat {
    #[endpoint(name = "chat:message", method = "read")]
    async fn message() {}
}

fn main() {}
