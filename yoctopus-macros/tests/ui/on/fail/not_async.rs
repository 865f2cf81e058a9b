// A listener that is not `async`; the caret sits on `fn`.
use yoctopus_core::prelude::*;

#[plugin]
mod logger {
    #[on(connection_opened)]
    fn opened() {}
}

fn main() {}
