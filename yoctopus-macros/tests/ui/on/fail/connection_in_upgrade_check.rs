// An upgrade check asks for the connection, which does not exist yet; the caret sits on the type.
use yoctopus_core::prelude::*;

#[plugin]
mod gate {
    use yoctopus_core::prelude::*;

    #[on(upgrade)]
    async fn check(_connection: Connection) -> Result<(), Refusal> {
        Ok(())
    }
}

fn main() {}
