// A predicate function is not `async`; the caret sits on the function name in the requirement.
use yoctopus_core::prelude::*;

#[plugin]
mod chat {
    use yoctopus_core::prelude::*;

    #[endpoint(method = "read", requires(can_read))]
    async fn message() {}

    fn can_read(_connection: &Connection) -> bool {
        true
    }
}

fn main() {}
