// Comparisons of settings with values: `==`, `!=`, `<`, `<=`, `>`, `>=` on numbers, strings,
// `Option`s, and constants.
use yoctopus_core::prelude::*;

pub const MAX_LOGINS: u32 = 100;

#[plugin]
mod auth {
    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub login_count: u32,
        pub score: f64,
        pub role: String,
        pub user_id: Option<String>,
        pub level: i8,
    }
}

#[plugin]
mod chat {
    use super::auth;

    #[endpoint(
        method = "read",
        requires(
            auth.login_count >= 3,
            auth.login_count < super::MAX_LOGINS,
            auth.score > 0.5,
            auth.score <= 10.0,
            auth.role == "admin",
            auth.role != String::from("guest"),
            auth.user_id != None,
            auth.user_id == Some("root".to_owned()),
            auth.level == -1,
        )
    )]
    async fn message() {}
}

fn main() {
    let _ = chat::plugin();
}
