//! The `ephemeral` backend: a P-384 hierarchy made in memory at start, as
//! Fulcio's `ephemeralca` (tests and laptops only). Every certificate it
//! signs becomes unverifiable once the process exits.

use std::time::{SystemTime, UNIX_EPOCH};

use sigstack_core::certificate::{InMemoryCaSigner, new_hierarchy};

use crate::{CaKey, SignerError};

const COMMON_NAME: &str = "sigstack ephemeral";
/// Back-dated so clients whose clock lags a little accept it at once.
const BACKDATE_SECONDS: i64 = 300;
const YEARS: i64 = 10;

pub(crate) fn open(allowed: bool) -> Result<CaKey, SignerError> {
    if !allowed {
        return Err(SignerError::EphemeralRefused);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let hierarchy = new_hierarchy(COMMON_NAME, now - BACKDATE_SECONDS, YEARS)?;
    let signer = InMemoryCaSigner::from_pkcs8(&hierarchy.intermediate.key_pkcs8_der)?;
    tracing::warn!(
        common_name = COMMON_NAME,
        "using an ephemeral ca key made in memory and lost at exit: every certificate it \
         signs becomes unverifiable after a restart; for development only"
    );
    Ok(CaKey {
        signer: Box::new(signer),
        generated_chain: Some(vec![
            hierarchy.intermediate.certificate_der,
            hierarchy.root.certificate_der,
        ]),
    })
}
