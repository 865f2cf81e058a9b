// A listener takes a request format instead of `Data`; the caret sits on the type.
use yoctopus_core::prelude::*;

#[plugin]
mod logger {
    #[on(request_received)]
    async fn received(_name: String) {}
}

fn main() {}
