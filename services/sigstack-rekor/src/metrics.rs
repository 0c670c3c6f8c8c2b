//! What the transparency log reports through the `metrics` facade.

use sigstack_core::entry::Kind;

use crate::RekorError;

/// The `log` label of the transparency log's series (the engine's too).
pub const LOG_LABEL: &str = "rekor";
/// Proposed entries by `kind` and `result` (`created`, `duplicate`,
/// `rejected`, `failed`).
pub const LOG_ENTRIES: &str = "sigstack_log_entries_total";
/// Upstream Rekor's counter of new entries.
pub const NEW_ENTRIES: &str = "rekor_new_entries";

/// Upstream's counter exists at zero from the start.
pub(crate) fn register() {
    metrics::counter!(NEW_ENTRIES).increment(0);
}

pub(crate) fn entry_submitted(kind: &'static str, result: Result<(), &RekorError>) {
    let outcome = match result {
        Ok(()) => {
            metrics::counter!(NEW_ENTRIES).increment(1);
            "created"
        }
        Err(RekorError::Duplicate { .. }) => "duplicate",
        Err(
            RekorError::BadRequest(_)
            | RekorError::Unprocessable { .. }
            | RekorError::TooLarge(_)
            | RekorError::NotFound(_)
            | RekorError::NotEnabled(_),
        ) => "rejected",
        Err(RekorError::Timeout | RekorError::Internal(_)) => "failed",
    };
    metrics::counter!(LOG_ENTRIES, "log" => LOG_LABEL, "kind" => kind, "result" => outcome)
        .increment(1);
}

/// The `kind` of a proposed entry that did not canonicalise, if it names
/// one (anything else is `unknown`, so a client cannot mint label values).
pub(crate) fn proposed_kind(proposed: &[u8]) -> &'static str {
    #[derive(serde::Deserialize)]
    struct Named {
        kind: Option<String>,
    }
    serde_json::from_slice::<Named>(proposed)
        .ok()
        .and_then(|n| n.kind)
        .and_then(|k| Kind::from_name(&k))
        .map_or("unknown", Kind::name)
}
