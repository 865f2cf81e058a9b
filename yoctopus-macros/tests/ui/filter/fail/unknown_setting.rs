// A filter names a setting auth does not declare; the caret sits on the name.
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
    let _ = yoctopus_core::filter!(auth.is_admn);
}
