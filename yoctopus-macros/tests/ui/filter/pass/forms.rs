// Every form of `filter!`: a bool setting, its negation, equality with values of the setting's
// type, a `super::` path, nested fields, several conditions; each equal to the JSON form.
use yoctopus_core::prelude::*;
use yoctopus_core::{filter, SettingsFilter};

#[derive(Default, Clone, serde::Serialize)]
pub struct Profile {
    pub city: String,
}

#[plugin]
mod auth {
    #[settings(rename_all = "camelCase")]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub is_admin: bool,
        pub user_id: Option<String>,
        pub tags: Vec<String>,
        pub profile: super::Profile,
    }
}

mod elsewhere {
    pub fn filter() -> yoctopus_core::SettingsFilter {
        yoctopus_core::filter!(super::auth.is_admin)
    }
}

fn main() {
    let json = |value| SettingsFilter::from_json(value).unwrap();
    assert_eq!(
        filter!(auth.is_admin, !auth.is_admin),
        json(serde_json::json!({"auth": {"isAdmin": false}}))
    );
    assert_eq!(
        filter!(auth.user_id == Some("u1".to_owned()), auth.tags == vec!["a".to_owned()]),
        json(serde_json::json!({"auth": {"userId": "u1", "tags": ["a"]}}))
    );
    assert_eq!(
        filter!(auth.profile.city == "Oslo"),
        json(serde_json::json!({"auth": {"profile": {"city": "Oslo"}}}))
    );
    assert_eq!(elsewhere::filter(), json(serde_json::json!({"auth": {"isAdmin": true}})));
}
