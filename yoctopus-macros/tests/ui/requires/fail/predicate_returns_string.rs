// A predicate function returns a `String`, not a `bool`; the caret sits on the function name in the requirement.
use yoctopus_core::prelude::*;

#[plugin]
mod chat {
    use yoctopus_core::prelude::*;

    #[endpoint(method = "read", requires(can_read))]
    async fn message() {}

    async fn can_read(_connection: &Connection) -> String {
        String::new()
    }
}

fn main() {}
