//! https for the exporter (feature `otlp-https`): a rustls client configuration trusting the
//! system's roots, or only the CA certificates given as PEM (a private collector's CA), and
//! the connector built on it. Plain http keeps working through the same connector.

use std::sync::Arc;

use hyper_rustls::{ConfigBuilderExt, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Why [`rustls_config`] could not build a configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// rustls refused the protocol versions of its ring provider (a build without TLS 1.2
    /// and 1.3).
    #[error("TLS setup: {0}")]
    Setup(String),
    /// A PEM block or the certificate in it could not be read.
    #[error("{0}")]
    Certificate(String),
    /// The PEM holds no `CERTIFICATE` block.
    #[error("no certificate found")]
    NoCertificate,
}

/// The rustls client configuration the exporter connects with (ring provider, TLS 1.2 and
/// 1.3): trusting only the CA certificates of `ca_pem` (PEM `CERTIFICATE` blocks) when given,
/// else the system's roots. Without system roots it trusts nothing, so https fails
/// verification and says so. Public so that a client of the application's own trusts the same.
pub fn rustls_config(ca_pem: Option<&[u8]>) -> Result<rustls::ClientConfig, TlsError> {
    // ring by name, not the process default, which panics when a dependency graph enables
    // two providers. rustls 0.23.48 deprecates it for its lack of post-quantum key exchange;
    // it stays, since aws-lc-rs, which has it, needs a C toolchain and CMake to build.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    Ok(match ca_pem {
        Some(pem) => {
            let bad = |e: &dyn std::fmt::Display| TlsError::Certificate(e.to_string());
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
            }
            if roots.is_empty() {
                return Err(TlsError::NoCertificate);
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => match builder.clone().with_native_roots() {
            Ok(native) => native.with_no_client_auth(),
            Err(_) => builder
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        },
    })
}

/// Wraps `http` in TLS; `ca_pem` replaces the system's roots.
pub(crate) fn connector(
    mut http: HttpConnector,
    ca_pem: Option<&[u8]>,
) -> Result<HttpsConnector<HttpConnector>, String> {
    let config = rustls_config(ca_pem).map_err(|e| match e {
        TlsError::Setup(_) => e.to_string(),
        _ => format!("CA certificates: {e} (give PEM `CERTIFICATE` blocks)"),
    })?;
    http.enforce_http(false);
    Ok(HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_pem_without_a_readable_certificate_is_refused_by_kind() {
        assert!(matches!(
            rustls_config(Some(b"no PEM here")),
            Err(TlsError::NoCertificate)
        ));
        let broken = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            rustls_config(Some(broken)),
            Err(TlsError::Certificate(_))
        ));
        assert!(matches!(
            connector(HttpConnector::new(), Some(b"")),
            Err(e) if e == "CA certificates: no certificate found (give PEM `CERTIFICATE` blocks)"
        ));
        assert!(rustls_config(None).is_ok());
    }
}
