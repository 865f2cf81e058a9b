// Async predicate functions, by name and by path, beside setting tests.
use yoctopus_core::prelude::*;

pub mod checks {
    use yoctopus_core::Connection;

    pub async fn is_admin(connection: &Connection) -> bool {
        connection.get("auth", "admin") == Some(serde_json::Value::Bool(true))
    }
}

#[plugin]
mod auth {
    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub authenticated: bool,
        pub admin: bool,
    }
}

#[plugin]
mod admin {
    use yoctopus_core::prelude::*;

    use super::auth;

    async fn can_edit(connection: &Connection) -> bool {
        connection.settings::<auth::Settings>().admin
    }

    #[endpoint(method = "update", requires(auth.authenticated, can_edit, super::checks::is_admin))]
    async fn dashboard() {}

    #[endpoint(method = "read", requires = self::can_edit)]
    async fn panel() {}
}

fn main() {
    let _ = admin::plugin();
}
