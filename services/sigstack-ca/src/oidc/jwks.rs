//! Discovery documents, JSON Web Key Sets and JWS signature checks (RFC 7515, 7517, 7518; OpenID
//! Connect Discovery 1.0 §3, §4), over aws-lc-rs.

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// The fields of a discovery document we use.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Discovery {
    pub(crate) issuer: String,
    pub(crate) jwks_uri: String,
    #[serde(default)]
    pub(crate) id_token_signing_alg_values_supported: Vec<String>,
}

/// The JWS algorithms Fulcio accepts (ca.md §6 step 5); `none` is not among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    Es512,
    EdDsa,
}

impl Algorithm {
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "RS256" => Self::Rs256,
            "RS384" => Self::Rs384,
            "RS512" => Self::Rs512,
            "PS256" => Self::Ps256,
            "PS384" => Self::Ps384,
            "PS512" => Self::Ps512,
            "ES256" => Self::Es256,
            "ES384" => Self::Es384,
            "ES512" => Self::Es512,
            "EdDSA" => Self::EdDsa,
            _ => return None,
        })
    }

    /// The algorithms an issuer allows: what discovery offers ∩ ours, else RS256 alone.
    pub(crate) fn allowed_by(discovery: &Discovery) -> Vec<Self> {
        let offered: Vec<Self> = discovery
            .id_token_signing_alg_values_supported
            .iter()
            .filter_map(|n| Self::from_name(n))
            .collect();
        if offered.is_empty() {
            vec![Self::Rs256]
        } else {
            offered
        }
    }
}

/// One usable public key of a JWKS.
#[derive(Debug, Clone)]
pub(crate) struct Jwk {
    pub(crate) kid: Option<String>,
    material: KeyMaterial,
}

#[derive(Debug, Clone)]
enum KeyMaterial {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// Uncompressed SEC1 point and the curve name.
    Ec {
        curve: String,
        point: Vec<u8>,
    },
    Ed25519(Vec<u8>),
}

#[derive(Deserialize)]
struct RawKeySet {
    keys: Vec<RawKey>,
}

#[derive(Deserialize)]
struct RawKey {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    key_use: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// Parses a JWKS, keeping the signature keys it understands and skipping the rest.
pub(crate) fn parse_key_set(bytes: &[u8]) -> Result<Vec<Jwk>, String> {
    let set: RawKeySet =
        serde_json::from_slice(bytes).map_err(|e| format!("jwks does not parse: {e}"))?;
    let decode = |field: &Option<String>| {
        field
            .as_deref()
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
    };
    let keys = set
        .keys
        .into_iter()
        .filter(|key| key.key_use.as_deref().is_none_or(|u| u == "sig"))
        .filter_map(|key| {
            let material = match (key.kty.as_str(), key.crv.as_deref()) {
                ("RSA", _) => KeyMaterial::Rsa {
                    n: decode(&key.n)?,
                    e: decode(&key.e)?,
                },
                ("EC", Some(curve)) => {
                    let (x, y) = (decode(&key.x)?, decode(&key.y)?);
                    let mut point = Vec::with_capacity(1 + x.len() + y.len());
                    point.push(0x04);
                    point.extend_from_slice(&x);
                    point.extend_from_slice(&y);
                    KeyMaterial::Ec {
                        curve: curve.to_owned(),
                        point,
                    }
                }
                ("OKP", Some("Ed25519")) => KeyMaterial::Ed25519(decode(&key.x)?),
                _ => return None,
            };
            Some(Jwk {
                kid: key.kid,
                material,
            })
        })
        .collect();
    Ok(keys)
}

impl Jwk {
    /// Whether this key can check `algorithm` at all (so a key of another type is not tried).
    pub(crate) fn fits(&self, algorithm: Algorithm) -> bool {
        use Algorithm as A;
        match &self.material {
            KeyMaterial::Rsa { .. } => matches!(
                algorithm,
                A::Rs256 | A::Rs384 | A::Rs512 | A::Ps256 | A::Ps384 | A::Ps512
            ),
            KeyMaterial::Ec { curve, .. } => matches!(
                (algorithm, curve.as_str()),
                (A::Es256, "P-256") | (A::Es384, "P-384") | (A::Es512, "P-521")
            ),
            KeyMaterial::Ed25519(_) => algorithm == A::EdDsa,
        }
    }

    /// Checks a JWS signature (ECDSA signatures are the fixed `r‖s` form of RFC 7518 §3.4).
    pub(crate) fn verifies(&self, algorithm: Algorithm, message: &[u8], sig: &[u8]) -> bool {
        use Algorithm as A;
        match &self.material {
            KeyMaterial::Rsa { n, e } => {
                let params = match algorithm {
                    A::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    A::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    A::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    A::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
                    A::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
                    A::Ps512 => &signature::RSA_PSS_2048_8192_SHA512,
                    _ => return false,
                };
                RsaPublicKeyComponents { n, e }
                    .verify(params, message, sig)
                    .is_ok()
            }
            KeyMaterial::Ec { point, .. } => {
                let params = match algorithm {
                    A::Es256 => &signature::ECDSA_P256_SHA256_FIXED,
                    A::Es384 => &signature::ECDSA_P384_SHA384_FIXED,
                    A::Es512 => &signature::ECDSA_P521_SHA512_FIXED,
                    _ => return false,
                };
                UnparsedPublicKey::new(params, point)
                    .verify(message, sig)
                    .is_ok()
            }
            KeyMaterial::Ed25519(x) => {
                algorithm == A::EdDsa
                    && UnparsedPublicKey::new(&signature::ED25519, x)
                        .verify(message, sig)
                        .is_ok()
            }
        }
    }
}
