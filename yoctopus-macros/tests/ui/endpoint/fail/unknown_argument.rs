// A misspelled `#[endpoint]` argument (`require` for `requires`); the caret sits on the key.
use yoctopus_core::prelude::*;

#[plugin]
mod chat {
    use yoctopus_core::prelude::*;

    #[endpoint(method = "read", require(can_read))]
    async fn message() {}

    async fn can_read(_connection: &Connection) -> bool {
        true
    }
}

fn main() {}
