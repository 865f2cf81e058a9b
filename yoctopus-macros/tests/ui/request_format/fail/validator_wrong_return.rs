// A custom validator returns a `String`, not `bool` or `Result<(), E>`; the caret sits on the validator's name.
use yoctopus_core::prelude::*;

#[derive(RequestFormat)]
pub struct Hello {
    #[format(with = short)]
    pub name: String,
}

fn short(name: &String) -> String {
    name.clone()
}

fn main() {}
