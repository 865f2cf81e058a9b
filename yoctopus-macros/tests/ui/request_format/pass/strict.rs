// `#[format(deny_unknown_keys)]`: unknown keys refused by both readings, and the schema closed;
// without it they are ignored.
use yoctopus_core::__private::{schemars, Fast};
use yoctopus_core::{validate, RequestFormat};

#[derive(RequestFormat, Debug)]
#[format(deny_unknown_keys, rename_all = "camelCase")]
pub struct Strict {
    pub user_name: String,
}

#[derive(RequestFormat, Debug)]
pub struct Open {
    pub user_name: String,
}

fn main() {
    let extra = serde_json::json!({"userName": "ada", "other": 1});
    assert_eq!(
        validate::<Strict>(extra.clone()).unwrap_err().messages(),
        ["other: unknown key; expected one of `userName`"]
    );
    assert!(serde_json::from_value::<Fast<Strict>>(extra).is_err());
    assert!(validate::<Open>(serde_json::json!({"user_name": "ada", "other": 1})).is_ok());
    let schema = schemars::SchemaGenerator::default().into_root_schema_for::<Strict>();
    assert_eq!(schema.get("additionalProperties"), Some(&serde_json::json!(false)));
}
