//! `wss://` with certificates made in the test (rcgen): a round trip with a real client, client
//! certificates required when a CA is set, and the framing rules holding over TLS.

mod common;
mod raw;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use raw::{FrameOut, RawClient, WAIT};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
};
use tokio_rustls::rustls::{self, AlertDescription, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use yoctopus_core::{plugin, ErrorEvent, Server, TlsConfig};

#[plugin]
mod whoami {
    use serde_json::{json, Value};
    use yoctopus_core::prelude::*;

    /// Echoes the request and says whether the connection came over TLS.
    #[endpoint(name = "whoami", method = "read")]
    async fn whoami(data: Value, connection: Connection) -> Value {
        json!({"echo": data, "isSecure": connection.get("yoctopus", "isSecure")})
    }

    /// The connection's whole store, as the register exports it.
    #[endpoint(name = "store", method = "read")]
    async fn store(connection: Connection) -> Value {
        connection.export_settings()
    }
}

/// A certificate authority made for one test.
struct Authority {
    issuer: Issuer<'static, KeyPair>,
    cert: CertificateDer<'static>,
    pem: String,
}

impl Authority {
    fn new(name: &str) -> Self {
        let (params, key) = Self::params(name);
        let cert = params
            .self_signed(&key)
            .expect("the CA certificate is signed");
        Self {
            pem: cert.pem(),
            cert: cert.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    /// An intermediate authority signed by this one.
    fn intermediate(&self, name: &str) -> Self {
        let (params, key) = Self::params(name);
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("the intermediate certificate is signed");
        Self {
            pem: cert.pem(),
            cert: cert.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    /// What a CA certificate called `name` says, and its key.
    fn params(name: &str) -> (CertificateParams, KeyPair) {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("no names is valid");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("a key pair is generated");
        (params, key)
    }

    /// A leaf certificate signed by this authority: its chain (leaf first) and its key.
    fn issue(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Leaf {
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("the names are valid");
        params.extended_key_usages = vec![usage];
        params
            .distinguished_name
            .push(DnType::CommonName, "yoctopus test leaf");
        let key = KeyPair::generate().expect("a key pair is generated");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("the leaf certificate is signed");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            chain: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        }
    }
}

struct Leaf {
    cert_pem: String,
    key_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// A directory for one test's PEM files, removed when the test ends.
struct PemDir(PathBuf);

impl PemDir {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("yoctopus-tls-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("the temporary directory is created");
        Self(dir)
    }

    fn write(&self, name: &str, pem: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, pem).expect("the PEM file is written");
        path
    }
}

impl Drop for PemDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts a `wss://` server with a certificate for `localhost` from `authority`, requiring client
/// certificates from `client_ca` when given.
async fn start_tls(dir: &PemDir, authority: &Authority, client_ca: Option<&Authority>) -> Server {
    let server_leaf = authority.issue(
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let key = dir.write("server-key.pem", &server_leaf.key_pem);
    let cert = dir.write("server-cert.pem", &server_leaf.cert_pem);
    let mut tls = TlsConfig::new(key, cert);
    if let Some(client_ca) = client_ca {
        tls = tls.require_client_certificates(dir.write("client-ca.pem", &client_ca.pem));
    }
    common::start_with(Server::builder().tls(tls), [whoami::plugin()]).await
}

/// A client configuration trusting `authority`, presenting `identity` when given.
fn client_config(authority: &Authority, identity: Option<&Leaf>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(authority.cert.clone())
        .expect("the CA certificate is accepted as a root");
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default versions")
            .with_root_certificates(roots);
    let config = match identity {
        Some(leaf) => builder
            .with_client_auth_cert(leaf.chain.clone(), leaf.key.clone_key())
            .expect("the client certificate and key match"),
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

async fn tls_connect(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = raw::tcp_connect(addr).await;
    let name = ServerName::try_from("localhost").expect("a valid server name");
    tokio::time::timeout(WAIT, TlsConnector::from(config).connect(name, tcp))
        .await
        .expect("the TLS handshake finished in time")
}

/// A TLS handshake and a WebSocket upgrade with tokio-tungstenite over it.
async fn wss_connect(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> Result<WebSocketStream<TlsStream<TcpStream>>, rustls::Error> {
    let tls = tls_connect(addr, config)
        .await
        .map_err(|error| tls_error(&error))?;
    let url = format!("wss://localhost:{}", addr.port());
    match tokio::time::timeout(WAIT, tokio_tungstenite::client_async(url, tls))
        .await
        .expect("the WebSocket handshake finished in time")
    {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Io(error)) => Err(tls_error(&error)),
        Err(other) => panic!("expected the upgrade to succeed or TLS to fail, got {other}"),
    }
}

/// The TLS error inside an I/O error; fails the test for any other I/O error.
fn tls_error(error: &std::io::Error) -> rustls::Error {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .cloned()
        .unwrap_or_else(|| panic!("expected a TLS error, got {error:?}"))
}

fn whoami_request(id: &str) -> Value {
    json!({"meta": {"id": id, "endpoint": "whoami:whoami", "method": "read"}, "data": {"hello": id}})
}

fn whoami_reply(id: &str) -> Value {
    json!({
        "meta": {"id": id, "endpoint": "whoami:whoami", "method": "read", "status": "ok"},
        "data": {"echo": {"hello": id}, "isSecure": true}
    })
}

async fn round_trip(socket: &mut WebSocketStream<TlsStream<TcpStream>>, id: &str) {
    socket
        .send(Message::text(whoami_request(id).to_string()))
        .await
        .expect("sending over wss succeeds");
    let reply = loop {
        match tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("the reply arrived in time")
            .expect("the connection is open")
            .expect("the reply is readable")
        {
            Message::Text(text) => break serde_json::from_str::<Value>(&text).expect("JSON"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text reply, got {other:?}"),
        }
    };
    assert_eq!(reply, whoami_reply(id));
}

#[tokio::test]
async fn a_wss_round_trip_works_with_a_certificate_made_in_the_test() {
    let dir = PemDir::new("round-trip");
    let authority = Authority::new("yoctopus test CA");
    let server = start_tls(&dir, &authority, None).await;
    let mut socket = wss_connect(server.local_addr(), client_config(&authority, None))
        .await
        .expect("a client trusting the CA is served");
    round_trip(&mut socket, "first").await;
    round_trip(&mut socket, "second").await;
    socket
        .close(None)
        .await
        .expect("the close handshake starts");
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_server_certificate_stops_at_the_tls_handshake() {
    let dir = PemDir::new("untrusted");
    let authority = Authority::new("yoctopus test CA");
    let server = start_tls(&dir, &authority, None).await;
    let stranger = Authority::new("some other CA");
    let error = wss_connect(server.local_addr(), client_config(&stranger, None))
        .await
        .expect_err("the client refuses a certificate from a CA it does not trust");
    assert_eq!(
        error,
        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
    );
    // The server is unharmed.
    let mut socket = wss_connect(server.local_addr(), client_config(&authority, None))
        .await
        .expect("a client trusting the CA is served");
    round_trip(&mut socket, "after").await;
}

#[tokio::test]
async fn with_a_client_ca_a_client_with_a_certificate_it_signed_is_served() {
    let dir = PemDir::new("client-signed");
    let authority = Authority::new("yoctopus test CA");
    let clients = Authority::new("yoctopus client CA");
    let server = start_tls(&dir, &authority, Some(&clients)).await;
    let identity = clients.issue(&["client.example"], ExtendedKeyUsagePurpose::ClientAuth);
    let mut socket = wss_connect(
        server.local_addr(),
        client_config(&authority, Some(&identity)),
    )
    .await
    .expect("a client with a certificate from the client CA is served");
    round_trip(&mut socket, "mutual").await;
}

#[tokio::test]
async fn with_a_client_ca_a_client_without_a_certificate_is_refused() {
    let dir = PemDir::new("client-missing");
    let authority = Authority::new("yoctopus test CA");
    let clients = Authority::new("yoctopus client CA");
    let server = start_tls(&dir, &authority, Some(&clients)).await;
    let error = wss_connect(server.local_addr(), client_config(&authority, None))
        .await
        .expect_err("a client without a certificate is refused");
    assert_eq!(
        error,
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired)
    );
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test]
async fn with_a_client_ca_a_client_certificate_from_another_ca_is_refused() {
    let dir = PemDir::new("client-foreign");
    let authority = Authority::new("yoctopus test CA");
    let clients = Authority::new("yoctopus client CA");
    let server = start_tls(&dir, &authority, Some(&clients)).await;
    let forger = Authority::new("not the client CA");
    let identity = forger.issue(&["client.example"], ExtendedKeyUsagePurpose::ClientAuth);
    let error = wss_connect(
        server.local_addr(),
        client_config(&authority, Some(&identity)),
    )
    .await
    .expect_err("a client certificate from another CA is refused");
    assert_eq!(
        error,
        rustls::Error::AlertReceived(AlertDescription::UnknownCA)
    );
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test]
async fn the_framing_rules_hold_over_tls() {
    let dir = PemDir::new("framing");
    let authority = Authority::new("yoctopus test CA");
    let server = start_tls(&dir, &authority, None).await;
    let addr = server.local_addr();
    let connect = || async {
        let tls = tls_connect(addr, client_config(&authority, None))
            .await
            .expect("the TLS handshake succeeds");
        RawClient::handshake(tls, &format!("localhost:{}", addr.port()), &[])
            .await
            .expect("the upgrade succeeds over TLS")
    };
    let mut client = connect().await;
    assert_eq!(
        client.request(&whoami_request("raw")).await,
        whoami_reply("raw")
    );
    client.send(&FrameOut::ping("over tls")).await;
    let pong = client.recv_frame().await;
    assert_eq!(
        (pong.opcode, &pong.payload[..]),
        (raw::opcode::PONG, &b"over tls"[..])
    );
    client
        .send(&FrameOut::text(whoami_request("plain").to_string()).unmasked())
        .await;
    client.assert_closed_with(1002).await;
}

#[tokio::test]
async fn a_plain_ws_client_gets_no_http_answer_from_a_tls_port() {
    let dir = PemDir::new("plain-client");
    let authority = Authority::new("yoctopus test CA");
    let server = start_tls(&dir, &authority, None).await;
    let mut stream = raw::tcp_connect(server.local_addr()).await;
    let request =
        "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    stream
        .write_all(request.as_bytes())
        .await
        .expect("writing succeeds");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut answer))
        .await
        .expect("the server ended the connection in time");
    // At most a TLS alert record (content type 21), never an HTTP response.
    assert!(
        answer.is_empty() || answer[0] == 21,
        "a plain client got {answer:?}"
    );
    assert_eq!(server.connection_count(), 0);
}

/// A server whose certificate was signed by an intermediate CA, and a client that trusts only the
/// root: the server must send the intermediate with its certificate.
async fn start_with_intermediate(dir: &PemDir, serve_chain: bool) -> (Server, Authority) {
    let root = Authority::new("yoctopus test root");
    let intermediate = root.intermediate("yoctopus test intermediate");
    let leaf = intermediate.issue(
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let key = dir.write("server-key.pem", &leaf.key_pem);
    let cert = dir.write("server-cert.pem", &leaf.cert_pem);
    let mut tls = TlsConfig::new(key, cert);
    if serve_chain {
        tls = tls.chain(dir.write("chain.pem", &intermediate.pem));
    }
    let server = common::start_with(Server::builder().tls(tls), [whoami::plugin()]).await;
    (server, root)
}

#[tokio::test]
async fn a_chain_is_served_with_the_certificate_and_asks_nothing_of_clients() {
    let dir = PemDir::new("chain");
    let (server, root) = start_with_intermediate(&dir, true).await;
    // A browser-like client: it trusts the root only, and has no certificate of its own.
    let mut socket = wss_connect(server.local_addr(), client_config(&root, None))
        .await
        .expect("the chain leads the client from the certificate to its root");
    round_trip(&mut socket, "chained").await;
}

#[tokio::test]
async fn without_the_chain_a_client_trusting_only_the_root_cannot_verify_the_server() {
    let dir = PemDir::new("no-chain");
    let (server, root) = start_with_intermediate(&dir, false).await;
    let error = wss_connect(server.local_addr(), client_config(&root, None))
        .await
        .expect_err("the client cannot build a path to its root");
    assert_eq!(
        error,
        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
    );
}

#[tokio::test]
async fn a_failed_tls_handshake_reaches_the_error_hook_and_the_server_keeps_serving() {
    let dir = PemDir::new("hook");
    let authority = Authority::new("yoctopus test CA");
    let leaf = authority.issue(&["localhost"], ExtendedKeyUsagePurpose::ServerAuth);
    let tls = TlsConfig::new(
        dir.write("server-key.pem", &leaf.key_pem),
        dir.write("server-cert.pem", &leaf.cert_pem),
    );
    let (events, heard) = tokio::sync::mpsc::unbounded_channel();
    let builder = Server::builder().tls(tls).on_error(move |event| {
        let _ = events.send(event.clone());
    });
    let server = common::start_with(builder, [whoami::plugin()]).await;
    // Plain HTTP to a TLS port is not a TLS handshake.
    let mut plain = raw::tcp_connect(server.local_addr()).await;
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("the bytes are written");
    let mut heard = heard;
    let event = tokio::time::timeout(WAIT, heard.recv())
        .await
        .expect("the hook heard of it in time")
        .expect("the hook is alive");
    let local = plain.local_addr().expect("the client has an address");
    assert!(
        matches!(&event, ErrorEvent::TlsHandshakeFailed { peer, message } if *peer == local && !message.is_empty()),
        "{event:?}"
    );
    let mut socket = wss_connect(server.local_addr(), client_config(&authority, None))
        .await
        .expect("a real client is served afterwards");
    round_trip(&mut socket, "after-garbage").await;
}

#[tokio::test]
async fn over_wss_the_yoctopus_settings_say_secure_with_the_port_and_address() {
    let dir = PemDir::new("store");
    let authority = Authority::new("yoctopus test CA");
    let server = start_tls(&dir, &authority, None).await;
    let mut socket = wss_connect(server.local_addr(), client_config(&authority, None))
        .await
        .expect("a client trusting the CA is served");
    let request = json!({"meta": {"id": "s", "endpoint": "whoami:store", "method": "read"}});
    socket
        .send(Message::text(request.to_string()))
        .await
        .expect("sending over wss succeeds");
    let reply = loop {
        match tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("the reply arrived in time")
            .expect("the connection is open")
            .expect("the reply is readable")
        {
            Message::Text(text) => break serde_json::from_str::<Value>(&text).expect("JSON"),
            _ => continue,
        }
    };
    assert_eq!(
        reply["data"],
        json!({"yoctopus": {"label": null, "isSecure": true, "port": server.local_addr().port(), "remoteAddress": "127.0.0.1"}})
    );
}
