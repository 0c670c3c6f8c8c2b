//! RFC 8785 (JSON Canonicalization Scheme) serialisation of canonical entry
//! bodies (log.md §2.1) and SET payloads (log.md §3).
//!
//! The reference runs Go's `encoding/json` and then cyberphone's JCS; the JCS
//! step alone fixes the bytes (§3.2.2 strings with minimal escaping, §3.2.3
//! keys sorted by UTF-16 code units, §3.2.2.3 numbers as ES6 doubles), so we
//! serialise straight to JCS with `serde_json_canonicalizer`.

use serde::Serialize;

/// The RFC 8785 serialisation of `value`.
///
/// # Errors
/// [`serde_json::Error`] when `value` has a non-string map key or a
/// non-finite number, which JSON cannot carry.
pub fn to_canonical_json<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    serde_json_canonicalizer::to_vec(value)
}

/// RFC 8785 of a value built by this crate from strings, integers, arrays and
/// string-keyed objects only.
pub(crate) fn to_canonical_json_of_own(value: &serde_json::Value) -> Vec<u8> {
    // Cannot fail: the serializer errs only on non-string keys (a `Value` has
    // none), non-finite floats (our bodies and SET payloads hold no floats) and
    // writer errors (a `Vec` never fails).
    to_canonical_json(value).expect("canonical JSON of a string/integer value")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// cyberphone/json-canonicalization `testdata/{input,output}` (see
    /// testdata/README.md).
    const VECTORS: [(&str, &str, &str); 6] = [
        (
            "arrays",
            include_str!("../../testdata/jcs/input/arrays.json"),
            include_str!("../../testdata/jcs/output/arrays.json"),
        ),
        (
            "french",
            include_str!("../../testdata/jcs/input/french.json"),
            include_str!("../../testdata/jcs/output/french.json"),
        ),
        (
            "structures",
            include_str!("../../testdata/jcs/input/structures.json"),
            include_str!("../../testdata/jcs/output/structures.json"),
        ),
        (
            "unicode",
            include_str!("../../testdata/jcs/input/unicode.json"),
            include_str!("../../testdata/jcs/output/unicode.json"),
        ),
        (
            "values",
            include_str!("../../testdata/jcs/input/values.json"),
            include_str!("../../testdata/jcs/output/values.json"),
        ),
        (
            "weird",
            include_str!("../../testdata/jcs/input/weird.json"),
            include_str!("../../testdata/jcs/output/weird.json"),
        ),
    ];

    #[test]
    fn cyberphone_vectors() {
        for (name, input, expected) in VECTORS {
            let value: serde_json::Value = serde_json::from_str(input).expect(name);
            let out = to_canonical_json(&value).expect(name);
            assert_eq!(String::from_utf8(out).expect(name), expected, "{name}");
        }
    }

    #[test]
    fn html_characters_stay_literal() {
        // Go's encoder escapes <>& as \u003c…; JCS undoes that (log.md §2.1).
        let value = serde_json::json!({"b": "<&>", "a": "\u{2028}"});
        assert_eq!(
            to_canonical_json_of_own(&value),
            "{\"a\":\"\u{2028}\",\"b\":\"<&>\"}".as_bytes()
        );
    }
}
