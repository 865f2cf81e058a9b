// A `#[provide]` function that returns nothing; the caret sits on its name.
use yoctopus_core::prelude::*;

#[plugin]
mod clock {
    #[provide]
    fn clock() {}
}

fn main() {}
