// The plugin name contains `:`, which separates plugin and endpoint; the caret sits on the literal.
use yoctopus_core::prelude::*;

#[plugin(name = "chat:room")]
mod chat {}

fn main() {}
