// `rename` is given twice on one field; the caret sits on the second key.
use yoctopus_core::prelude::*;

#[derive(RequestFormat)]
pub struct Hello {
    #[format(rename = "userName")]
    #[format(rename = "user")]
    pub name: String,
}

fn main() {}
