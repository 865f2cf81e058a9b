//! The wire types of PROTOCOL.md: requests in, replies, error replies and pushes out.
//!
//! Requests are parsed once: `meta` stays as raw JSON so that `id`, `endpoint` and `method` are
//! echoed back byte for byte (a number stays a number), and `data` becomes a `serde_json::Value`
//! that the endpoint's format converts without copying. Replies are written straight into the
//! bytes of the outgoing frame.

mod depth;
mod push;
mod reply;
mod request;

pub(crate) use depth::exceeds_depth;
pub use push::{Push, PushMessage};
pub(crate) use reply::ReplyHead;
pub use reply::{ErrorBody, Meta, Outcome};
pub use request::ReadData;
pub(crate) use request::{
    parse_in_one_pass, parse_request, read_meta_of_deep_frame, OnePassData, ParsedRequest,
};
