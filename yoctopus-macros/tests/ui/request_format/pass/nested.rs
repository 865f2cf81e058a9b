// Request formats nest: structs in structs, `Vec`, `Option`, `Box`, the text formats (`Email`,
// `Hostname`, `IsoDate`), JSON values and maps; one walk reports every failing field with its path.
use serde_json::json;
use yoctopus_core::prelude::*;

#[derive(RequestFormat)]
pub struct Signup {
    pub name: String,
    pub email: Email,
    pub server: Hostname,
    pub born: IsoDate,
    pub age: u8,
    pub score: f64,
    pub admin: bool,
    pub tags: Vec<String>,
    pub nick: Option<String>,
    pub address: Address,
    pub previous: Vec<Address>,
    pub billing: Option<Box<Address>>,
    pub extra: serde_json::Value,
    pub options: serde_json::Map<String, serde_json::Value>,
    pub r#type: String,
}

#[derive(RequestFormat)]
pub struct Address {
    pub street: String,
    pub zip: String,
}

fn main() {
    let valid = json!({
        "name": "Alice",
        "email": "alice@example.com",
        "server": "example.com",
        "born": "2000-01-31",
        "age": 30,
        "score": 1.5,
        "admin": false,
        "tags": ["a"],
        "address": {"street": "Main", "zip": "1"},
        "previous": [],
        "extra": null,
        "options": {},
        "type": "user"
    });
    let signup = yoctopus_core::validate::<Signup>(valid).unwrap();
    assert_eq!(signup.address.zip, "1");
    assert!(signup.nick.is_none() && signup.billing.is_none());

    let errors = yoctopus_core::validate::<Signup>(json!({"address": {"street": 1}, "tags": [1]}))
        .err()
        .unwrap();
    assert!(errors.messages().len() > 2, "{errors:?}");
}
