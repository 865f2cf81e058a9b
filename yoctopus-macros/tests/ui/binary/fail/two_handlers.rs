// A plugin with two `#[binary]` handlers; the error sits on the second, the first is noted.
use yoctopus_core::prelude::*;

#[plugin]
mod uploads {
    use yoctopus_core::Bytes;

    #[binary]
    async fn first(_bytes: Bytes) {}

    #[binary]
    async fn second(_bytes: Bytes) {}
}

fn main() {}
