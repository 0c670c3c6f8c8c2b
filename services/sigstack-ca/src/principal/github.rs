//! `github-workflow` (legacy dedicated type): SAN `https://github.com/<job_workflow_ref>`,
//! challenge `sub`, and the GitHub extension list of ca.md §7.2 (.2–.6, .9–.22).

use super::{ExtensionSet, Principal, uri_principal};
use crate::IdentityError;
use crate::oidc::VerifiedToken;

const REQUIRED: [&str; 16] = [
    "job_workflow_ref",
    "sha",
    "event_name",
    "repository",
    "workflow",
    "ref",
    "job_workflow_sha",
    "runner_environment",
    "repository_id",
    "repository_owner",
    "repository_owner_id",
    "repository_visibility",
    "workflow_ref",
    "workflow_sha",
    "run_id",
    "run_attempt",
];

pub(super) fn principal(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let claims = &token.claims;
    for name in REQUIRED {
        claims.required_text(name)?;
    }
    let c = |name: &str| claims.text(name).unwrap_or_default();
    let github = |path: String| format!("https://github.com/{path}");
    let mut e = ExtensionSet::default();
    e.set(2, c("event_name"));
    e.set(3, c("sha"));
    e.set(4, c("workflow"));
    e.set(5, c("repository"));
    e.set(6, c("ref"));
    e.set(9, github(c("job_workflow_ref")));
    e.set(10, c("job_workflow_sha"));
    e.set(11, c("runner_environment"));
    e.set(12, github(c("repository")));
    e.set(13, c("sha"));
    e.set(14, c("ref"));
    e.set(15, c("repository_id"));
    e.set(16, github(c("repository_owner")));
    e.set(17, c("repository_owner_id"));
    e.set(18, github(c("workflow_ref")));
    e.set(19, c("workflow_sha"));
    e.set(20, c("event_name"));
    e.set(
        21,
        github(format!(
            "{}/actions/runs/{}/attempts/{}",
            c("repository"),
            c("run_id"),
            c("run_attempt")
        )),
    );
    e.set(22, c("repository_visibility"));
    uri_principal(token, github(c("job_workflow_ref")), e)
}

#[cfg(test)]
mod tests {
    use crate::IssuerType;
    use crate::principal::test_support::{github_claims, github_extensions, issuer, token};

    #[test]
    fn actions_token_carries_the_workflow_extensions() {
        let iss = issuer(
            "https://token.actions.githubusercontent.com",
            IssuerType::GithubWorkflow,
        );
        let p = super::principal(&token(iss.clone(), github_claims())).expect("ok");
        assert_eq!(p.san, crate::San::Uri("https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main".into()));
        assert_eq!(
            p.subject_for_pop,
            "repo:octo-org/octo-repo:ref:refs/heads/main"
        );
        assert_eq!(p.extensions, github_extensions());

        let mut missing = github_claims();
        missing["run_attempt"] = "".into();
        assert!(super::principal(&token(iss, missing)).is_err());
    }
}
