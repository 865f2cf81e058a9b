//! Request formats, one kind at a time: each accepts good values (converted as the handler sees
//! them) and rejects bad ones with the field's path, and a request reports every failing field at
//! once.

mod common;

use common::{start, Client};
use serde_json::json;
use yoctopus_core::plugin;

#[plugin]
mod formats {
    use serde_json::{json, Map, Value};
    use yoctopus_core::prelude::*;

    #[derive(RequestFormat)]
    pub(crate) struct Primitives {
        name: String,
        ratio: f64,
        count: u8,
        offset: i32,
        active: bool,
    }

    #[endpoint(name = "primitives", method = "create")]
    async fn primitives(request: Primitives) -> Value {
        json!({
            "name": request.name,
            "ratio": request.ratio,
            "count": request.count,
            "offset": request.offset,
            "active": request.active,
        })
    }

    #[derive(RequestFormat)]
    pub(crate) struct Tagged {
        tags: Vec<String>,
    }

    #[endpoint(name = "tagged", method = "create")]
    async fn tagged(request: Tagged) -> Value {
        json!({ "tags": request.tags, "count": request.tags.len() })
    }

    #[derive(RequestFormat)]
    pub(crate) struct WithObject {
        extra: Map<String, Value>,
    }

    #[endpoint(name = "object", method = "create")]
    async fn object(request: WithObject) -> Value {
        json!({ "keys": request.extra.keys().collect::<Vec<_>>() })
    }

    #[derive(RequestFormat)]
    pub(crate) struct Contact {
        email: Email,
        host: Hostname,
        born: IsoDate,
    }

    #[endpoint(name = "contact", method = "create")]
    async fn contact(request: Contact) -> Value {
        json!({
            "email": request.email.as_str(),
            "host": request.host.as_str(),
            "born": request.born.as_str(),
        })
    }

    #[derive(RequestFormat)]
    pub(crate) enum Status {
        Active,
        OnHold,
        #[format(rename = "gone")]
        Archived,
    }

    #[derive(RequestFormat)]
    #[format(rename_all = "SCREAMING_SNAKE_CASE")]
    pub(crate) enum Priority {
        Low,
        VeryHigh,
    }

    #[derive(RequestFormat)]
    pub(crate) struct Ticket {
        status: Status,
        priority: Priority,
    }

    #[endpoint(name = "ticket", method = "create")]
    async fn ticket(request: Ticket) -> Value {
        let status = match request.status {
            Status::Active => "Active",
            Status::OnHold => "OnHold",
            Status::Archived => "Archived",
        };
        let priority = match request.priority {
            Priority::Low => "Low",
            Priority::VeryHigh => "VeryHigh",
        };
        json!({ "status": status, "priority": priority })
    }

    #[derive(RequestFormat)]
    pub(crate) struct Order {
        #[format(with = positive)]
        quantity: f64,
        #[format(with = not_reserved)]
        username: String,
    }

    fn positive(value: &f64) -> bool {
        *value > 0.0
    }

    fn not_reserved(value: &String) -> Result<(), String> {
        if value == "admin" || value == "root" {
            Err(format!("`{value}` is reserved"))
        } else {
            Ok(())
        }
    }

    #[endpoint(name = "order", method = "create")]
    async fn order(request: Order) -> Value {
        json!({ "quantity": request.quantity, "username": request.username })
    }

    #[derive(RequestFormat)]
    pub(crate) struct Profile {
        nickname: Option<String>,
        age: Option<u8>,
    }

    #[endpoint(name = "profile", method = "update")]
    async fn profile(request: Profile) -> Value {
        json!({ "nickname": request.nickname, "age": request.age })
    }

    #[endpoint(name = "shout", method = "read")]
    async fn shout(text: String) -> String {
        text.to_uppercase()
    }

    #[endpoint(name = "sum", method = "read")]
    async fn sum(numbers: Vec<i64>) -> i64 {
        numbers.iter().sum()
    }

    #[endpoint(name = "anything", method = "create")]
    async fn anything() -> &'static str {
        "accepted"
    }

    #[derive(RequestFormat)]
    #[format(deny_unknown_keys)]
    pub(crate) struct Strict {
        name: String,
        age: Option<u8>,
    }

    /// Unknown keys refused.
    #[endpoint(name = "strict", method = "create")]
    async fn strict(request: Strict) -> Value {
        json!({ "name": request.name, "age": request.age })
    }

    #[derive(RequestFormat)]
    pub(crate) struct Scores {
        by_player: std::collections::BTreeMap<String, u32>,
        bonus: serde_json::Number,
    }

    /// Keys the client chooses; a number passed on as written.
    #[endpoint(name = "scores", method = "create")]
    async fn scores(request: Scores) -> Value {
        let total: u32 = request.by_player.values().sum();
        json!({ "players": request.by_player.len(), "total": total, "bonus": request.bonus })
    }
}

async fn client() -> (yoctopus_core::Server, Client) {
    let server = start([formats::plugin()]).await;
    let client = Client::connect(server.local_addr()).await;
    (server, client)
}

#[tokio::test]
async fn strings_numbers_integers_and_bools_are_accepted_and_converted() {
    let (_server, mut client) = client().await;
    client
        .assert_ok(
            "formats:primitives",
            "create",
            json!({"name": "Ada", "ratio": 2, "count": 255, "offset": -40, "active": true}),
            json!({"name": "Ada", "ratio": 2.0, "count": 255, "offset": -40, "active": true}),
        )
        .await;
    client
        .assert_ok(
            "formats:primitives",
            "create",
            json!({"name": "", "ratio": -0.25, "count": 0, "offset": 2_147_483_647, "active": false}),
            json!({"name": "", "ratio": -0.25, "count": 0, "offset": 2_147_483_647, "active": false}),
        )
        .await;
}

#[tokio::test]
async fn a_value_of_the_wrong_kind_is_named_with_its_field() {
    let (_server, mut client) = client().await;
    let good = json!({"name": "Ada", "ratio": 0.5, "count": 1, "offset": 1, "active": true});
    for (field, bad, message) in [
        ("name", json!(42), "name: expected string, got number"),
        ("ratio", json!("0.5"), "ratio: expected number, got string"),
        (
            "count",
            json!(true),
            "count: expected non-negative integer, got bool",
        ),
        ("offset", json!(null), "offset: expected integer, got null"),
        ("active", json!("yes"), "active: expected bool, got string"),
        ("active", json!(1), "active: expected bool, got number"),
        ("name", json!(["Ada"]), "name: expected string, got array"),
        (
            "name",
            json!({"first": "Ada"}),
            "name: expected string, got object",
        ),
    ] {
        let mut data = good.clone();
        data[field] = bad;
        client
            .assert_error("formats:primitives", "create", data, json!([message]))
            .await;
    }
}

#[tokio::test]
async fn integers_out_of_range_or_with_a_fraction_are_rejected() {
    let (_server, mut client) = client().await;
    let good = json!({"name": "Ada", "ratio": 0.5, "count": 1, "offset": 1, "active": true});
    for (field, bad, message) in [
        (
            "count",
            json!(256),
            "count: expected non-negative integer between 0 and 255, got 256",
        ),
        (
            "count",
            json!(-1),
            "count: expected non-negative integer between 0 and 255, got -1",
        ),
        (
            "count",
            json!(1.5),
            "count: expected non-negative integer, got a fraction",
        ),
        (
            "offset",
            json!(2_147_483_648_i64),
            "offset: expected integer between -2147483648 and 2147483647, got 2147483648",
        ),
        (
            "offset",
            json!(-0.5),
            "offset: expected integer, got a fraction",
        ),
    ] {
        let mut data = good.clone();
        data[field] = bad;
        client
            .assert_error("formats:primitives", "create", data, json!([message]))
            .await;
    }
}

#[tokio::test]
async fn arrays_accept_their_elements_and_name_each_bad_element_by_index() {
    let (_server, mut client) = client().await;
    client
        .assert_ok(
            "formats:tagged",
            "create",
            json!({"tags": ["red", "green"]}),
            json!({"tags": ["red", "green"], "count": 2}),
        )
        .await;
    client
        .assert_ok(
            "formats:tagged",
            "create",
            json!({"tags": []}),
            json!({"tags": [], "count": 0}),
        )
        .await;
    client
        .assert_error(
            "formats:tagged",
            "create",
            json!({"tags": ["red", 7, "blue", null]}),
            json!([
                "tags[1]: expected string, got number",
                "tags[3]: expected string, got null"
            ]),
        )
        .await;
    client
        .assert_error(
            "formats:tagged",
            "create",
            json!({"tags": "red"}),
            json!(["tags: expected array, got string"]),
        )
        .await;
}

#[tokio::test]
async fn an_array_as_the_whole_request_names_elements_below_data() {
    let (_server, mut client) = client().await;
    client
        .assert_ok("formats:sum", "read", json!([1, 2, 3, -4]), json!(2))
        .await;
    client
        .assert_error(
            "formats:sum",
            "read",
            json!([1, "2", 3.5]),
            json!([
                "data[1]: expected integer, got string",
                "data[2]: expected integer, got a fraction"
            ]),
        )
        .await;
}

#[tokio::test]
async fn objects_accept_any_object_and_reject_other_kinds() {
    let (_server, mut client) = client().await;
    client
        .assert_ok(
            "formats:object",
            "create",
            json!({"extra": {"a": 1, "b": [true], "c": {"d": null}}}),
            json!({"keys": ["a", "b", "c"]}),
        )
        .await;
    client
        .assert_ok(
            "formats:object",
            "create",
            json!({"extra": {}}),
            json!({"keys": []}),
        )
        .await;
    client
        .assert_error(
            "formats:object",
            "create",
            json!({"extra": [1, 2]}),
            json!(["extra: expected object, got array"]),
        )
        .await;
}

#[tokio::test]
async fn email_hostname_and_iso_date_accept_well_formed_text() {
    let (_server, mut client) = client().await;
    for (email, host, born) in [
        ("ada@example.com", "example.com", "1815-12-10"),
        (
            "first.last+tag@mail.example.org",
            "db-1",
            "2024-02-29T13:45:00Z",
        ),
        (
            "x_y@sub-1.example.com",
            "localhost",
            "2023-01-01T10:20:30.123+02:00",
        ),
    ] {
        client
            .assert_ok(
                "formats:contact",
                "create",
                json!({"email": email, "host": host, "born": born}),
                json!({"email": email, "host": host, "born": born}),
            )
            .await;
    }
}

#[tokio::test]
async fn email_hostname_and_iso_date_reject_malformed_text_quoting_it() {
    let (_server, mut client) = client().await;
    client
        .assert_error(
            "formats:contact",
            "create",
            json!({"email": "ada.example.com", "host": "under_score.com", "born": "2023-02-29"}),
            json!([
                "email: expected email, got \"ada.example.com\"",
                "host: expected hostname, got \"under_score.com\"",
                "born: expected ISO 8601 date, got \"2023-02-29\""
            ]),
        )
        .await;
    client
        .assert_error(
            "formats:contact",
            "create",
            json!({"email": 1, "host": false, "born": 20_230_101}),
            json!([
                "email: expected email, got number",
                "host: expected hostname, got bool",
                "born: expected ISO 8601 date, got number"
            ]),
        )
        .await;
}

#[tokio::test]
async fn a_union_accepts_its_snake_case_renamed_and_rename_all_values() {
    let (_server, mut client) = client().await;
    for (status, priority, expected) in [
        (
            "active",
            "LOW",
            json!({"status": "Active", "priority": "Low"}),
        ),
        (
            "on_hold",
            "VERY_HIGH",
            json!({"status": "OnHold", "priority": "VeryHigh"}),
        ),
        (
            "gone",
            "LOW",
            json!({"status": "Archived", "priority": "Low"}),
        ),
    ] {
        client
            .assert_ok(
                "formats:ticket",
                "create",
                json!({"status": status, "priority": priority}),
                expected,
            )
            .await;
    }
}

#[tokio::test]
async fn a_union_rejects_other_values_listing_the_accepted_ones() {
    let (_server, mut client) = client().await;
    client
        .assert_error(
            "formats:ticket",
            "create",
            json!({"status": "archived", "priority": "low"}),
            json!([
                "status: expected one of \"active\", \"on_hold\", \"gone\", got \"archived\"",
                "priority: expected one of \"LOW\", \"VERY_HIGH\", got \"low\""
            ]),
        )
        .await;
    client
        .assert_error(
            "formats:ticket",
            "create",
            json!({"status": 1, "priority": null}),
            json!([
                "status: expected one of \"active\", \"on_hold\", \"gone\", got number",
                "priority: expected one of \"LOW\", \"VERY_HIGH\", got null"
            ]),
        )
        .await;
}

#[tokio::test]
async fn a_custom_validator_returning_bool_rejects_with_its_name() {
    let (_server, mut client) = client().await;
    client
        .assert_ok(
            "formats:order",
            "create",
            json!({"quantity": 3, "username": "ada"}),
            json!({"quantity": 3.0, "username": "ada"}),
        )
        .await;
    client
        .assert_error(
            "formats:order",
            "create",
            json!({"quantity": -1, "username": "ada"}),
            json!(["quantity: rejected by `positive`"]),
        )
        .await;
}

#[tokio::test]
async fn a_custom_validator_returning_result_rejects_with_its_message() {
    let (_server, mut client) = client().await;
    client
        .assert_error(
            "formats:order",
            "create",
            json!({"quantity": 1, "username": "admin"}),
            json!(["username: `admin` is reserved"]),
        )
        .await;
}

#[tokio::test]
async fn a_custom_validator_runs_only_on_a_value_of_the_right_kind() {
    let (_server, mut client) = client().await;
    client
        .assert_error(
            "formats:order",
            "create",
            json!({"quantity": "many", "username": "root"}),
            json!([
                "quantity: expected number, got string",
                "username: `root` is reserved"
            ]),
        )
        .await;
}

#[tokio::test]
async fn optional_fields_may_be_absent_or_null_and_are_checked_when_present() {
    let (_server, mut client) = client().await;
    client
        .assert_ok(
            "formats:profile",
            "update",
            json!({}),
            json!({"nickname": null, "age": null}),
        )
        .await;
    client
        .assert_ok(
            "formats:profile",
            "update",
            json!({"nickname": null, "age": null}),
            json!({"nickname": null, "age": null}),
        )
        .await;
    client
        .assert_ok(
            "formats:profile",
            "update",
            json!({"nickname": "ace", "age": 36}),
            json!({"nickname": "ace", "age": 36}),
        )
        .await;
    client
        .assert_error(
            "formats:profile",
            "update",
            json!({"nickname": 7, "age": 300}),
            json!([
                "nickname: expected string, got number",
                "age: expected non-negative integer between 0 and 255, got 300"
            ]),
        )
        .await;
}

#[tokio::test]
async fn missing_required_fields_say_what_was_expected() {
    let (_server, mut client) = client().await;
    client
        .assert_error(
            "formats:primitives",
            "create",
            json!({"name": "Ada", "active": true}),
            json!([
                "ratio: missing, expected number",
                "count: missing, expected non-negative integer",
                "offset: missing, expected integer"
            ]),
        )
        .await;
    client
        .assert_error(
            "formats:contact",
            "create",
            json!({}),
            json!([
                "email: missing, expected email",
                "host: missing, expected hostname",
                "born: missing, expected ISO 8601 date"
            ]),
        )
        .await;
}

#[tokio::test]
async fn every_failing_field_is_reported_in_one_error_array() {
    let (_server, mut client) = client().await;
    client
        .assert_error(
            "formats:primitives",
            "create",
            json!({"name": null, "ratio": [], "count": 1000, "active": "no"}),
            json!([
                "name: expected string, got null",
                "ratio: expected number, got array",
                "count: expected non-negative integer between 0 and 255, got 1000",
                "offset: missing, expected integer",
                "active: expected bool, got string"
            ]),
        )
        .await;
}

#[tokio::test]
async fn a_struct_format_rejects_data_that_is_not_an_object() {
    let (_server, mut client) = client().await;
    for (data, kind) in [
        (json!("Ada"), "string"),
        (json!([1]), "array"),
        (json!(null), "null"),
        (json!(3), "number"),
    ] {
        client
            .assert_error(
                "formats:primitives",
                "create",
                data,
                json!([format!("data: expected object, got {kind}")]),
            )
            .await;
    }
}

#[tokio::test]
async fn a_string_request_is_the_data_itself() {
    let (_server, mut client) = client().await;
    client
        .assert_ok("formats:shout", "read", json!("hello"), json!("HELLO"))
        .await;
    client
        .assert_error(
            "formats:shout",
            "read",
            json!(5),
            json!(["data: expected string, got number"]),
        )
        .await;
    client
        .assert_error(
            "formats:shout",
            "read",
            json!({"text": "hello"}),
            json!(["data: expected string, got object"]),
        )
        .await;
}

#[tokio::test]
async fn an_endpoint_without_a_request_argument_accepts_any_data() {
    let (_server, mut client) = client().await;
    for data in [
        json!(null),
        json!({"anything": ["goes", 1]}),
        json!([1, "two"]),
        json!("text"),
        json!(-3.5),
        json!(false),
    ] {
        client
            .assert_ok("formats:anything", "create", data, json!("accepted"))
            .await;
    }
    client
        .send_text(r#"{"meta":{"id":"no-data","endpoint":"formats:anything","method":"create"}}"#)
        .await;
    assert_eq!(
        client.recv_json().await,
        json!({
            "meta": {"id": "no-data", "endpoint": "formats:anything", "method": "create", "status": "ok"},
            "data": "accepted"
        })
    );
}

#[tokio::test]
async fn maps_check_every_entry_and_numbers_stay_as_written() {
    let (_server, mut client) = client().await;
    client
        .assert_ok(
            "formats:scores",
            "create",
            json!({"by_player": {"ann": 3, "bob": 4}, "bonus": 30}),
            json!({"players": 2, "total": 7, "bonus": 30}),
        )
        .await;
    let reply = client
        .request(
            "raw",
            "formats:scores",
            "create",
            json!({"by_player": {}, "bonus": 2.5}),
        )
        .await;
    assert_eq!(
        reply["data"],
        json!({"players": 0, "total": 0, "bonus": 2.5})
    );
    client
        .assert_error(
            "formats:scores",
            "create",
            json!({"by_player": {"ann": "three", "bob": -1}, "bonus": "30"}),
            json!([
                "by_player.ann: expected non-negative integer, got string",
                "by_player.bob: expected non-negative integer between 0 and 4294967295, got -1",
                "bonus: expected number, got string"
            ]),
        )
        .await;
}

#[tokio::test]
async fn unknown_keys_are_ignored_by_default_and_refused_where_the_format_says_so() {
    let (_server, mut client) = client().await;
    // The default: extra keys are ignored.
    client
        .assert_ok(
            "formats:scores",
            "create",
            json!({"by_player": {}, "bonus": 1, "comment": "extra"}),
            json!({"players": 0, "total": 0, "bonus": 1}),
        )
        .await;
    client
        .assert_ok(
            "formats:strict",
            "create",
            json!({"name": "Ada", "age": 36}),
            json!({"name": "Ada", "age": 36}),
        )
        .await;
    client
        .assert_error(
            "formats:strict",
            "create",
            json!({"name": 7, "nickname": "ada", "age": 36}),
            json!([
                "name: expected string, got number",
                "nickname: unknown key; expected one of `name`, `age`"
            ]),
        )
        .await;
    client
        .assert_error(
            "formats:strict",
            "create",
            json!({"name": "Ada", "extra": true}),
            json!(["extra: unknown key; expected one of `name`, `age`"]),
        )
        .await;
}
