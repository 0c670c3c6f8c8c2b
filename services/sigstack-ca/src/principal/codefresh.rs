//! `codefresh-workflow` (legacy dedicated type): SAN
//! `<platform_url>/<account_name>/<pipeline_name>:<account_id>/<pipeline_id>`, challenge `sub`,
//! extensions as ca.md §7.2 lists them. The platform defaults to `https://g.codefresh.io`.

use super::{ExtensionSet, Principal, uri_principal};
use crate::IdentityError;
use crate::oidc::VerifiedToken;

pub(super) fn principal(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let claims = &token.claims;
    let account_id = claims.required_text("account_id")?;
    let pipeline_id = claims.required_text("pipeline_id")?;
    let workflow_id = claims.required_text("workflow_id")?;
    let c = |name: &str| claims.text(name).unwrap_or_default();
    let platform = claims
        .text("platform_url")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "https://g.codefresh.io".into());
    let san = format!(
        "{platform}/{}/{}:{account_id}/{pipeline_id}",
        c("account_name"),
        c("pipeline_name")
    );
    let build = format!("{platform}/build/{workflow_id}");
    let mut e = ExtensionSet::default();
    e.set(9, build.clone());
    e.set(11, c("runner_environment"));
    e.set(12, c("scm_repo_url"));
    e.set(14, c("scm_ref"));
    e.set(18, format!("{platform}/api/pipelines/{pipeline_id}"));
    e.set(21, build);
    uri_principal(token, san, e)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::IssuerType;
    use crate::principal::test_support::{ext, issuer, token};

    #[test]
    fn workflow_token() {
        let t = token(
            issuer("https://oidc.codefresh.io", IssuerType::CodefreshWorkflow),
            json!({
                "sub": "account:628a80b693a15c0f9c13ab75:pipeline:65e6d5551e5e2ba4f8d1e1ab", "account_id": "628a80b693a15c0f9c13ab75",
                "account_name": "acme", "pipeline_id": "65e6d5551e5e2ba4f8d1e1ab", "pipeline_name": "widget/build",
                "workflow_id": "65e6ebe0bfbfa1782876165e", "scm_repo_url": "https://github.com/acme/widget",
                "scm_ref": "main", "runner_environment": "hybrid", "aud": "sigstore", "iss": "https://oidc.codefresh.io"
            }),
        );
        let p = super::principal(&t).expect("ok");
        assert_eq!(p.san, crate::San::Uri("https://g.codefresh.io/acme/widget/build:628a80b693a15c0f9c13ab75/65e6d5551e5e2ba4f8d1e1ab".into()));
        assert!(p.extensions.contains(&ext(
            21,
            "https://g.codefresh.io/build/65e6ebe0bfbfa1782876165e"
        )));
        assert!(p.extensions.contains(&ext(
            18,
            "https://g.codefresh.io/api/pipelines/65e6d5551e5e2ba4f8d1e1ab"
        )));
    }
}
