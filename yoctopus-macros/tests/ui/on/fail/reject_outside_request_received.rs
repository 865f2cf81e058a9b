// A `response_prepared` listener rejects; the caret sits on the return type.
use yoctopus_core::prelude::*;

#[plugin]
mod logger {
    use yoctopus_core::prelude::*;

    #[on(response_prepared)]
    async fn prepared() -> Result<(), Reject> {
        Err(Reject::new("no"))
    }
}

fn main() {}
