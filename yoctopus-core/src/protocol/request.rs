//! Reading one request frame: envelope, `meta` fields, `data`.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::{ErrorBody, ReplyHead};

/// A frame read as far as the protocol allows.
#[derive(Debug)]
pub(crate) enum ParsedRequest<'a> {
    /// A well-formed request, ready to route.
    Request {
        head: ReplyHead,
        endpoint: Cow<'a, str>,
        method: Cow<'a, str>,
        data: Value,
    },
    /// A frame that cannot be routed; `head` echoes what could be read of `meta`.
    Invalid { head: ReplyHead, error: ErrorBody },
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    meta: Option<&'a RawValue>,
    #[serde(default)]
    data: Value,
}

/// `meta`'s fields as raw JSON. A field that is present is `Some` even when it is `null`, so
/// `null` is echoed and named as the wrong type, not as missing.
#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    endpoint: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    method: Option<&'a RawValue>,
}

fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(deserializer).map(Some)
}

/// Parses one text frame into a routable request, or into the error reply it deserves.
pub(crate) fn parse_request(text: &str) -> ParsedRequest<'_> {
    let invalid = |head, error: String| ParsedRequest::Invalid {
        head,
        error: ErrorBody::Message(error),
    };
    // A struct also deserializes from a JSON array; the protocol wants an object.
    if !text.trim_start().starts_with('{') {
        let reason = match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Ok(_) => "expected a JSON object".to_owned(),
            Err(error) => error.to_string(),
        };
        return invalid(ReplyHead::empty(), format!("invalid message: {reason}"));
    }
    let envelope: Envelope<'_> = match serde_json::from_str(text) {
        Ok(envelope) => envelope,
        Err(error) => return invalid(ReplyHead::empty(), format!("invalid message: {error}")),
    };
    let Some(meta) = envelope.meta else {
        return invalid(
            ReplyHead::empty(),
            "invalid message: `meta` is missing".to_owned(),
        );
    };
    // As above: `Meta` would also accept an array, so look at the raw value's first byte.
    let meta: Meta<'_> = match serde_json::from_str(meta.get()) {
        Ok(fields) if meta.get().starts_with('{') => fields,
        _ => {
            return invalid(
                ReplyHead::empty(),
                "invalid message: `meta` must be an object".to_owned(),
            )
        }
    };
    let head = ReplyHead::new(meta.id, meta.endpoint, meta.method);
    let endpoint = match as_string(meta.endpoint) {
        Ok(endpoint) => endpoint,
        Err(problem) => {
            return invalid(head, format!("invalid message: `meta.endpoint` {problem}"))
        }
    };
    let method = match as_string(meta.method) {
        Ok(method) => method,
        Err(problem) => return invalid(head, format!("invalid message: `meta.method` {problem}")),
    };
    ParsedRequest::Request {
        head,
        endpoint,
        method,
        data: envelope.data,
    }
}

fn as_string(field: Option<&RawValue>) -> Result<Cow<'_, str>, &'static str> {
    let raw = field.ok_or("is missing")?;
    serde_json::from_str::<Cow<'_, str>>(raw.get()).map_err(|_| "must be a string")
}

#[cfg(test)]
mod tests {
    use super::{parse_request, ParsedRequest};

    fn error_of(text: &str) -> (String, String) {
        match parse_request(text) {
            ParsedRequest::Invalid { head, error } => {
                (head.render_error(&error), format!("{error:?}"))
            }
            ParsedRequest::Request { .. } => panic!("{text} parsed as a request"),
        }
    }

    #[test]
    fn a_request_keeps_its_meta_exactly_as_sent() {
        let text = r#"{"meta": {"id": 17.50, "endpoint": "greeter:hello", "method": "read"}, "data": {"name": "Al"}}"#;
        let ParsedRequest::Request {
            head,
            endpoint,
            method,
            data,
        } = parse_request(text)
        else {
            panic!("not a request");
        };
        assert_eq!(
            (endpoint.as_ref(), method.as_ref()),
            ("greeter:hello", "read")
        );
        assert_eq!(data, serde_json::json!({"name": "Al"}));
        assert_eq!(
            head.render_ok(b"{}"),
            br#"{"meta":{"id":17.50,"endpoint":"greeter:hello","method":"read","status":"ok"},"data":{}}"#
        );
    }

    #[test]
    fn non_objects_and_broken_json_are_invalid_messages() {
        for text in ["[1,2]", "42", "\"hi\"", "{\"meta\":", "nonsense", ""] {
            let (reply, _) = error_of(text);
            assert!(
                reply.starts_with(r#"{"meta":{"status":"error"},"error":"invalid message: "#),
                "{reply}"
            );
        }
    }

    #[test]
    fn meta_problems_name_the_field_and_echo_what_was_read() {
        let (reply, _) = error_of(r#"{"meta":{"id":"7","method":"read"}}"#);
        assert_eq!(
            reply,
            r#"{"meta":{"id":"7","method":"read","status":"error"},"error":"invalid message: `meta.endpoint` is missing"}"#
        );
        let (reply, _) = error_of(r#"{"meta":{"id":1,"endpoint":"a:b","method":5}}"#);
        assert_eq!(
            reply,
            r#"{"meta":{"id":1,"endpoint":"a:b","method":5,"status":"error"},"error":"invalid message: `meta.method` must be a string"}"#
        );
        let (reply, _) = error_of(r#"{"meta":{"id":null,"endpoint":null,"method":"read"}}"#);
        assert_eq!(
            reply,
            r#"{"meta":{"id":null,"endpoint":null,"method":"read","status":"error"},"error":"invalid message: `meta.endpoint` must be a string"}"#
        );
        let (reply, _) = error_of(r#"{"data":{}}"#);
        assert_eq!(
            reply,
            r#"{"meta":{"status":"error"},"error":"invalid message: `meta` is missing"}"#
        );
        let (reply, _) = error_of(r#"{"meta":[1,2,3]}"#);
        assert_eq!(
            reply,
            r#"{"meta":{"status":"error"},"error":"invalid message: `meta` must be an object"}"#
        );
    }
}
