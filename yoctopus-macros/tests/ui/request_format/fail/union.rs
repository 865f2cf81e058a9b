// `RequestFormat` derived for a union; the caret sits on `union`.
use yoctopus_core::prelude::*;

#[derive(RequestFormat)]
pub union Number {
    pub int: i64,
    pub float: f64,
}

fn main() {}
