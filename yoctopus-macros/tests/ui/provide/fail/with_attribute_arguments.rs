// `#[provide]` given arguments; the caret sits on the attribute.
use yoctopus_core::prelude::*;

#[plugin]
mod clock {
    #[provide(name = "clock")]
    fn clock() -> u64 {
        0
    }
}

fn main() {}
