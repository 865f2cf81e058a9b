// `rename_all` on a struct renames its keys; `rename` on a field wins over it; every style.
use serde_json::json;
use yoctopus_core::prelude::*;

#[derive(RequestFormat)]
#[format(rename_all = "camelCase")]
pub struct Camel {
    pub user_name: String,
    #[format(rename = "ID")]
    pub user_id: String,
}

#[derive(RequestFormat)]
#[format(rename_all = "kebab-case")]
pub struct Kebab {
    pub user_name: String,
}

#[derive(RequestFormat)]
#[format(rename_all = "PascalCase")]
pub struct Pascal {
    pub user_name: String,
}

#[derive(RequestFormat)]
#[format(rename_all = "lowercase")]
pub struct Lower {
    pub user_name: String,
}

#[derive(RequestFormat)]
#[format(rename_all = "UPPERCASE")]
pub struct Upper {
    pub user_name: String,
}

#[derive(RequestFormat)]
#[format(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct Screaming {
    pub user_name: String,
}

#[derive(RequestFormat)]
#[format(rename_all = "snake_case")]
pub struct Snake {
    pub user_name: String,
}

fn main() {
    let camel = yoctopus_core::validate::<Camel>(json!({"userName": "a", "ID": "1"})).unwrap();
    assert_eq!(
        (camel.user_name.as_str(), camel.user_id.as_str()),
        ("a", "1")
    );
    assert!(yoctopus_core::validate::<Kebab>(json!({"user-name": "a"})).is_ok());
    assert!(yoctopus_core::validate::<Pascal>(json!({"UserName": "a"})).is_ok());
    assert!(yoctopus_core::validate::<Lower>(json!({"username": "a"})).is_ok());
    assert!(yoctopus_core::validate::<Upper>(json!({"USERNAME": "a"})).is_ok());
    assert!(yoctopus_core::validate::<Screaming>(json!({"USER_NAME": "a"})).is_ok());
    assert!(yoctopus_core::validate::<Snake>(json!({"user_name": "a"})).is_ok());
}
