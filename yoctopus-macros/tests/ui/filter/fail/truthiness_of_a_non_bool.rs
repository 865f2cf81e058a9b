// A bare condition on a `String` setting; the caret sits on the setting.
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
    let _ = yoctopus_core::filter!(auth.role);
}
