//! Principals: what a verified token says about its holder, per issuer type (ca.md §7.2, §7.3).
//!
//! One module per issuer type maps the claims to the certificate's one SAN, the value proof of
//! possession signs, and the Sigstore extensions of ca.md §8.3. Every principal carries the issuer
//! in .1 and .8 (always the same value) and the raw `sub` in .24; .7 is never an extension.

mod buildkite;
mod chainguard;
mod ci_provider;
mod codefresh;
mod email;
mod github;
mod gitlab;
mod kubernetes;
pub mod spiffe;
pub mod template;
mod uri;
mod username;

use std::collections::BTreeMap;

use crate::IdentityError;
use crate::issuer_config::{IssuerConfig, IssuerType};
use crate::oidc::VerifiedToken;

/// The one subjectAltName entry of the certificate (ca.md §8.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum San {
    /// rfc822Name.
    Email(String),
    /// uniformResourceIdentifier.
    Uri(String),
    /// otherName with type-id 1.3.6.1.4.1.57264.1.7 and UTF8String `"<sub>!<domain>"`.
    OtherNameUsername(String),
}

/// Everything issuance needs to know about the token holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The value proof of possession signs: `email` for email issuers, `sub` for the others
    /// (ca.md §15 item 9), or the issuer's `ChallengeClaim`.
    pub subject_for_pop: String,
    pub san: San,
    /// `(OID, value)` in emission order (ca.md §8.3): .1, .2–.6, .8, .9–.23, .24; empty ones left out.
    pub extensions: Vec<(String, String)>,
}

/// The Sigstore OID arc 1.3.6.1.4.1.57264.1.
pub const SIGSTORE_ARC: &str = "1.3.6.1.4.1.57264.1";

/// Maps a verified token to its principal by the issuer's type.
///
/// # Errors
/// [`IdentityError::ClaimRequirement`] when a type's token requirements fail, and
/// [`IdentityError::CertificateContent`] when a ci-provider template cannot render.
pub fn from_token(
    token: &VerifiedToken,
    config: &IssuerConfig,
) -> Result<Principal, IdentityError> {
    let settings = &token.issuer.settings;
    let mut principal = match settings.issuer_type {
        IssuerType::Email => email::principal(token)?,
        IssuerType::Uri => uri::principal(token)?,
        IssuerType::Username => username::principal(token)?,
        IssuerType::Spiffe => spiffe::principal(token)?,
        IssuerType::Kubernetes => kubernetes::principal(token)?,
        IssuerType::GithubWorkflow => github::principal(token)?,
        IssuerType::GitlabPipeline => gitlab::principal(token)?,
        IssuerType::BuildkiteJob => buildkite::principal(token)?,
        IssuerType::CodefreshWorkflow => codefresh::principal(token)?,
        IssuerType::ChainguardIdentity => chainguard::principal(token)?,
        IssuerType::CiProvider => {
            let metadata = config.ci_metadata(&settings.ci_provider).ok_or_else(|| {
                IdentityError::ClaimRequirement("ci provider metadata missing".into())
            })?;
            ci_provider::principal(token, metadata)?
        }
    };
    if !settings.challenge_claim.is_empty() {
        principal.subject_for_pop = token.claims.required_text(&settings.challenge_claim)?;
    }
    Ok(principal)
}

/// Sigstore extensions by last arc, emitted in ascending order, which is ca.md §8.3's order.
#[derive(Debug, Default)]
pub(crate) struct ExtensionSet(BTreeMap<u32, String>);

impl ExtensionSet {
    pub(crate) fn set(&mut self, arc: u32, value: impl Into<String>) {
        debug_assert!(arc != 7, "1.7 is the otherName type-id, never an extension");
        self.0.insert(arc, value.into());
    }

    /// Adds the issuer pair (.1, .8) and the token subject (.24), drops empty values.
    pub(crate) fn finish(mut self, issuer: &str, subject: &str) -> Vec<(String, String)> {
        self.0.insert(1, issuer.to_owned());
        self.0.insert(8, issuer.to_owned());
        self.0.insert(24, subject.to_owned());
        self.0
            .into_iter()
            .filter(|(arc, value)| !value.is_empty() || *arc == 1 || *arc == 8)
            .map(|(arc, value)| (format!("{SIGSTORE_ARC}.{arc}"), value))
            .collect()
    }
}

/// A principal whose SAN is a URI and whose challenge is `sub`, the common case.
pub(crate) fn uri_principal(
    token: &VerifiedToken,
    san: String,
    extensions: ExtensionSet,
) -> Result<Principal, IdentityError> {
    let subject = token.claims.required_text("sub")?;
    Ok(Principal {
        extensions: extensions.finish(&token.issuer.url, &subject),
        subject_for_pop: subject,
        san: San::Uri(san),
    })
}

/// Fulcio's "is an email" test, used to keep emails out of uri and username subjects.
pub(crate) fn looks_like_email(value: &str) -> bool {
    match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !value.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
pub(crate) mod test_support;
