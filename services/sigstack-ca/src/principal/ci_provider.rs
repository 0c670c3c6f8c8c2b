//! `ci-provider`: SAN and extensions rendered from the provider's templates (ca.md §7.3).
//!
//! Top-level claims are flattened to strings over the `DefaultTemplateValues` (claims win).
//! Rendering failures are certificate-content errors whose text reaches the client (ca.md §14).
//! Issuer and subject are always the token's `iss` and `sub`, never templated.

use std::collections::BTreeMap;

use super::template::Template;
use super::{ExtensionSet, Principal, San};
use crate::IdentityError;
use crate::issuer_config::CiIssuerMetadata;
use crate::oidc::VerifiedToken;

pub(super) fn principal(
    token: &VerifiedToken,
    metadata: &CiIssuerMetadata,
) -> Result<Principal, IdentityError> {
    let mut values: BTreeMap<String, String> = metadata.default_template_values.clone();
    values.extend(token.claims.flattened());
    let render = |text: &str| {
        Template::parse(text)
            .and_then(|t| t.render(&values))
            .map_err(IdentityError::CertificateContent)
    };
    let san = render(&metadata.subject_alternative_name_template)?;
    url::Url::parse(&san).map_err(|e| {
        IdentityError::CertificateContent(format!("subject alternative name {san:?}: {e}"))
    })?;
    let mut e = ExtensionSet::default();
    for (oid, text) in metadata.extension_templates.by_oid() {
        if text.is_empty() {
            continue;
        }
        let arc = oid
            .rsplit('.')
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or(0);
        e.set(arc, render(text)?);
    }
    let subject = token.claims.required_text("sub")?;
    Ok(Principal {
        extensions: e.finish(&token.issuer.url, &subject),
        subject_for_pop: subject,
        san: San::Uri(san),
    })
}

#[cfg(test)]
mod tests;
