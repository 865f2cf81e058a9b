// The method name contains white space; the caret sits on the literal.
use yoctopus_core::prelude::*;

#[plugin]
mod chat {
    #[endpoint(method = "read all")]
    async fn message() {}
}

fn main() {}
