//! Making the CA key in the token (`sigstack keys init --pkcs11-…`).

use std::path::Path;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::types::RawAuthPin;
use sigstack_core::certificate::CaKeyAlgorithm;

use super::ec;
use super::module::{self, TokenSelector};
use super::session::{KeySelector, Token, find};
use crate::SignerError;

/// A key pair made in a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    /// `CKA_ID` of both objects (random, 16 octets).
    pub id: Vec<u8>,
    /// The uncompressed point `04‖X‖Y`.
    pub point: Vec<u8>,
    /// DER SubjectPublicKeyInfo, for the certificate (`intermediate_for_key`).
    pub subject_public_key_info: Vec<u8>,
}

/// Makes an ECDSA P-384 key pair in the token labelled `token_label`, as
/// token objects labelled `key_label`: the private key sensitive, never
/// extractable, for signing only. Refuses a label already in use, so the
/// signer's lookup by label stays unambiguous.
///
/// # Errors
/// [`SignerError`]: the module, the token, the PIN, the label in use, or
/// the generation itself.
pub fn generate_p384(
    module_path: &Path,
    token_label: &str,
    pin: &[u8],
    key_label: &str,
) -> Result<GeneratedKey, SignerError> {
    let context = module::load(module_path)?;
    let selector = TokenSelector::Label(token_label.to_owned());
    let slot = module::find_slot(&context, module_path, &selector)?;
    let token = Token {
        context,
        module: module_path.to_owned(),
        slot,
        name: selector.to_string(),
        pin: RawAuthPin::new(Box::new(pin.to_vec())),
        pin_source: "the PIN given".into(),
    };
    let session = token.session(true)?;
    let label = key_label.as_bytes().to_vec();
    let by_label = KeySelector {
        label: Some(key_label.to_owned()),
        id: None,
    };
    for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
        if !find(&token, &session, &by_label.template(class))?.is_empty() {
            return Err(SignerError::KeyExists {
                token: token.name.clone(),
                key_label: key_label.to_owned(),
            });
        }
    }
    let mut id = vec![0; 16];
    aws_lc_rs::rand::fill(&mut id).map_err(|_| SignerError::MalformedKey {
        token: token.name.clone(),
        key: by_label.to_string(),
        what: "no randomness for its CKA_ID".into(),
    })?;
    let public_template = [
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::EcParams(ec::P384_PARAMS.to_vec()),
        Attribute::Label(label.clone()),
        Attribute::Id(id.clone()),
    ];
    let private_template = [
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Label(label),
        Attribute::Id(id.clone()),
    ];
    let (public, _private) = session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &public_template,
            &private_template,
        )
        .map_err(|e| token.pkcs11_error("C_GenerateKeyPair", e))?;
    let attributes = session
        .get_attributes(public, &[AttributeType::EcPoint])
        .map_err(|e| token.pkcs11_error("C_GetAttributeValue", e))?;
    let ec_point = attributes
        .into_iter()
        .find_map(|a| match a {
            Attribute::EcPoint(p) => Some(p),
            _ => None,
        })
        .unwrap_or_default();
    let algorithm = CaKeyAlgorithm::EcdsaP384Sha384;
    let point = ec::point_from_attribute(algorithm, &ec_point).map_err(|what| {
        SignerError::MalformedKey {
            token: token.name.clone(),
            key: by_label.to_string(),
            what,
        }
    })?;
    tracing::info!(
        module = %module_path.display(),
        token = %token.name,
        key_label,
        key_id = %hex::encode(&id),
        "generated a P-384 key pair in the token"
    );
    Ok(GeneratedKey {
        id,
        subject_public_key_info: ec::subject_public_key_info(algorithm, &point),
        point,
    })
}
