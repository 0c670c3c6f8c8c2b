//! Token verification against an HTTPS issuer trusted only through its `CACert`.

use std::sync::Arc;

use serde_json::json;

use super::{TestKey, now};
use crate::oidc::{TokenVerifier, VerifierOptions};
use crate::{IdentityError, IssuerConfig};

/// An HTTPS issuer with a self-signed certificate for 127.0.0.1, answering discovery and JWKS
/// with a minimal HTTP/1.1 responder. Returns its URL and the certificate PEM.
async fn start_tls_issuer(key: &TestKey) -> (String, String) {
    use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let tls_key = rcgen::KeyPair::generate().expect("tls key");
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".into()])
        .expect("params")
        .self_signed(&tls_key)
        .expect("certificate");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(tls_key.serialize_der())),
        )
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("https://{}", listener.local_addr().expect("addr"));
    let discovery = json!({"issuer": url, "jwks_uri": format!("{url}/jwks"),
        "id_token_signing_alg_values_supported": ["ES256"]})
    .to_string();
    let jwks = json!({"keys": [key.jwk()]}).to_string();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, discovery, jwks) = (acceptor.clone(), discovery.clone(), jwks.clone());
            tokio::spawn(async move {
                // A client that refuses our certificate ends the handshake; nothing to answer.
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buffer = [0; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let body = if request.starts_with(b"GET /jwks ") {
                    &jwks
                } else {
                    &discovery
                };
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (url, cert.pem())
}

#[tokio::test]
async fn https_issuer_is_trusted_through_its_ca_cert_only() {
    let key = TestKey::es256("ec-1");
    let (url, pem) = start_tls_issuer(&key).await;
    let now = now();
    let claims = json!({"iss": url, "aud": "sigstore", "sub": "1044", "email": "dev@example.com",
        "email_verified": true, "iat": now, "exp": now + 600});
    let token = key.sign(&claims, None);
    let verifier_with = |ca_cert: &str| {
        let config = json!({"OIDCIssuers": {&url: {"IssuerURL": &url, "ClientID": "sigstore",
            "Type": "email", "CACert": ca_cert}}});
        let config = Arc::new(IssuerConfig::parse(&config.to_string()).expect("config"));
        TokenVerifier::new(config, VerifierOptions::default()).expect("verifier")
    };
    verifier_with(&pem)
        .verify(&token)
        .await
        .expect("trusted through CACert");
    let error = verifier_with("")
        .verify(&token)
        .await
        .expect_err("untrusted certificate");
    assert!(matches!(error, IdentityError::Discovery(_)), "{error:?}");
}
