//! `spiffe`: SAN URI = `sub`, challenge `sub`; `sub` is a SPIFFE ID in exactly the configured
//! trust domain (ca.md §7.2; SPIFFE-ID standard §2 for the syntax).

use super::{ExtensionSet, Principal, uri_principal};
use crate::IdentityError;
use crate::oidc::VerifiedToken;

pub(super) fn principal(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let subject = token.claims.required_text("sub")?;
    let trust_domain = trust_domain_of(&subject)
        .ok_or_else(|| IdentityError::ClaimRequirement("subject is not a SPIFFE ID".into()))?;
    if trust_domain != token.issuer.settings.spiffe_trust_domain {
        return Err(IdentityError::ClaimRequirement(
            "SPIFFE ID outside the configured trust domain".into(),
        ));
    }
    uri_principal(token, subject, ExtensionSet::default())
}

/// A trust domain: non-empty, lowercase letters, digits, `.`, `-`, `_`.
#[must_use]
pub fn valid_trust_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b".-_".contains(&c))
}

/// The trust domain of a valid SPIFFE ID.
fn trust_domain_of(id: &str) -> Option<&str> {
    let rest = id.strip_prefix("spiffe://")?;
    let (domain, path) = rest.find('/').map_or((rest, ""), |at| rest.split_at(at));
    if !valid_trust_domain(domain) {
        return None;
    }
    if !path.is_empty() {
        let segments_ok = path[1..].split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b".-_".contains(&c))
        });
        if !segments_ok {
            return None;
        }
    }
    Some(domain)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::IssuerType;
    use crate::principal::test_support::{issuer, token};

    #[test]
    fn spiffe_id_in_the_trust_domain() {
        let mut iss = issuer("https://spire.example.com", IssuerType::Spiffe);
        iss.settings.spiffe_trust_domain = "example.com".into();
        let ok = token(
            iss.clone(),
            json!({"sub": "spiffe://example.com/ns/prod/sa/builder", "aud": ["sigstore"]}),
        );
        let p = super::principal(&ok).expect("ok");
        assert_eq!(
            p.san,
            crate::San::Uri("spiffe://example.com/ns/prod/sa/builder".into())
        );
        for sub in [
            "spiffe://other.com/ns/prod",
            "spiffe://example.com/../x",
            "spiffe://Example.com/x",
            "https://example.com/x",
            "spiffe://example.com//x",
        ] {
            assert!(
                super::principal(&token(iss.clone(), json!({"sub": sub}))).is_err(),
                "{sub}"
            );
        }
    }
}
