// `RequestFormat` derived for a generic struct; the caret sits on the generic parameters.
use yoctopus_core::prelude::*;

#[derive(RequestFormat)]
pub struct Page<T> {
    pub items: Vec<T>,
}

fn main() {}
