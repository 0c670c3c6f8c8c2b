use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use der::Encode as _;
use der::asn1::BitStringRef;
use rcgen::{SanType, date_time_ymd};
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};

use super::*;
use crate::entry::test_support::{Alg, TestKey, crlf76, go_pem, issue_leaf};

fn parse(pem: &str) -> Result<VerificationMaterial, PkiError> {
    VerificationMaterial::parse_pem(pem.as_bytes())
}

fn rebuilt_spki(spki_der: &[u8], edit: impl FnOnce(&mut SubjectPublicKeyInfoRef<'_>)) -> Vec<u8> {
    let mut spki = SubjectPublicKeyInfoRef::try_from(spki_der).expect("spki");
    edit(&mut spki);
    spki.to_der().expect("encodes")
}

#[test]
fn every_key_type_parses_to_go_canonical_pem() {
    for (alg, expected) in [
        (Alg::P256, KeyType::EcdsaP256),
        (Alg::P384, KeyType::EcdsaP384),
        (Alg::P521, KeyType::EcdsaP521),
        (Alg::Ed25519, KeyType::Ed25519),
        (Alg::Rsa, KeyType::Rsa { bits: 2048 }),
    ] {
        let key = TestKey::generate(alg);
        for submitted in [key.pem(), crlf76(&key.pem())] {
            let material = parse(&submitted).expect("parses");
            assert_eq!(material.public_key().key_type(), expected);
            assert_eq!(material.public_key().spki_der(), key.spki_der());
            assert_eq!(
                material.canonical_pem(),
                go_pem("PUBLIC KEY", &key.spki_der())
            );
            assert!(material.leaf_certificate().is_none());
            assert!(material.subject_alternative_names().is_empty());
            assert!(material.verify_chain().is_ok());
        }
    }
}

#[test]
fn key_rejections() {
    let p256 = TestKey::generate(Alg::P256);
    let spki = p256.spki_der();
    let ec_private_style = go_pem("EC PUBLIC KEY", &spki);
    assert_eq!(
        parse(&ec_private_style).map(|_| ()),
        Err(PkiError::UnsupportedPemType("EC PUBLIC KEY".into()))
    );
    assert!(matches!(parse("not pem"), Err(PkiError::Pem(_))));
    assert!(matches!(parse(""), Err(PkiError::Pem(_))));

    // A compressed point for the same key.
    let compressed = rebuilt_spki(&spki, |s| {
        let raw = s.subject_public_key.raw_bytes();
        let mut point = vec![2 + (raw[64] & 1)];
        point.extend_from_slice(&raw[1..33]);
        let point: &'static [u8] = Box::leak(point.into_boxed_slice());
        s.subject_public_key = BitStringRef::from_bytes(point).expect("bits");
    });
    assert!(matches!(
        parse(&go_pem("PUBLIC KEY", &compressed)),
        Err(PkiError::Key(_))
    ));

    // P-224 (secp224r1) is parsed by Go but verified by nobody here.
    let p224 = spki::ObjectIdentifier::new_unwrap("1.3.132.0.33");
    let p224_der = p224.to_der().expect("oid");
    let p224_params: &'static [u8] = Box::leak(p224_der.into_boxed_slice());
    let p224_key = rebuilt_spki(&spki, |s| {
        s.algorithm.parameters = Some(der::AnyRef::try_from(p224_params).expect("any"));
    });
    assert!(matches!(
        parse(&go_pem("PUBLIC KEY", &p224_key)),
        Err(PkiError::Key(_))
    ));

    // RSA without the NULL parameters Go insists on.
    let rsa = TestKey::generate(Alg::Rsa);
    let no_null = rebuilt_spki(&rsa.spki_der(), |s| s.algorithm.parameters = None);
    assert!(matches!(
        parse(&go_pem("PUBLIC KEY", &no_null)),
        Err(PkiError::Key(_))
    ));

    // A 1024-bit RSA modulus: SEQUENCE { INTEGER n (0x00-prefixed), INTEGER 65537 }.
    let mut pkcs1_der = vec![0x30, 0x81, 0x89, 0x02, 0x81, 0x81, 0x00];
    pkcs1_der.extend_from_slice(&[0xc3; 128]);
    pkcs1_der.extend_from_slice(&[0x02, 0x03, 0x01, 0x00, 0x01]);
    let small = SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef {
            oid: x509_cert::der::oid::db::rfc5912::RSA_ENCRYPTION,
            parameters: Some(der::AnyRef::NULL),
        },
        subject_public_key: BitStringRef::from_bytes(&pkcs1_der).expect("bits"),
    }
    .to_der()
    .expect("spki");
    assert!(matches!(
        parse(&go_pem("PUBLIC KEY", &small)),
        Err(PkiError::Key(message)) if message.contains("1024")
    ));
}

#[test]
fn certificate_sans_in_sigstore_order() {
    let ca = TestKey::generate(Alg::P256);
    let leaf_key = TestKey::generate(Alg::P256);
    let fulcio = vec![1, 3, 6, 1, 4, 1, 57264, 1, 7];
    let (leaf, _) = issue_leaf(
        &ca,
        &leaf_key,
        vec![
            SanType::URI(
                "https://github.com/Org/Repo/.github/workflows/ci.yml@refs/heads/main"
                    .try_into()
                    .expect("uri"),
            ),
            SanType::OtherName((fulcio, "Someone@Example.com".into())),
            SanType::IpAddress(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))),
            SanType::Rfc822Name("Alice@Example.com".try_into().expect("email")),
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))),
            SanType::IpAddress(IpAddr::V6(Ipv4Addr::new(198, 51, 100, 1).to_ipv6_mapped())),
            SanType::DnsName("Build.Example.com".try_into().expect("dns")),
        ],
    );
    let material = parse(&go_pem("CERTIFICATE", &leaf)).expect("parses");
    assert_eq!(
        material.subject_alternative_names(),
        [
            "Build.Example.com",
            "Alice@Example.com",
            "2001:db8::1",
            "192.0.2.7",
            "198.51.100.1",
            "https://github.com/Org/Repo/.github/workflows/ci.yml@refs/heads/main",
            "Someone@Example.com",
        ]
    );
    assert_eq!(material.public_key().spki_der(), leaf_key.spki_der());
    assert_eq!(material.canonical_pem(), go_pem("CERTIFICATE", &leaf));
    let relaid = parse(&crlf76(&go_pem("CERTIFICATE", &leaf))).expect("parses");
    assert_eq!(relaid.canonical_pem(), go_pem("CERTIFICATE", &leaf));
}

#[test]
fn other_name_only_when_single_and_fulcio() {
    let key = TestKey::generate(Alg::P256);
    let fulcio = vec![1, 3, 6, 1, 4, 1, 57264, 1, 7];
    let sans_of = |sans| {
        let (leaf, _) = issue_leaf(&key, &key, sans);
        parse(&go_pem("CERTIFICATE", &leaf))
            .expect("parses")
            .subject_alternative_names()
            .to_vec()
    };
    let two = sans_of(vec![
        SanType::OtherName((fulcio.clone(), "a".into())),
        SanType::OtherName((fulcio.clone(), "b".into())),
    ]);
    assert!(two.is_empty(), "{two:?}");
    let foreign = sans_of(vec![
        SanType::OtherName((fulcio, "a".into())),
        SanType::OtherName((vec![1, 2, 3, 4], "b".into())),
    ]);
    assert!(foreign.is_empty(), "{foreign:?}");
}

fn ca_params(name: &str) -> rcgen::CertificateParams {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params
}

#[test]
fn chain_verification() {
    let root_key = TestKey::generate(Alg::P384);
    let inter_key = TestKey::generate(Alg::Rsa);
    let leaf_key = TestKey::generate(Alg::P256);
    let root_params = ca_params("root");
    let root = root_params.self_signed(&root_key.rcgen()).expect("root");
    let root_issuer = rcgen::Issuer::new(root_params, root_key.rcgen());
    let inter_params = ca_params("intermediate");
    let inter = inter_params
        .signed_by(&inter_key.rcgen(), &root_issuer)
        .expect("intermediate");
    let inter_issuer = rcgen::Issuer::new(inter_params, inter_key.rcgen());
    let leaf = rcgen::CertificateParams::new(vec!["leaf.example".to_owned()])
        .expect("params")
        .signed_by(&leaf_key.rcgen(), &inter_issuer)
        .expect("leaf");
    let pem_of =
        |ders: &[&[u8]]| -> String { ders.iter().map(|d| go_pem("CERTIFICATE", d)).collect() };
    let (leaf, inter, root) = (
        leaf.der().to_vec(),
        inter.der().to_vec(),
        root.der().to_vec(),
    );

    let good = parse(&pem_of(&[&leaf, &inter, &root])).expect("parses");
    assert_eq!(good.certificates().len(), 3);
    assert_eq!(good.public_key().spki_der(), leaf_key.spki_der());
    assert_eq!(good.subject_alternative_names(), ["leaf.example"]);
    assert_eq!(good.canonical_pem(), pem_of(&[&leaf, &inter, &root]));
    assert_eq!(good.verify_chain(), Ok(()));
    assert_eq!(
        parse(&pem_of(&[&leaf, &inter]))
            .expect("parses")
            .verify_chain(),
        Ok(())
    );

    for bad in [
        pem_of(&[&leaf, &root]),
        pem_of(&[&inter, &leaf]),
        pem_of(&[&leaf, &root, &inter]),
    ] {
        assert!(
            matches!(
                parse(&bad).expect("parses").verify_chain(),
                Err(PkiError::Chain(_))
            ),
            "accepted a broken chain"
        );
    }

    // Same name, other key: the signature check fails.
    let impostor_key = TestKey::generate(Alg::P384);
    let impostor = ca_params("intermediate")
        .signed_by(&impostor_key.rcgen(), &root_issuer)
        .expect("impostor");
    let swapped = pem_of(&[&leaf, impostor.der(), &root]);
    assert!(matches!(
        parse(&swapped).expect("parses").verify_chain(),
        Err(PkiError::Chain(m)) if m.contains("signature")
    ));

    // An issuer that is not a CA.
    let mut not_ca = ca_params("not a ca");
    not_ca.is_ca = rcgen::IsCa::ExplicitNoCa;
    let not_ca_cert = not_ca.self_signed(&root_key.rcgen()).expect("cert");
    let not_ca_issuer = rcgen::Issuer::new(not_ca, root_key.rcgen());
    let under_not_ca = rcgen::CertificateParams::new(Vec::<String>::new())
        .expect("params")
        .signed_by(&leaf_key.rcgen(), &not_ca_issuer)
        .expect("leaf");
    let chain = pem_of(&[under_not_ca.der(), not_ca_cert.der()]);
    assert!(matches!(
        parse(&chain).expect("parses").verify_chain(),
        Err(PkiError::Chain(m)) if m.contains("may not sign")
    ));

    // A leaf that predates its issuer (rcgen's default validity starts in 1975).
    let mut early = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    early.not_before = date_time_ymd(1971, 1, 1);
    let early = early
        .signed_by(&leaf_key.rcgen(), &root_issuer)
        .expect("leaf");
    assert!(matches!(
        parse(&pem_of(&[early.der(), &root])).expect("parses").verify_chain(),
        Err(PkiError::Chain(m)) if m.contains("not valid")
    ));

    // With a signature cache the answers are the same: a tampered signature
    // fails although the genuine certificate's is cached, and leaf
    // signatures are always checked.
    let cache = SignatureCache::default();
    assert_eq!(
        good.verify_chain_cached(&cache, LeafSignature::Check),
        Ok(())
    );
    assert_eq!(
        good.verify_chain_cached(&cache, LeafSignature::Check),
        Ok(())
    );
    let flip_last = |der: &[u8]| {
        let mut der = der.to_vec();
        if let Some(last) = der.last_mut() {
            *last ^= 0x01;
        }
        der
    };
    let tampered_inter = flip_last(&inter);
    assert!(matches!(
        parse(&pem_of(&[&leaf, &tampered_inter, &root])).expect("parses").verify_chain_cached(&cache, LeafSignature::Check),
        Err(PkiError::Chain(m)) if m.contains("certificate 1 signature")
    ));
    let tampered_leaf = flip_last(&leaf);
    assert!(matches!(
        parse(&pem_of(&[&tampered_leaf, &inter, &root])).expect("parses").verify_chain_cached(&cache, LeafSignature::Check),
        Err(PkiError::Chain(m)) if m.contains("certificate 0 signature")
    ));
    assert!(matches!(
        parse(&swapped).expect("parses").verify_chain_cached(&cache, LeafSignature::Check),
        Err(PkiError::Chain(m)) if m.contains("signature")
    ));

    // A leaf made here is not re-checked, but everything above it is.
    let made_here = parse(&pem_of(&[&tampered_leaf, &inter, &root])).expect("parses");
    assert_eq!(
        made_here.verify_chain_cached(&cache, LeafSignature::MadeHere),
        Ok(())
    );
    assert!(matches!(
        parse(&pem_of(&[&leaf, &tampered_inter, &root]))
            .expect("parses")
            .verify_chain_cached(&cache, LeafSignature::MadeHere),
        Err(PkiError::Chain(m)) if m.contains("certificate 1 signature")
    ));
    assert!(matches!(
        parse(&pem_of(&[early.der(), &root]))
            .expect("parses")
            .verify_chain_cached(&cache, LeafSignature::MadeHere),
        Err(PkiError::Chain(m)) if m.contains("not valid")
    ));

    let eleven: Vec<&[u8]> = std::iter::repeat_n(root.as_slice(), 11).collect();
    assert_eq!(
        parse(&pem_of(&eleven)).map(|_| ()),
        Err(PkiError::TooManyCertificates)
    );
    let ten: Vec<&[u8]> = std::iter::repeat_n(root.as_slice(), 10).collect();
    assert!(parse(&pem_of(&ten)).is_ok());
    let key_then_cert = format!("{}{}", leaf_key.pem(), go_pem("CERTIFICATE", &root));
    assert!(matches!(
        parse(&key_then_cert),
        Err(PkiError::Certificate(_))
    ));
}

#[test]
fn prehashed_policy_matrix() {
    let message = b"artifact bytes";
    let cases = [
        (Alg::P256, HashAlgorithm::Sha256),
        (Alg::P384, HashAlgorithm::Sha384),
        (Alg::P521, HashAlgorithm::Sha512),
        (Alg::Rsa, HashAlgorithm::Sha256),
        (Alg::Ed25519, HashAlgorithm::Sha512),
    ];
    for (alg, hash) in cases {
        let key = TestKey::generate(alg);
        let public = PublicKey::from_spki_der(&key.spki_der()).expect("key");
        let digest =
            aws_lc_rs::digest::digest(crate::entry::test_support::aws_digest(hash), message);
        let sig = key.sign_prehashed(hash, message);
        assert_eq!(
            verify_prehashed(&public, hash, digest.as_ref(), &sig),
            Ok(()),
            "{alg:?}"
        );
        let other =
            aws_lc_rs::digest::digest(crate::entry::test_support::aws_digest(hash), b"other");
        assert!(
            matches!(
                verify_prehashed(&public, hash, other.as_ref(), &sig),
                Err(PkiError::Signature(_))
            ),
            "{alg:?} over another digest"
        );
        assert!(matches!(
            verify_prehashed(&public, hash, &digest.as_ref()[1..], &sig),
            Err(PkiError::Signature(_))
        ));
    }

    // Verifies, but outside the policy.
    let p256 = TestKey::generate(Alg::P256);
    let public = PublicKey::from_spki_der(&p256.spki_der()).expect("key");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA384, message);
    let sig = p256.sign_prehashed(HashAlgorithm::Sha384, message);
    assert_eq!(
        verify_prehashed(&public, HashAlgorithm::Sha384, digest.as_ref(), &sig),
        Err(PkiError::AlgorithmNotAllowed {
            key: KeyType::EcdsaP256,
            hash: HashAlgorithm::Sha384
        })
    );

    // RSA-PSS never verifies (log.md §2.2).
    let rsa = TestKey::generate(Alg::Rsa);
    let public = PublicKey::from_spki_der(&rsa.spki_der()).expect("key");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, message);
    assert!(matches!(
        verify_prehashed(
            &public,
            HashAlgorithm::Sha256,
            digest.as_ref(),
            &rsa.sign_pss(message)
        ),
        Err(PkiError::Signature(_))
    ));

    // Ed25519 only as Ed25519ph over SHA-512: not over SHA-256, not pure.
    let ed = TestKey::generate(Alg::Ed25519);
    let public = PublicKey::from_spki_der(&ed.spki_der()).expect("key");
    let sha256 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, message);
    assert!(matches!(
        verify_prehashed(&public, HashAlgorithm::Sha256, sha256.as_ref(), &ed.sign_message(message)),
        Err(PkiError::Signature(m)) if m.contains("SHA-512")
    ));
    let sha512 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, message);
    assert!(matches!(
        verify_prehashed(
            &public,
            HashAlgorithm::Sha512,
            sha512.as_ref(),
            &ed.sign_message(message)
        ),
        Err(PkiError::Signature(_))
    ));
}

#[test]
fn ed25519ph_rfc8032_vector() {
    // RFC 8032 §7.3, "TEST abc".
    let public = hex::decode("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf")
        .expect("hex");
    let signature = hex::decode(concat!(
        "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41",
        "31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406"
    ))
    .expect("hex");
    let mut spki = hex::decode("302a300506032b6570032100").expect("hex");
    spki.extend_from_slice(&public);
    let key = PublicKey::from_spki_der(&spki).expect("key");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, b"abc");
    assert_eq!(
        verify_prehashed(&key, HashAlgorithm::Sha512, digest.as_ref(), &signature),
        Ok(())
    );
}

#[test]
fn message_signatures_use_sha256_on_every_curve() {
    let message = b"DSSEv1 4 test 2 hi";
    for alg in [Alg::P256, Alg::P521, Alg::Rsa, Alg::Ed25519] {
        let key = TestKey::generate(alg);
        let public = PublicKey::from_spki_der(&key.spki_der()).expect("key");
        let sig = key.sign_message(message);
        assert_eq!(verify_message(&public, message, &sig), Ok(()), "{alg:?}");
        assert!(verify_message(&public, b"other", &sig).is_err(), "{alg:?}");
    }
    // P-521 with its natural SHA-512 is not what dsse verifies.
    let p521 = TestKey::generate(Alg::P521);
    let public = PublicKey::from_spki_der(&p521.spki_der()).expect("key");
    let sha512_sig = p521.sign_prehashed(HashAlgorithm::Sha512, message);
    assert!(verify_message(&public, message, &sha512_sig).is_err());
}
