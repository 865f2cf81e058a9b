//! Files served to plain HTTP requests on the WebSocket's own port: a web page and its scripts
//! next to the API they call, so a browser client needs no second server (and no CORS).
//!
//! The files are held in memory, read once when they are given to the builder: a front-end's
//! built output, not a general web server. A request that is not a WebSocket upgrade is answered
//! from them: `GET` and `HEAD` of a file's path with the file (`304 Not Modified` when the
//! browser's `If-None-Match` names its `ETag`), another method at a file's path with `405`, any
//! other path with `404`. Upgrades are untouched, at any path, `/` included.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use hyper::{Method, Request, Response, StatusCode};

use crate::error::ConfigError;

/// Files a server sends to plain HTTP requests, by path; given to
/// [`ServerBuilder::static_files`](crate::ServerBuilder::static_files).
///
/// ```no_run
/// # fn files() -> std::io::Result<()> {
/// use yoctopus_core::StaticFiles;
///
/// // Every file under `web/`, `web/index.html` also at `/`:
/// let built = StaticFiles::from_dir("web")?;
/// // Or one by one, e.g. embedded in the binary:
/// let page = StaticFiles::new()
///     .file("/", "text/html; charset=utf-8", "<!doctype html><p>Hello</p>")
///     .file("/app.js", "text/javascript; charset=utf-8", "console.log('hi');");
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct StaticFiles {
    files: BTreeMap<String, StaticFile>,
    /// The first file given with a path or content type that cannot be served, reported by
    /// [`check`](Self::check) when the server starts.
    invalid: Option<(String, &'static str)>,
}

#[derive(Clone)]
struct StaticFile {
    content_type: HeaderValue,
    etag: HeaderValue,
    body: Bytes,
}

impl StaticFiles {
    /// No files yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `body` at `path` (which starts with `/`; a query string in a request is ignored)
    /// as `content_type`, replacing a file given before at the same path. A path or content type
    /// that cannot be served makes [`ServerBuilder::start`](crate::ServerBuilder::start) fail
    /// with [`ConfigError::InvalidValue`].
    pub fn file(
        mut self,
        path: impl Into<String>,
        content_type: &str,
        body: impl Into<Bytes>,
    ) -> Self {
        let path = path.into();
        let content_type = HeaderValue::from_str(content_type);
        match (valid_path(&path), content_type) {
            (true, Ok(content_type)) => {
                let body = body.into();
                let etag = etag_of(&body);
                self.files.insert(
                    path,
                    StaticFile {
                        content_type,
                        etag,
                        body,
                    },
                );
            }
            (false, _) => self.invalid_file(path, "a path starts with `/` and has no `?` or `#`"),
            (true, Err(_)) => {
                self.invalid_file(path, "the content type is not a valid header value")
            }
        }
        self
    }

    /// Every file under `dir` (recursively, skipping names that start with `.`), read now, at its
    /// path relative to `dir` (`web/js/app.js` at `/js/app.js`); an `index.html` also at its
    /// directory's path (`/`, `/docs/`). The content type comes from the extension (HTML, CSS,
    /// JavaScript, JSON, SVG, PNG, JPEG, GIF, WebP, ICO, WebAssembly, text; anything else is
    /// `application/octet-stream`).
    pub fn from_dir(dir: impl AsRef<Path>) -> io::Result<Self> {
        let mut files = Self::new();
        let mut pending = vec![(dir.as_ref().to_path_buf(), String::from("/"))];
        while let Some((dir, url_dir)) = pending.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let name = entry.file_name();
                let Some(name) = name.to_str() else {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{:?}: a file name that is not UTF-8", entry.path()),
                    ));
                };
                if name.starts_with('.') {
                    continue;
                }
                let url_path = format!("{url_dir}{}", percent_encoded(name));
                if entry.file_type()?.is_dir() {
                    pending.push((entry.path(), format!("{url_path}/")));
                    continue;
                }
                let body = std::fs::read(entry.path())?;
                let content_type = content_type_of(name);
                if name == "index.html" {
                    files = files.file(url_dir.clone(), content_type, body.clone());
                }
                files = files.file(url_path, content_type, body);
            }
        }
        Ok(files)
    }

    /// The paths served, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    fn invalid_file(&mut self, path: String, problem: &'static str) {
        self.invalid.get_or_insert((path, problem));
    }

    /// The first file that cannot be served, if any.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        match &self.invalid {
            Some((path, problem)) => Err(ConfigError::InvalidValue {
                name: "StaticFiles::file",
                value: path.clone(),
                problem: (*problem).to_owned(),
            }),
            None => Ok(()),
        }
    }

    /// The answer to a plain (not upgrade) HTTP request.
    pub(super) fn answer<B>(&self, request: &Request<B>) -> Response<Full<Bytes>> {
        let Some(file) = self.files.get(request.uri().path()) else {
            return plain(StatusCode::NOT_FOUND, "not found");
        };
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        let unchanged = request
            .headers()
            .get_all(IF_NONE_MATCH)
            .iter()
            .any(|tags| names_etag(tags.as_bytes(), file.etag.as_bytes()));
        let mut response = if unchanged {
            let mut response = Response::new(Full::default());
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            response
        } else {
            // hyper sends no body to a HEAD request, but the length of the one a GET would get.
            let mut response = Response::new(Full::new(file.body.clone()));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, file.content_type.clone());
            response
        };
        let headers = response.headers_mut();
        headers.insert(ETAG, file.etag.clone());
        // Always revalidated: a page and its scripts change together when the server is updated.
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        response
    }
}

impl std::fmt::Debug for StaticFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.paths()).finish()
    }
}

fn valid_path(path: &str) -> bool {
    path.starts_with('/') && !path.contains(['?', '#'])
}

/// A strong validator: the FNV-1a hash of the body, with its length.
fn etag_of(body: &[u8]) -> HeaderValue {
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    });
    let tag = format!("\"{:x}-{hash:016x}\"", body.len());
    HeaderValue::from_str(&tag).expect("hex digits and quotes make a header value")
}

/// Whether an `If-None-Match` value (`*`, or tags separated by commas, maybe weak) names `etag`.
fn names_etag(tags: &[u8], etag: &[u8]) -> bool {
    tags.split(|byte| *byte == b',').any(|tag| {
        let tag = tag.trim_ascii();
        tag == b"*" || tag.strip_prefix(b"W/").unwrap_or(tag) == etag
    })
}

/// A file name as it appears in a URL path: bytes outside RFC 3986's unreserved set encoded.
fn percent_encoded(name: &str) -> String {
    let mut encoded = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

fn content_type_of(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map_or("", |(_, extension)| extension);
    match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn plain(status: StatusCode, reason: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(format!("{reason}\n"))));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, path: &str, if_none_match: Option<&str>) -> Request<()> {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(tags) = if_none_match {
            request = request.header(IF_NONE_MATCH, tags);
        }
        request.body(()).unwrap()
    }

    #[test]
    fn a_file_is_answered_with_its_type_and_a_validator_that_revalidates() {
        let files = StaticFiles::new().file("/", "text/html", "<p>hi</p>");
        let response = files.answer(&request(Method::GET, "/?user=ann", None));
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "text/html");
        let etag = response.headers()[ETAG].to_str().unwrap().to_owned();
        let again = files.answer(&request(
            Method::GET,
            "/",
            Some(&format!("\"x\", W/{etag}")),
        ));
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let changed = StaticFiles::new().file("/", "text/html", "<p>hi!</p>");
        let fresh = changed.answer(&request(Method::GET, "/", Some(&etag)));
        assert_eq!(fresh.status(), StatusCode::OK);
    }

    #[test]
    fn other_paths_and_methods_are_refused() {
        let files = StaticFiles::new().file("/app.js", "text/javascript", "1");
        let missing = files.answer(&request(Method::GET, "/", None));
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        let post = files.answer(&request(Method::POST, "/app.js", None));
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(post.headers()[ALLOW], "GET, HEAD");
    }

    #[test]
    fn a_file_that_cannot_be_served_is_a_start_error() {
        assert!(StaticFiles::new()
            .file("/a", "text/plain", "")
            .check()
            .is_ok());
        for files in [
            StaticFiles::new().file("a", "text/plain", ""),
            StaticFiles::new().file("/a?b", "text/plain", ""),
            StaticFiles::new().file("/a", "text/plain\n", ""),
        ] {
            assert!(
                matches!(files.check(), Err(ConfigError::InvalidValue { .. })),
                "{files:?}"
            );
        }
    }

    #[test]
    fn a_directory_is_served_by_relative_path_with_its_indexes() {
        let dir = std::env::temp_dir().join(format!("yoctopus-static-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("js/sub")).unwrap();
        std::fs::write(dir.join("index.html"), "<p>home</p>").unwrap();
        std::fs::write(dir.join("js/app.js"), "1").unwrap();
        std::fs::write(dir.join("js/sub/index.html"), "<p>sub</p>").unwrap();
        std::fs::write(dir.join("js/a b.css"), "p{}").unwrap();
        std::fs::write(dir.join(".hidden"), "secret").unwrap();
        let files = StaticFiles::from_dir(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let paths: Vec<&str> = files.paths().collect();
        assert_eq!(
            paths,
            [
                "/",
                "/index.html",
                "/js/a%20b.css",
                "/js/app.js",
                "/js/sub/",
                "/js/sub/index.html"
            ]
        );
        let css = files.answer(&request(Method::GET, "/js/a%20b.css", None));
        assert_eq!(css.headers()[CONTENT_TYPE], "text/css; charset=utf-8");
    }
}
