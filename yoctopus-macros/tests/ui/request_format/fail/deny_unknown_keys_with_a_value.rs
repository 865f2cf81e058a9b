// `deny_unknown_keys` given a value; the caret sits on the key.
use yoctopus_core::RequestFormat;

#[derive(RequestFormat)]
#[format(deny_unknown_keys = true)]
pub struct Strict {
    pub name: String,
}

fn main() {}
