//! The `pkcs11` backend against a real SoftHSM2 token, one fresh token per
//! test, each test's body in a child process (`sigstack_testkit::softhsm`).

mod support;

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Instant;

use aws_lc_rs::signature::{ECDSA_P384_SHA384_ASN1, UnparsedPublicKey};
use sigstack_core::certificate::{
    CaKeyAlgorithm, CaSigner, CertificateAuthority, intermediate_for_key, new_root,
};
use sigstack_signer::{CaKeyConfig, Pkcs11Config, SignerError, generate_p384, open};
use sigstack_testkit::softhsm::{SoftHsmToken, TOKEN_LABEL, USER_PIN, in_fresh_token};
use x509_cert::der::Decode as _;

const KEY_LABEL: &str = "sigstack-ca-intermediate";

fn config(token: &SoftHsmToken) -> Pkcs11Config {
    Pkcs11Config {
        module: token.module.clone(),
        token_label: Some(TOKEN_LABEL.into()),
        slot: None,
        pin_file: token.pin_file.clone(),
        key_label: Some(KEY_LABEL.into()),
        key_id: None,
        sessions: None,
    }
}

fn generate(token: &SoftHsmToken) -> sigstack_signer::GeneratedKey {
    generate_p384(&token.module, TOKEN_LABEL, USER_PIN.as_bytes(), KEY_LABEL).expect("generate")
}

fn open_signer(config: Pkcs11Config) -> Box<dyn CaSigner> {
    let key = open(&CaKeyConfig::Pkcs11(config), false).expect("open");
    assert!(key.generated_chain.is_none());
    key.signer
}

#[test]
fn a_token_key_issues_certificates_that_openssl_verifies() {
    in_fresh_token(
        "a_token_key_issues_certificates_that_openssl_verifies",
        |token| {
            let generated = generate(token);
            let root = new_root("sigstack test", support::now() - 3600, 10).expect("root");
            let intermediate = intermediate_for_key(
                &root,
                &generated.subject_public_key_info,
                "sigstack test",
                support::now() - 3600,
                5,
            )
            .expect("intermediate");

            let signer = open_signer(config(token));
            assert_eq!(signer.algorithm(), CaKeyAlgorithm::EcdsaP384Sha384);
            assert_eq!(signer.public_key(), generated.point.as_slice());
            let ca =
                CertificateAuthority::new(&intermediate, signer).expect("the cert is the key's");
            let (pre, fin) = support::issue(&ca);
            support::openssl_verify(&token.scratch, &root.certificate_der, &intermediate, &fin);
            support::openssl_verify_precertificate(
                &token.scratch,
                &root.certificate_der,
                &intermediate,
                &pre,
            );
            let leaf = x509_cert::Certificate::from_der(&fin).expect("leaf parses");
            assert_eq!(
                leaf.signature_algorithm().oid.to_string(),
                "1.2.840.10045.4.3.3",
                "ecdsa-with-SHA384"
            );

            // The same key by slot and CKA_ID.
            let by_slot = Pkcs11Config {
                token_label: None,
                slot: Some(token.slot),
                key_label: None,
                key_id: Some(hex::encode(&generated.id)),
                ..config(token)
            };
            assert_eq!(
                open_signer(by_slot).public_key(),
                generated.point.as_slice()
            );

            // A second key under the label would make the lookup ambiguous.
            let again = generate_p384(&token.module, TOKEN_LABEL, USER_PIN.as_bytes(), KEY_LABEL)
                .expect_err("label in use");
            assert!(matches!(again, SignerError::KeyExists { .. }), "{again}");
        },
    );
}

/// 32 tokio tasks sign at once through one signer; every signature
/// verifies. Then the same load timed per pool size (printed, not asserted).
#[test]
fn concurrent_signing_from_32_tasks() {
    in_fresh_token("concurrent_signing_from_32_tasks", |token| {
        let generated = generate(token);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let verify = UnparsedPublicKey::new(&ECDSA_P384_SHA384_ASN1, generated.point.clone());
        let signer: Arc<dyn CaSigner> = Arc::from(open_signer(config(token)));
        let signed = runtime.block_on(sign_from_tasks(&signer, 32, 16));
        assert_eq!(signed.len(), 32 * 16);
        for (message, signature) in &signed {
            verify.verify(message, signature).expect("verifies");
        }

        let rounds = 64;
        let serial = Instant::now();
        for i in 0..rounds * 8 {
            signer.sign(&u32::to_be_bytes(i)).expect("sign");
        }
        let per_second = f64::from(rounds * 8) / serial.elapsed().as_secs_f64();
        println!("pkcs11 p384 signing, one thread: {per_second:.0}/s");
        for sessions in [1, 2, 4, 8] {
            let pooled: Arc<dyn CaSigner> = Arc::from(open_signer(Pkcs11Config {
                sessions: NonZeroUsize::new(sessions),
                ..config(token)
            }));
            let start = Instant::now();
            let n = runtime.block_on(sign_from_tasks(&pooled, 32, 16)).len();
            let per_second = n as f64 / start.elapsed().as_secs_f64();
            println!("pkcs11 p384 signing, 32 tasks, {sessions} sessions: {per_second:.0}/s");
        }
    });
}

async fn sign_from_tasks(
    signer: &Arc<dyn CaSigner>,
    tasks: u32,
    each: u32,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut handles = Vec::new();
    for task in 0..tasks {
        let signer = Arc::clone(signer);
        handles.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in 0..each {
                let message = format!("task {task} message {i}").into_bytes();
                let signer = Arc::clone(&signer);
                let m = message.clone();
                let signature = tokio::task::spawn_blocking(move || signer.sign(&m))
                    .await
                    .expect("joins")
                    .expect("signs");
                out.push((message, signature));
            }
            out
        }));
    }
    let mut all = Vec::new();
    for handle in handles {
        all.extend(handle.await.expect("task"));
    }
    all
}

#[test]
fn a_wrong_pin_is_a_clear_error() {
    in_fresh_token("a_wrong_pin_is_a_clear_error", |token| {
        generate(token);
        let wrong = token.scratch.join("wrong.pin");
        std::fs::write(&wrong, "not-the-pin\n").expect("write");
        let err = open(
            &CaKeyConfig::Pkcs11(Pkcs11Config {
                pin_file: wrong.clone(),
                ..config(token)
            }),
            false,
        )
        .expect_err("wrong PIN");
        assert!(matches!(err, SignerError::WrongPin { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("incorrect PIN"), "{text}");
        assert!(text.contains(&wrong.display().to_string()), "{text}");
        assert!(text.contains(TOKEN_LABEL), "{text}");
        assert!(
            !text.contains("not-the-pin"),
            "never the PIN itself: {text}"
        );
        // A refused PIN does not lock the token for the right one.
        open_signer(config(token));
    });
}

#[test]
fn a_missing_key_or_token_is_a_clear_error() {
    in_fresh_token("a_missing_key_or_token_is_a_clear_error", |token| {
        generate(token);
        let open_err =
            |config: Pkcs11Config| open(&CaKeyConfig::Pkcs11(config), false).expect_err("refused");
        let err = open_err(Pkcs11Config {
            key_label: Some("no-such-key".into()),
            ..config(token)
        });
        assert!(matches!(err, SignerError::KeyNotFound { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("no-such-key") && text.contains(TOKEN_LABEL),
            "{text}"
        );

        let err = open_err(Pkcs11Config {
            key_id: Some("00112233".into()),
            ..config(token)
        });
        assert!(
            matches!(err, SignerError::KeyNotFound { .. }),
            "label and id must both match: {err}"
        );

        let err = open_err(Pkcs11Config {
            token_label: Some("no-such-token".into()),
            ..config(token)
        });
        assert!(matches!(err, SignerError::TokenNotFound { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("no-such-token"), "{text}");
        assert!(text.contains(&token.module.display().to_string()), "{text}");

        for (bad, why) in [
            (
                Pkcs11Config {
                    slot: Some(token.slot),
                    ..config(token)
                },
                "not both",
            ),
            (
                Pkcs11Config {
                    token_label: None,
                    ..config(token)
                },
                "token_label or slot",
            ),
            (
                Pkcs11Config {
                    key_label: None,
                    ..config(token)
                },
                "key_label, key_id",
            ),
            (
                Pkcs11Config {
                    key_id: Some("xyz".into()),
                    ..config(token)
                },
                "hex",
            ),
        ] {
            let err = open_err(bad);
            assert!(matches!(err, SignerError::Config(_)), "{err:?}");
            assert!(err.to_string().contains(why), "{err}");
        }
    });
}
