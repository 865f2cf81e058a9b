// `#[plugin]` on an out-of-line `mod name;`; the caret sits on the module's name.
use yoctopus_core::prelude::*;

#[plugin]
mod greeter;

fn main() {}
