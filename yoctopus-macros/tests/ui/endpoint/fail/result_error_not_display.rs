// The `Result`'s error type is not `Display`; the caret sits on the error type.
use yoctopus_core::prelude::*;

#[derive(Debug)]
pub struct Failure;

#[plugin]
mod chat {
    #[endpoint(method = "read")]
    async fn message() -> Result<String, super::Failure> {
        Err(super::Failure)
    }
}

fn main() {}
