// `#[endpoint]` on a struct inside a plugin; the caret sits on `endpoint`.
use yoctopus_core::prelude::*;

#[plugin]
mod chat {
    #[endpoint(method = "read")]
    pub struct Message;
}

fn main() {}
