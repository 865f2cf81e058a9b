// An argument is neither a request format nor an extractor; the caret sits on its type.
use yoctopus_core::prelude::*;

#[plugin]
mod chat {
    #[endpoint(method = "read")]
    async fn message(_file: std::fs::File) {}
}

fn main() {}
