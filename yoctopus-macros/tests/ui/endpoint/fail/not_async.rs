// The endpoint function is not `async`; the caret sits on `fn`.
use yoctopus_core::prelude::*;

#[plugin]
mod chat {
    #[endpoint(method = "read")]
    fn message() {}
}

fn main() {}
