//! Request formats inside request formats: objects nested several levels deep, arrays of objects,
//! and renamed keys, each error carrying the full path to the failing field.

mod common;

use common::{start, Client};
use serde_json::json;
use yoctopus_core::plugin;

#[plugin]
mod nested {
    use serde_json::{json, Value};
    use yoctopus_core::prelude::*;

    #[derive(RequestFormat)]
    pub(crate) struct Signup {
        user: User,
    }

    #[derive(RequestFormat)]
    pub(crate) struct User {
        name: String,
        address: Address,
        previous: Option<Address>,
    }

    #[derive(RequestFormat)]
    pub(crate) struct Address {
        street: String,
        zip: String,
        geo: Geo,
    }

    #[derive(RequestFormat)]
    pub(crate) struct Geo {
        lat: f64,
        lng: f64,
    }

    fn address_json(address: &Address) -> Value {
        json!({
            "street": address.street,
            "zip": address.zip,
            "geo": {"lat": address.geo.lat, "lng": address.geo.lng},
        })
    }

    #[endpoint(name = "signup", method = "create")]
    async fn signup(request: Signup) -> Value {
        let user = &request.user;
        json!({
            "name": user.name,
            "address": address_json(&user.address),
            "previous": user.previous.as_ref().map(address_json),
        })
    }

    #[derive(RequestFormat)]
    pub(crate) struct Cart {
        items: Vec<Item>,
    }

    #[derive(RequestFormat)]
    pub(crate) struct Item {
        name: String,
        price: f64,
        options: Vec<ItemOption>,
    }

    #[derive(RequestFormat)]
    pub(crate) struct ItemOption {
        label: String,
        r#type: String,
    }

    #[endpoint(name = "cart", method = "update")]
    async fn cart(request: Cart) -> Value {
        let total: f64 = request.items.iter().map(|item| item.price).sum();
        let names: Vec<&str> = request
            .items
            .iter()
            .map(|item| item.name.as_str())
            .collect();
        let options: Vec<String> = request
            .items
            .iter()
            .flat_map(|item| &item.options)
            .map(|option| format!("{}={}", option.label, option.r#type))
            .collect();
        json!({ "names": names, "total": total, "options": options })
    }

    #[derive(RequestFormat)]
    #[format(rename_all = "camelCase")]
    pub(crate) struct Account {
        first_name: String,
        billing_address: BillingAddress,
        #[format(rename = "e-mail")]
        email_address: Email,
    }

    #[derive(RequestFormat)]
    #[format(rename_all = "camelCase")]
    pub(crate) struct BillingAddress {
        postal_code: String,
        street_lines: Vec<String>,
    }

    #[endpoint(name = "account", method = "create")]
    async fn account(request: Account) -> Value {
        json!({
            "first": request.first_name,
            "postal": request.billing_address.postal_code,
            "lines": request.billing_address.street_lines,
            "email": request.email_address.as_str(),
        })
    }
}

async fn client() -> (yoctopus_core::Server, Client) {
    let server = start([nested::plugin()]).await;
    let client = Client::connect(server.local_addr()).await;
    (server, client)
}

fn home() -> serde_json::Value {
    json!({"street": "1 Main St", "zip": "12345", "geo": {"lat": 52.5, "lng": 13.25}})
}

#[tokio::test]
async fn a_request_nested_four_levels_deep_is_converted_whole() {
    let (_server, mut client) = client().await;
    client
        .assert_ok(
            "nested:signup",
            "create",
            json!({"user": {"name": "Ada", "address": home()}}),
            json!({"name": "Ada", "address": home(), "previous": null}),
        )
        .await;
    client
        .assert_ok(
            "nested:signup",
            "create",
            json!({"user": {"name": "Ada", "address": home(), "previous": home()}}),
            json!({"name": "Ada", "address": home(), "previous": home()}),
        )
        .await;
}

#[tokio::test]
async fn a_wrong_value_deep_inside_is_named_by_its_full_path() {
    let (_server, mut client) = client().await;
    let mut address = home();
    address["zip"] = json!(12345);
    client
        .assert_error(
            "nested:signup",
            "create",
            json!({"user": {"name": "Ada", "address": address}}),
            json!(["user.address.zip: expected string, got number"]),
        )
        .await;
    let mut address = home();
    address["geo"]["lat"] = json!("north");
    client
        .assert_error(
            "nested:signup",
            "create",
            json!({"user": {"name": "Ada", "address": address}}),
            json!(["user.address.geo.lat: expected number, got string"]),
        )
        .await;
}

#[tokio::test]
async fn every_failing_field_at_every_depth_is_reported_at_once() {
    let (_server, mut client) = client().await;
    client
        .assert_error(
            "nested:signup",
            "create",
            json!({"user": {
                "name": 1,
                "address": {"zip": false, "geo": {"lng": "east"}},
                "previous": {"street": "2 Side St", "zip": "54321", "geo": []}
            }}),
            json!([
                "user.name: expected string, got number",
                "user.address.street: missing, expected string",
                "user.address.zip: expected string, got bool",
                "user.address.geo.lat: missing, expected number",
                "user.address.geo.lng: expected number, got string",
                "user.previous.geo: expected object, got array"
            ]),
        )
        .await;
}

#[tokio::test]
async fn a_missing_or_mistyped_nested_object_is_named_by_its_path() {
    let (_server, mut client) = client().await;
    client
        .assert_error(
            "nested:signup",
            "create",
            json!({"user": {"name": "Ada"}}),
            json!(["user.address: missing, expected object"]),
        )
        .await;
    client
        .assert_error(
            "nested:signup",
            "create",
            json!({"user": {"name": "Ada", "address": "1 Main St"}}),
            json!(["user.address: expected object, got string"]),
        )
        .await;
    client
        .assert_error(
            "nested:signup",
            "create",
            json!({"user": null}),
            json!(["user: expected object, got null"]),
        )
        .await;
}

#[tokio::test]
async fn arrays_of_objects_are_converted_element_by_element() {
    let (_server, mut client) = client().await;
    client
        .assert_ok(
            "nested:cart",
            "update",
            json!({"items": [
                {"name": "tea", "price": 2.5, "options": []},
                {"name": "cake", "price": 4, "options": [{"label": "size", "type": "large"}]}
            ]}),
            json!({"names": ["tea", "cake"], "total": 6.5, "options": ["size=large"]}),
        )
        .await;
}

#[tokio::test]
async fn a_bad_field_in_an_array_of_objects_is_named_by_index_and_key() {
    let (_server, mut client) = client().await;
    client
        .assert_error(
            "nested:cart",
            "update",
            json!({"items": [
                {"name": "tea", "price": 2.5, "options": []},
                {"name": "cake", "price": 4, "options": [
                    {"label": "size", "type": "large"},
                    {"label": 3, "type": "small"}
                ]},
                {"name": "pie", "price": "free", "options": [{"label": "slice"}]},
                "coffee"
            ]}),
            json!([
                "items[1].options[1].label: expected string, got number",
                "items[2].price: expected number, got string",
                "items[2].options[0].type: missing, expected string",
                "items[3]: expected object, got string"
            ]),
        )
        .await;
}

#[tokio::test]
async fn rename_all_camel_case_keys_are_read_at_every_level() {
    let (_server, mut client) = client().await;
    client
        .assert_ok(
            "nested:account",
            "create",
            json!({
                "firstName": "Ada",
                "billingAddress": {"postalCode": "12345", "streetLines": ["1 Main St", "Apt 2"]},
                "e-mail": "ada@example.com"
            }),
            json!({
                "first": "Ada",
                "postal": "12345",
                "lines": ["1 Main St", "Apt 2"],
                "email": "ada@example.com"
            }),
        )
        .await;
}

#[tokio::test]
async fn errors_under_renamed_keys_use_the_names_clients_send() {
    let (_server, mut client) = client().await;
    client
        .assert_error(
            "nested:account",
            "create",
            json!({
                "first_name": "Ada",
                "billingAddress": {"postalCode": 12345, "streetLines": ["1 Main St", null]},
                "e-mail": "ada"
            }),
            json!([
                "firstName: missing, expected string",
                "billingAddress.postalCode: expected string, got number",
                "billingAddress.streetLines[1]: expected string, got null",
                "e-mail: expected email, got \"ada\""
            ]),
        )
        .await;
}
