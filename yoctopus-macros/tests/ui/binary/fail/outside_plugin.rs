// `#[binary]` outside any `#[plugin]` module; the caret sits on the attribute.
use yoctopus_core::prelude::*;

#[binary]
async fn upload() {}

fn main() {}
