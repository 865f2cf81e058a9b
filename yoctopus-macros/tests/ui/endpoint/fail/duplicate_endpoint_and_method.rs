// Two functions define endpoint `message` with method `read`; the error sits on the second method, a note on the first.
use yoctopus_core::prelude::*;

#[plugin]
mod chat {
    #[endpoint(name = "message", method = "read")]
    async fn latest() {}

    #[endpoint(name = "message", method = "read")]
    async fn all() {}
}

fn main() {}
