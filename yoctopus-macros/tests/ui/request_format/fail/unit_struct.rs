// A request format struct without fields; the caret sits on the struct's name.
use yoctopus_core::prelude::*;

#[derive(RequestFormat)]
pub struct Hello;

fn main() {}
