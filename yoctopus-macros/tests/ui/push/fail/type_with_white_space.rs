// A push type with white space in it.
use yoctopus_core::prelude::*;

#[plugin]
mod room {
    #[push("user joined")]
    #[derive(serde::Serialize, schemars::JsonSchema)]
    pub struct Joined {
        pub user: String,
    }
}

fn main() {}
