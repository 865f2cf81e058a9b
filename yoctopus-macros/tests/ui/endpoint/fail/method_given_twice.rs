// `method` is given twice; the caret sits on the second key.
use yoctopus_core::prelude::*;

#[plugin]
mod chat {
    #[endpoint(method = "read", method = "create")]
    async fn message() {}
}

fn main() {}
