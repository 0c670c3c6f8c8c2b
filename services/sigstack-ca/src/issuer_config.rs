//! Fulcio's issuer configuration file, loaded as Fulcio loads it (ca.md §7.1).
//!
//! The file is JSON (CamelCase keys) or YAML (kebab-case keys); JSON is tried first. Unknown keys
//! are skipped with one warning each: an existing Fulcio file must load unchanged, and Fulcio's
//! loader ignores them (style.md practice 10, its exception). Everything else is validated here,
//! at start, so a bad issuer stops the start instead of failing the first request.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Why the issuer file did not load.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("issuer config is neither JSON ({json}) nor YAML ({yaml})")]
    Parse { json: String, yaml: String },
    #[error("issuer {issuer:?}: {reason}")]
    Invalid { issuer: String, reason: String },
}

/// The issuer types of ca.md §7.2, spelled as Fulcio spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssuerType {
    Email,
    Uri,
    Username,
    Spiffe,
    Kubernetes,
    GithubWorkflow,
    GitlabPipeline,
    BuildkiteJob,
    CodefreshWorkflow,
    ChainguardIdentity,
    CiProvider,
}

impl IssuerType {
    /// The type string of Fulcio's config file and of GetConfiguration's `issuerType`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Uri => "uri",
            Self::Username => "username",
            Self::Spiffe => "spiffe",
            Self::Kubernetes => "kubernetes",
            Self::GithubWorkflow => "github-workflow",
            Self::GitlabPipeline => "gitlab-pipeline",
            Self::BuildkiteJob => "buildkite-job",
            Self::CodefreshWorkflow => "codefresh-workflow",
            Self::ChainguardIdentity => "chainguard-identity",
            Self::CiProvider => "ci-provider",
        }
    }
}

/// One issuer object (ca.md §7.1). Aliases accept both the JSON and the YAML spelling.
#[derive(Debug, Clone, Deserialize)]
pub struct OidcIssuer {
    #[serde(rename = "IssuerURL", alias = "issuer-url", default)]
    pub issuer_url: String,
    #[serde(rename = "ClientID", alias = "client-id", default)]
    pub client_id: String,
    #[serde(rename = "Type", alias = "type")]
    pub issuer_type: IssuerType,
    #[serde(rename = "CIProvider", alias = "ci-provider", default)]
    pub ci_provider: String,
    /// JSONPath such as `$.federated_claims.connector_id`; email type only.
    #[serde(rename = "IssuerClaim", alias = "issuer-claim", default)]
    pub issuer_claim: String,
    #[serde(rename = "SubjectDomain", alias = "subject-domain", default)]
    pub subject_domain: String,
    #[serde(rename = "SPIFFETrustDomain", alias = "spiffe-trust-domain", default)]
    pub spiffe_trust_domain: String,
    #[serde(rename = "ChallengeClaim", alias = "challenge-claim", default)]
    pub challenge_claim: String,
    #[serde(rename = "Description", alias = "description", default)]
    pub description: String,
    #[serde(rename = "Contact", alias = "contact", default)]
    pub contact: String,
    #[serde(rename = "Environment", alias = "environment", default)]
    pub environment: String,
    /// PEM CA for the issuer's TLS. Read but not yet used: see the crate's report.
    #[serde(rename = "CACert", alias = "ca-cert", default)]
    pub ca_cert: String,
    #[serde(
        rename = "SkipEmailVerification",
        alias = "skip-email-verification",
        default
    )]
    pub skip_email_verification: bool,
}

impl OidcIssuer {
    /// The configured `ChallengeClaim`, else the type's default: `email` for
    /// email issuers, `sub` for every other (ca.md §5.3).
    #[must_use]
    pub fn effective_challenge_claim(&self) -> &str {
        match (self.challenge_claim.as_str(), self.issuer_type) {
            ("", IssuerType::Email) => "email",
            ("", _) => "sub",
            (claim, _) => claim,
        }
    }
}

/// Template metadata for a `ci-provider` issuer (ca.md §7.3).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CiIssuerMetadata {
    #[serde(
        rename = "DefaultTemplateValues",
        alias = "default-template-values",
        default
    )]
    pub default_template_values: BTreeMap<String, String>,
    #[serde(rename = "ExtensionTemplates", alias = "extension-templates", default)]
    pub extension_templates: ExtensionTemplates,
    #[serde(
        rename = "SubjectAlternativeNameTemplate",
        alias = "subject-alternative-name-template",
        default
    )]
    pub subject_alternative_name_template: String,
}

macro_rules! extension_templates {
    ($( $field:ident, $json:literal, $yaml:literal, $oid:literal; )*) => {
        /// One optional template per Sigstore extension field (ca.md §7.3).
        #[derive(Debug, Clone, Default, Deserialize)]
        pub struct ExtensionTemplates {
            $( #[serde(rename = $json, alias = $yaml, default)] pub $field: String, )*
        }

        impl ExtensionTemplates {
            /// `(oid, template)` for every field, in OID order.
            #[must_use]
            pub fn by_oid(&self) -> Vec<(&'static str, &str)> {
                vec![$( ($oid, self.$field.as_str()), )*]
            }
        }
    };
}

extension_templates! {
    github_workflow_trigger, "GithubWorkflowTrigger", "github-workflow-trigger", "1.3.6.1.4.1.57264.1.2";
    github_workflow_sha, "GithubWorkflowSHA", "github-workflow-sha", "1.3.6.1.4.1.57264.1.3";
    github_workflow_name, "GithubWorkflowName", "github-workflow-name", "1.3.6.1.4.1.57264.1.4";
    github_workflow_repository, "GithubWorkflowRepository", "github-workflow-repository", "1.3.6.1.4.1.57264.1.5";
    github_workflow_ref, "GithubWorkflowRef", "github-workflow-ref", "1.3.6.1.4.1.57264.1.6";
    build_signer_uri, "BuildSignerURI", "build-signer-uri", "1.3.6.1.4.1.57264.1.9";
    build_signer_digest, "BuildSignerDigest", "build-signer-digest", "1.3.6.1.4.1.57264.1.10";
    runner_environment, "RunnerEnvironment", "runner-environment", "1.3.6.1.4.1.57264.1.11";
    source_repository_uri, "SourceRepositoryURI", "source-repository-uri", "1.3.6.1.4.1.57264.1.12";
    source_repository_digest, "SourceRepositoryDigest", "source-repository-digest", "1.3.6.1.4.1.57264.1.13";
    source_repository_ref, "SourceRepositoryRef", "source-repository-ref", "1.3.6.1.4.1.57264.1.14";
    source_repository_identifier, "SourceRepositoryIdentifier", "source-repository-identifier", "1.3.6.1.4.1.57264.1.15";
    source_repository_owner_uri, "SourceRepositoryOwnerURI", "source-repository-owner-uri", "1.3.6.1.4.1.57264.1.16";
    source_repository_owner_identifier, "SourceRepositoryOwnerIdentifier", "source-repository-owner-identifier", "1.3.6.1.4.1.57264.1.17";
    build_config_uri, "BuildConfigURI", "build-config-uri", "1.3.6.1.4.1.57264.1.18";
    build_config_digest, "BuildConfigDigest", "build-config-digest", "1.3.6.1.4.1.57264.1.19";
    build_trigger, "BuildTrigger", "build-trigger", "1.3.6.1.4.1.57264.1.20";
    run_invocation_uri, "RunInvocationURI", "run-invocation-uri", "1.3.6.1.4.1.57264.1.21";
    source_repository_visibility_at_signing, "SourceRepositoryVisibilityAtSigning", "source-repository-visibility-at-signing", "1.3.6.1.4.1.57264.1.22";
    deployment_environment, "DeploymentEnvironment", "deployment-environment", "1.3.6.1.4.1.57264.1.23";
}

/// The whole issuer file.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IssuerConfig {
    #[serde(rename = "OIDCIssuers", alias = "oidc-issuers", default)]
    pub oidc_issuers: BTreeMap<String, OidcIssuer>,
    #[serde(rename = "MetaIssuers", alias = "meta-issuers", default)]
    pub meta_issuers: BTreeMap<String, OidcIssuer>,
    #[serde(rename = "CIIssuerMetadata", alias = "ci-issuer-metadata", default)]
    pub ci_issuer_metadata: BTreeMap<String, CiIssuerMetadata>,
}

/// The issuer a token's `iss` resolved to: for a meta issuer, the concrete URL with the
/// inherited fields (ca.md §6 step 3).
#[derive(Debug, Clone)]
pub struct ResolvedIssuer {
    pub url: String,
    pub settings: OidcIssuer,
}

impl IssuerConfig {
    /// Parses a Fulcio issuer file, JSON first, then YAML, and validates it.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] if neither parser accepts it, [`ConfigError::Invalid`] if an issuer
    /// breaks a load-time rule of ca.md §7.1.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        Self::parse_reporting(text, |key| {
            tracing::warn!(key = %key, "issuer config key not understood, skipped as fulcio does");
        })
    }

    /// [`IssuerConfig::parse`], telling `skipped` the path of every key it ignores.
    ///
    /// # Errors
    /// As [`IssuerConfig::parse`].
    pub fn parse_reporting(
        text: &str,
        mut skipped: impl FnMut(String),
    ) -> Result<Self, ConfigError> {
        let mut report = |path: serde_ignored::Path<'_>| skipped(path.to_string());
        let json =
            serde_ignored::deserialize(&mut serde_json::Deserializer::from_str(text), &mut report);
        let config: Self = match json {
            Ok(config) => config,
            Err(json_error) => {
                let yaml = serde_ignored::deserialize(
                    serde_norway::Deserializer::from_str(text),
                    &mut report,
                );
                yaml.map_err(|yaml_error| ConfigError::Parse {
                    json: json_error.to_string(),
                    yaml: yaml_error.to_string(),
                })?
            }
        };
        config.validate()?;
        Ok(config)
    }

    /// The issuer for an (unverified) `iss`: an exact `OIDCIssuers` key wins over any
    /// `MetaIssuers` pattern (ca.md §6 steps 2–3).
    #[must_use]
    pub fn resolve(&self, iss: &str) -> Option<ResolvedIssuer> {
        if let Some(issuer) = self.oidc_issuers.get(iss) {
            let url = if issuer.issuer_url.is_empty() {
                iss
            } else {
                &issuer.issuer_url
            };
            return Some(ResolvedIssuer {
                url: url.to_owned(),
                settings: issuer.clone(),
            });
        }
        let (_, meta) = self
            .meta_issuers
            .iter()
            .find(|(pattern, _)| meta_issuer_matches(pattern, iss))?;
        let mut settings = meta.clone();
        // Not inherited by the concrete issuer (ca.md §6 step 3).
        settings.spiffe_trust_domain.clear();
        settings.challenge_claim.clear();
        settings.issuer_url = iss.to_owned();
        Some(ResolvedIssuer {
            url: iss.to_owned(),
            settings,
        })
    }

    /// The template metadata a `ci-provider` issuer names.
    #[must_use]
    pub fn ci_metadata(&self, provider: &str) -> Option<&CiIssuerMetadata> {
        self.ci_issuer_metadata.get(provider)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for (pattern, meta) in &self.meta_issuers {
            if meta.issuer_type == IssuerType::Spiffe {
                return Err(invalid(
                    pattern,
                    "meta issuers of type spiffe are forbidden",
                ));
            }
            self.validate_issuer(pattern, meta)?;
        }
        for (key, issuer) in &self.oidc_issuers {
            self.validate_issuer(key, issuer)?;
        }
        for (name, metadata) in &self.ci_issuer_metadata {
            crate::principal::template::Template::parse(
                &metadata.subject_alternative_name_template,
            )
            .map_err(|e| invalid(name, &format!("subject alternative name template: {e}")))?;
            for (oid, text) in metadata.extension_templates.by_oid() {
                crate::principal::template::Template::parse(text)
                    .map_err(|e| invalid(name, &format!("extension template {oid}: {e}")))?;
            }
        }
        Ok(())
    }

    fn validate_issuer(&self, key: &str, issuer: &OidcIssuer) -> Result<(), ConfigError> {
        if !issuer.ca_cert.is_empty() && !pem_certificates_parse(&issuer.ca_cert) {
            return Err(invalid(key, "CACert is not a PEM X.509 certificate"));
        }
        let issuer_url = if issuer.issuer_url.is_empty() {
            key
        } else {
            &issuer.issuer_url
        };
        match issuer.issuer_type {
            IssuerType::Uri => {
                let domain = url::Url::parse(&issuer.subject_domain).map_err(|_| {
                    invalid(key, "uri issuers need a SubjectDomain URL with a scheme")
                })?;
                let issuer_parsed = url::Url::parse(issuer_url).ok();
                if issuer_parsed.as_ref().map(url::Url::scheme) != Some(domain.scheme()) {
                    return Err(invalid(
                        key,
                        "SubjectDomain scheme differs from the issuer's",
                    ));
                }
                check_domains(key, issuer_url, domain.host_str().unwrap_or_default())?;
            }
            IssuerType::Username => {
                if issuer.subject_domain.contains("://") || issuer.subject_domain.is_empty() {
                    return Err(invalid(
                        key,
                        "username issuers need a scheme-less SubjectDomain",
                    ));
                }
                check_domains(key, issuer_url, &issuer.subject_domain)?;
            }
            IssuerType::Spiffe
                if !crate::principal::spiffe::valid_trust_domain(&issuer.spiffe_trust_domain) =>
            {
                return Err(invalid(
                    key,
                    "spiffe issuers need a valid SPIFFETrustDomain",
                ));
            }
            IssuerType::CiProvider if self.ci_metadata(&issuer.ci_provider).is_none() => {
                return Err(invalid(key, "CIProvider names no CIIssuerMetadata entry"));
            }
            _ => {}
        }
        Ok(())
    }
}

/// Meta-issuer matching (ca.md §6 step 3): every character literal except `*`, which matches
/// one or more of `[-_a-zA-Z0-9]`, and the whole URL must match. So `*` never spans `.` or `/`.
#[must_use]
pub fn meta_issuer_matches(pattern: &str, iss: &str) -> bool {
    fn wildcard_char(c: u8) -> bool {
        c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
    }
    fn matches(pattern: &[u8], text: &[u8]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some((b'*', rest)) => {
                let run = text.iter().take_while(|c| wildcard_char(**c)).count();
                (1..=run).any(|taken| matches(rest, &text[taken..]))
            }
            Some((c, rest)) => text.first() == Some(c) && matches(rest, &text[1..]),
        }
    }
    matches(pattern.as_bytes(), iss.as_bytes())
}

/// The subject domain must share the issuer host's last two DNS labels, or equal it.
fn check_domains(key: &str, issuer_url: &str, subject_host: &str) -> Result<(), ConfigError> {
    let issuer_host = url::Url::parse(issuer_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .ok_or_else(|| invalid(key, "issuer URL has no host"))?;
    fn last_two(host: &str) -> Option<Vec<&str>> {
        let labels: Vec<&str> = host.rsplit('.').take(2).collect();
        (labels.len() == 2).then_some(labels)
    }
    let same = issuer_host == subject_host
        || (last_two(&issuer_host).is_some() && last_two(&issuer_host) == last_two(subject_host));
    if same {
        Ok(())
    } else {
        Err(invalid(
            key,
            "SubjectDomain is not within the issuer's domain",
        ))
    }
}

/// At least one PEM `CERTIFICATE` block, and every one a DER X.509 certificate.
fn pem_certificates_parse(pem: &str) -> bool {
    use base64::Engine as _;
    use x509_cert::der::Decode as _;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut rest = pem;
    let mut found = 0;
    while let Some(start) = rest.find(BEGIN) {
        let body = &rest[start + BEGIN.len()..];
        let Some(end) = body.find(END) else {
            return false;
        };
        let text: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
        let parsed = base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()
            .is_some_and(|der| x509_cert::Certificate::from_der(&der).is_ok());
        if !parsed {
            return false;
        }
        found += 1;
        rest = &body[end + END.len()..];
    }
    found > 0
}

fn invalid(issuer: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        issuer: issuer.to_owned(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests;
