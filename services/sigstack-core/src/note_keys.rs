//! Note signers and verifiers for the two key types sigstack's logs use
//! (log.md §4.2, "Key ID per signature type"):
//!
//! - Ed25519 (signed-note type `0x01`): key ID =
//!   `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ 32-byte key)[:4]`, pure Ed25519 over the text.
//! - ECDSA P-256 (type `0x02`, "as implemented by transparency-dev/witness"):
//!   key ID = `SHA-256(DER SubjectPublicKeyInfo)[:4]`, with no name and no type
//!   byte, which is also the Rekor v1 key hint and the first 4 bytes of the
//!   logID (log.md §4.1). The signature is ASN.1 DER ECDSA over SHA-256(text),
//!   the only form every v1 client accepts (log.md §3).
//!
//! Signing and verification run on aws-lc-rs, which is much faster than
//! RustCrypto on these hot paths; RustCrypto (`p256`) only parses and encodes
//! the SPKI so key IDs come from one canonical encoding.

use std::fmt;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::error::Unspecified;
use aws_lc_rs::pkcs8::Document;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, ED25519, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair as _, ParsedPublicKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
use sha2::{Digest, Sha256};

use crate::ids::LogId;
use crate::note::{NoteError, NoteSigner, NoteVerifier, SignError, is_valid_key_name};

/// signed-note's type byte for Ed25519.
const ED25519_TYPE: u8 = 0x01;

/// Signs notes with an Ed25519 key held by aws-lc-rs.
pub struct Ed25519NoteSigner {
    verifier: Ed25519NoteVerifier,
    key_pair: Ed25519KeyPair,
}

/// Verifies Ed25519 note signatures by one named key.
#[derive(Clone)]
pub struct Ed25519NoteVerifier {
    name: String,
    key_id: [u8; 4],
    public_key: [u8; 32],
    parsed: ParsedPublicKey,
}

/// Signs notes with an ECDSA P-256 key held by aws-lc-rs (the Rekor v1 log key).
pub struct EcdsaP256NoteSigner {
    verifier: EcdsaP256NoteVerifier,
    key_pair: EcdsaKeyPair,
}

/// Verifies ECDSA P-256 note signatures by one named key.
#[derive(Clone)]
pub struct EcdsaP256NoteVerifier {
    name: String,
    spki_der: Vec<u8>,
    log_id: LogId,
    parsed: ParsedPublicKey,
}

impl Ed25519NoteSigner {
    /// Loads a PKCS#8 (v1 or v2) Ed25519 private key.
    ///
    /// # Errors
    /// [`SignError::InvalidKeyName`] or [`SignError::KeyRejected`].
    pub fn from_pkcs8(name: &str, der: &[u8]) -> Result<Self, SignError> {
        let key_pair =
            Ed25519KeyPair::from_pkcs8(der).map_err(|e| SignError::KeyRejected(e.to_string()))?;
        Self::with_key_pair(name, key_pair)
    }

    /// Generates a fresh key; persist it with [`Self::pkcs8_der`].
    ///
    /// # Errors
    /// [`SignError::InvalidKeyName`], or [`SignError::Backend`] if aws-lc fails.
    pub fn generate(name: &str) -> Result<Self, SignError> {
        let key_pair = Ed25519KeyPair::generate().map_err(backend)?;
        Self::with_key_pair(name, key_pair)
    }

    fn with_key_pair(name: &str, key_pair: Ed25519KeyPair) -> Result<Self, SignError> {
        let verifier = own_verifier(Ed25519NoteVerifier::new(
            name,
            key_pair.public_key().as_ref(),
        ))?;
        Ok(Self { verifier, key_pair })
    }

    /// The private key as PKCS#8 v1 DER, for the caller to store.
    ///
    /// # Errors
    /// [`SignError::Backend`] if aws-lc cannot encode the key.
    pub fn pkcs8_der(&self) -> Result<Vec<u8>, SignError> {
        pkcs8_bytes(self.key_pair.to_pkcs8v1())
    }

    pub fn public_key(&self) -> &[u8; 32] {
        self.verifier.public_key()
    }

    pub fn verifier(&self) -> Ed25519NoteVerifier {
        self.verifier.clone()
    }

    /// The verifier key, `<name>+<hex key ID>+<base64(0x01 ‖ key)>` (signed-note
    /// §Verifier keys), as witnesses and `note` tools configure it.
    pub fn vkey(&self) -> String {
        self.verifier.vkey()
    }
}

impl NoteSigner for Ed25519NoteSigner {
    fn name(&self) -> &str {
        &self.verifier.name
    }
    fn key_id(&self) -> [u8; 4] {
        self.verifier.key_id
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        Ok(self.key_pair.sign(message).as_ref().to_vec())
    }
}

impl fmt::Debug for Ed25519NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519NoteSigner")
            .field("vkey", &self.verifier.vkey())
            .field("private_key", &"<redacted>")
            .finish()
    }
}

impl Ed25519NoteVerifier {
    /// A verifier for the raw 32-byte Ed25519 `key` under `name`.
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`] or [`NoteError::InvalidPublicKey`].
    pub fn new(name: &str, key: &[u8]) -> Result<Self, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName(name.to_owned()));
        }
        let public_key: [u8; 32] = key.try_into().map_err(|_| {
            NoteError::InvalidPublicKey(format!("Ed25519 key has {} bytes, not 32", key.len()))
        })?;
        let parsed = ParsedPublicKey::new(&ED25519, public_key)
            .map_err(|e| NoteError::InvalidPublicKey(e.to_string()))?;
        Ok(Self {
            name: name.to_owned(),
            key_id: ed25519_key_id(name, &public_key),
            public_key,
            parsed,
        })
    }

    /// Parses a verifier key `<name>+<hex key ID>+<base64(0x01 ‖ key)>`.
    ///
    /// # Errors
    /// [`NoteError::InvalidPublicKey`] when the vkey is malformed, is not of
    /// type Ed25519, or states a key ID its key does not derive.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        let bad = |why: &str| NoteError::InvalidPublicKey(format!("vkey {vkey:?}: {why}"));
        // A name has no '+', but base64 may, so split twice only.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(encoded)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected name+keyid+key"));
        };
        if id_hex.len() != 8 {
            return Err(bad("key ID is not 8 hex digits"));
        }
        let mut stated = [0u8; 4];
        hex::decode_to_slice(id_hex, &mut stated).map_err(|_| bad("key ID is not hex"))?;
        let blob = STANDARD
            .decode(encoded)
            .map_err(|_| bad("key is not standard base64"))?;
        let Some((&ED25519_TYPE, key)) = blob.split_first() else {
            return Err(bad("not an Ed25519 (type 0x01) key"));
        };
        let verifier = Self::new(name, key)?;
        if verifier.key_id != stated {
            return Err(bad("key ID does not match the key"));
        }
        Ok(verifier)
    }

    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    /// The verifier key in signed-note §Verifier keys form.
    pub fn vkey(&self) -> String {
        let mut blob = Vec::with_capacity(33);
        blob.push(ED25519_TYPE);
        blob.extend_from_slice(&self.public_key);
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id),
            STANDARD.encode(blob)
        )
    }
}

impl NoteVerifier for Ed25519NoteVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> [u8; 4] {
        self.key_id
    }
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.parsed.verify_sig(message, signature).is_ok()
    }
}

impl fmt::Debug for Ed25519NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519NoteVerifier")
            .field("vkey", &self.vkey())
            .finish()
    }
}

impl EcdsaP256NoteSigner {
    /// Loads a PKCS#8 v1 P-256 private key.
    ///
    /// # Errors
    /// [`SignError::InvalidKeyName`], or [`SignError::KeyRejected`] for
    /// anything but a valid P-256 key (log.md §3: the log key is P-256).
    pub fn from_pkcs8(name: &str, der: &[u8]) -> Result<Self, SignError> {
        let key_pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der)
            .map_err(|e| SignError::KeyRejected(e.to_string()))?;
        Self::with_key_pair(name, key_pair)
    }

    /// Generates a fresh key; persist it with [`Self::pkcs8_der`].
    ///
    /// # Errors
    /// [`SignError::InvalidKeyName`], or [`SignError::Backend`] if aws-lc fails.
    pub fn generate(name: &str) -> Result<Self, SignError> {
        let key_pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).map_err(backend)?;
        Self::with_key_pair(name, key_pair)
    }

    fn with_key_pair(name: &str, key_pair: EcdsaKeyPair) -> Result<Self, SignError> {
        let spki_der = key_pair.public_key().as_der().map_err(backend)?;
        let verifier = own_verifier(EcdsaP256NoteVerifier::from_spki_der(
            name,
            spki_der.as_ref(),
        ))?;
        Ok(Self { verifier, key_pair })
    }

    /// The private key as PKCS#8 v1 DER, for the caller to store.
    ///
    /// # Errors
    /// [`SignError::Backend`] if aws-lc cannot encode the key.
    pub fn pkcs8_der(&self) -> Result<Vec<u8>, SignError> {
        pkcs8_bytes(self.key_pair.to_pkcs8v1())
    }

    /// DER SubjectPublicKeyInfo of the key, as `GET /api/v1/log/publicKey`
    /// and the trusted root publish it.
    pub fn public_key_spki_der(&self) -> &[u8] {
        self.verifier.public_key_spki_der()
    }

    /// SHA-256 of the SPKI DER: the Rekor v1 logID (log.md §3, §4.1).
    pub fn log_id(&self) -> LogId {
        self.verifier.log_id
    }

    pub fn verifier(&self) -> EcdsaP256NoteVerifier {
        self.verifier.clone()
    }
}

impl NoteSigner for EcdsaP256NoteSigner {
    fn name(&self) -> &str {
        &self.verifier.name
    }
    fn key_id(&self) -> [u8; 4] {
        key_id_of(&self.verifier.log_id)
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        // aws-lc draws its own randomness; the argument exists for ring parity.
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let signature = self.key_pair.sign(&rng, message).map_err(backend)?;
        Ok(signature.as_ref().to_vec())
    }
}

impl fmt::Debug for EcdsaP256NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcdsaP256NoteSigner")
            .field("name", &self.verifier.name)
            .field("log_id", &self.verifier.log_id)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

impl EcdsaP256NoteVerifier {
    /// A verifier for a P-256 key given as DER SubjectPublicKeyInfo.
    ///
    /// The key is re-encoded canonically (uncompressed point, as Go's
    /// `x509.MarshalPKIXPublicKey` writes it) before hashing, so the key ID
    /// and logID match Rekor's even for a compressed-point input.
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`], or [`NoteError::InvalidPublicKey`] for
    /// anything but a P-256 SPKI.
    pub fn from_spki_der(name: &str, der: &[u8]) -> Result<Self, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName(name.to_owned()));
        }
        let key = p256::PublicKey::from_public_key_der(der)
            .map_err(|e| NoteError::InvalidPublicKey(format!("not a P-256 SPKI: {e}")))?;
        let spki_der = key
            .to_public_key_der()
            .map_err(|e| NoteError::InvalidPublicKey(e.to_string()))?
            .as_bytes()
            .to_vec();
        let parsed = ParsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &spki_der)
            .map_err(|e| NoteError::InvalidPublicKey(e.to_string()))?;
        Ok(Self {
            name: name.to_owned(),
            log_id: LogId(Sha256::digest(&spki_der).into()),
            spki_der,
            parsed,
        })
    }

    /// The canonical DER SubjectPublicKeyInfo.
    pub fn public_key_spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    pub fn log_id(&self) -> LogId {
        self.log_id
    }
}

impl NoteVerifier for EcdsaP256NoteVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> [u8; 4] {
        key_id_of(&self.log_id)
    }
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.parsed.verify_sig(message, signature).is_ok()
    }
}

impl fmt::Debug for EcdsaP256NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcdsaP256NoteVerifier")
            .field("name", &self.name)
            .field("log_id", &self.log_id)
            .finish()
    }
}

/// A signer's own verifier: a bad name keeps its variant; any other refusal
/// means aws-lc produced a public key that the verifier cannot take.
fn own_verifier<V>(built: Result<V, NoteError>) -> Result<V, SignError> {
    built.map_err(|e| match e {
        NoteError::InvalidKeyName(name) => SignError::InvalidKeyName(name),
        other => SignError::KeyRejected(other.to_string()),
    })
}

fn pkcs8_bytes(doc: Result<Document, Unspecified>) -> Result<Vec<u8>, SignError> {
    Ok(doc.map_err(backend)?.as_ref().to_vec())
}

fn backend(e: Unspecified) -> SignError {
    SignError::Backend(Box::new(e))
}

/// signed-note §Ed25519 signatures: `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4]`.
fn ed25519_key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ED25519_TYPE]);
    h.update(public_key);
    let digest: [u8; 32] = h.finalize().into();
    key_id_of(&LogId(digest))
}

/// The first four bytes of a full key hash (log.md §4.1: key hint = `logID[:4]`).
fn key_id_of(full: &LogId) -> [u8; 4] {
    let [a, b, c, d, ..] = full.0;
    [a, b, c, d]
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::pkcs8::DecodePrivateKey as _;

    #[test]
    fn ed25519_key_id_matches_published_vkey() {
        let blob = STANDARD
            .decode("AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
            .expect("base64");
        let key: [u8; 32] = blob[1..].try_into().expect("32 bytes");
        assert_eq!(
            hex::encode(ed25519_key_id("example.com/foo", &key)),
            "530d903a"
        );
        let v = Ed25519NoteVerifier::new("example.com/foo", &key).expect("valid");
        assert_eq!(
            v.vkey(),
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
        );
    }

    #[test]
    fn vkey_rejections() {
        let good = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
        assert!(Ed25519NoteVerifier::from_vkey(good).is_ok());
        for bad in [
            "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "example.com/foo+530d903a",
            "example.com/foo+530d90+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        ] {
            assert!(Ed25519NoteVerifier::from_vkey(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ed25519_pkcs8_round_trip_and_vkey() {
        let signer = Ed25519NoteSigner::generate("example.com/log").expect("generates");
        let der = signer.pkcs8_der().expect("encodes");
        let again = Ed25519NoteSigner::from_pkcs8("example.com/log", &der).expect("loads");
        assert_eq!(again.public_key(), signer.public_key());
        let v = Ed25519NoteVerifier::from_vkey(&signer.vkey()).expect("own vkey parses");
        assert_eq!(v.key_id(), signer.key_id());
        let sig = signer.sign(b"m\n").expect("signs");
        assert!(v.verify(b"m\n", &sig));
        assert!(!v.verify(b"n\n", &sig));
    }

    #[test]
    fn ecdsa_key_id_is_sha256_of_spki_computed_independently() {
        let signer = EcdsaP256NoteSigner::generate("rekor.example.com").expect("generates");
        let der = signer.pkcs8_der().expect("encodes");
        // RustCrypto's SPKI, from the PKCS#8 alone, against aws-lc's.
        let secret = p256::SecretKey::from_pkcs8_der(&der).expect("p256 reads aws-lc PKCS#8");
        let spki = secret.public_key().to_public_key_der().expect("encodes");
        assert_eq!(spki.as_bytes(), signer.public_key_spki_der());
        let digest: [u8; 32] = Sha256::digest(spki.as_bytes()).into();
        assert_eq!(signer.log_id().0, digest);
        assert_eq!(signer.key_id(), digest[..4]);
        let v = signer.verifier();
        assert_eq!(v.key_id(), signer.key_id());
        assert_eq!(v.log_id(), signer.log_id());
    }

    #[test]
    fn ecdsa_signature_is_der_over_sha256() {
        let signer = EcdsaP256NoteSigner::generate("rekor.example.com").expect("generates");
        let sig = signer.sign(b"text\n").expect("signs");
        // Checked with RustCrypto: ASN.1 DER ECDSA over SHA-256 of the text.
        use p256::ecdsa::signature::Verifier as _;
        let key = p256::ecdsa::VerifyingKey::from_public_key_der(signer.public_key_spki_der())
            .expect("spki");
        let der_sig = p256::ecdsa::DerSignature::try_from(sig.as_slice()).expect("DER");
        assert!(key.verify(b"text\n", &der_sig).is_ok());
        let loaded = EcdsaP256NoteSigner::from_pkcs8("h", &signer.pkcs8_der().expect("der"))
            .expect("reloads");
        assert_eq!(loaded.log_id(), signer.log_id());
    }

    #[test]
    fn ecdsa_compressed_spki_gets_the_canonical_key_id() {
        let signer = EcdsaP256NoteSigner::generate("k").expect("generates");
        let key = p256::PublicKey::from_public_key_der(signer.public_key_spki_der()).expect("spki");
        let point = p256::elliptic_curve::sec1::ToSec1Point::to_sec1_point(&key, true);
        // SPKI { id-ecPublicKey, prime256v1 } with a 33-byte compressed point.
        let mut compressed =
            hex::decode("3039301306072a8648ce3d020106082a8648ce3d030107032200").expect("hex");
        compressed.extend_from_slice(point.as_bytes());
        let v = EcdsaP256NoteVerifier::from_spki_der("k", &compressed).expect("P-256");
        assert_eq!(v.public_key_spki_der(), signer.public_key_spki_der());
        assert_eq!(v.log_id(), signer.log_id());
    }

    #[test]
    fn ecdsa_verifier_rejects_other_curves_and_junk() {
        let ed = Ed25519NoteSigner::generate("k").expect("generates");
        let mut ed_spki = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        ed_spki.extend_from_slice(ed.public_key());
        assert!(EcdsaP256NoteVerifier::from_spki_der("k", &ed_spki).is_err());
        assert!(EcdsaP256NoteVerifier::from_spki_der("k", b"junk").is_err());
        let ec = EcdsaP256NoteSigner::generate("k").expect("generates");
        assert!(EcdsaP256NoteVerifier::from_spki_der("a b", ec.public_key_spki_der()).is_err());
    }

    #[test]
    fn debug_hides_private_keys() {
        let ed = Ed25519NoteSigner::generate("k").expect("generates");
        let ec = EcdsaP256NoteSigner::generate("k").expect("generates");
        // PKCS#8 v1 Ed25519 is a 16-byte header, then the 32-byte seed.
        let seed = hex::encode(&ed.pkcs8_der().expect("der")[16..48]);
        let scalar = p256::SecretKey::from_pkcs8_der(&ec.pkcs8_der().expect("der"))
            .expect("p256 reads aws-lc PKCS#8")
            .to_bytes();
        for (text, secret) in [
            (format!("{ed:?}"), seed),
            (format!("{ec:?}"), hex::encode(scalar)),
        ] {
            assert!(text.contains("<redacted>"), "{text}");
            assert!(!text.contains(&secret), "{text}");
        }
    }

    #[test]
    fn signer_names_are_checked() {
        assert!(matches!(
            Ed25519NoteSigner::generate("a+b"),
            Err(SignError::InvalidKeyName(_))
        ));
        assert!(matches!(
            EcdsaP256NoteSigner::generate(""),
            Err(SignError::InvalidKeyName(_))
        ));
    }
}
