// An upgrade check returns a bool instead of `Result<_, Refusal>`; the caret sits on the type.
use yoctopus_core::prelude::*;

#[plugin]
mod gate {
    #[on(upgrade)]
    async fn check() -> bool {
        true
    }
}

fn main() {}
