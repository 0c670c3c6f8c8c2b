//! `kubernetes`: SAN URI
//! `https://kubernetes.io/namespaces/<namespace>/serviceaccounts/<name>` from the nested
//! `kubernetes.io` claim, challenge `sub` (ca.md §7.2). Like Fulcio, the nested values are read
//! but not checked for emptiness.

use super::{ExtensionSet, Principal, uri_principal};
use crate::IdentityError;
use crate::oidc::VerifiedToken;

pub(super) fn principal(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let kubernetes = token
        .claims
        .get("kubernetes.io")
        .ok_or_else(|| IdentityError::ClaimRequirement("kubernetes.io claim missing".into()))?;
    let namespace = kubernetes
        .get("namespace")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let account = kubernetes
        .pointer("/serviceaccount/name")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let san = format!("https://kubernetes.io/namespaces/{namespace}/serviceaccounts/{account}");
    uri_principal(token, san, ExtensionSet::default())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::IssuerType;
    use crate::principal::test_support::{ext, issuer, token};

    #[test]
    fn service_account_token() {
        let iss = "https://oidc.eks.us-west-2.amazonaws.com/id/B02C93B6A2D30341AD01E1B6D48164CB";
        let t = token(
            issuer(iss, IssuerType::Kubernetes),
            json!({
                "aud": ["sigstore"], "exp": 1_700_003_600, "iat": 1_700_000_000, "iss": iss,
                "kubernetes.io": {"namespace": "build", "pod": {"name": "signer-7c9f", "uid": "5d1a"},
                    "serviceaccount": {"name": "cosign", "uid": "9f3e"}},
                "nbf": 1_700_000_000, "sub": "system:serviceaccount:build:cosign"
            }),
        );
        let p = super::principal(&t).expect("ok");
        assert_eq!(
            p.san,
            crate::San::Uri("https://kubernetes.io/namespaces/build/serviceaccounts/cosign".into())
        );
        assert_eq!(p.subject_for_pop, "system:serviceaccount:build:cosign");
        assert_eq!(
            p.extensions,
            vec![
                ext(1, iss),
                ext(8, iss),
                ext(24, "system:serviceaccount:build:cosign")
            ]
        );
    }
}
