//! `chainguard-identity`: SAN URI `<iss>/<sub>`; challenge `email` if present (and then it must
//! be verified), else `sub` (ca.md §7.2).

use super::{ExtensionSet, Principal, San};
use crate::IdentityError;
use crate::oidc::VerifiedToken;

pub(super) fn principal(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let subject = token.claims.required_text("sub")?;
    let challenge = match token.claims.text("email").filter(|e| !e.is_empty()) {
        Some(email) if token.claims.email_verified() => email,
        Some(_) => {
            return Err(IdentityError::ClaimRequirement(
                "email not verified by the issuer".into(),
            ));
        }
        None => subject.clone(),
    };
    Ok(Principal {
        san: San::Uri(format!("{}/{subject}", token.issuer.url)),
        extensions: ExtensionSet::default().finish(&token.issuer.url, &subject),
        subject_for_pop: challenge,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::IssuerType;
    use crate::principal::test_support::{issuer, token};

    #[test]
    fn identity_token() {
        let iss = issuer("https://issuer.enforce.dev", IssuerType::ChainguardIdentity);
        let p = super::principal(&token(iss.clone(), json!({"sub": "abc123/def456"}))).expect("ok");
        assert_eq!(
            p.san,
            crate::San::Uri("https://issuer.enforce.dev/abc123/def456".into())
        );
        assert_eq!(p.subject_for_pop, "abc123/def456");
        let with_email = token(
            iss.clone(),
            json!({"sub": "s", "email": "a@b.example", "email_verified": true}),
        );
        assert_eq!(
            super::principal(&with_email).expect("ok").subject_for_pop,
            "a@b.example"
        );
        assert!(
            super::principal(&token(iss, json!({"sub": "s", "email": "a@b.example"}))).is_err()
        );
    }
}
