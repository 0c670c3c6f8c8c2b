//! What the CA reports through the `metrics` facade. `issuer` labels are
//! configured issuers (or `unknown`), never a value a client chose.

/// Upstream Fulcio's counter of certificates issued.
pub const NEW_CERTS: &str = "fulcio_new_certs";
/// Certificates issued, by `issuer`.
pub const CERTIFICATES_ISSUED: &str = "sigstack_ca_certificates_issued_total";
/// Requests refused for the client's fault (HTTP 400), by `issuer` and `reason`.
pub const CERTIFICATES_REFUSED: &str = "sigstack_ca_certificates_refused_total";
/// The CA's own failures (HTTP 500), by `reason`: `ca`, `ctlog`, `store`.
pub const ISSUANCE_FAILURES: &str = "sigstack_ca_issuance_failures_total";
/// Identity tokens that did not verify, by `issuer` and `reason`.
pub const OIDC_FAILURES: &str = "sigstack_oidc_verification_failures_total";
/// notAfter (Unix seconds) of each certificate of the CA's chain, by `role`
/// (`signing`, `intermediate`, `root`) and `subject`.
pub const CERTIFICATE_EXPIRY: &str = "sigstack_ca_certificate_expiry_timestamp_seconds";

/// The counters exist at zero from the start (so that rates and alerts
/// see them before the first event), per configured issuer where they
/// have one.
pub(crate) fn register<'a>(issuers: impl Iterator<Item = &'a str>) {
    metrics::counter!(NEW_CERTS).increment(0);
    for reason in ["ca", "ctlog", "store"] {
        metrics::counter!(ISSUANCE_FAILURES, "reason" => reason).increment(0);
    }
    for issuer in issuers {
        metrics::counter!(CERTIFICATES_ISSUED, "issuer" => issuer.to_owned()).increment(0);
    }
}

pub(crate) fn issued(issuer: &str) {
    metrics::counter!(NEW_CERTS).increment(1);
    metrics::counter!(CERTIFICATES_ISSUED, "issuer" => issuer.to_owned()).increment(1);
}

pub(crate) fn refused(issuer: String, reason: &'static str) {
    metrics::counter!(CERTIFICATES_REFUSED, "issuer" => issuer, "reason" => reason).increment(1);
}

pub(crate) fn failed(reason: &'static str) {
    metrics::counter!(ISSUANCE_FAILURES, "reason" => reason).increment(1);
}

pub(crate) fn oidc_failure(issuer: &str, reason: &'static str) {
    metrics::counter!(OIDC_FAILURES, "issuer" => issuer.to_owned(), "reason" => reason)
        .increment(1);
}

/// Publishes the expiry of each certificate of `chain` (signing CA first,
/// root last); a certificate that does not parse is skipped.
pub(crate) fn chain_expiry(chain: &[Vec<u8>]) {
    use der::Decode as _;
    for (i, der) in chain.iter().enumerate() {
        let Ok(certificate) = x509_cert::Certificate::from_der(der) else {
            continue;
        };
        let role = if i + 1 == chain.len() {
            "root"
        } else if i == 0 {
            "signing"
        } else {
            "intermediate"
        };
        let tbs = certificate.tbs_certificate();
        let subject = tbs.subject().to_string();
        let not_after = tbs.validity().not_after.to_unix_duration().as_secs();
        #[allow(clippy::cast_precision_loss)]
        metrics::gauge!(CERTIFICATE_EXPIRY, "role" => role, "subject" => subject)
            .set(not_after as f64);
    }
}
