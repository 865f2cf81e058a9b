// Custom validators with `#[format(with = ...)]` return `bool` or `Result<(), E>` with
// `E: Display`; a path names a validator in another module.
use serde_json::json;
use yoctopus_core::prelude::*;

mod checks {
    pub fn not_blank(text: &String) -> Result<(), String> {
        if text.trim().is_empty() {
            Err("must not be blank".to_owned())
        } else {
            Ok(())
        }
    }
}

fn positive(value: &f64) -> bool {
    *value > 0.0
}

fn short(tags: &Vec<String>) -> Result<(), &'static str> {
    if tags.len() <= 2 {
        Ok(())
    } else {
        Err("at most two tags")
    }
}

#[derive(RequestFormat)]
pub struct Payment {
    #[format(with = positive)]
    pub amount: f64,
    #[format(with = checks::not_blank, rename = "memo")]
    pub note: String,
    #[format(with = short)]
    pub tags: Vec<String>,
}

fn main() {
    assert!(
        yoctopus_core::validate::<Payment>(json!({"amount": 1.0, "memo": "x", "tags": []})).is_ok()
    );
    let errors = yoctopus_core::validate::<Payment>(
        json!({"amount": -1.0, "memo": " ", "tags": ["a", "b", "c"]}),
    )
    .err()
    .unwrap();
    assert_eq!(errors.messages().len(), 3, "{errors:?}");
}
