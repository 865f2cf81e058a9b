// `rename_all` given to a settings field; the caret sits on the key.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        #[settings(rename_all = "camelCase")]
        pub user_id: String,
    }
}

fn main() {}
