use super::*;

fn err_of(json: &str) -> EntryError {
    canonicalize_proposed(json.as_bytes()).expect_err(json)
}

#[test]
fn envelope_rejections_and_statuses() {
    type Case = (&'static str, fn(&EntryError) -> bool, u16);
    let cases: [Case; 14] = [
        ("", |e| *e == EntryError::required("proposedEntry"), 422),
        ("  \n", |e| *e == EntryError::required("proposedEntry"), 422),
        ("{not json", |e| matches!(e, EntryError::NotJson(_)), 400),
        ("[1,2]", |e| matches!(e, EntryError::NotJson(_)), 400),
        (
            r#"{"apiVersion":"0.0.1","spec":{}}"#,
            |e| *e == EntryError::required("kind"),
            422,
        ),
        (
            r#"{"kind":"","apiVersion":"0.0.1","spec":{}}"#,
            |e| *e == EntryError::required("kind"),
            422,
        ),
        (
            r#"{"kind":7,"apiVersion":"0.0.1","spec":{}}"#,
            |e| *e == EntryError::wrong_type("kind", "string"),
            422,
        ),
        (
            r#"{"kind":"hashedrekordx","apiVersion":"0.0.1","spec":{}}"#,
            |e| *e == EntryError::UnknownKind("hashedrekordx".into()),
            422,
        ),
        (
            r#"{"kind":"HashedRekord","apiVersion":"0.0.1","spec":{}}"#,
            |e| matches!(e, EntryError::UnknownKind(_)),
            422,
        ),
        (
            r#"{"kind":"hashedrekord","spec":{}}"#,
            |e| *e == EntryError::required("apiVersion"),
            422,
        ),
        (
            r#"{"kind":"hashedrekord","apiVersion":1,"spec":{}}"#,
            |e| *e == EntryError::wrong_type("apiVersion", "string"),
            422,
        ),
        (
            r#"{"kind":"hashedrekord","apiVersion":"0.1","spec":{}}"#,
            |e| e.body_code() == 605,
            422,
        ),
        (
            r#"{"kind":"hashedrekord","apiVersion":"0.0.1"}"#,
            |e| *e == EntryError::required("spec"),
            422,
        ),
        (
            r#"{"kind":"hashedrekord","apiVersion":"0.0.1","spec":null}"#,
            |e| *e == EntryError::required("spec"),
            422,
        ),
    ];
    for (json, check, status) in cases {
        let err = err_of(json);
        assert!(check(&err), "{json}: {err:?}");
        assert_eq!(err.status_code(), status, "{json}");
    }
    assert_eq!(
        err_of(r#"{"kind":"nope","apiVersion":"0.0.1","spec":{}}"#).client_message(),
        "invalid kind value: \"nope\""
    );
}

#[test]
fn reference_kinds_not_enabled() {
    for kind in [
        "alpine", "cose", "helm", "jar", "rekord", "rfc3161", "rpm", "tuf",
    ] {
        let err = err_of(&format!(
            r#"{{"kind":"{kind}","apiVersion":"0.0.1","spec":{{}}}}"#
        ));
        assert_eq!(err, EntryError::KindNotEnabled(kind.to_owned()));
        assert_eq!(err.status_code(), 400);
        assert_eq!(
            err.client_message(),
            format!(
                "error processing entry: entry kind '{kind}' is not enabled for submission on this server"
            )
        );
    }
}

#[test]
fn unsupported_versions() {
    for (kind, version) in [
        ("hashedrekord", "0.0.2"),
        ("hashedrekord", "0.0.1-rc1"),
        ("hashedrekord", "1.0.0"),
        ("dsse", "0.0.2"),
        ("intoto", "0.0.3"),
    ] {
        let err = err_of(&format!(
            r#"{{"kind":"{kind}","apiVersion":"{version}","spec":{{}}}}"#
        ));
        assert!(
            matches!(&err, EntryError::UnsupportedVersion { kind: k, version: v }
                if k.name() == kind && v == version),
            "{err:?}"
        );
        assert_eq!(err.status_code(), 400);
    }
}

#[test]
fn semver_pattern() {
    for good in [
        "0.0.1",
        "10.20.30",
        "1.0.0-alpha.1",
        "1.0.0-0a",
        "1.0.0+build.5",
        "1.0.0-x-y+z",
    ] {
        assert!(is_semver(good), "{good}");
    }
    for bad in [
        "",
        "1",
        "0.1",
        "01.0.0",
        "1.0.0-01",
        "1.0.0-",
        "1.0.0+",
        "1.0.0-a..b",
        "v1.0.0",
        "1.0.0 ",
    ] {
        assert!(!is_semver(bad), "{bad}");
    }
}

#[test]
fn stored_bodies_of_any_kind() {
    let stored = parse_stored_body(
        br#"{"apiVersion":"0.0.1","kind":"rekord","spec":{"data":{},"signature":{}}}"#,
    )
    .expect("rekord");
    assert_eq!(
        stored,
        StoredEntry {
            kind: Kind::Rekord,
            api_version: "0.0.1".into()
        }
    );
    assert!(matches!(
        parse_stored_body(b"garbage"),
        Err(EntryError::NotJson(_))
    ));
    assert!(matches!(
        parse_stored_body(br#"{"apiVersion":"0.0.1","kind":"x","spec":{}}"#),
        Err(EntryError::UnknownKind(_))
    ));
}

#[test]
fn kind_names_round_trip() {
    for kind in Kind::ALL {
        assert_eq!(Kind::from_name(kind.name()), Some(kind));
        assert_eq!(kind.to_string(), kind.name());
    }
    let submittable: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|k| k.is_submittable())
        .collect();
    assert_eq!(submittable, [Kind::Dsse, Kind::HashedRekord, Kind::Intoto]);
}

#[test]
fn index_keys_lower_case_and_deduplicated() {
    let mut keys = IndexKeys::default();
    for key in ["SHA256:AB", "sha256:ab", "", "Alice@Example.com"] {
        keys.push(key);
    }
    assert_eq!(keys.into_vec(), ["sha256:ab", "alice@example.com"]);
}
