// A filter names a function, as a requirement could; the caret sits on it.
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
    let _ = yoctopus_core::filter!(is_admin);
}
