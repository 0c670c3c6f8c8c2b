//! OIDC ID-token verification as Fulcio does it (ca.md §6).
//!
//! Written on aws-lc-rs, base64 and serde_json rather than the `openidconnect` crate, for three
//! reasons. Principals need the payload as the JSON object it is (`kubernetes.io`, GitHub's
//! `job_workflow_ref`, and every top-level claim for ci-provider templates), which openidconnect
//! only offers through a typed `AdditionalClaims` parameter per issuer type. Its ID-token verifier
//! is built around an authorization-code flow: it wants a nonce check and one fixed issuer, while
//! meta issuers resolve per token. And it has no JWKS cache refreshed on an unknown `kid`, which
//! ca.md §6 step 5 requires, so that part would be ours anyway.
//!
//! Order (ca.md §6): shape → issuer selection → claim checks (iss, aud, exp, nbf) → discovery
//! and JWKS → signature. Claims are checked before any fetch, as go-oidc does, so an expired token
//! costs no network round trip. `exp` gets no leeway and a missing `exp` is expired; `nbf` may be
//! up to five minutes ahead. Every failure is an [`IdentityError`]; no token or key reaches a log.

mod claims;
mod http;
mod jwks;

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lru::LruCache;
use serde::Deserialize;
use tracing::instrument;

pub use self::claims::Claims;
pub use self::http::ClientBuildError;
use self::jwks::{Algorithm, Discovery, Jwk};
use crate::IdentityError;
use crate::issuer_config::{IssuerConfig, ResolvedIssuer};

/// Tunables of token verification; the defaults are Fulcio's.
#[derive(Debug, Clone)]
pub struct VerifierOptions {
    /// Timeout of every discovery and JWKS fetch (Fulcio: 10 s).
    pub fetch_timeout: Duration,
    /// A JWKS is refetched for an unknown `kid` at most this often per issuer.
    pub jwks_refresh_interval: Duration,
    /// How far in the future `nbf` may be (Fulcio: 5 minutes).
    pub not_before_leeway: Duration,
    /// Meta-issuer key caches kept (Fulcio: 100).
    pub meta_issuer_cache: NonZeroUsize,
    /// Largest discovery document or JWKS read.
    pub max_document_bytes: usize,
}

impl Default for VerifierOptions {
    fn default() -> Self {
        Self {
            fetch_timeout: Duration::from_secs(10),
            jwks_refresh_interval: Duration::from_secs(30),
            not_before_leeway: Duration::from_secs(300),
            meta_issuer_cache: NonZeroUsize::MIN.saturating_add(99),
            max_document_bytes: 1 << 20,
        }
    }
}

/// A token whose signature and standard claims checked out, with the issuer it resolved to.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub issuer: ResolvedIssuer,
    pub claims: Claims,
}

/// Verifies ID tokens against the issuers of one [`IssuerConfig`].
#[derive(Debug)]
pub struct TokenVerifier {
    config: Arc<IssuerConfig>,
    http: reqwest::Client,
    /// Clients for issuers with a `CACert`, by that PEM (meta issuers inherit it).
    http_with_ca: HashMap<String, reqwest::Client>,
    options: VerifierOptions,
    /// Key state per configured issuer, created up front.
    fixed: HashMap<String, Arc<IssuerKeys>>,
    /// Key state per concrete meta issuer, created on first use.
    meta: Mutex<LruCache<String, Arc<IssuerKeys>>>,
}

/// One issuer's discovery document and keys. The async lock makes concurrent requests share one
/// fetch instead of each starting its own.
#[derive(Debug, Default)]
struct IssuerKeys {
    state: tokio::sync::Mutex<KeyState>,
}

#[derive(Debug, Default)]
struct KeyState {
    discovery: Option<Discovery>,
    keys: Vec<Jwk>,
    fetched_at: Option<Instant>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

/// Largest token accepted; far above any real ID token, and it bounds the decode work.
const MAX_TOKEN_BYTES: usize = 64 * 1024;

impl TokenVerifier {
    /// # Errors
    /// When an HTTP client cannot be built (TLS setup, an unusable `CACert`).
    pub fn new(
        config: Arc<IssuerConfig>,
        options: VerifierOptions,
    ) -> Result<Self, ClientBuildError> {
        let http = http::client(options.fetch_timeout, None)?;
        let mut http_with_ca = HashMap::new();
        for issuer in config
            .oidc_issuers
            .values()
            .chain(config.meta_issuers.values())
        {
            if !issuer.ca_cert.is_empty() && !http_with_ca.contains_key(&issuer.ca_cert) {
                let client = http::client(options.fetch_timeout, Some(&issuer.ca_cert))?;
                http_with_ca.insert(issuer.ca_cert.clone(), client);
            }
        }
        let fixed = config
            .oidc_issuers
            .keys()
            .filter_map(|key| config.resolve(key))
            .map(|issuer| (issuer.url, Arc::default()))
            .collect();
        Ok(Self {
            meta: Mutex::new(LruCache::new(options.meta_issuer_cache)),
            config,
            http,
            http_with_ca,
            options,
            fixed,
        })
    }

    /// The issuer file this verifier serves, for [`crate::principal::from_token`].
    #[must_use]
    pub fn config(&self) -> &IssuerConfig {
        &self.config
    }

    /// Fetches discovery and keys of every configured issuer; failures are logged and retried
    /// lazily on first use (ca.md §6 step 4).
    pub async fn prefetch(&self) {
        for key in self.config.oidc_issuers.keys() {
            let Some(issuer) = self.config.resolve(key) else {
                continue;
            };
            let keys = self.keys_for(&issuer.url);
            let mut state = keys.state.lock().await;
            if let Err(error) = self.refresh(&issuer, &mut state, true).await {
                tracing::warn!(issuer = %key, error = %error, "issuer discovery failed, retrying on first use");
            }
        }
    }

    /// Verifies a token now.
    ///
    /// # Errors
    /// Any [`IdentityError`] of ca.md §6 steps 1–6.
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, IdentityError> {
        self.verify_at(token, SystemTime::now()).await
    }

    /// Verifies a token as of `now`.
    ///
    /// # Errors
    /// Any [`IdentityError`] of ca.md §6 steps 1–6.
    #[instrument(skip_all, fields(issuer = tracing::field::Empty))]
    pub async fn verify_at(
        &self,
        token: &str,
        now: SystemTime,
    ) -> Result<VerifiedToken, IdentityError> {
        let result = self.check_token(token, now).await;
        if let Err(e) = &result {
            crate::metrics::oidc_failure(&self.issuer_label(token), e.reason());
        }
        result
    }

    /// The `issuer` label of a token's metrics: the configured issuer its
    /// `iss` resolves to, or `unknown` (an unverified token never mints a
    /// label value of its own).
    #[must_use]
    pub fn issuer_label(&self, token: &str) -> String {
        let mut parts = token.split('.');
        parts
            .nth(1)
            .and_then(|payload| {
                decode_json::<serde_json::Map<String, serde_json::Value>>(payload, "payload").ok()
            })
            .and_then(|claims| Claims::from(claims).text("iss"))
            .and_then(|iss| self.config.resolve(&iss))
            .map_or_else(|| "unknown".to_owned(), |issuer| issuer.url)
    }

    async fn check_token(
        &self,
        token: &str,
        now: SystemTime,
    ) -> Result<VerifiedToken, IdentityError> {
        if token.is_empty() {
            return Err(IdentityError::MalformedToken("missing token"));
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(IdentityError::MalformedToken("token too large"));
        }
        let parts: Vec<&str> = token.split('.').collect();
        let [header_part, payload_part, signature_part] = parts[..] else {
            return Err(IdentityError::MalformedToken(
                "not three dot-separated parts",
            ));
        };
        let header: Header = decode_json(header_part, "header")?;
        let claims: Claims =
            decode_json::<serde_json::Map<String, serde_json::Value>>(payload_part, "payload")?
                .into();
        let iss = claims.text("iss").ok_or(IdentityError::UnknownIssuer)?;
        let issuer = self
            .config
            .resolve(&iss)
            .ok_or(IdentityError::UnknownIssuer)?;
        tracing::Span::current().record("issuer", issuer.url.as_str());
        // `none` and everything outside ca.md §6 step 5's list stop here.
        let algorithm = Algorithm::from_name(&header.alg)
            .ok_or_else(|| IdentityError::DisallowedAlgorithm(short(&header.alg)))?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature_part)
            .map_err(|_| IdentityError::MalformedToken("signature is not base64url"))?;
        self.check_claims(&issuer, &iss, &claims, now)?;

        let keys = self.keys_for(&issuer.url);
        let mut state = keys.state.lock().await;
        if state.discovery.is_none() {
            self.refresh(&issuer, &mut state, true).await?;
        }
        let allowed = state
            .discovery
            .as_ref()
            .map(Algorithm::allowed_by)
            .unwrap_or_default();
        if !allowed.contains(&algorithm) {
            return Err(IdentityError::DisallowedAlgorithm(short(&header.alg)));
        }
        let message = &token.as_bytes()[..header_part.len() + 1 + payload_part.len()];
        let kid = header.kid.as_deref();
        if !candidates(&state.keys, algorithm, kid).any(|_| true) {
            let due = state
                .fetched_at
                .is_none_or(|at| at.elapsed() >= self.options.jwks_refresh_interval);
            if due {
                tracing::debug!(kid = ?kid, "unknown key id, refetching jwks");
                self.refresh(&issuer, &mut state, false).await?;
            }
        }
        // The lock guards fetching; the signature check runs without it.
        let keys: Vec<Jwk> = candidates(&state.keys, algorithm, kid).cloned().collect();
        drop(state);
        if keys.is_empty() {
            return Err(IdentityError::UnknownKey);
        }
        if !keys
            .iter()
            .any(|key| key.verifies(algorithm, message, &signature))
        {
            return Err(IdentityError::BadSignature);
        }
        Ok(VerifiedToken { issuer, claims })
    }

    /// ca.md §6 step 6.
    fn check_claims(
        &self,
        issuer: &ResolvedIssuer,
        iss: &str,
        claims: &Claims,
        now: SystemTime,
    ) -> Result<(), IdentityError> {
        let google = iss == "accounts.google.com" && issuer.url == "https://accounts.google.com";
        if iss != issuer.url && !google {
            return Err(IdentityError::IssuerMismatch);
        }
        let client_id = &issuer.settings.client_id;
        if client_id.is_empty() || !claims.audience_contains(client_id) {
            return Err(IdentityError::WrongAudience);
        }
        let now = i64::try_from(now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs())
            .unwrap_or(i64::MAX);
        match claims.seconds("exp") {
            Some(exp) if exp >= now => {}
            _ => return Err(IdentityError::Expired),
        }
        let leeway = i64::try_from(self.options.not_before_leeway.as_secs()).unwrap_or(i64::MAX);
        if claims
            .seconds("nbf")
            .is_some_and(|nbf| nbf > now.saturating_add(leeway))
        {
            return Err(IdentityError::NotYetValid);
        }
        Ok(())
    }

    fn keys_for(&self, url: &str) -> Arc<IssuerKeys> {
        if let Some(keys) = self.fixed.get(url) {
            return Arc::clone(keys);
        }
        // A poisoned lock only means another request panicked mid-lookup; the cache is still sound.
        let mut meta = self
            .meta
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(meta.get_or_insert(url.to_owned(), Arc::default))
    }

    /// Fetches the JWKS, and first the discovery document when `discover` is set or none is held.
    async fn refresh(
        &self,
        issuer: &ResolvedIssuer,
        state: &mut KeyState,
        discover: bool,
    ) -> Result<(), IdentityError> {
        let issuer_url = issuer.url.as_str();
        let ca_cert = issuer.settings.ca_cert.as_str();
        if discover || state.discovery.is_none() {
            let url = format!(
                "{}/.well-known/openid-configuration",
                issuer_url.trim_end_matches('/')
            );
            let discovery: Discovery = serde_json::from_slice(&self.fetch(ca_cert, &url).await?)
                .map_err(|e| {
                    IdentityError::Discovery(format!("discovery document does not parse: {e}"))
                })?;
            if discovery.issuer != issuer_url {
                return Err(IdentityError::Discovery(
                    "discovery issuer differs from the issuer url".into(),
                ));
            }
            state.discovery = Some(discovery);
        }
        let jwks_uri = state
            .discovery
            .as_ref()
            .map(|d| d.jwks_uri.clone())
            .unwrap_or_default();
        // Counted from the attempt, so a failing JWKS endpoint is not hammered either.
        state.fetched_at = Some(Instant::now());
        state.keys = jwks::parse_key_set(&self.fetch(ca_cert, &jwks_uri).await?)
            .map_err(IdentityError::Discovery)?;
        Ok(())
    }

    async fn fetch(&self, ca_cert: &str, url: &str) -> Result<Vec<u8>, IdentityError> {
        let client = self.http_with_ca.get(ca_cert).unwrap_or(&self.http);
        let fail = |what: &str| IdentityError::Discovery(format!("{what} fetching {url}"));
        let mut response = client
            .get(url)
            .send()
            .await
            .map_err(|e| fail(&fetch_failure(&e)))?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(fail(&format!("status {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| fail(&fetch_failure(&e)))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > self.options.max_document_bytes {
                return Err(fail("document too large"));
            }
        }
        Ok(body)
    }
}

/// A client-chosen header value, cut short before it reaches a log line.
fn short(value: &str) -> String {
    value.chars().take(16).collect()
}

fn fetch_failure(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timeout".to_owned()
    } else {
        format!("error {error}")
    }
}

/// Keys that may have made this signature: the right type, and the token's `kid` if it names one
/// (without a `kid`, every key of the right type is tried, as go-oidc does).
fn candidates<'a>(
    keys: &'a [Jwk],
    algorithm: Algorithm,
    kid: Option<&'a str>,
) -> impl Iterator<Item = &'a Jwk> {
    keys.iter()
        .filter(move |key| key.fits(algorithm) && (kid.is_none() || key.kid.as_deref() == kid))
}

fn decode_json<T: serde::de::DeserializeOwned>(
    part: &str,
    what: &'static str,
) -> Result<T, IdentityError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| IdentityError::MalformedToken(what))?;
    serde_json::from_slice(&bytes).map_err(|_| IdentityError::MalformedToken(what))
}

#[cfg(test)]
mod tests;
