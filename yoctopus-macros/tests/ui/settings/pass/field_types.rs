// Settings fields of every JSON shape: bool, numbers, string, array, object and `Option`; each is
// readable by name as JSON.
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;
use yoctopus_core::prelude::*;
use yoctopus_core::PluginSettings;

#[derive(Default, Clone, Serialize)]
pub struct Profile {
    pub display_name: String,
}

#[plugin]
mod auth {
    use std::collections::BTreeMap;

    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub authenticated: bool,
        pub login_count: u32,
        pub balance: f64,
        pub offset: i64,
        pub user_name: String,
        pub roles: Vec<String>,
        pub limits: BTreeMap<String, u32>,
        pub profile: super::Profile,
        pub extra: serde_json::Value,
        pub user_id: Option<String>,
        pub r#type: Option<u8>,
    }
}

fn main() {
    assert_eq!(
        <auth::Settings as PluginSettings>::FIELDS,
        [
            "authenticated",
            "login_count",
            "balance",
            "offset",
            "user_name",
            "roles",
            "limits",
            "profile",
            "extra",
            "user_id",
            "type"
        ]
    );
    assert_eq!(<auth::Settings as PluginSettings>::PLUGIN, "auth");
    let settings = auth::Settings {
        authenticated: true,
        roles: vec!["admin".to_owned()],
        limits: BTreeMap::from([("messages".to_owned(), 3)]),
        user_id: Some("u1".to_owned()),
        ..Default::default()
    };
    assert_eq!(settings.field("authenticated"), Some(json!(true)));
    assert_eq!(settings.field("roles"), Some(json!(["admin"])));
    assert_eq!(settings.field("limits"), Some(json!({"messages": 3})));
    assert_eq!(settings.field("profile"), Some(json!({"display_name": ""})));
    assert_eq!(settings.field("user_id"), Some(json!("u1")));
    assert_eq!(settings.field("type"), Some(json!(null)));
    assert_eq!(settings.field("missing"), None);
}
