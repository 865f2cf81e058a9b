// A misspelled `#[plugin]` argument; the caret sits on the key.
use yoctopus_core::prelude::*;

#[plugin(nmae = "greeter")]
mod greeter {}

fn main() {}
