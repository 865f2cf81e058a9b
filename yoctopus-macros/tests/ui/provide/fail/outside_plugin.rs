// `#[provide]` outside any `#[plugin]` module; the caret sits on the attribute.
use yoctopus_core::prelude::*;

#[provide]
fn clock() -> u64 {
    0
}

fn main() {}
