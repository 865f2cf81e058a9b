// An endpoint takes `Bytes`, which only binary handlers get; the caret sits on the type.
use yoctopus_core::prelude::*;

#[plugin]
mod uploads {
    use yoctopus_core::Bytes;

    #[endpoint(method = "create")]
    async fn upload(_bytes: Bytes) {}
}

fn main() {}
