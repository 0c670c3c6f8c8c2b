//! The HTTP clients discovery and JWKS fetches use (ca.md §6 step 4): a timeout on every fetch,
//! no redirect to another host, TLS through rustls on the aws-lc-rs provider (the house's
//! crypto), trusting the system roots plus an issuer's `CACert` when it has one.

use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

/// Why a verifier's HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    #[error("issuer CACert: {0}")]
    CaCert(String),
    #[error("tls configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error("http client: {0}")]
    Http(#[from] reqwest::Error),
}

/// A client trusting the system roots and, if given, the PEM certificates of `ca_cert`.
pub(crate) fn client(
    timeout: Duration,
    ca_cert: Option<&str>,
) -> Result<reqwest::Client, ClientBuildError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    if !native.errors.is_empty() {
        tracing::warn!(
            errors = native.errors.len(),
            "some system root certificates could not be read"
        );
    }
    // A system root rustls cannot use is skipped, as every TLS client does.
    let (_added, _skipped) = roots.add_parsable_certificates(native.certs);
    if let Some(pem) = ca_cert {
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| ClientBuildError::CaCert(e.to_string()))?;
            roots.add(cert)?;
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        let same_host =
            attempt.previous().first().and_then(url::Url::host_str) == attempt.url().host_str();
        if same_host && attempt.previous().len() < 5 {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(redirects)
        .build()?)
}
