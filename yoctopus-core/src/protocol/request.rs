//! Reading one request frame: envelope, `meta` fields, `data`.

use std::borrow::Cow;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{ErrorBody, ReplyHead};

/// Reads an endpoint's request from the JSON text where `data` starts, by the format's fast way;
/// returns the request and how many bytes it took, or `None` when it does not fit.
pub type ReadData = fn(&str) -> Option<(Box<dyn std::any::Any + Send>, usize)>;

/// A frame read as far as the protocol allows.
#[derive(Debug)]
pub(crate) enum ParsedRequest<'a> {
    /// A well-formed request, ready to route.
    Request {
        head: ReplyHead,
        endpoint: Cow<'a, str>,
        method: Cow<'a, str>,
        /// `data` as sent (`null` when absent), left as text so that the endpoint's format can
        /// read it straight into its type.
        data: &'a RawValue,
    },
    /// A frame that cannot be routed; `head` echoes what could be read of `meta`.
    Invalid { head: ReplyHead, error: ErrorBody },
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    meta: Option<Meta<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    data: Option<&'a RawValue>,
}

/// `meta`'s fields as raw JSON, read in the same pass as the envelope. A field that is present is
/// `Some` even when it is `null`, so `null` is echoed and named as the wrong type, not as missing.
#[derive(Default)]
struct Meta<'a> {
    id: Option<&'a RawValue>,
    endpoint: Option<&'a RawValue>,
    method: Option<&'a RawValue>,
}

/// Accepts only an object: a derived struct would also take an array.
impl<'de: 'a, 'a> Deserialize<'de> for Meta<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MetaVisitor<'a>(std::marker::PhantomData<Meta<'a>>);
        impl<'de: 'a, 'a> Visitor<'de> for MetaVisitor<'a> {
            type Value = Meta<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Meta<'a>, A::Error> {
                let mut meta = Meta::default();
                while let Some(key) =
                    map.next_key_seed(FieldIndex(&["id", "endpoint", "method"]))?
                {
                    match key {
                        Some(0) => meta.id = Some(map.next_value()?),
                        Some(1) => meta.endpoint = Some(map.next_value()?),
                        Some(2) => meta.method = Some(map.next_value()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(meta)
            }
        }
        deserializer.deserialize_map(MetaVisitor(std::marker::PhantomData))
    }
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
        let reason = match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => "expected a JSON object".to_owned(),
            Err(error) => error.to_string(),
        };
        return invalid(ReplyHead::empty(), format!("invalid message: {reason}"));
    }
    let envelope: Envelope<'_> = match serde_json::from_str(text) {
        Ok(envelope) => envelope,
        Err(error) => {
            return invalid(
                ReplyHead::empty(),
                format!("invalid message: {}", explain(text, error)),
            )
        }
    };
    let Some(meta) = envelope.meta else {
        return invalid(
            ReplyHead::empty(),
            "invalid message: `meta` is missing".to_owned(),
        );
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
        data: envelope.data.unwrap_or(RawValue::NULL),
    }
}

/// The reply head for a frame that nests deeper than `max_depth`: its `meta` is found without
/// parsing the rest and read when it is itself shallow enough, so the error reply carries the
/// request's id whenever it could be read.
pub(crate) fn read_meta_of_deep_frame(text: &str, max_depth: usize) -> ReplyHead {
    let meta = super::depth::top_level_value(text, "\"meta\"")
        .filter(|meta| !super::exceeds_depth(meta.as_bytes(), max_depth))
        .and_then(|meta| serde_json::from_str::<Meta<'_>>(meta).ok());
    match meta {
        Some(meta) => ReplyHead::new(meta.id, meta.endpoint, meta.method),
        None => ReplyHead::empty(),
    }
}

/// A request read by [`parse_in_one_pass`]: where it routes, and its `data`, either already the
/// endpoint's request or the raw text.
pub(crate) struct OnePass<'a, R> {
    pub(crate) route: R,
    pub(crate) head: ReplyHead,
    pub(crate) data: OnePassData<'a>,
}

pub(crate) enum OnePassData<'a> {
    Read(Box<dyn std::any::Any + Send>),
    Text(&'a RawValue),
}

/// Reads a well-formed request in one pass over the text: the envelope's keys in order, and when
/// `meta` comes before `data` and the endpoint's `route` has a reader, `data` straight into the
/// request type. Anything unusual (a duplicate or escaped key, a `meta` that is not a well-formed
/// object, `data` that does not fit) returns `None`, and [`parse_request`] decides what to answer:
/// this path never accepts what that one refuses.
///
/// The endpoint is routed once, as soon as `meta` is read; the route comes back with the request.
pub(crate) fn parse_in_one_pass<'a, R>(
    text: &'a str,
    route_for: impl Fn(&str, &str) -> R,
    reader_of: impl Fn(&R) -> Option<ReadData>,
) -> Option<OnePass<'a, R>> {
    const WHITESPACE: [char; 4] = [' ', '\t', '\n', '\r'];
    let mut rest = text.trim_start_matches(WHITESPACE).strip_prefix('{')?;
    let mut head: Option<ReplyHead> = None;
    let mut route = None;
    let mut reader = None;
    let mut data: Option<OnePassData<'a>> = None;
    let mut first = true;
    loop {
        rest = rest.trim_start_matches(WHITESPACE);
        if first {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
        }
        first = false;
        let (key, after) = next_value::<&str>(rest)?;
        rest = after.trim_start_matches(WHITESPACE).strip_prefix(':')?;
        match key {
            "meta" if head.is_none() => {
                let (fields, after): (Meta<'a>, _) = next_value(rest)?;
                rest = after;
                let endpoint = as_string(fields.endpoint).ok()?;
                let method = as_string(fields.method).ok()?;
                let routed = route_for(&endpoint, &method);
                reader = reader_of(&routed);
                route = Some(routed);
                head = Some(ReplyHead::new(fields.id, fields.endpoint, fields.method));
            }
            "data" if data.is_none() => match reader.and_then(|read| read(rest)) {
                Some((request, used)) => {
                    data = Some(OnePassData::Read(request));
                    rest = rest.get(used..)?;
                }
                None => {
                    let (raw, after) = next_value::<&RawValue>(rest)?;
                    data = Some(OnePassData::Text(raw));
                    rest = after;
                }
            },
            "meta" | "data" => return None,
            _ => rest = next_value::<IgnoredAny>(rest)?.1,
        }
        rest = rest.trim_start_matches(WHITESPACE);
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else {
            rest = rest.strip_prefix('}')?;
            break;
        }
    }
    if !rest.trim_start_matches(WHITESPACE).is_empty() {
        return None;
    }
    Some(OnePass {
        route: route?,
        head: head?,
        data: data.unwrap_or(OnePassData::Text(RawValue::NULL)),
    })
}

/// One JSON value from the start of `text`, and the text after it.
fn next_value<'a, T: Deserialize<'a>>(text: &'a str) -> Option<(T, &'a str)> {
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<T>();
    let value = values.next()?.ok()?;
    Some((value, text.get(values.byte_offset()..)?))
}

/// Why a frame that is a JSON object failed to parse: a `meta` that is not an object gets its own
/// words; anything else keeps the parser's.
fn explain(text: &str, error: serde_json::Error) -> String {
    #[derive(Deserialize)]
    struct Loose<'a> {
        #[serde(borrow)]
        meta: Option<&'a RawValue>,
    }
    match serde_json::from_str::<Loose<'_>>(text) {
        Ok(Loose { meta: Some(meta) }) if !meta.get().starts_with('{') => {
            "`meta` must be an object".to_owned()
        }
        _ => error.to_string(),
    }
}

/// A string field of `meta`, borrowed from the frame unless it has escapes.
fn as_string(field: Option<&RawValue>) -> Result<Cow<'_, str>, &'static str> {
    let raw = field.ok_or("is missing")?;
    // A raw value is one well-formed JSON value: a string with no backslash is its text between
    // the quotes, without parsing it again (most requests' `endpoint` and `method`); only a string
    // with escapes is parsed, into a string of its own.
    let text = raw.get();
    if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') && !text.contains('\\') {
        return Ok(Cow::Borrowed(&text[1..text.len() - 1]));
    }
    serde_json::from_str::<String>(text)
        .map(Cow::Owned)
        .map_err(|_| "must be a string")
}

/// Finds a key among `self.0` without copying it; `None` for an unknown key. The request's `meta`
/// is read with it (generated request formats match their keys with a `match` of their own).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldIndex(pub(crate) &'static [&'static str]);

impl<'de> DeserializeSeed<'de> for FieldIndex {
    type Value = Option<usize>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for FieldIndex {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|known| *known == key))
    }
}

#[cfg(test)]
mod tests {
    use super::{as_string, parse_request, ParsedRequest};
    use serde_json::value::RawValue;

    #[test]
    fn a_meta_string_reads_as_serde_reads_it() {
        for text in [
            r#""greeter:hello""#,
            r#""""#,
            r#""é, ü and 漢""#,
            r#""a\"b""#,
            r#""\u0041\n""#,
            r#""ends in a backslash\\""#,
            r#""\\""#,
            "17",
            "null",
            r#"["read"]"#,
        ] {
            let raw: &RawValue = serde_json::from_str(text).unwrap();
            let expected = serde_json::from_str::<String>(text).ok();
            assert_eq!(
                as_string(Some(raw)).ok().map(|read| read.into_owned()),
                expected,
                "{text}"
            );
        }
    }

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
        assert_eq!(data.get(), r#"{"name": "Al"}"#);
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
