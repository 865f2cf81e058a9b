// A filter names a plugin that does not exist; the caret sits on the plugin path.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub is_admin: bool,
        pub login_count: u32,
        pub role: String,
    }
}

fn main() {
    let _ = yoctopus_core::filter!(auht.is_admin);
}
