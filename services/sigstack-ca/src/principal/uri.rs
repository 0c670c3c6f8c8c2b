//! `uri`: SAN URI = `sub`, challenge `sub`; `sub` is no email and shares scheme and host with
//! `SubjectDomain` (ca.md §7.2).

use super::{ExtensionSet, Principal, looks_like_email, uri_principal};
use crate::IdentityError;
use crate::oidc::VerifiedToken;

pub(super) fn principal(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let subject = token.claims.required_text("sub")?;
    let reject = |why: &str| IdentityError::ClaimRequirement(why.to_owned());
    if looks_like_email(&subject) {
        return Err(reject("uri subject is an email"));
    }
    let subject_url = url::Url::parse(&subject).map_err(|_| reject("uri subject is not a URL"))?;
    let domain = url::Url::parse(&token.issuer.settings.subject_domain)
        .map_err(|_| reject("subject domain is not a URL"))?;
    if subject_url.scheme() != domain.scheme() || subject_url.host_str() != domain.host_str() {
        return Err(reject("uri subject is outside the subject domain"));
    }
    uri_principal(token, subject, ExtensionSet::default())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::IssuerType;
    use crate::principal::test_support::{issuer, token};

    #[test]
    fn subject_must_live_in_the_subject_domain() {
        let mut iss = issuer("https://accounts.example.com", IssuerType::Uri);
        iss.settings.subject_domain = "https://example.com".into();
        let p = super::principal(&token(
            iss.clone(),
            json!({"sub": "https://example.com/users/alice"}),
        ))
        .expect("ok");
        assert_eq!(
            p.san,
            crate::San::Uri("https://example.com/users/alice".into())
        );
        assert_eq!(p.subject_for_pop, "https://example.com/users/alice");
        for sub in [
            "https://evil.com/users/alice",
            "http://example.com/a",
            "alice@example.com",
        ] {
            assert!(
                super::principal(&token(iss.clone(), json!({"sub": sub}))).is_err(),
                "{sub}"
            );
        }
    }
}
