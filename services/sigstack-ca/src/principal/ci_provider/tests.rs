use crate::IssuerConfig;
use crate::principal::test_support::{
    buildkite_claims, ext, github_claims, github_extensions, gitlab_claims, gitlab_extensions,
    token,
};

fn config() -> IssuerConfig {
    IssuerConfig::parse(include_str!("../../testdata/fulcio-config.yaml")).expect("config loads")
}

fn principal_for(
    iss: &str,
    claims: serde_json::Value,
) -> Result<crate::Principal, crate::IdentityError> {
    let config = config();
    let issuer = config.resolve(iss).expect("configured issuer");
    crate::principal::from_token(&token(issuer, claims), &config)
}

#[test]
fn github_template_matches_the_legacy_type() {
    let p = principal_for(
        "https://token.actions.githubusercontent.com",
        github_claims(),
    )
    .expect("ok");
    assert_eq!(
        p.san,
        crate::San::Uri(
            "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main"
                .into()
        )
    );
    assert_eq!(
        p.subject_for_pop,
        "repo:octo-org/octo-repo:ref:refs/heads/main"
    );
    // The template adds nothing more: `environment` defaults to "" and empty values are omitted.
    assert_eq!(p.extensions, github_extensions());
    let mut deploy = github_claims();
    deploy["environment"] = "production".into();
    let p = principal_for("https://token.actions.githubusercontent.com", deploy).expect("ok");
    assert!(p.extensions.contains(&ext(23, "production")));
}

#[test]
fn gitlab_template_matches_the_legacy_type() {
    let p = principal_for("https://gitlab.com", gitlab_claims()).expect("ok");
    assert_eq!(
        p.san,
        crate::San::Uri("https://gitlab.com/acme/widget//.gitlab-ci.yml@refs/heads/main".into())
    );
    assert_eq!(p.extensions, gitlab_extensions());
    let mut tag = gitlab_claims();
    tag["ref_type"] = "tag".into();
    tag["ref"] = "v1.2.0".into();
    let p = principal_for("https://gitlab.com", tag).expect("ok");
    assert!(p.extensions.contains(&ext(14, "refs/tags/v1.2.0")));
}

#[test]
fn buildkite_template_prints_numbers_as_integers() {
    let p = principal_for("https://agent.buildkite.com", buildkite_claims()).expect("ok");
    assert_eq!(
        p.san,
        crate::San::Uri("https://buildkite.com/acme-inc/super-duper-app".into())
    );
    assert!(p.extensions.contains(&ext(21, "https://buildkite.com/acme-inc/super-duper-app/builds/1#0184990a-477b-4fa8-9968-496074483cee")));
    assert!(p.extensions.contains(&ext(20, "ui")));
    assert!(
        p.extensions
            .contains(&ext(13, "9f3182061f1e2cca4702c368cbc039b7dc9d4485"))
    );
}

#[test]
fn missing_template_claim_is_a_certificate_content_error_with_its_text() {
    let mut claims = github_claims();
    claims
        .as_object_mut()
        .expect("object")
        .remove("job_workflow_ref");
    let error =
        principal_for("https://token.actions.githubusercontent.com", claims).expect_err("refused");
    assert_eq!(error.status(), 400);
    assert_eq!(
        error.message(),
        "map has no entry for key \"job_workflow_ref\""
    );
}

#[test]
fn meta_issuer_resolves_with_the_concrete_url() {
    let iss = "https://token.actions.githubusercontent.com/octo-org";
    let mut claims = github_claims();
    claims["iss"] = iss.into();
    let p = principal_for(iss, claims).expect("ok");
    assert_eq!(p.extensions[0], ext(1, iss));
}

#[test]
fn challenge_claim_overrides_the_proof_of_possession_subject() {
    let mut config = config();
    let issuer = config
        .oidc_issuers
        .get_mut("https://agent.buildkite.com")
        .expect("configured");
    issuer.challenge_claim = "job_id".into();
    let resolved = config
        .resolve("https://agent.buildkite.com")
        .expect("configured issuer");
    let p =
        crate::principal::from_token(&token(resolved, buildkite_claims()), &config).expect("ok");
    assert_eq!(p.subject_for_pop, "0184990a-477b-4fa8-9968-496074483cee");
}
