//! [`ServerTls`]: how the endpoint server speaks to callers.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};

/// TLS for an [`HttpServer`](super::HttpServer): a certificate chain and its
/// private key (PEM), or plain HTTP on a loopback address for tests.
///
/// `Debug` never shows the key.
#[derive(Clone)]
pub struct ServerTls(pub(super) Mode);

#[derive(Clone)]
pub(super) enum Mode {
    Tls(Arc<ServerConfig>),
    PlainOnLoopback,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Mode::Tls(_) => f.write_str("ServerTls(tls)"),
            Mode::PlainOnLoopback => f.write_str("ServerTls(plain http, loopback only)"),
        }
    }
}

fn config(message: String) -> Error {
    Error::new(ErrorKind::InvalidConfig, message)
}

impl ServerTls {
    /// TLS with the certificate chain `cert_chain` (PEM, the server's
    /// certificate first) and its private key `private_key` (PEM: PKCS#8,
    /// PKCS#1 or SEC1).
    ///
    /// # Errors
    ///
    /// `InvalidConfig` when the chain holds no certificate, the key cannot be
    /// read, or the key does not fit the certificate. Messages never quote
    /// the key.
    pub fn from_pem(cert_chain: &[u8], private_key: &[u8]) -> Result<Self> {
        let certs = CertificateDer::pem_slice_iter(cert_chain)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| config(format!("the tls certificate chain is not valid PEM: {e}")))?;
        if certs.is_empty() {
            return Err(config(
                "the tls certificate chain holds no certificate (PEM \"BEGIN CERTIFICATE\")".into(),
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(private_key).map_err(|e| {
            config(match e {
                pem::Error::NoItemsFound => "the tls private key PEM holds no private key".into(),
                _ => "the tls private key is not valid PEM".into(),
            })
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| config(format!("cannot set up tls: {e}")))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| {
                config(format!(
                    "the tls certificate and private key cannot be used together: {e}"
                ))
            })?;
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ServerTls(Mode::Tls(Arc::new(server))))
    }

    /// As [`from_pem`](Self::from_pem), reading the two PEM files.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` when a file cannot be read, and as `from_pem`.
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        private_key: impl AsRef<Path>,
    ) -> Result<Self> {
        let read = |path: &Path, what: &str| {
            std::fs::read(path).map(Zeroizing::new).map_err(|e| {
                config(format!(
                    "cannot read the tls {what} file {}: {e}",
                    path.display()
                ))
            })
        };
        let certs = read(cert_chain.as_ref(), "certificate")?;
        let key = read(private_key.as_ref(), "private key")?;
        Self::from_pem(&certs, &key)
    }

    /// Plain HTTP, for tests on one machine: an
    /// [`HttpServer`](super::HttpServer) refuses it unless its address is a
    /// loopback one. Callers need
    /// [`allow_plain_http_on_loopback`](super::HttpTransportBuilder::allow_plain_http_on_loopback).
    pub fn plain_http_on_loopback() -> Self {
        ServerTls(Mode::PlainOnLoopback)
    }

    /// Whether this is TLS (not plain HTTP).
    pub fn is_tls(&self) -> bool {
        matches!(self.0, Mode::Tls(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_pem_is_a_configuration_error_that_never_quotes_the_key() {
        let secret = b"-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA!!\n-----END PRIVATE KEY-----\n";
        let err = ServerTls::from_pem(b"", secret).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(err.to_string().contains("no certificate"), "{err}");

        let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
        let cert = generated.cert.pem();
        let err = ServerTls::from_pem(cert.as_bytes(), secret).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("private key"), "{shown}");
        assert!(!shown.contains("c2VjcmV0"), "{shown}");

        let other = rcgen::KeyPair::generate().unwrap();
        let err =
            ServerTls::from_pem(cert.as_bytes(), other.serialize_pem().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("cannot be used together"), "{err}");

        let tls = ServerTls::from_pem(
            cert.as_bytes(),
            generated.signing_key.serialize_pem().as_bytes(),
        )
        .unwrap();
        assert!(tls.is_tls());
        assert_eq!(format!("{tls:?}"), "ServerTls(tls)");
    }

    #[test]
    fn a_missing_file_is_named() {
        let err =
            ServerTls::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(err.to_string().contains("/nonexistent/cert.pem"), "{err}");
    }
}
