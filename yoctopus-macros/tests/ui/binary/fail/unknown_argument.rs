// `#[binary]` given an endpoint's `method`; the caret sits on the key.
use yoctopus_core::prelude::*;

#[plugin]
mod uploads {
    #[binary(method = "create")]
    async fn upload() {}
}

fn main() {}
