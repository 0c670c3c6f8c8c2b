use super::{IssuerConfig, IssuerType, meta_issuer_matches};

const YAML: &str = include_str!("../testdata/fulcio-config.yaml");

/// The same kind of file in Fulcio's JSON spelling, with an unknown key at two levels.
const JSON: &str = r#"{
  "OIDCIssuers": {
    "https://idp.example.com": {"IssuerURL": "https://idp.example.com", "ClientID": "sigstore",
      "Type": "email", "SkipEmailVerification": true, "Unexpected": 1},
    "https://accounts.example.com": {"IssuerURL": "https://accounts.example.com", "ClientID": "sigstore",
      "Type": "username", "SubjectDomain": "example.com", "ChallengeClaim": "preferred_username"}
  },
  "MetaIssuers": {"https://oidc.eks.*.amazonaws.com/id/*": {"ClientID": "sigstore", "Type": "kubernetes",
    "ChallengeClaim": "x"}},
  "FutureTopLevel": {}
}"#;

#[test]
fn loads_the_yaml_spelling_and_skips_unknown_keys() {
    let config = IssuerConfig::parse(YAML).expect("yaml loads");
    assert_eq!(config.oidc_issuers.len(), 6);
    let github = &config.oidc_issuers["https://token.actions.githubusercontent.com"];
    assert_eq!(github.issuer_type, IssuerType::CiProvider);
    assert_eq!(github.ci_provider, "github-workflow");
    assert_eq!(
        config.oidc_issuers["https://oauth2.sigstore.dev/auth"].issuer_claim,
        "$.federated_claims.connector_id"
    );
    assert_eq!(
        config.oidc_issuers["https://spire.example.com"].spiffe_trust_domain,
        "example.com"
    );
    assert_eq!(
        config.ci_issuer_metadata["gitlab-pipeline"].default_template_values["url"],
        "https://gitlab.com"
    );
    assert_eq!(
        config.ci_issuer_metadata["github-workflow"]
            .extension_templates
            .build_signer_uri,
        "{{ .url }}/{{ .job_workflow_ref }}"
    );
}

#[test]
fn loads_the_json_spelling_and_skips_unknown_keys() {
    let config = IssuerConfig::parse(JSON).expect("json loads");
    let idp = &config.oidc_issuers["https://idp.example.com"];
    assert!(idp.skip_email_verification);
    assert_eq!(idp.client_id, "sigstore");
    let username = &config.oidc_issuers["https://accounts.example.com"];
    assert_eq!(username.subject_domain, "example.com");
    assert_eq!(username.challenge_claim, "preferred_username");
}

#[test]
fn exact_issuers_win_and_meta_issuers_inherit_but_not_everything() {
    let config = IssuerConfig::parse(JSON).expect("json loads");
    let exact = config.resolve("https://idp.example.com").expect("exact");
    assert_eq!(exact.url, "https://idp.example.com");
    let iss = "https://oidc.eks.us-west-2.amazonaws.com/id/B02C93B6A2D30341AD01E1B6D48164CB";
    let meta = config.resolve(iss).expect("meta");
    assert_eq!(meta.url, iss);
    assert_eq!(meta.settings.issuer_type, IssuerType::Kubernetes);
    assert_eq!(meta.settings.client_id, "sigstore");
    assert_eq!(
        meta.settings.challenge_claim, "",
        "ChallengeClaim is not inherited"
    );
    assert!(
        config
            .resolve("https://oidc.eks.us-west-2.evil.com/id/x")
            .is_none()
    );
    assert!(config.resolve("https://unknown.example.com").is_none());
}

#[test]
fn wildcard_matches_one_label_or_path_segment_only() {
    let pattern = "https://oidc.eks.*.amazonaws.com/id/*";
    assert!(meta_issuer_matches(
        pattern,
        "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC_123-x"
    ));
    for no in [
        "https://oidc.eks.a.b.amazonaws.com/id/x", // `*` never spans a dot
        "https://oidc.eks.a.amazonaws.com/id/x/y", // nor a slash
        "https://oidc.eks..amazonaws.com/id/x",    // and matches at least one character
        "https://oidc.eks.a.amazonaws.com/id/x?y", // anchored at the end
        "xhttps://oidc.eks.a.amazonaws.com/id/x",  // and at the start
        "https://oidc.eks.a.amazonawsXcom/id/x",   // `.` is literal
    ] {
        assert!(!meta_issuer_matches(pattern, no), "{no}");
    }
}

#[test]
fn load_time_rules_refuse_bad_issuers() {
    let refused = [
        r#"{"MetaIssuers": {"https://*.example.com": {"ClientID": "sigstore", "Type": "spiffe", "SPIFFETrustDomain": "example.com"}}}"#,
        r#"{"OIDCIssuers": {"https://spire.example.com": {"ClientID": "sigstore", "Type": "spiffe"}}}"#,
        r#"{"OIDCIssuers": {"https://a.example.com": {"ClientID": "sigstore", "Type": "uri", "SubjectDomain": "https://evil.com"}}}"#,
        r#"{"OIDCIssuers": {"https://a.example.com": {"ClientID": "sigstore", "Type": "uri", "SubjectDomain": "http://example.com"}}}"#,
        r#"{"OIDCIssuers": {"https://a.example.com": {"ClientID": "sigstore", "Type": "username", "SubjectDomain": "https://example.com"}}}"#,
        r#"{"OIDCIssuers": {"https://a.example.com": {"ClientID": "sigstore", "Type": "ci-provider", "CIProvider": "nope"}}}"#,
        r#"{"OIDCIssuers": {"https://a.example.com": {"ClientID": "sigstore", "Type": "no-such-type"}}}"#,
        r#"{"CIIssuerMetadata": {"x": {"SubjectAlternativeNameTemplate": "{{ printf .x }}"}}}"#,
        "oidc-issuers: [not, a, map]",
    ];
    for text in refused {
        assert!(IssuerConfig::parse(text).is_err(), "{text}");
    }
    let accepted = r#"{"OIDCIssuers": {"https://accounts.example.com": {"ClientID": "sigstore", "Type": "uri", "SubjectDomain": "https://example.com"}}}"#;
    IssuerConfig::parse(accepted).expect("uri issuer within its domain");
}

#[test]
fn every_skipped_key_is_reported() {
    let mut skipped = Vec::new();
    IssuerConfig::parse_reporting(JSON, |key| skipped.push(key)).expect("json loads");
    skipped.sort();
    assert_eq!(
        skipped,
        vec![
            "FutureTopLevel",
            "OIDCIssuers.https://idp.example.com.Unexpected"
        ]
    );
    let mut skipped = Vec::new();
    IssuerConfig::parse_reporting(YAML, |key| skipped.push(key)).expect("yaml loads");
    skipped.sort();
    assert_eq!(
        skipped,
        vec![
            "define",
            "oidc-issuers.https://token.actions.githubusercontent.com.frobnicate"
        ]
    );
}

#[test]
fn ca_cert_must_be_a_pem_certificate() {
    let key = rcgen::KeyPair::generate().expect("key");
    let pem = rcgen::CertificateParams::new(vec!["idp.example.com".into()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate")
        .pem();
    let config = |ca: &str| {
        serde_json::json!({"OIDCIssuers": {"https://idp.example.com": {"ClientID": "sigstore", "Type": "email", "CACert": ca}}})
            .to_string()
    };
    let loaded = IssuerConfig::parse(&config(&pem)).expect("valid CACert");
    assert_eq!(loaded.oidc_issuers["https://idp.example.com"].ca_cert, pem);
    assert!(IssuerConfig::parse(&config("not a certificate")).is_err());
    let broken = pem.replace("-----END CERTIFICATE-----", "AAAA-----END CERTIFICATE-----");
    assert!(IssuerConfig::parse(&config(&broken)).is_err());
}
