//! Property tests: arbitrary bytes and arbitrary JSON through frame parsing, message assembly,
//! request parsing, routing and request formats. Nothing may panic, and every refusal must be a
//! well-formed error reply or a close code.
//!
//! Runs with the unit tests at proptest's default case count. For a long run (the issue's
//! 10-minute fuzzing), raise the count in release mode:
//! `PROPTEST_CASES=400000 cargo test --release -p yoctopus-core arbitrary_input`.

use bytes::BytesMut;
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::dispatch::{Dispatch, Router};
use crate::extract::FromCall;
use crate::protocol::{parse_in_one_pass, parse_request, OnePassData, ParsedRequest};
use crate::transport::frame::{self, tests::client_frame};
use crate::transport::{Incoming, MessageReader, ReadEnd};
use crate::validate::{validate, Fast};

#[crate::plugin]
#[allow(
    dead_code,
    unreachable_pub,
    reason = "a fixture: its fields are only converted, never read"
)]
mod shop {
    use crate::prelude::*;

    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub signed_in: bool,
    }

    #[derive(RequestFormat)]
    pub struct Order {
        pub customer: Customer,
        pub items: Vec<Item>,
        pub note: Option<String>,
        pub status: Status,
        #[format(with = not_empty)]
        pub reference: String,
    }

    #[derive(RequestFormat)]
    #[format(rename_all = "camelCase")]
    pub struct Customer {
        pub email_address: Email,
        pub site: Option<Hostname>,
        pub born: Option<IsoDate>,
        pub age: u8,
    }

    #[derive(RequestFormat)]
    pub struct Item {
        pub sku: String,
        pub quantity: u32,
        pub price: f64,
        pub gift: bool,
    }

    #[derive(RequestFormat)]
    pub enum Status {
        Open,
        Paid,
    }

    fn not_empty(text: &str) -> bool {
        !text.is_empty()
    }

    #[endpoint(name = "order", method = "create", requires(self.signed_in))]
    async fn create(_order: Order) {}

    #[endpoint(name = "order", method = "read")]
    async fn read(_anything: serde_json::Value) {}
}

fn router() -> Router {
    Router::new(&[shop::plugin().alias("order", "purchase")]).expect("a valid plugin set")
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("a@b.co"),
            Just("example.com"),
            Just("2024-02-29"),
            Just("open"),
            Just("paid")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("customer".to_owned()),
                    Just("items".to_owned()),
                    Just("emailAddress".to_owned()),
                    Just("age".to_owned()),
                    Just("sku".to_owned()),
                    Just("status".to_owned()),
                    Just("reference".to_owned()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..6
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// An order whose every part is either valid or arbitrary: near misses of every kind.
fn near_valid_order() -> impl Strategy<Value = Value> {
    fn either(valid: Value) -> impl Strategy<Value = Value> {
        prop_oneof![3 => Just(valid), 1 => arbitrary_json()]
    }
    let item = (either(json!("A-1")), either(json!(2)), either(json!(9.5)), either(json!(false)))
        .prop_map(|(sku, quantity, price, gift)| json!({"sku": sku, "quantity": quantity, "price": price, "gift": gift}));
    let customer = (either(json!("a@b.co")), either(json!("example.com")), either(json!("2024-02-29")), either(json!(42)))
        .prop_map(|(email, site, born, age)| json!({"emailAddress": email, "site": site, "born": born, "age": age}));
    (
        prop_oneof![3 => customer, 1 => arbitrary_json()],
        prop::collection::vec(item, 0..3),
        either(json!("note")),
        either(json!("open")),
        either(json!("ref-1")),
    )
        .prop_map(|(customer, items, note, status, reference)| {
            json!({"customer": customer, "items": items, "note": note, "status": status, "reference": reference})
        })
}

/// Whether `value` holds a number written as a float whose value is whole (`2.0`).
fn has_whole_float(value: &Value) -> bool {
    match value {
        Value::Number(number) => {
            number.is_f64() && number.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        Value::Array(items) => items.iter().any(has_whole_float),
        Value::Object(fields) => fields.values().any(has_whole_float),
        _ => false,
    }
}

/// An error reply must be a JSON object with `meta.status == "error"` and an `error`.
fn assert_error_reply(reply: &str) {
    let reply: Value = serde_json::from_str(reply).expect("replies are JSON");
    assert_eq!(reply["meta"]["status"], "error", "{reply}");
    assert!(
        reply["error"].is_string() || reply["error"].is_array(),
        "{reply}"
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_frame_parser(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut buffer = BytesMut::from(&bytes[..]);
        while let Ok(Some(_)) = frame::parse(&mut buffer, 256) {}
    }

    #[test]
    fn frames_read_the_same_however_the_bytes_are_split(
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..5),
        cut in any::<prop::sample::Index>(),
    ) {
        let bytes: Vec<u8> = payloads.iter().flat_map(|payload| client_frame(0x82, payload, [7, 1, 9, 3])).collect();
        let cut = cut.index(bytes.len() + 1);
        let mut buffer = BytesMut::from(&bytes[..cut]);
        let mut frames = Vec::new();
        while let Some(frame) = frame::parse(&mut buffer, 1 << 20).unwrap() {
            frames.push(frame.payload.to_vec());
        }
        buffer.extend_from_slice(&bytes[cut..]);
        while let Some(frame) = frame::parse(&mut buffer, 1 << 20).unwrap() {
            frames.push(frame.payload.to_vec());
        }
        prop_assert_eq!(frames, payloads);
    }

    #[test]
    fn arbitrary_byte_streams_end_in_a_message_or_a_close_code(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let mut reader = MessageReader::new(128);
            let mut socket = &bytes[..];
            for _ in 0..bytes.len() + 1 {
                match reader.next(&mut socket).await {
                    Incoming::End(ReadEnd::Violation(code, _)) => {
                        assert!([1002, 1007, 1009].contains(&code));
                        break;
                    }
                    Incoming::End(_) => break,
                    _ => {}
                }
            }
        });
    }

    #[test]
    fn arbitrary_text_is_answered_or_routed(text in ".{0,200}") {
        if let Dispatch::Reply(reply) = router().dispatch(&text, 16, true) {
            assert_error_reply(&reply);
        }
    }

    #[test]
    fn arbitrary_envelopes_are_answered_or_routed(
        id in arbitrary_json(),
        endpoint in prop_oneof![Just(json!("shop:order")), Just(json!("purchase")), Just(json!("shop:nope")), arbitrary_json()],
        method in prop_oneof![Just(json!("create")), Just(json!("read")), arbitrary_json()],
        data in arbitrary_json(),
    ) {
        let text = json!({"meta": {"id": id, "endpoint": endpoint, "method": method}, "data": data}).to_string();
        match router().dispatch(&text, 16, true) {
            Dispatch::Reply(reply) => {
                assert_error_reply(&reply);
                // Once `meta` is read, the id is echoed byte for byte (compared as text: parsing
                // floats back may round differently).
                let parsed: Value = serde_json::from_str(&reply).unwrap();
                if parsed["meta"].get("id").is_some() {
                    let echoed = format!("{{\"meta\":{{\"id\":{id},");
                    prop_assert!(reply.starts_with(&echoed), "{} does not start with {}", reply, echoed);
                }
            }
            Dispatch::Call { .. } => {
                prop_assert!(endpoint == json!("shop:order") || endpoint == json!("purchase"));
                prop_assert!(method == json!("create") || method == json!("read"));
            }
        }
    }

    #[test]
    fn the_fast_way_accepts_exactly_what_the_thorough_way_accepts(data in near_valid_order()) {
        let fast = serde_json::from_str::<Fast<shop::Order>>(&data.to_string()).is_ok();
        let thorough = validate::<shop::Order>(data.clone()).is_ok();
        // The thorough way may accept more (a whole number written `2.0`), never less.
        prop_assert!(!fast || thorough, "the fast way accepted what the thorough way refuses: {}", data);
        if thorough && !fast {
            prop_assert!(has_whole_float(&data), "only the thorough way accepted {}", data);
        }
    }

    #[test]
    fn the_one_pass_reading_agrees_with_the_thorough_one(
        id in arbitrary_json(),
        endpoint in prop_oneof![Just(json!("shop:order")), arbitrary_json()],
        method in prop_oneof![Just(json!("create")), arbitrary_json()],
        data in prop_oneof![near_valid_order(), arbitrary_json()],
        data_first in any::<bool>(),
        extra in prop_oneof![Just(String::new()), Just(r#","x":[1,{"y":null}]"#.to_owned()), Just(",".to_owned()), Just(r#","meta":1"#.to_owned())],
    ) {
        let meta = json!({"id": id, "endpoint": endpoint, "method": method});
        let text = if data_first {
            format!(r#"{{"data":{data},"meta":{meta}{extra}}}"#)
        } else {
            format!(r#"{{"meta":{meta},"data":{data}{extra}}}"#)
        };
        let one_pass = parse_in_one_pass(
            &text,
            |endpoint, method| endpoint == "shop:order" && method == "create",
            |&order_create| <shop::Order as FromCall>::READ.filter(|_| order_create),
        );
        if let Some(fast) = one_pass {
            let ParsedRequest::Request { head, endpoint, method, data: raw } = parse_request(&text) else {
                panic!("the one-pass reading accepted what the thorough one refuses: {text}");
            };
            prop_assert_eq!(fast.head.render_ok(b"0"), head.render_ok(b"0"));
            prop_assert_eq!(fast.route, endpoint == "shop:order" && method == "create");
            match fast.data {
                OnePassData::Text(text) => prop_assert_eq!(text.get(), raw.get()),
                OnePassData::Read(request) => {
                    prop_assert!(request.downcast::<shop::Order>().is_ok());
                    prop_assert!(serde_json::from_str::<Fast<shop::Order>>(raw.get()).is_ok());
                }
            }
        }
    }

    #[test]
    fn arbitrary_data_is_converted_or_every_error_has_a_path(data in arbitrary_json()) {
        if let Err(errors) = validate::<shop::Order>(data) {
            prop_assert!(!errors.is_empty());
            for message in errors.messages() {
                prop_assert!(message.contains(": "), "{}", message);
            }
        }
    }
}
