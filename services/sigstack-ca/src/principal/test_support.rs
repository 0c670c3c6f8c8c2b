//! Builders shared by the principal tests.

use crate::issuer_config::{IssuerType, OidcIssuer, ResolvedIssuer};
use crate::oidc::{Claims, VerifiedToken};

pub(crate) fn issuer(url: &str, issuer_type: IssuerType) -> ResolvedIssuer {
    let text = serde_json::json!({"IssuerURL": url, "ClientID": "sigstore", "Type": issuer_type_name(issuer_type)});
    let settings: OidcIssuer = serde_json::from_value(text).expect("issuer object");
    ResolvedIssuer {
        url: url.to_owned(),
        settings,
    }
}

fn issuer_type_name(issuer_type: IssuerType) -> &'static str {
    match issuer_type {
        IssuerType::Email => "email",
        IssuerType::Uri => "uri",
        IssuerType::Username => "username",
        IssuerType::Spiffe => "spiffe",
        IssuerType::Kubernetes => "kubernetes",
        IssuerType::GithubWorkflow => "github-workflow",
        IssuerType::GitlabPipeline => "gitlab-pipeline",
        IssuerType::BuildkiteJob => "buildkite-job",
        IssuerType::CodefreshWorkflow => "codefresh-workflow",
        IssuerType::ChainguardIdentity => "chainguard-identity",
        IssuerType::CiProvider => "ci-provider",
    }
}

pub(crate) fn token(issuer: ResolvedIssuer, claims: serde_json::Value) -> VerifiedToken {
    let serde_json::Value::Object(map) = claims else {
        panic!("claims must be an object")
    };
    VerifiedToken {
        issuer,
        claims: Claims::from(map),
    }
}

pub(crate) fn ext(arc: u32, value: &str) -> (String, String) {
    (format!("1.3.6.1.4.1.57264.1.{arc}"), value.to_owned())
}

/// A GitHub Actions token's claims, as the runner's token service issues them.
pub(crate) fn github_claims() -> serde_json::Value {
    serde_json::json!({
        "jti": "3f7b5f0e-8a4c-4c6e-9a0b-0b8d6c3a1e22", "sub": "repo:octo-org/octo-repo:ref:refs/heads/main",
        "aud": "sigstore", "ref": "refs/heads/main", "sha": "a81bc81b3d1c2f6e4a5b9c0d7e8f1a2b3c4d5e6f",
        "repository": "octo-org/octo-repo", "repository_owner": "octo-org", "repository_owner_id": "9919",
        "run_id": "6042123456", "run_number": "42", "run_attempt": "1", "repository_visibility": "public",
        "repository_id": "354321", "actor_id": "1234", "actor": "octocat", "workflow": "Release",
        "head_ref": "", "base_ref": "", "event_name": "push", "ref_protected": "true", "ref_type": "branch",
        "workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
        "workflow_sha": "a81bc81b3d1c2f6e4a5b9c0d7e8f1a2b3c4d5e6f",
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
        "job_workflow_sha": "a81bc81b3d1c2f6e4a5b9c0d7e8f1a2b3c4d5e6f", "runner_environment": "github-hosted",
        "iss": "https://token.actions.githubusercontent.com", "nbf": 1_700_000_000, "exp": 1_700_000_600, "iat": 1_700_000_300
    })
}

/// The extensions both the legacy github-workflow type and the public-good template produce.
pub(crate) fn github_extensions() -> Vec<(String, String)> {
    let sha = "a81bc81b3d1c2f6e4a5b9c0d7e8f1a2b3c4d5e6f";
    let workflow =
        "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main";
    let iss = "https://token.actions.githubusercontent.com";
    vec![
        ext(1, iss),
        ext(2, "push"),
        ext(3, sha),
        ext(4, "Release"),
        ext(5, "octo-org/octo-repo"),
        ext(6, "refs/heads/main"),
        ext(8, iss),
        ext(9, workflow),
        ext(10, sha),
        ext(11, "github-hosted"),
        ext(12, "https://github.com/octo-org/octo-repo"),
        ext(13, sha),
        ext(14, "refs/heads/main"),
        ext(15, "354321"),
        ext(16, "https://github.com/octo-org"),
        ext(17, "9919"),
        ext(18, workflow),
        ext(19, sha),
        ext(20, "push"),
        ext(
            21,
            "https://github.com/octo-org/octo-repo/actions/runs/6042123456/attempts/1",
        ),
        ext(22, "public"),
        ext(24, "repo:octo-org/octo-repo:ref:refs/heads/main"),
    ]
}

/// A GitLab CI job token's claims.
pub(crate) fn gitlab_claims() -> serde_json::Value {
    serde_json::json!({
        "namespace_id": "72", "namespace_path": "acme", "project_id": "20", "project_path": "acme/widget",
        "user_id": "5", "user_login": "dev", "user_email": "dev@acme.example", "user_access_level": "maintainer",
        "pipeline_id": "1212", "pipeline_source": "push", "job_id": "4411", "ref": "main", "ref_type": "branch",
        "ref_path": "refs/heads/main", "ref_protected": "true", "runner_id": 17, "runner_environment": "gitlab-hosted",
        "sha": "714a629c0b401fdce83e847fc9589983fc6f46bc", "project_visibility": "public",
        "ci_config_ref_uri": "gitlab.com/acme/widget//.gitlab-ci.yml@refs/heads/main",
        "ci_config_sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
        "jti": "235b3a54-b797-45c7-ae9a-f72d7bc6ef5b", "iss": "https://gitlab.com", "iat": 1_700_000_000,
        "nbf": 1_699_999_995, "exp": 1_700_003_600, "sub": "project_path:acme/widget:ref_type:branch:ref:main",
        "aud": "sigstore"
    })
}

pub(crate) fn gitlab_extensions() -> Vec<(String, String)> {
    let sha = "714a629c0b401fdce83e847fc9589983fc6f46bc";
    let config = "https://gitlab.com/acme/widget//.gitlab-ci.yml@refs/heads/main";
    vec![
        ext(1, "https://gitlab.com"),
        ext(8, "https://gitlab.com"),
        ext(9, config),
        ext(10, sha),
        ext(11, "gitlab-hosted"),
        ext(12, "https://gitlab.com/acme/widget"),
        ext(13, sha),
        ext(14, "refs/heads/main"),
        ext(15, "20"),
        ext(16, "https://gitlab.com/acme"),
        ext(17, "72"),
        ext(18, config),
        ext(19, sha),
        ext(20, "push"),
        ext(21, "https://gitlab.com/acme/widget/-/jobs/4411"),
        ext(22, "public"),
        ext(24, "project_path:acme/widget:ref_type:branch:ref:main"),
    ]
}

/// A Buildkite agent job token's claims.
pub(crate) fn buildkite_claims() -> serde_json::Value {
    serde_json::json!({
        "iss": "https://agent.buildkite.com", "sub": "organization:acme-inc:pipeline:super-duper-app:ref:refs/heads/main:commit:9f3182061f1e2cca4702c368cbc039b7dc9d4485:step:build",
        "aud": "sigstore", "iat": 1_700_000_000, "nbf": 1_700_000_000, "exp": 1_700_000_300,
        "organization_slug": "acme-inc", "pipeline_slug": "super-duper-app", "build_number": 1,
        "build_branch": "main", "build_tag": null, "build_commit": "9f3182061f1e2cca4702c368cbc039b7dc9d4485",
        "build_source": "ui", "step_key": "build", "job_id": "0184990a-477b-4fa8-9968-496074483cee",
        "agent_id": "0184990a-4782-42b5-afc1-16715b10b8ff", "runner_environment": "buildkite-hosted"
    })
}
