// `with` names the validator in a string, as serde's `with` does, instead of as a path; the caret sits on the string.
use yoctopus_core::prelude::*;

#[derive(RequestFormat)]
pub struct Payment {
    #[format(with = "positive")]
    pub amount: f64,
}

fn positive(value: &f64) -> bool {
    *value > 0.0
}

fn main() {}
