//! TLS (`wss://`) from PEM files, with tokio-rustls on the ring provider.
//!
//! Two different things are called "the CA" in deployments, and they are kept apart here:
//! - the **chain** is the intermediate certificates served after the server's own, so that
//!   browsers can build a path to a root they trust: what the original's `caPath` (Node's `ca`)
//!   was usually given. It changes nothing about clients.
//! - the **client CA** makes certificates mandatory for clients (mutual TLS): a client without a
//!   certificate signed by it is refused at the handshake.
//!
//! Files are read once, when the server starts; a bad file is a start-up error naming it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::error::ConfigError;

/// Where the server's key and certificate are; optionally the intermediate certificates served
/// with it, and the CA that client certificates must be signed by (mutual TLS).
///
/// ```no_run
/// # async fn run() -> Result<(), yoctopus_core::ServerError> {
/// use yoctopus_core::{Server, TlsConfig};
///
/// // What most deployments want: the certificate and the chain that leads to a trusted root.
/// Server::builder()
///     .tls(TlsConfig::new("key.pem", "cert.pem").chain("intermediates.pem"))
///     .start()
///     .await?;
///
/// // Mutual TLS: only clients with a certificate signed by this CA get in.
/// Server::builder()
///     .tls(TlsConfig::new("key.pem", "cert.pem").require_client_certificates("clients-ca.pem"))
///     .start()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    key: PathBuf,
    cert: PathBuf,
    chain: Option<PathBuf>,
    client_ca: Option<PathBuf>,
}

impl TlsConfig {
    /// A PEM private key and a PEM certificate chain (leaf first).
    pub fn new(key: impl Into<PathBuf>, cert: impl Into<PathBuf>) -> Self {
        Self {
            key: key.into(),
            cert: cert.into(),
            chain: None,
            client_ca: None,
        }
    }

    /// Serves the certificates in this PEM file after the server's own: the intermediate CAs
    /// between it and a root clients trust (the original's `caPath`, Node's `ca`). Clients need
    /// no certificate.
    pub fn chain(mut self, intermediates: impl Into<PathBuf>) -> Self {
        self.chain = Some(intermediates.into());
        self
    }

    /// Requires every client to present a certificate signed by a CA in this PEM file (mutual
    /// TLS); a client without one is refused at the handshake.
    pub fn require_client_certificates(mut self, client_ca: impl Into<PathBuf>) -> Self {
        self.client_ca = Some(client_ca.into());
        self
    }

    /// Reads the files and builds the acceptor.
    pub(crate) fn acceptor(&self) -> Result<TlsAcceptor, ConfigError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut certs = read_certs(&self.cert)?;
        if let Some(chain) = &self.chain {
            certs.extend(read_certs(chain)?);
        }
        let key =
            PrivateKeyDer::from_pem_file(&self.key).map_err(|error| tls_error(&self.key, error))?;
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|error| tls_error(&self.cert, error))?;
        let builder = match &self.client_ca {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for cert in read_certs(ca)? {
                    roots.add(cert).map_err(|error| tls_error(ca, error))?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|error| tls_error(ca, error))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(certs, key)
            .map_err(|error| tls_error(&self.key, error))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|error| tls_error(path, error))?;
    if certs.is_empty() {
        return Err(tls_error(path, "no certificate in the file"));
    }
    Ok(certs)
}

fn tls_error(path: &Path, error: impl std::fmt::Display) -> ConfigError {
    ConfigError::Tls {
        path: path.to_owned(),
        problem: error.to_string(),
    }
}
