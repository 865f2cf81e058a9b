//! Checking a reply: it must answer an outstanding request by `meta.id`, say `ok`, repeat the
//! endpoint, and carry the expected greeting, with `"transformed": true` beside it exactly when the
//! server runs the transforming listeners.
//!
//! Only the fields checked are read, borrowed from the frame where serde allows, so verifying
//! every reply stays cheaper than producing it.

use std::borrow::Cow;

use serde::Deserialize;

/// What a reply turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A correct reply to request `id`.
    Ok(u64),
    /// A wrong reply; `id` is the request it answers, when that could be read.
    Wrong { id: Option<u64>, problem: String },
}

#[derive(Deserialize)]
struct Reply<'a> {
    #[serde(borrow)]
    meta: Meta<'a>,
    #[serde(borrow, default)]
    data: Option<Data<'a>>,
    #[serde(borrow, default)]
    error: Option<&'a serde_json::value::RawValue>,
}

#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(default)]
    id: Option<u64>,
    #[serde(borrow, default)]
    endpoint: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
    /// [`TRANSFORMED`](yoctopus_bench::request::TRANSFORMED), which only the transforming
    /// listeners add.
    #[serde(default)]
    transformed: Option<bool>,
}

/// Checks one reply against the endpoint and greeting its request expects; `marked` says whether
/// the reply must carry `"transformed": true` (and otherwise it must not carry `transformed`).
pub(crate) fn verify(payload: &[u8], endpoint: &str, greeting: &str, marked: bool) -> Verdict {
    let reply: Reply<'_> = match serde_json::from_slice(payload) {
        Ok(reply) => reply,
        Err(error) => {
            return Verdict::Wrong {
                id: None,
                problem: format!("unreadable reply ({error}): {}", shorten(payload)),
            }
        }
    };
    let id = reply.meta.id;
    let wrong = |problem: String| Verdict::Wrong { id, problem };
    let Some(id) = id else {
        return wrong(format!("reply without a numeric id: {}", shorten(payload)));
    };
    if reply.meta.status.as_deref() != Some("ok") {
        let error = reply.error.map_or("", |error| error.get());
        return wrong(format!("error reply: {error}"));
    }
    if reply.meta.endpoint.as_deref() != Some(endpoint) {
        return wrong(format!("reply for another endpoint: {}", shorten(payload)));
    }
    match reply.data {
        Some(Data {
            message: Some(message),
            transformed,
        }) if message == greeting && transformed == marked.then_some(true) => Verdict::Ok(id),
        _ => wrong(format!("unexpected data: {}", shorten(payload))),
    }
}

fn shorten(payload: &[u8]) -> String {
    let text = String::from_utf8_lossy(payload);
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use yoctopus_bench::request::TRANSFORMED;

    use super::{verify, Verdict};

    const ENDPOINT: &str = "greeter:hello";
    const GREETING: &str = "Hello, user1!";

    #[test]
    fn a_correct_reply_names_its_request() {
        let reply = br#"{"meta":{"id":7,"endpoint":"greeter:hello","method":"read","status":"ok"},"data":{"message":"Hello, user1!"}}"#;
        assert_eq!(verify(reply, ENDPOINT, GREETING, false), Verdict::Ok(7));
    }

    #[test]
    fn the_transformed_mark_is_required_exactly_when_expected() {
        let plain = br#"{"meta":{"id":7,"endpoint":"greeter:hello","method":"read","status":"ok"},"data":{"message":"Hello, user1!"}}"#;
        let marked = format!(
            r#"{{"meta":{{"id":7,"endpoint":"greeter:hello","method":"read","status":"ok"}},"data":{{"message":"Hello, user1!","{TRANSFORMED}":true}}}}"#
        );
        let marked_false = marked.replace("true", "false");
        assert_eq!(
            verify(marked.as_bytes(), ENDPOINT, GREETING, true),
            Verdict::Ok(7)
        );
        for (reply, expects_mark) in [
            (&plain[..], true),
            (marked.as_bytes(), false),
            (marked_false.as_bytes(), true),
        ] {
            assert!(matches!(
                verify(reply, ENDPOINT, GREETING, expects_mark),
                Verdict::Wrong { id: Some(7), .. }
            ));
        }
    }

    #[test]
    fn errors_and_wrong_data_are_wrong_but_keep_their_id() {
        let error = br#"{"meta":{"id":7,"endpoint":"greeter:hello","method":"read","status":"error"},"error":["name: missing"]}"#;
        let other = br#"{"meta":{"id":8,"endpoint":"greeter:hello","method":"read","status":"ok"},"data":{"message":"Hello, user2!"}}"#;
        for (reply, id) in [(&error[..], 7), (&other[..], 8)] {
            assert!(
                matches!(verify(reply, ENDPOINT, GREETING, false), Verdict::Wrong { id: Some(got), .. } if got == id)
            );
        }
        assert!(matches!(
            verify(b"nonsense", ENDPOINT, GREETING, false),
            Verdict::Wrong { id: None, .. }
        ));
    }
}
