//! Server pushes: `{"meta":{"method":"notify","type":...},"data":...}`.

use serde::Serialize;

/// A message the server sends without a request: what `notify` (and later `multicast`) deliver.
///
/// The JSON is rendered once when the push is made, so sending it to many connections costs no
/// further serialization.
#[derive(Debug, Clone)]
pub struct Push {
    frame: bytes::Bytes,
}

impl Push {
    /// A push of `kind` (the `meta.type` clients switch on) carrying `data`.
    pub fn new<T: Serialize + ?Sized>(kind: &str, data: &T) -> Result<Self, serde_json::Error> {
        let mut frame = Vec::with_capacity(64);
        frame.extend_from_slice(b"{\"meta\":{\"method\":\"notify\",\"type\":");
        serde_json::to_writer(&mut frame, kind)?;
        frame.extend_from_slice(b"},\"data\":");
        serde_json::to_writer(&mut frame, data)?;
        frame.push(b'}');
        Ok(Self {
            frame: frame.into(),
        })
    }

    /// A push of a type a plugin declares with `#[push("type")]`, its `meta.type` taken from the
    /// declaration.
    pub fn of<T: PushMessage>(data: &T) -> Result<Self, serde_json::Error> {
        Self::new(T::TYPE, data)
    }

    /// The frame's text.
    pub fn as_json(&self) -> &str {
        std::str::from_utf8(&self.frame).expect("a push is rendered from JSON")
    }

    /// A push whose frame was rendered elsewhere (by another node of a cluster) and arrives as
    /// it was rendered; `None` unless it is a JSON object, since anything on the network may
    /// have sent it.
    pub(crate) fn from_frame(frame: bytes::Bytes) -> Option<Self> {
        let is_object = frame.first() == Some(&b'{')
            && serde_json::from_slice::<serde::de::IgnoredAny>(&frame).is_ok();
        is_object.then_some(Self { frame })
    }

    pub(crate) fn into_frame(self) -> bytes::Bytes {
        self.frame
    }

    /// The payload, for sending without giving the push up.
    pub(crate) fn frame(&self) -> &bytes::Bytes {
        &self.frame
    }
}

/// The payload of a push a plugin declares: `#[push("joined")]` on a struct or enum in a
/// `#[plugin]` module implements it, and lists the push with its JSON Schema in the API.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a declared push",
    note = "mark the type inside a `#[plugin]` module with `#[push(\"type\")]`"
)]
pub trait PushMessage: Serialize {
    /// The push's `meta.type`.
    const TYPE: &'static str;
}

#[cfg(test)]
mod tests {
    use super::Push;

    #[test]
    fn a_push_has_the_notify_shape() {
        let push = Push::new("alert", &serde_json::json!({"message": "Hello!"})).unwrap();
        assert_eq!(
            push.as_json(),
            r#"{"meta":{"method":"notify","type":"alert"},"data":{"message":"Hello!"}}"#
        );
    }
}
