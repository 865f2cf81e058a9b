// The endpoint function takes `self`; the caret sits on `self`.
use yoctopus_core::prelude::*;

#[plugin]
mod chat {
    #[endpoint(method = "read")]
    async fn message(self) {}
}

fn main() {}
