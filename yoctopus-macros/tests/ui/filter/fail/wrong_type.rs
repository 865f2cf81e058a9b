// A filter compares a number setting with a string; the caret sits on the string.
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
    let _ = yoctopus_core::filter!(auth.login_count == "3");
}
