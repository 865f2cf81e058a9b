// The return type is not `Serialize`; the caret sits on the return type.
use yoctopus_core::prelude::*;

pub struct Message {
    pub text: String,
}

#[plugin]
mod chat {
    #[endpoint(method = "read")]
    async fn message() -> super::Message {
        super::Message {
            text: String::new(),
        }
    }
}

fn main() {}
