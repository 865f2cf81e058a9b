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

    /// The frame's text.
    pub fn as_json(&self) -> &str {
        std::str::from_utf8(&self.frame).expect("a push is rendered from JSON")
    }

    pub(crate) fn into_frame(self) -> bytes::Bytes {
        self.frame
    }
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
