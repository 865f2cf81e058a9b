// `#[endpoint]` without a `method`; the caret sits on `endpoint`.
use yoctopus_core::prelude::*;

#[plugin]
mod chat {
    #[endpoint(name = "message")]
    async fn message() {}
}

fn main() {}
