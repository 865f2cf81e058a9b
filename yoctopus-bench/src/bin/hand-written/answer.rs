//! The greeter job of PROTOCOL.md done by hand with serde_json: one text frame in, its reply out.
//!
//! Shared by the two hand-written servers that do the JSON work, `bench-baseline` (which answers
//! each frame with its own write) and `bench-baseline-batched` (which batches its writes), so that
//! they differ only in how they use the socket. Included in each with `#[path]` rather than put in
//! the library, so that it is compiled into each program exactly as it was into `bench-baseline`
//! alone.
//!
//! It is written the way a careful engineer would write it by hand for speed: `meta` is read as
//! borrowed raw JSON so that `id`, `endpoint` and `method` are echoed exactly as sent without being
//! rebuilt, `data` is deserialized straight into a borrowed struct of the endpoint (the check that
//! `name` is a string is serde's type check), and the reply is written into one buffer. The nested
//! `bench:order` `create` request is validated by hand (serde's types plus an email check).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use yoctopus_bench::request::{greeting, GREETER, NESTED};

/// The notice a binary frame gets: the protocol speaks text.
pub(crate) const BINARY_REFUSAL: &[u8] =
    br#"{"meta":{"method":"notify","type":"error"},"data":{"message":"binary messages are not accepted"}}"#;

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    meta: Option<Meta<'a>>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// `meta` as sent: each field is echoed byte for byte.
#[derive(Deserialize, Default)]
struct Meta<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    endpoint: Option<&'a RawValue>,
    #[serde(borrow, default)]
    method: Option<&'a RawValue>,
}

/// The reply to one text frame.
pub(crate) fn answer(payload: &[u8]) -> Vec<u8> {
    let envelope: Envelope<'_> = match serde_json::from_slice(payload) {
        Ok(envelope) => envelope,
        Err(error) => return error_reply(&Meta::default(), &format!("invalid message: {error}")),
    };
    let Some(meta) = envelope.meta else {
        return error_reply(&Meta::default(), "invalid message: `meta` is missing");
    };
    let (Some(endpoint), Some(method)) = (text(meta.endpoint), text(meta.method)) else {
        return error_reply(
            &meta,
            "invalid message: `meta.endpoint` and `meta.method` must be strings",
        );
    };
    let data = envelope.data.map_or("null", RawValue::get);
    let checked = if endpoint == GREETER.endpoint && method == GREETER.method {
        serde_json::from_str::<Hello<'_>>(data)
            .map(|hello| hello.name)
            .map_err(|error| format!("data: {error}"))
    } else if endpoint == NESTED.endpoint && method == NESTED.method {
        check_order(data).map(|order| order.customer.name)
    } else {
        Err(format!(
            "unknown endpoint `{endpoint}` or method `{method}`"
        ))
    };
    match checked {
        Ok(name) => ok_reply(&meta, &greeting(&name)),
        Err(message) => error_reply(&meta, &message),
    }
}

fn text(raw: Option<&RawValue>) -> Option<Cow<'_, str>> {
    serde_json::from_str(raw?.get()).ok()
}

/// `greeter:hello` `read`.
#[derive(Deserialize)]
struct Hello<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
}

/// `bench:order` `create`: the same twenty fields as the Yoctopus server's `bench::Order`.
#[derive(Deserialize)]
#[expect(
    dead_code,
    reason = "the fields are read to be validated, as in the Yoctopus server"
)]
struct Order<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    customer: Customer<'a>,
    status: Status,
    #[serde(borrow)]
    items: Vec<Item<'a>>,
    #[serde(borrow, default)]
    note: Option<Cow<'a, str>>,
    total: f64,
    #[serde(borrow)]
    currency: Cow<'a, str>,
    gift: bool,
}

#[derive(Deserialize)]
#[expect(
    dead_code,
    reason = "the fields are read to be validated, as in the Yoctopus server"
)]
struct Customer<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    email: Cow<'a, str>,
    age: u32,
    vip: bool,
    #[serde(borrow)]
    address: Address<'a>,
}

#[derive(Deserialize)]
#[expect(
    dead_code,
    reason = "the fields are read to be validated, as in the Yoctopus server"
)]
struct Address<'a> {
    #[serde(borrow)]
    street: Cow<'a, str>,
    #[serde(borrow)]
    city: Cow<'a, str>,
    #[serde(borrow)]
    zip: Cow<'a, str>,
    #[serde(borrow)]
    country: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Pending,
    Paid,
    Shipped,
}

#[derive(Deserialize)]
#[expect(
    dead_code,
    reason = "the fields are read to be validated, as in the Yoctopus server"
)]
struct Item<'a> {
    #[serde(borrow)]
    sku: Cow<'a, str>,
    quantity: u32,
    price: f64,
}

/// Reads an order and checks what serde's types cannot: that the email looks like one.
fn check_order(data: &str) -> Result<Order<'_>, String> {
    let order: Order<'_> = serde_json::from_str(data).map_err(|error| format!("data: {error}"))?;
    if !looks_like_email(&order.customer.email) {
        return Err("customer.email: expected email".to_owned());
    }
    Ok(order)
}

/// `local@domain.tld` with no spaces: the check a hand-written server would make.
fn looks_like_email(text: &str) -> bool {
    text.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !text.contains(char::is_whitespace)
            && !domain.contains('@')
    })
}

/// Writes `{"meta":{"id":..,"endpoint":..,"method":..,"status":` with whatever `meta` held.
fn reply_head(meta: &Meta<'_>, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(br#"{"meta":{"#);
    for (name, raw) in [
        (&br#""id":"#[..], meta.id),
        (br#""endpoint":"#, meta.endpoint),
        (br#""method":"#, meta.method),
    ] {
        if let Some(raw) = raw {
            out.extend_from_slice(name);
            out.extend_from_slice(raw.get().as_bytes());
            out.push(b',');
        }
    }
    out.extend_from_slice(br#""status":"#);
    out
}

fn ok_reply(meta: &Meta<'_>, message: &str) -> Vec<u8> {
    let mut out = reply_head(meta, 96 + message.len());
    out.extend_from_slice(br#""ok"},"data":{"message":"#);
    serde_json::to_writer(&mut out, message).expect("writing JSON into a Vec cannot fail");
    out.extend_from_slice(b"}}");
    out
}

fn error_reply(meta: &Meta<'_>, message: &str) -> Vec<u8> {
    let mut out = reply_head(meta, 96 + message.len());
    out.extend_from_slice(br#""error"},"error":["#);
    serde_json::to_writer(&mut out, message).expect("writing JSON into a Vec cannot fail");
    out.extend_from_slice(b"]}");
    out
}
