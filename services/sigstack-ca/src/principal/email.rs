//! `email`: SAN rfc822Name = `email`, challenge `email`; `email_verified` must be true unless
//! `SkipEmailVerification`; the issuer extensions hold `iss` or the `IssuerClaim` value (ca.md §7.2).

use super::{ExtensionSet, Principal, San, looks_like_email};
use crate::IdentityError;
use crate::oidc::VerifiedToken;

pub(super) fn principal(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let settings = &token.issuer.settings;
    let email = token.claims.required_text("email")?;
    if !looks_like_email(&email) {
        return Err(IdentityError::ClaimRequirement(
            "email claim is not an email address".into(),
        ));
    }
    if !settings.skip_email_verification && !token.claims.email_verified() {
        return Err(IdentityError::ClaimRequirement(
            "email not verified by the issuer".into(),
        ));
    }
    let issuer = if settings.issuer_claim.is_empty() {
        token.issuer.url.clone()
    } else {
        token
            .claims
            .json_path_text(&settings.issuer_claim)
            .ok_or_else(|| IdentityError::ClaimRequirement("issuer claim missing".into()))?
    };
    let subject = token.claims.text("sub").unwrap_or_default();
    Ok(Principal {
        extensions: ExtensionSet::default().finish(&issuer, &subject),
        subject_for_pop: email.clone(),
        san: San::Email(email),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::IssuerType;
    use crate::principal::test_support::{ext, issuer, token};

    #[test]
    fn verified_email_becomes_the_san_and_the_challenge() {
        let t = token(
            issuer("https://accounts.google.com", IssuerType::Email),
            json!({
                "iss": "https://accounts.google.com", "aud": "sigstore", "sub": "1044", "email": "dev@example.com",
                "email_verified": true, "exp": 1, "iat": 0
            }),
        );
        let p = super::principal(&t).expect("principal");
        assert_eq!(p.san, crate::San::Email("dev@example.com".into()));
        assert_eq!(p.subject_for_pop, "dev@example.com");
        assert_eq!(
            p.extensions,
            vec![
                ext(1, "https://accounts.google.com"),
                ext(8, "https://accounts.google.com"),
                ext(24, "1044")
            ]
        );
    }

    #[test]
    fn email_verified_is_required_and_strings_count() {
        let iss = issuer("https://idp.example.com", IssuerType::Email);
        for (verified, ok) in [
            (json!(false), false),
            (json!(null), false),
            (json!("True"), true),
            (json!("true"), true),
        ] {
            let t = token(
                iss.clone(),
                json!({"sub": "s", "email": "a@b.example", "email_verified": verified}),
            );
            assert_eq!(super::principal(&t).is_ok(), ok, "{verified}");
        }
        let mut skip = iss.clone();
        skip.settings.skip_email_verification = true;
        assert!(
            super::principal(&token(skip, json!({"sub": "s", "email": "a@b.example"}))).is_ok()
        );
        let bad = token(
            iss,
            json!({"sub": "s", "email": "not-an-email", "email_verified": true}),
        );
        assert!(super::principal(&bad).is_err());
    }

    #[test]
    fn issuer_claim_replaces_iss_in_both_issuer_extensions() {
        let mut iss = issuer("https://oauth2.sigstore.dev/auth", IssuerType::Email);
        iss.settings.issuer_claim = "$.federated_claims.connector_id".into();
        let t = token(
            iss,
            json!({"sub": "s", "email": "a@b.example", "email_verified": true,
            "federated_claims": {"connector_id": "https://github.com/login/oauth", "user_id": "1"}}),
        );
        let p = super::principal(&t).expect("principal");
        assert_eq!(p.extensions[0], ext(1, "https://github.com/login/oauth"));
        assert_eq!(p.extensions[1], ext(8, "https://github.com/login/oauth"));
    }
}
