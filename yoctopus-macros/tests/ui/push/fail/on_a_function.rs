// `#[push]` on a function: it marks the type a push carries.
use yoctopus_core::prelude::*;

#[plugin]
mod room {
    #[push("joined")]
    fn joined() {}
}

fn main() {}
