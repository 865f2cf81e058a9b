// The plugin name is an identifier, not a string literal; the caret sits on the identifier.
use yoctopus_core::prelude::*;

#[plugin(name = chat)]
mod chat {}

fn main() {}
