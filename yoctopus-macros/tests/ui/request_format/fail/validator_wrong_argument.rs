// A custom validator takes the wrong type (`&u32` for a `String` field); the caret sits on the validator's name.
use yoctopus_core::prelude::*;

#[derive(RequestFormat)]
pub struct Hello {
    #[format(with = positive)]
    pub name: String,
}

fn positive(value: &u32) -> bool {
    *value > 0
}

fn main() {}
