//! The payload of a token, kept as the JSON object it was: principals read custom claims
//! (`job_workflow_ref`, `kubernetes.io`, …) by name, and ci-provider templates see all of them.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::IdentityError;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims(Map<String, Value>);

impl From<Map<String, Value>> for Claims {
    fn from(map: Map<String, Value>) -> Self {
        Self(map)
    }
}

impl Claims {
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// A claim as text: strings as they are, numbers and booleans printed.
    #[must_use]
    pub fn text(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(_) | Value::Bool(_) => self.0.get(name).map(go_format),
            _ => None,
        }
    }

    /// A claim that must be present and non-empty (ca.md §7.2 token requirements).
    ///
    /// # Errors
    /// [`IdentityError::ClaimRequirement`] naming the claim (never its value).
    pub fn required_text(&self, name: &str) -> Result<String, IdentityError> {
        self.text(name)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| {
                IdentityError::ClaimRequirement(format!("claim {name:?} missing or empty"))
            })
    }

    /// `email_verified` is true, as a boolean or the strings "true"/"True" (ca.md §7.2).
    #[must_use]
    pub fn email_verified(&self) -> bool {
        match self.0.get("email_verified") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true" || s == "True",
            _ => false,
        }
    }

    /// A value by a dotted JSONPath such as `$.federated_claims.connector_id` (`IssuerClaim`).
    #[must_use]
    pub fn json_path_text(&self, path: &str) -> Option<String> {
        let mut segments = path.strip_prefix("$.")?.split('.');
        let mut value = self.0.get(segments.next()?)?;
        for segment in segments {
            value = value.get(segment)?;
        }
        value.as_str().map(str::to_owned)
    }

    /// Whether `aud` (a string or an array of strings) contains `audience`.
    #[must_use]
    pub fn audience_contains(&self, audience: &str) -> bool {
        match self.0.get("aud") {
            Some(Value::String(s)) => s == audience,
            Some(Value::Array(values)) => values.iter().any(|v| v.as_str() == Some(audience)),
            _ => false,
        }
    }

    /// A NumericDate claim in whole seconds.
    #[must_use]
    pub fn seconds(&self, name: &str) -> Option<i64> {
        let number = self.0.get(name)?.as_number()?;
        // Truncation is what a NumericDate with a fraction means at second resolution.
        #[allow(clippy::cast_possible_truncation)]
        number
            .as_i64()
            .or_else(|| number.as_f64().map(|f| f as i64))
    }

    /// Every top-level claim as a string, for ci-provider templates (ca.md §7.3).
    #[must_use]
    pub fn flattened(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(name, value)| (name.clone(), go_format(value)))
            .collect()
    }
}

/// Go's `%v` of a decoded JSON value, which is what Fulcio's templates see: integral numbers
/// without a fraction, `<nil>` for null, `[a b]` for arrays, `map[k:v]` for objects.
fn go_format(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            #[allow(clippy::cast_possible_truncation)]
            (None, None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e18 => (f as i64).to_string(),
            _ => n.to_string(),
        },
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(go_format).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_format(v)))
                .collect();
            format!("map[{}]", inner.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Claims;

    #[test]
    fn flattening_prints_like_go() {
        let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(
            r#"{"n": 42, "f": 7.0, "x": 1.5, "b": true, "z": null, "a": ["p", 1], "s": "v"}"#,
        ) else {
            panic!("object")
        };
        let flat = Claims::from(map).flattened();
        let got: Vec<(&str, &str)> = flat.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("a", "[p 1]"),
                ("b", "true"),
                ("f", "7"),
                ("n", "42"),
                ("s", "v"),
                ("x", "1.5"),
                ("z", "<nil>")
            ]
        );
    }

    #[test]
    fn audience_string_or_array() {
        let claims = |aud| {
            let serde_json::Value::Object(map) = json!({ "aud": aud }) else {
                panic!("object")
            };
            Claims::from(map)
        };
        assert!(claims(json!("sigstore")).audience_contains("sigstore"));
        assert!(claims(json!(["other", "sigstore"])).audience_contains("sigstore"));
        assert!(!claims(json!(["other"])).audience_contains("sigstore"));
    }
}
