// `#[push]` without the push's type; the caret sits on the attribute.
use yoctopus_core::prelude::*;

#[plugin]
mod room {
    #[push]
    #[derive(serde::Serialize, schemars::JsonSchema)]
    pub struct Joined {
        pub user: String,
    }
}

fn main() {}
