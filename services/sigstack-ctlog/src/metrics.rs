//! What the CT log reports through the `metrics` facade.

use crate::CtError;

/// The `log` label of the CT log's series (the engine's too).
pub const LOG_LABEL: &str = "ct";
/// Submitted chains by `kind` (`x509_entry`, `precert_entry`) and `result`
/// (`created`, `rejected`, `failed`), beside the transparency log's.
pub const LOG_ENTRIES: &str = "sigstack_log_entries_total";
/// SCTs signed and returned.
pub const SCTS_ISSUED: &str = "sigstack_ct_scts_issued_total";

pub(crate) fn chain_submitted(precert: bool, result: Result<(), &CtError>) {
    let kind = if precert {
        "precert_entry"
    } else {
        "x509_entry"
    };
    let outcome = match result {
        Ok(()) => {
            metrics::counter!(SCTS_ISSUED, "log" => LOG_LABEL).increment(1);
            "created"
        }
        Err(CtError::BadRequest(_) | CtError::TooLarge(_) | CtError::NotFound(_)) => "rejected",
        Err(CtError::Unavailable(_) | CtError::Internal(_)) => "failed",
    };
    metrics::counter!(LOG_ENTRIES, "log" => LOG_LABEL, "kind" => kind, "result" => outcome)
        .increment(1);
}
