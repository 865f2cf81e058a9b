// `name` is given twice; the caret sits on the second key.
use yoctopus_core::prelude::*;

#[plugin]
mod chat {
    #[endpoint(name = "message", method = "read", name = "messages")]
    async fn message() {}
}

fn main() {}
