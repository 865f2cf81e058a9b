// `requires` is given neither a list nor a value; the caret sits on `requires`.
use yoctopus_core::prelude::*;

#[plugin]
mod chat {
    #[endpoint(method = "read", requires)]
    async fn message() {}
}

fn main() {}
