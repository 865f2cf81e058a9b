// `rename_all` names a style that does not exist; the caret sits on the literal.
use yoctopus_core::prelude::*;

#[derive(RequestFormat)]
#[format(rename_all = "Title Case")]
pub struct Hello {
    pub user_name: String,
}

fn main() {}
