// An unknown `rename_all` style for settings; the caret sits on the style.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    #[settings(rename_all = "Title Case")]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub user_id: String,
    }
}

fn main() {}
