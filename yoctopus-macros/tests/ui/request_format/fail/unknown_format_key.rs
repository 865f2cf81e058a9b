// A misspelled `#[format]` key on a field (`renam` for `rename`); the caret sits on the key.
use yoctopus_core::prelude::*;

#[derive(RequestFormat)]
pub struct Hello {
    #[format(renam = "userName")]
    pub name: String,
}

fn main() {}
