//! `gitlab-pipeline` (legacy dedicated type): SAN `https://<ci_config_ref_uri>`, challenge `sub`,
//! extensions as ca.md §7.2 lists them.

use super::{ExtensionSet, Principal, uri_principal};
use crate::IdentityError;
use crate::oidc::VerifiedToken;

const REQUIRED: [&str; 12] = [
    "project_path",
    "pipeline_source",
    "pipeline_id",
    "ci_config_ref_uri",
    "job_id",
    "ref",
    "namespace_path",
    "namespace_id",
    "project_id",
    "sha",
    "runner_environment",
    "ref_type",
];

pub(super) fn principal(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let claims = &token.claims;
    for name in REQUIRED {
        claims.required_text(name)?;
    }
    let reject = |why: &str| IdentityError::ClaimRequirement(why.to_owned());
    if claims
        .get("runner_id")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0)
        == 0
    {
        return Err(reject("runner_id missing or zero"));
    }
    let c = |name: &str| claims.text(name).unwrap_or_default();
    let source_ref = match c("ref_type").as_str() {
        "branch" => format!("refs/heads/{}", c("ref")),
        "tag" => format!("refs/tags/{}", c("ref")),
        _ => return Err(reject("ref_type is neither branch nor tag")),
    };
    let san = format!("https://{}", c("ci_config_ref_uri"));
    let mut e = ExtensionSet::default();
    e.set(9, san.clone());
    e.set(10, c("ci_config_sha"));
    e.set(11, c("runner_environment"));
    e.set(12, format!("https://gitlab.com/{}", c("project_path")));
    e.set(13, c("sha"));
    e.set(14, source_ref);
    e.set(15, c("project_id"));
    e.set(16, format!("https://gitlab.com/{}", c("namespace_path")));
    e.set(17, c("namespace_id"));
    e.set(18, san.clone());
    e.set(19, c("ci_config_sha"));
    e.set(20, c("pipeline_source"));
    e.set(
        21,
        format!(
            "https://gitlab.com/{}/-/jobs/{}",
            c("project_path"),
            c("job_id")
        ),
    );
    e.set(22, c("project_visibility"));
    uri_principal(token, san, e)
}

#[cfg(test)]
mod tests {
    use crate::IssuerType;
    use crate::principal::test_support::{gitlab_claims, gitlab_extensions, issuer, token};

    #[test]
    fn pipeline_token() {
        let iss = issuer("https://gitlab.com", IssuerType::GitlabPipeline);
        let p = super::principal(&token(iss.clone(), gitlab_claims())).expect("ok");
        assert_eq!(
            p.san,
            crate::San::Uri(
                "https://gitlab.com/acme/widget//.gitlab-ci.yml@refs/heads/main".into()
            )
        );
        assert_eq!(p.extensions, gitlab_extensions());
        let mut bad = gitlab_claims();
        bad["runner_id"] = 0.into();
        assert!(super::principal(&token(iss.clone(), bad)).is_err());
        let mut bad = gitlab_claims();
        bad["ref_type"] = "mr".into();
        assert!(super::principal(&token(iss, bad)).is_err());
    }
}
