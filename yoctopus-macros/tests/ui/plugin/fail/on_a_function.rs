// `#[plugin]` on a function instead of a module; the caret sits on `fn`.
use yoctopus_core::prelude::*;

#[plugin]
fn greeter() {}

fn main() {}
