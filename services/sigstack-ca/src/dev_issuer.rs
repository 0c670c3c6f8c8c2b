//! A small, real OIDC issuer for a laptop or an air-gapped box without an
//! identity provider: a discovery document, a JWKS, and ES256 ID tokens it
//! mints on request. The CA verifies its tokens over HTTP exactly as it
//! verifies any other issuer's; nothing about it is special-cased.
//!
//! It is for development, demos, benchmarks and tests: whoever can reach
//! [`DevIssuer::token`] (a local command, not an HTTP endpoint) gets any
//! identity. Production deployments configure their own issuers instead.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// How long a token lives unless asked otherwise: ten minutes.
pub const DEFAULT_TOKEN_SECONDS: i64 = 600;

/// Why the issuer could not start or mint.
#[derive(Debug, thiserror::Error)]
pub enum DevIssuerError {
    #[error("the dev issuer key is not an ECDSA P-256 PKCS#8 key")]
    Key,
    #[error("signing a token failed")]
    Signing,
    #[error("extra claims must be a JSON object")]
    Claims,
}

/// What one token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub subject: String,
    /// With `email_verified: true` (sigstore-js refuses an unverified email).
    pub email: Option<String>,
    /// A single string: sigstore-rs refuses an array.
    pub audience: String,
    /// Merged last, so they can override anything above (tests use this).
    pub extra_claims: serde_json::Map<String, Value>,
    pub lifetime_seconds: i64,
}

impl TokenRequest {
    #[must_use]
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            email: None,
            audience: "sigstore".into(),
            extra_claims: serde_json::Map::new(),
            lifetime_seconds: DEFAULT_TOKEN_SECONDS,
        }
    }

    #[must_use]
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }
}

/// The issuer: its URL (`iss`) and its signing key.
pub struct DevIssuer {
    url: String,
    key: EcdsaKeyPair,
    kid: String,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("url", &self.url)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl DevIssuer {
    /// The issuer at `url` (no trailing slash: it is the `iss` value and the
    /// prefix of the discovery path) with the PKCS#8 P-256 key `pkcs8`.
    ///
    /// # Errors
    /// [`DevIssuerError::Key`] for a key that is not P-256 PKCS#8.
    pub fn from_pkcs8(url: impl Into<String>, pkcs8: &[u8]) -> Result<Self, DevIssuerError> {
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
            .map_err(|_| DevIssuerError::Key)?;
        let digest = Sha256::digest(key.public_key().as_ref());
        let kid = URL_SAFE_NO_PAD.encode(&digest[..16]);
        Ok(Self {
            url: url.into().trim_end_matches('/').to_owned(),
            key,
            kid,
        })
    }

    /// A new P-256 key, PKCS#8 DER, for [`DevIssuer::from_pkcs8`].
    ///
    /// # Errors
    /// [`DevIssuerError::Key`] when no key can be generated.
    pub fn generate_pkcs8() -> Result<Vec<u8>, DevIssuerError> {
        let document =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| DevIssuerError::Key)?;
        Ok(document.as_ref().to_vec())
    }

    /// The `iss` value.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    #[must_use]
    pub fn key_id(&self) -> &str {
        &self.kid
    }

    /// The OpenID Provider metadata (OIDC Discovery 1.0 §3).
    #[must_use]
    pub fn discovery(&self) -> Value {
        json!({
            "issuer": self.url,
            "jwks_uri": format!("{}/jwks", self.url),
            "authorization_endpoint": format!("{}/auth", self.url),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nbf", "email", "email_verified"],
        })
    }

    /// The JWKS with the one public key (RFC 7517, RFC 7518 §6.2).
    #[must_use]
    pub fn jwks(&self) -> Value {
        let point = self.key.public_key().as_ref();
        json!({"keys": [{
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        }]})
    }

    /// A signed ID token for `request`, issued now.
    ///
    /// # Errors
    /// [`DevIssuerError::Signing`] when the key fails.
    pub fn token(&self, request: &TokenRequest) -> Result<String, DevIssuerError> {
        self.token_at(request, crate::issuance::unix_now())
    }

    /// [`DevIssuer::token`] issued at `now` (Unix seconds).
    ///
    /// # Errors
    /// As [`DevIssuer::token`].
    pub fn token_at(&self, request: &TokenRequest, now: i64) -> Result<String, DevIssuerError> {
        let mut claims = serde_json::Map::new();
        claims.insert("iss".into(), self.url.clone().into());
        claims.insert("sub".into(), request.subject.clone().into());
        claims.insert("aud".into(), request.audience.clone().into());
        claims.insert("iat".into(), now.into());
        claims.insert("nbf".into(), now.into());
        claims.insert("exp".into(), (now + request.lifetime_seconds).into());
        if let Some(email) = &request.email {
            claims.insert("email".into(), email.clone().into());
            claims.insert("email_verified".into(), true.into());
        }
        for (name, value) in &request.extra_claims {
            claims.insert(name.clone(), value.clone());
        }
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        self.sign_jws(&header, &Value::Object(claims))
    }

    /// A compact JWS of `claims` under `header`, signed with the issuer key
    /// whatever the header says (tests forge headers with this).
    ///
    /// # Errors
    /// As [`DevIssuer::token`].
    pub fn sign_jws(&self, header: &Value, claims: &Value) -> Result<String, DevIssuerError> {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|_| DevIssuerError::Signing)?;
        Ok(format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }

    /// The discovery document and JWKS at the paths the URL implies, to be
    /// nested under the URL's path (e.g. `/oidc`).
    pub fn router(self: std::sync::Arc<Self>) -> Router {
        let discovery = self.discovery();
        let jwks = self.jwks();
        Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || std::future::ready(axum::Json(discovery.clone()))),
            )
            .route(
                "/jwks",
                get(move || std::future::ready(axum::Json(jwks.clone()))),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_the_requested_claims_and_verify_with_the_jwks() {
        let issuer = DevIssuer::from_pkcs8(
            "http://127.0.0.1:9/oidc/",
            &DevIssuer::generate_pkcs8().expect("key"),
        )
        .expect("issuer");
        assert_eq!(issuer.url(), "http://127.0.0.1:9/oidc");
        let token = issuer
            .token_at(&TokenRequest::new("alice").email("alice@example.com"), 1000)
            .expect("token");
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        assert_eq!(claims["iss"], "http://127.0.0.1:9/oidc");
        assert_eq!(claims["aud"], "sigstore");
        assert_eq!(claims["exp"], 1600);
        assert_eq!(claims["email_verified"], true);
        let jwk = &issuer.jwks()["keys"][0];
        let mut point = vec![4u8];
        for c in ["x", "y"] {
            point.extend(
                URL_SAFE_NO_PAD
                    .decode(jwk[c].as_str().expect("coord"))
                    .expect("b64"),
            );
        }
        let key = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
            point,
        );
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("b64");
        key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .expect("signature verifies with the published key");
        assert_eq!(
            issuer.discovery()["jwks_uri"],
            "http://127.0.0.1:9/oidc/jwks"
        );
    }
}
