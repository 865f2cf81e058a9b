// `#[push]` outside a `#[plugin]` module.
use yoctopus_core::prelude::*;

#[push("joined")]
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Joined {
    pub user: String,
}

fn main() {}
