// The plugin name is empty; the caret sits on the literal.
use yoctopus_core::prelude::*;

#[plugin(name = "")]
mod chat {}

fn main() {}
