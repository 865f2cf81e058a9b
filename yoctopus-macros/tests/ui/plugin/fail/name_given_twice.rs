// `name` is given twice; the caret sits on the second key.
use yoctopus_core::prelude::*;

#[plugin(name = "chat", name = "talk")]
mod chat {}

fn main() {}
