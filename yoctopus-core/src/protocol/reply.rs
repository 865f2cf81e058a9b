//! Replies: the `meta` echo, success and error bodies, and what a handler produced.

use serde::Serialize;
use serde_json::value::RawValue;

/// The start of a reply: `{"meta":{` with the request's `id`, `endpoint` and `method` as sent.
///
/// Rendered once when the request is read, so finishing a reply is two appends.
#[derive(Debug, Clone)]
pub(crate) struct ReplyHead {
    bytes: Vec<u8>,
}

impl ReplyHead {
    /// The head of a reply to a frame whose `meta` could not be read at all.
    pub(crate) fn empty() -> Self {
        Self::new(None, None, None)
    }

    pub(crate) fn new(
        id: Option<&RawValue>,
        endpoint: Option<&RawValue>,
        method: Option<&RawValue>,
    ) -> Self {
        let echoed = [("id", id), ("endpoint", endpoint), ("method", method)];
        let mut bytes = Vec::with_capacity(
            64 + echoed
                .iter()
                .filter_map(|(_, raw)| raw.map(|raw| raw.get().len()))
                .sum::<usize>(),
        );
        bytes.extend_from_slice(b"{\"meta\":{");
        for (name, raw) in echoed {
            if let Some(raw) = raw {
                bytes.push(b'"');
                bytes.extend_from_slice(name.as_bytes());
                bytes.extend_from_slice(b"\":");
                bytes.extend_from_slice(raw.get().as_bytes());
                bytes.push(b',');
            }
        }
        bytes.extend_from_slice(b"\"status\":");
        Self { bytes }
    }

    /// The request's `meta` as sent, read back from the head (only for handlers and listeners
    /// that ask for it, so the request path keeps nothing but the head's bytes).
    pub(crate) fn meta(&self) -> Meta {
        #[derive(serde::Deserialize, Default)]
        struct Echoed {
            #[serde(default)]
            id: serde_json::Value,
            #[serde(default)]
            endpoint: String,
            #[serde(default)]
            method: String,
        }
        // `{"meta":{` + `"id":...,` ... + `"status":`: the inner object, its `status` closed
        // with `null`, is the echoed fields.
        let mut object = self.bytes[b"{\"meta\":".len()..].to_vec();
        object.extend_from_slice(b"null}");
        let echoed: Echoed = serde_json::from_slice(&object).unwrap_or_default();
        Meta {
            id: echoed.id,
            endpoint: echoed.endpoint,
            method: echoed.method,
        }
    }

    /// The pieces of `{"meta":{...,"status":"ok"},"data":<data>}`, for writing it without
    /// joining them first.
    pub(crate) fn ok_parts<'a>(&'a self, data: &'a [u8]) -> [&'a [u8]; 4] {
        [&self.bytes, b"\"ok\"},\"data\":", data, b"}"]
    }

    /// `{"meta":{...,"status":"ok"},"data":<data>}`; `data` must be one JSON value.
    pub(crate) fn render_ok(mut self, data: &[u8]) -> Vec<u8> {
        self.bytes.reserve(data.len() + 16);
        self.bytes.extend_from_slice(b"\"ok\"},\"data\":");
        self.bytes.extend_from_slice(data);
        self.bytes.push(b'}');
        self.bytes
    }

    /// `{"meta":{...,"status":"error"},"error":<error>}`.
    pub(crate) fn render_error(mut self, error: &ErrorBody) -> String {
        self.bytes.extend_from_slice(b"\"error\"},\"error\":");
        serde_json::to_writer(&mut self.bytes, error).expect("writing JSON into a Vec cannot fail");
        self.bytes.push(b'}');
        String::from_utf8(self.bytes)
            .expect("the head is JSON text and the error was serialized as JSON")
    }

    /// Renders whichever reply `outcome` calls for, keeping the head.
    pub(crate) fn render_ref(&self, outcome: &Outcome) -> Vec<u8> {
        Self {
            bytes: self.bytes.clone(),
        }
        .render(outcome)
    }

    /// Renders whichever reply `outcome` calls for.
    pub(crate) fn render(self, outcome: &Outcome) -> Vec<u8> {
        match outcome {
            Outcome::Data(data) => self.render_ok(data),
            Outcome::Error(error) => self.render_error(error).into_bytes(),
        }
    }
}

/// A request's `meta` as the client sent it, for handlers and listeners that ask for it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Meta {
    /// `meta.id` as sent: a string or a number (`null` when absent).
    pub id: serde_json::Value,
    /// `meta.endpoint` as the client named it (an alias stays the alias).
    pub endpoint: String,
    /// `meta.method`.
    pub method: String,
}

/// The `error` of an error reply: one message, or one per failing field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ErrorBody {
    /// One message.
    Message(String),
    /// One message per problem, such as each failing field of a request format.
    List(Vec<String>),
}

/// What handling a request produced: the serialized `data` of an ok reply, or an error.
#[derive(Debug)]
pub enum Outcome {
    /// `data` as JSON text.
    Data(Vec<u8>),
    /// The reply is an error reply.
    Error(ErrorBody),
}

impl Outcome {
    /// An ok reply carrying `data`; a value that fails to serialize becomes `internal error`.
    pub fn data<T: Serialize + ?Sized>(data: &T) -> Self {
        match serde_json::to_vec(data) {
            Ok(bytes) => Self::Data(bytes),
            Err(error) => {
                tracing::error!(%error, "a handler's response could not be serialized");
                Self::internal_error()
            }
        }
    }

    /// The `{}` of a handler that returns nothing or only settings.
    pub fn empty() -> Self {
        Self::Data(b"{}".to_vec())
    }

    /// An error reply with one message.
    pub fn error(message: impl Into<String>) -> Self {
        Self::Error(ErrorBody::Message(message.into()))
    }

    /// The reply to a handler that panicked: details stay on the server.
    pub fn internal_error() -> Self {
        Self::error("internal error")
    }
}
