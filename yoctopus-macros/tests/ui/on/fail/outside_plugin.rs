// `#[on]` on a function outside any `#[plugin]` module; the caret sits on the attribute.
use yoctopus_core::prelude::*;

#[on(connection_opened)]
async fn opened() {}

fn main() {}
