//! The entry every tree of the log starts with at index 0 (issue: no client
//! entry may ever have proof index 0, `spec/clients.md` §11): a valid
//! hashedrekord, signed with the log's own key, over the SHA-256 of the log's
//! public key (DER SubjectPublicKeyInfo). It goes through the same
//! canonicalisation and verification as any client entry.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use sigstack_core::entry::{CanonicalEntry, canonicalize_proposed};
use sigstack_core::note::{EcdsaP256NoteSigner, NoteSigner};

use crate::error::RekorError;

/// The canonical genesis entry of a tree signed by `signer`.
///
/// # Errors
/// When the key cannot sign (the entry is then not created).
pub fn genesis_entry(signer: &EcdsaP256NoteSigner) -> Result<CanonicalEntry, RekorError> {
    let spki = signer.public_key_spki_der();
    let digest = Sha256::digest(spki);
    // ECDSA over SHA-256 of the key: a signature over `digest`, as
    // hashedrekord verifies it.
    let signature = signer
        .sign(spki)
        .map_err(|e| RekorError::Internal(format!("signing the genesis entry: {e}")))?;
    let pem = crate::log::public_key_pem(spki)?;
    let proposed = serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": { "hash": { "algorithm": "sha256", "value": hex::encode(digest) } },
            "signature": {
                "content": STANDARD.encode(signature),
                "publicKey": { "content": STANDARD.encode(pem.as_bytes()) }
            }
        }
    });
    let bytes = serde_json::to_vec(&proposed).map_err(|e| RekorError::Internal(e.to_string()))?;
    canonicalize_proposed(&bytes)
        .map_err(|e| RekorError::Internal(format!("genesis entry refused: {e}")))
}
