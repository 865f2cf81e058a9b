// `deny_unknown_keys` on an enum, which has no keys; the caret sits on the key.
use yoctopus_core::RequestFormat;

#[derive(RequestFormat)]
#[format(deny_unknown_keys)]
pub enum Status {
    Active,
}

fn main() {}
