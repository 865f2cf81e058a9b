// A `#[provide]` function that is `async`; the caret sits on `async`.
use yoctopus_core::prelude::*;

#[plugin]
mod clock {
    #[provide]
    async fn clock() -> u64 {
        0
    }
}

fn main() {}
