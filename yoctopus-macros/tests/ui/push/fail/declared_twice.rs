// Two types declare the same push type; both declarations are marked.
use yoctopus_core::prelude::*;

#[plugin]
mod room {
    #[push("joined")]
    #[derive(serde::Serialize, schemars::JsonSchema)]
    pub struct Joined {
        pub user: String,
    }

    #[push("joined")]
    #[derive(serde::Serialize, schemars::JsonSchema)]
    pub struct AlsoJoined {
        pub user: String,
    }
}

fn main() {}
