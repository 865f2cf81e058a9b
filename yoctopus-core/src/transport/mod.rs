//! Frames in and out: Yoctopus's own connection layer over the upgraded socket.
//!
//! fastwebsockets performs the handshake (and its `unmask` is used); framing is done here, because a
//! public server must enforce rules that fastwebsockets' reader leaves open (client frames must be
//! masked, close frames checked, UTF-8 checked across fragments, message size checked before the
//! payload is buffered), because a reader that only consumes whole frames from its own buffer is
//! safe to cancel, and because frames written together into one [`Batch`] leave in one system
//! call. The connection's own loop writes to the socket; other tasks queue an [`Outbound`], so
//! frames stay whole and in order whichever task produced them. The one exception is a push to a
//! connection whose loop is idle with nothing queued, which its sender may write into a plain TCP
//! socket itself, through the connection's [`WriteGate`].

pub(crate) mod frame;
mod gate;
mod message;
mod shared_tcp;
mod writer;

pub(crate) use gate::WriteGate;
pub use message::Message;
pub(crate) use message::{Incoming, MessageReader, ReadAhead};
pub(crate) use shared_tcp::SharedTcp;
pub(crate) use writer::Batch;
use writer::{frame_header, PING, TEXT};

use bytes::Bytes;

/// Close codes of RFC 6455 that Yoctopus sends.
pub(crate) mod close_code {
    /// The purpose of the connection is fulfilled.
    pub(crate) const NORMAL: u16 = 1000;
    /// The server is shutting down.
    pub(crate) const GOING_AWAY: u16 = 1001;
    /// The peer broke the framing rules.
    pub(crate) const PROTOCOL_ERROR: u16 = 1002;
    /// A text message was not valid UTF-8.
    pub(crate) const INVALID_PAYLOAD: u16 = 1007;
    /// The client broke a server policy (it stopped reading while pushes were due).
    pub(crate) const POLICY_VIOLATION: u16 = 1008;
    /// A message was larger than the configured maximum.
    pub(crate) const MESSAGE_TOO_BIG: u16 = 1009;
}

/// A frame waiting to be written.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A text message: a reply or a push.
    Text(Bytes),
    /// A binary message.
    Binary(Bytes),
    /// The answer to a ping.
    Pong(Bytes),
    /// A liveness ping.
    Ping,
    /// Nothing to write: wakes the loop to write what a push left half-written (see [`WriteGate`]).
    Nudge,
    /// A close frame; nothing is written after it.
    Close {
        code: u16,
        reason: std::borrow::Cow<'static, str>,
    },
}

/// How reading ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadEnd {
    /// The client broke a rule; a close frame with this code is due.
    Violation(u16, &'static str),
    /// The socket ended or failed without a close frame.
    Gone,
}
