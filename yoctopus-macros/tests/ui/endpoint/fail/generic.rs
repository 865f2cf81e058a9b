// The endpoint function is generic; the caret sits on the generic parameters.
use yoctopus_core::prelude::*;

#[plugin]
mod chat {
    #[endpoint(method = "read")]
    async fn message<T: Default>() {}
}

fn main() {}
