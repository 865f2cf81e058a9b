// A predicate function takes no `&Connection`; the caret sits on the function name in the requirement.
use yoctopus_core::prelude::*;

#[plugin]
mod chat {
    #[endpoint(method = "read", requires(can_read))]
    async fn message() {}

    async fn can_read() -> bool {
        true
    }
}

fn main() {}
