// A request format enum without variants; the caret sits on the enum's name.
use yoctopus_core::prelude::*;

#[derive(RequestFormat)]
pub enum Status {}

fn main() {}
