// A push type that is not `JsonSchema`; the error sits on its name.
use yoctopus_core::prelude::*;

#[plugin]
mod room {
    #[push("joined")]
    #[derive(serde::Serialize)]
    pub struct Joined {
        pub user: String,
    }
}

fn main() {}
