// Enums of unit variants are unions of literal strings: `snake_case` by default, `rename_all` on
// the enum, `rename` on a variant.
use serde_json::json;
use yoctopus_core::prelude::*;

#[derive(RequestFormat, Debug, PartialEq)]
pub enum Status {
    Active,
    InProgress,
    #[format(rename = "gone")]
    Deleted,
}

#[derive(RequestFormat, Debug, PartialEq)]
#[format(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Level {
    Low,
    VeryHigh,
}

#[derive(RequestFormat)]
pub struct Task {
    pub status: Status,
    pub level: Option<Level>,
    pub history: Vec<Status>,
}

fn main() {
    let task = yoctopus_core::validate::<Task>(json!({
        "status": "in_progress",
        "level": "VERY_HIGH",
        "history": ["active", "gone"]
    }))
    .unwrap();
    assert_eq!(task.status, Status::InProgress);
    assert_eq!(task.level, Some(Level::VeryHigh));
    assert_eq!(task.history, [Status::Active, Status::Deleted]);
    assert!(yoctopus_core::validate::<Status>(json!("Deleted")).is_err());
}
