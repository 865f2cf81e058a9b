// A request format struct with unnamed fields, which cannot be request keys; the caret sits on the fields.
use yoctopus_core::prelude::*;

#[derive(RequestFormat)]
pub struct Hello(pub String);

fn main() {}
