//! https for the exporter (feature `otlp-https`): a rustls connector trusting the system's
//! roots, or only the CA certificates given as PEM (a private collector's CA). Plain http
//! keeps working through the same connector.

use std::sync::Arc;

use hyper_rustls::{ConfigBuilderExt, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Wraps `http` in TLS; `ca_pem` replaces the system's roots.
pub(crate) fn connector(
    mut http: HttpConnector,
    ca_pem: Option<&[u8]>,
) -> Result<HttpsConnector<HttpConnector>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let config = match ca_pem {
        Some(pem) => {
            let bad = |e: &dyn std::fmt::Display| {
                format!("CA certificates: {e} (give PEM `CERTIFICATE` blocks)")
            };
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
            }
            if roots.is_empty() {
                return Err(bad(&"no certificate found"));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        // No system certificates: http still works, https fails verification (and says so
        // in each failed export).
        None => match builder.clone().with_native_roots() {
            Ok(native) => native.with_no_client_auth(),
            Err(_) => builder
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        },
    };
    http.enforce_http(false);
    Ok(HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http))
}
