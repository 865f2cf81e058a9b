//! The HTTP request that opened a connection: path, query string, headers, addresses.
//!
//! Browsers cannot set headers on a WebSocket, so real applications authenticate with a query
//! token or a cookie; plugins read them here, at the upgrade check, when the connection opens, or
//! in any later handler. The request is kept in one allocation for its text and one for its index
//! (hyper's header values are slices of the read buffer, and keeping them would keep that buffer
//! alive for the life of the connection).

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;

/// The upgrade request of a connection, as the client sent it.
///
/// ```
/// # use yoctopus_core::UpgradeRequest;
/// fn token(upgrade: &UpgradeRequest) -> Option<String> {
///     upgrade
///         .query_param("token")
///         .map(|token| token.into_owned())
///         .or_else(|| upgrade.cookie("token").map(str::to_owned))
/// }
/// ```
#[derive(Clone)]
pub struct UpgradeRequest {
    remote_addr: SocketAddr,
    local_addr: SocketAddr,
    secure: bool,
    /// The request target (path and query), then each header's name and value.
    text: Box<[u8]>,
    target_end: u32,
    /// Per header: where its name starts, where its value starts (the name's end), where it ends.
    headers: Box<[(u32, u32, u32)]>,
}

impl UpgradeRequest {
    /// Copies what a connection keeps of its upgrade request.
    pub(crate) fn new<'a>(
        target: &str,
        headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
        remote_addr: SocketAddr,
        local_addr: SocketAddr,
        secure: bool,
    ) -> Self {
        let mut text = Vec::with_capacity(256);
        text.extend_from_slice(target.as_bytes());
        let target_end = offset(text.len());
        let mut index = Vec::new();
        for (name, value) in headers {
            let name_start = offset(text.len());
            text.extend(name.bytes().map(|byte| byte.to_ascii_lowercase()));
            let value_start = offset(text.len());
            text.extend_from_slice(value);
            index.push((name_start, value_start, offset(text.len())));
        }
        Self {
            remote_addr,
            local_addr,
            secure,
            text: text.into_boxed_slice(),
            target_end,
            headers: index.into_boxed_slice(),
        }
    }

    /// Only the addresses, for servers where no plugin reads the request itself: nothing is
    /// copied or allocated.
    pub(crate) fn addresses_only(
        remote_addr: SocketAddr,
        local_addr: SocketAddr,
        secure: bool,
    ) -> Self {
        Self {
            remote_addr,
            local_addr,
            secure,
            text: Box::default(),
            target_end: 0,
            headers: Box::default(),
        }
    }

    /// The client's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote_addr
    }

    /// The server's address the client connected to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Whether the connection came over TLS (`wss://`).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The request target as sent: path and query string, `/chat?user=alice`.
    pub fn target(&self) -> &str {
        // Built from a `&str` in `new`.
        std::str::from_utf8(&self.text[..self.target_end as usize]).unwrap_or("/")
    }

    /// The path without the query string: `/chat`.
    pub fn path(&self) -> &str {
        let target = self.target();
        target.split_once('?').map_or(target, |(path, _)| path)
    }

    /// The query string without `?`, as sent (still percent-encoded): `user=alice&room=general`.
    pub fn query(&self) -> Option<&str> {
        self.target().split_once('?').map(|(_, query)| query)
    }

    /// The first value of query parameter `name`, percent-decoded (`+` is a space).
    pub fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        form_urlencoded::parse(self.query()?.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// The first header called `name` (any case) whose value is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .filter(|(known, _)| known.eq_ignore_ascii_case(name))
            .find_map(|(_, value)| std::str::from_utf8(value).ok())
    }

    /// Every value of header `name` (any case), as bytes, in the order sent.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers()
            .filter(move |(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// Every header as `(lowercase name, value)`, in the order sent.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.headers.iter().map(|&(name, value, end)| {
            let name =
                std::str::from_utf8(&self.text[name as usize..value as usize]).unwrap_or_default();
            (name, &self.text[value as usize..end as usize])
        })
    }

    /// The value of cookie `name` from the `Cookie` headers.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.header_values("cookie")
            .filter_map(|value| std::str::from_utf8(value).ok())
            .flat_map(|cookies| cookies.split(';'))
            .find_map(|pair| {
                let (key, value) = pair.trim().split_once('=')?;
                (key == name).then_some(value)
            })
    }
}

/// Upgrade requests are bounded by hyper's header limits (well under 4 GiB).
fn offset(length: usize) -> u32 {
    u32::try_from(length).unwrap_or(u32::MAX)
}

impl fmt::Debug for UpgradeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpgradeRequest")
            .field("target", &self.target())
            .field("remote_addr", &self.remote_addr)
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::UpgradeRequest;

    fn request() -> UpgradeRequest {
        let headers: [(&str, &[u8]); 3] = [
            ("Host", b"localhost"),
            ("Cookie", b"theme=dark; token=c00kie"),
            ("X-Token", b"abc"),
        ];
        UpgradeRequest::new(
            "/chat?user=al%20ice&room=a+b&user=second",
            headers,
            "127.0.0.1:5000".parse().unwrap(),
            "127.0.0.1:3000".parse().unwrap(),
            false,
        )
    }

    #[test]
    fn path_query_and_parameters() {
        let request = request();
        assert_eq!(request.path(), "/chat");
        assert_eq!(request.query(), Some("user=al%20ice&room=a+b&user=second"));
        assert_eq!(request.query_param("user").as_deref(), Some("al ice"));
        assert_eq!(request.query_param("room").as_deref(), Some("a b"));
        assert_eq!(request.query_param("missing"), None);
    }

    #[test]
    fn headers_in_any_case_and_cookies() {
        let request = request();
        assert_eq!(request.header("x-token"), Some("abc"));
        assert_eq!(request.header("X-TOKEN"), Some("abc"));
        assert_eq!(request.cookie("token"), Some("c00kie"));
        assert_eq!(request.cookie("theme"), Some("dark"));
        assert_eq!(request.cookie("nope"), None);
        assert_eq!(request.headers().count(), 3);
    }
}
