// A generic push type: its schema could not be part of the API.
use yoctopus_core::prelude::*;

#[plugin]
mod room {
    #[push("joined")]
    #[derive(serde::Serialize, schemars::JsonSchema)]
    pub struct Joined<T> {
        pub user: T,
    }
}

fn main() {}
