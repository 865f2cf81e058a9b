// A `#[provide]` function with arguments; the caret sits on them.
use yoctopus_core::prelude::*;

#[plugin]
mod clock {
    #[provide]
    fn clock(start: u64) -> u64 {
        start
    }
}

fn main() {}
