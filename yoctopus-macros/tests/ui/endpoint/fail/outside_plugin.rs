// `#[endpoint]` on a function outside any `#[plugin]` module; the caret sits on the attribute.
use yoctopus_core::prelude::*;

#[endpoint(method = "read")]
async fn message() {}

fn main() {}
