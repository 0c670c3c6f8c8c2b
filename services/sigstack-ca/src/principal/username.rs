//! `username`: SAN otherName `"<sub>!<SubjectDomain>"` (type-id 1.7), challenge `sub`; `sub` has
//! no `!` and is no email (ca.md §7.2).

use super::{ExtensionSet, Principal, San, looks_like_email};
use crate::IdentityError;
use crate::oidc::VerifiedToken;

pub(super) fn principal(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let subject = token.claims.required_text("sub")?;
    if subject.contains('!') || looks_like_email(&subject) {
        return Err(IdentityError::ClaimRequirement(
            "username subject has a '!' or is an email".into(),
        ));
    }
    Ok(Principal {
        san: San::OtherNameUsername(format!(
            "{subject}!{}",
            token.issuer.settings.subject_domain
        )),
        extensions: ExtensionSet::default().finish(&token.issuer.url, &subject),
        subject_for_pop: subject,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::IssuerType;
    use crate::principal::test_support::{ext, issuer, token};

    #[test]
    fn username_is_joined_with_the_domain() {
        let mut iss = issuer("https://accounts.example.com", IssuerType::Username);
        iss.settings.subject_domain = "example.com".into();
        let p = super::principal(&token(iss.clone(), json!({"sub": "alice"}))).expect("ok");
        assert_eq!(
            p.san,
            crate::San::OtherNameUsername("alice!example.com".into())
        );
        assert_eq!(p.subject_for_pop, "alice");
        assert!(!p.extensions.contains(&ext(7, "alice!example.com")));
        assert!(super::principal(&token(iss, json!({"sub": "al!ce"}))).is_err());
    }
}
