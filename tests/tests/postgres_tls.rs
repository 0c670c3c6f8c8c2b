//! The PostgreSQL connection can be TLS with the server's certificate
//! verified: `sslmode=verify-full` with `sslrootcert` naming the private
//! CA connects; the same with an unrelated CA is refused, naming the
//! problem; `sslmode=require` against a server without TLS is refused.

use sigstack_e2e::serve::migrate;
use sigstack_testkit::postgres_cluster::Cluster;

/// A self-signed CA and a server certificate for 127.0.0.1 it signed:
/// (CA PEM, server certificate PEM, server key PEM).
fn pki() -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "test PostgreSQL CA");
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let server_key = rcgen::KeyPair::generate().expect("server key");
    let server = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("params");
    let server_cert = server
        .signed_by(&server_key, &rcgen::Issuer::from_params(&ca, &ca_key))
        .expect("server certificate");
    (ca_cert.pem(), server_cert.pem(), server_key.serialize_pem())
}

#[test]
fn verify_full_connects_to_the_right_server_only() {
    let (ca, certificate, key) = pki();
    let cluster = Cluster::start_tls(&certificate, &key);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("ca.pem"), &ca).expect("CA file");
    let (other_ca, _, _) = pki();
    std::fs::write(dir.path().join("other-ca.pem"), &other_ca).expect("other CA");

    let url = |root: &str| {
        format!(
            "{}?sslmode=verify-full&sslrootcert={}",
            cluster.url(),
            dir.path().join(root).display()
        )
    };
    let out = migrate(dir.path(), "postgres", &url("ca.pem"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = migrate(dir.path(), "postgres", &url("other-ca.pem"));
    assert!(!out.status.success(), "an unrelated CA was accepted");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn require_refuses_a_server_without_tls() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let out = migrate(
        dir.path(),
        "postgres",
        &format!("{}?sslmode=require", cluster.url()),
    );
    assert!(
        !out.status.success(),
        "sslmode=require connected without TLS"
    );
    let out = migrate(dir.path(), "postgres", &cluster.url());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
