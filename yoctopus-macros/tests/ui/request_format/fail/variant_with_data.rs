// A request format enum variant carries data; the caret sits on the variant's fields.
use yoctopus_core::prelude::*;

#[derive(RequestFormat)]
pub enum Status {
    Active,
    Away(String),
}

fn main() {}
