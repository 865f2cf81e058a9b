// Every form of requirement: the `requires(...)` list and `requires = expr`, repeated `requires`,
// `plugin.setting`, `!plugin.setting`, `self.setting`, the plugin's own module name, a `super::`
// path, nested fields, parentheses, and the texts error replies quote: in plugin terms, never as
// the Rust path that reached the plugin.
use yoctopus_core::prelude::*;

#[derive(Default, Clone, serde::Serialize)]
pub struct Limits {
    pub enabled: bool,
    pub max: u32,
}

#[plugin]
mod auth {
    use yoctopus_core::prelude::*;

    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub authenticated: bool,
        pub banned: bool,
        pub limits: super::Limits,
    }

    #[endpoint(name = "session", method = "create", requires(!self.authenticated))]
    async fn login() -> Reply<Settings> {
        Reply::only_settings(Settings {
            authenticated: true,
            ..Settings::default()
        })
    }

    #[endpoint(name = "session", method = "delete", requires = auth.authenticated)]
    async fn logout() {}
}

#[plugin]
mod chat {
    use super::auth;

    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub muted: bool,
    }

    #[endpoint(method = "read", requires(auth.authenticated, !auth.banned,))]
    async fn message() {}

    #[endpoint(
        method = "create",
        requires = auth.authenticated,
        requires = !self.muted,
        requires(super::auth.limits.enabled, (auth.limits.max > 0))
    )]
    async fn post() {}

    #[endpoint(method = "update", requires())]
    async fn edit() {}
}

fn main() {
    let requirements = |def: &yoctopus_core::PluginDef, method: &str| -> Vec<String> {
        def.endpoints
            .iter()
            .flat_map(|endpoint| endpoint.methods)
            .find(|m| m.method == method)
            .map(|m| m.requirements.iter().map(|text| text()).collect())
            .unwrap()
    };
    assert_eq!(
        requirements(&auth::__yoctopus_plugin_def, "create"),
        ["!auth.authenticated"]
    );
    assert_eq!(
        requirements(&chat::__yoctopus_plugin_def, "read"),
        ["auth.authenticated", "!auth.banned"]
    );
    assert_eq!(
        requirements(&chat::__yoctopus_plugin_def, "create"),
        [
            "auth.authenticated",
            "!chat.muted",
            "auth.limits.enabled",
            "auth.limits.max > 0"
        ]
    );
    assert!(requirements(&chat::__yoctopus_plugin_def, "update").is_empty());
}
