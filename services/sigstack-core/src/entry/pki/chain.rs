//! Verification of a submitted certificate chain, leaf first, root last
//! (log.md §2.2: "a chain is first verified leaf→root, any EKU, at leaf
//! NotBefore").
//!
//! The reference hands the chain to Go's `x509.Certificate.Verify` with the
//! last certificate as the only root, the middle ones as intermediates, any
//! extended key usage, and the leaf's notBefore as the current time
//! (`sigstore/rekor: pkg/pki/x509/x509.go: verifyCertChain`). We check, for
//! the chain exactly as given:
//!
//! - every certificate, the root included, is valid at the leaf's notBefore;
//! - each certificate's issuer name equals the next one's subject (DER);
//! - each issuer may sign certificates (basic constraints cA, keyCertSign
//!   when key usage is present; Go's `CheckSignatureFrom`);
//! - each issuer's path length limit covers the intermediates below it;
//! - each signature verifies with the next certificate's key (ECDSA and
//!   PKCS#1 v1.5 RSA over SHA-256/384/512, Ed25519).
//!
//! Not checked, unlike Go: name constraints, unknown critical extensions,
//! RSA-PSS and SHA-1 certificate signatures (refused instead), and path
//! building — Go may find a path through an unordered or padded chain; we
//! take the order as given. The root's self-signature is not checked by
//! either: it is the anchor. No client sends anything but Fulcio's ordered
//! chain, which passes both.

use aws_lc_rs::signature::{ED25519, UnparsedPublicKey, VerificationAlgorithm};
use x509_cert::der::oid::db::{rfc5912, rfc8410};

use super::verify::digest_algorithm;
use super::{Certificate, HashAlgorithm, KeyType, PkiError};

/// CA-certificate signatures already verified, so that a chain seen again
/// (the same intermediate under the same root, for every leaf a CA issues)
/// costs one signature check instead of two. Only the signature check is
/// remembered, keyed by SHA-256 of the issuer's key and the certificate's
/// signed bytes and signature: the same inputs verify the same way, so the
/// cache never changes an answer. Every other check runs each time. Leaf
/// signatures are never cached (each leaf is new).
#[derive(Debug, Default)]
pub struct SignatureCache {
    verified: std::sync::Mutex<std::collections::HashSet<[u8; 32]>>,
}

/// Whether the leaf's own signature is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafSignature {
    /// Always, for anything a client submitted.
    Check,
    /// Not again: the leaf was signed a moment ago, in this process, by the
    /// key of the certificate it names as its issuer (the CA handing its own
    /// precertificate to the CT log beside it). Every other check still runs.
    MadeHere,
}

/// Entries before the cache starts over; a log sees a handful of CAs.
const SIGNATURE_CACHE_ENTRIES: usize = 1024;

impl SignatureCache {
    fn key(child: &Certificate, issuer: &Certificate) -> [u8; 32] {
        use sha2::{Digest as _, Sha256};
        let mut hash = Sha256::new();
        for part in [
            issuer.public_key().verification_input(),
            child.tbs_der(),
            child.signature().raw_bytes(),
        ] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        hash.finalize().into()
    }

    fn contains(&self, key: &[u8; 32]) -> bool {
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(key)
    }

    fn insert(&self, key: [u8; 32]) {
        let mut verified = self
            .verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if verified.len() >= SIGNATURE_CACHE_ENTRIES {
            verified.clear();
        }
        verified.insert(key);
    }
}

/// Verifies `chain` (leaf first) as described in the module docs. A chain of
/// one certificate has nothing to verify. With `cache`, the signatures of
/// CA certificates (not the leaf's) are looked up there first and added
/// once verified.
///
/// # Errors
/// [`PkiError::Chain`] naming the first failed check.
pub(crate) fn verify_chain(
    chain: &[&Certificate],
    cache: Option<&SignatureCache>,
    leaf_signature: LeafSignature,
) -> Result<(), PkiError> {
    let Some(leaf) = chain.first() else {
        return Err(PkiError::Chain("no certificate chain provided".into()));
    };
    if chain.len() == 1 {
        return Ok(());
    }
    let (at, _) = leaf.validity();
    for (i, cert) in chain.iter().enumerate() {
        let (not_before, not_after) = cert.validity();
        if at < not_before || at > not_after {
            return Err(PkiError::Chain(format!(
                "certificate {i} is not valid at the leaf's notBefore"
            )));
        }
    }
    for (i, pair) in chain.windows(2).enumerate() {
        let [child, issuer] = pair else { continue };
        let names_match = matches!(
            (child.issuer_der(), issuer.subject_der()),
            (Ok(a), Ok(b)) if a == b
        );
        if !names_match {
            return Err(PkiError::Chain(format!(
                "certificate {i} was not issued by certificate {}",
                i + 1
            )));
        }
        if !issuer.may_sign_certificates() {
            return Err(PkiError::Chain(format!(
                "certificate {} may not sign certificates",
                i + 1
            )));
        }
        // `i` intermediates sit between the leaf and this issuer.
        if issuer
            .max_path_len()
            .is_some_and(|max| i > usize::from(max))
        {
            return Err(PkiError::Chain(format!(
                "certificate {} allows fewer intermediates",
                i + 1
            )));
        }
        if i == 0 && leaf_signature == LeafSignature::MadeHere {
            continue;
        }
        let cached = cache
            .filter(|_| i > 0)
            .map(|c| (c, SignatureCache::key(child, issuer)));
        if let Some((cache, key)) = &cached
            && cache.contains(key)
        {
            continue;
        }
        verify_issued_by(child, issuer)
            .map_err(|why| PkiError::Chain(format!("certificate {i} signature: {why}")))?;
        if let Some((cache, key)) = cached {
            cache.insert(key);
        }
    }
    Ok(())
}

fn verify_issued_by(child: &Certificate, issuer: &Certificate) -> Result<(), String> {
    let algorithm = child.signature_algorithm();
    let key = issuer.public_key();
    let verifier = signature_verifier(algorithm.oid, key.key_type()).ok_or_else(|| {
        format!(
            "unsupported algorithm {} for this issuer key",
            algorithm.oid
        )
    })?;
    let is_rsa = matches!(key.key_type(), KeyType::Rsa { .. });
    // ECDSA and Ed25519 identifiers have absent parameters; PKCS#1 v1.5 ones
    // NULL (or, tolerated by Go, absent).
    let params_ok = match &algorithm.parameters {
        None => true,
        Some(p) => is_rsa && p.is_null(),
    };
    if !params_ok {
        return Err("unexpected signature algorithm parameters".into());
    }
    let signature = child
        .signature()
        .as_bytes()
        .ok_or_else(|| "signature bit string has unused bits".to_owned())?;
    UnparsedPublicKey::new(verifier, key.verification_input())
        .verify(child.tbs_der(), signature)
        .map_err(|_| "does not verify".to_owned())
}

fn signature_verifier(
    algorithm: spki::ObjectIdentifier,
    issuer: KeyType,
) -> Option<&'static dyn VerificationAlgorithm> {
    let hash = match algorithm {
        rfc8410::ID_ED_25519 => return (issuer == KeyType::Ed25519).then_some(&ED25519),
        rfc5912::ECDSA_WITH_SHA_256 | rfc5912::SHA_256_WITH_RSA_ENCRYPTION => HashAlgorithm::Sha256,
        rfc5912::ECDSA_WITH_SHA_384 | rfc5912::SHA_384_WITH_RSA_ENCRYPTION => HashAlgorithm::Sha384,
        rfc5912::ECDSA_WITH_SHA_512 | rfc5912::SHA_512_WITH_RSA_ENCRYPTION => HashAlgorithm::Sha512,
        _ => return None,
    };
    let is_ecdsa_algorithm = matches!(
        algorithm,
        rfc5912::ECDSA_WITH_SHA_256 | rfc5912::ECDSA_WITH_SHA_384 | rfc5912::ECDSA_WITH_SHA_512
    );
    let is_rsa_key = matches!(issuer, KeyType::Rsa { .. });
    if is_ecdsa_algorithm == is_rsa_key || issuer == KeyType::Ed25519 {
        return None;
    }
    digest_algorithm(issuer, hash)
}
