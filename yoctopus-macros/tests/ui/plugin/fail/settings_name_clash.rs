// Two settings end up with one wire name; the caret sits on the rename.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    #[settings(rename_all = "camelCase")]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub is_admin: bool,
        #[settings(rename = "isAdmin")]
        pub admin: bool,
    }
}

fn main() {}
