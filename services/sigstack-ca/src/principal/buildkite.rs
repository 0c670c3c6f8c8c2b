//! `buildkite-job` (legacy dedicated type): SAN
//! `https://buildkite.com/<organization_slug>/<pipeline_slug>`, challenge `sub` (ca.md §7.2).

use super::{ExtensionSet, Principal, uri_principal};
use crate::IdentityError;
use crate::oidc::VerifiedToken;

pub(super) fn principal(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let organization = token.claims.required_text("organization_slug")?;
    let pipeline = token.claims.required_text("pipeline_slug")?;
    uri_principal(
        token,
        format!("https://buildkite.com/{organization}/{pipeline}"),
        ExtensionSet::default(),
    )
}

#[cfg(test)]
mod tests {
    use crate::IssuerType;
    use crate::principal::test_support::{buildkite_claims, issuer, token};

    #[test]
    fn job_token() {
        let iss = issuer("https://agent.buildkite.com", IssuerType::BuildkiteJob);
        let p = super::principal(&token(iss.clone(), buildkite_claims())).expect("ok");
        assert_eq!(
            p.san,
            crate::San::Uri("https://buildkite.com/acme-inc/super-duper-app".into())
        );
        let mut bad = buildkite_claims();
        bad["pipeline_slug"] = "".into();
        assert!(super::principal(&token(iss, bad)).is_err());
    }
}
