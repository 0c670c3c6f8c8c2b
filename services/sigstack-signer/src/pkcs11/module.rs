//! Loading a PKCS#11 module and finding its token.
//!
//! `C_Initialize` and `C_Finalize` act on the whole process, and a module
//! refuses a second `C_Initialize` (PKCS#11 v2.40 §5.4). So each module is
//! loaded and initialised once per process, kept for the life of the
//! process, and shared by every signer and key generation that names it:
//! closing one signer's sessions never finalises another's module.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::slot::Slot;

use crate::SignerError;

static LOADED: Mutex<Vec<(PathBuf, Pkcs11)>> = Mutex::new(Vec::new());

/// The initialised module at `path`.
pub(crate) fn load(path: &Path) -> Result<Pkcs11, SignerError> {
    // A panic elsewhere while holding the lock leaves the list intact.
    let mut loaded = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, context)) = loaded.iter().find(|(p, _)| p == path) {
        return Ok(context.clone());
    }
    let context = Pkcs11::new(path).map_err(|source| SignerError::Module {
        module: path.to_owned(),
        source,
    })?;
    // OS locking: sessions are used from many threads at once (one each).
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        // Another path to the same library (a symlink) initialised it.
        Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(source) => {
            return Err(SignerError::Pkcs11 {
                module: path.to_owned(),
                operation: "C_Initialize",
                source,
            });
        }
    }
    loaded.push((path.to_owned(), context.clone()));
    Ok(context)
}

/// Which token: by label (as `pkcs11-tool --token-label`) or by slot ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenSelector {
    Label(String),
    Slot(u64),
}

impl std::fmt::Display for TokenSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Label(label) => write!(f, "label {label:?}"),
            Self::Slot(id) => write!(f, "slot {id}"),
        }
    }
}

/// The slot holding the one initialised token `selector` names.
pub(crate) fn find_slot(
    context: &Pkcs11,
    module: &Path,
    selector: &TokenSelector,
) -> Result<Slot, SignerError> {
    let pkcs11 = |operation, source| SignerError::Pkcs11 {
        module: module.to_owned(),
        operation,
        source,
    };
    let slots = context
        .get_slots_with_initialized_token()
        .map_err(|e| pkcs11("C_GetSlotList", e))?;
    let mut matching = Vec::new();
    for slot in slots {
        let found = match selector {
            TokenSelector::Slot(id) => slot.id() == *id,
            TokenSelector::Label(label) => {
                let info = context
                    .get_token_info(slot)
                    .map_err(|e| pkcs11("C_GetTokenInfo", e))?;
                info.label() == label
            }
        };
        if found {
            matching.push(slot);
        }
    }
    match matching.as_slice() {
        [slot] => Ok(*slot),
        [] => Err(SignerError::TokenNotFound {
            module: module.to_owned(),
            token: selector.to_string(),
        }),
        more => Err(SignerError::TokenAmbiguous {
            module: module.to_owned(),
            token: selector.to_string(),
            count: more.len(),
        }),
    }
}
