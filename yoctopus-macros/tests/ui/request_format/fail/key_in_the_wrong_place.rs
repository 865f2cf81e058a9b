// `#[format(with = ...)]` on an enum variant, where only `rename` is allowed; the caret sits on the key.
use yoctopus_core::prelude::*;

#[derive(RequestFormat)]
pub enum Status {
    #[format(with = check)]
    Active,
}

fn main() {}
