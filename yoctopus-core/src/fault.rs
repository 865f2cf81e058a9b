//! Faults on the server's side, and the hook that hears them.
//!
//! Client mistakes are answered on the wire and logged at `debug`; what reaches this hook is what
//! an operator must know about: user code that panicked or failed, sockets that could not be
//! accepted. The hook never decides anything: the server has already recovered when it is called.

use crate::connection::ConnectionId;

/// A fault on the server's side, passed to the hook set with
/// [`ServerBuilder::on_error`](crate::ServerBuilder::on_error).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ErrorEvent {
    /// A handler panicked; the client was answered `internal error`.
    HandlerPanicked {
        /// The connection whose request it was.
        connection: ConnectionId,
        /// The panic's message.
        message: String,
    },
    /// A listener panicked; the other listeners still ran and the connection stays open.
    ListenerPanicked {
        /// The connection the event was about; `None` for an upgrade check.
        connection: Option<ConnectionId>,
        /// The listener, as `plugin::function`.
        listener: &'static str,
        /// The panic's message.
        message: String,
    },
    /// A listener returned an error; the other listeners still ran and the connection stays open.
    ListenerFailed {
        /// The connection the event was about; `None` for an upgrade check.
        connection: Option<ConnectionId>,
        /// The listener, as `plugin::function`.
        listener: &'static str,
        /// The error's message.
        message: String,
    },
    /// A client's TLS handshake failed (not a certificate it was asked for, a protocol error, a
    /// client that is not speaking TLS); no connection was made.
    TlsHandshakeFailed {
        /// The client's address.
        peer: std::net::SocketAddr,
        /// What went wrong.
        message: String,
    },
    /// Accepting a TCP connection failed.
    AcceptFailed {
        /// The operating system's error.
        message: String,
    },
}

/// The hook itself.
pub(crate) type ErrorHook = Box<dyn Fn(&ErrorEvent) + Send + Sync>;

/// The message of a caught panic.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}
