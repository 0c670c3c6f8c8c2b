//! The CA's native gRPC edge end to end, on both backends, over the port
//! REST answers on (h2c): both request forms with both token transports of
//! `spec/ca.md` §2.4, answers equal to REST's, the refusals of §14 as
//! InvalidArgument with nothing issued, health, the time limit, and a wire
//! check of the field numbers of §2.2 that uses none of our generated types.

use std::time::Duration;

use serde_json::{Value, json};
use sigstack_ca::grpc::proto::ca_client::CaClient;
use sigstack_ca::grpc::proto::create_signing_certificate_request::Key;
use sigstack_ca::grpc::proto::{
    CreateSigningCertificateRequest, Credentials, GetConfigurationRequest, GetTrustBundleRequest,
    PublicKey, PublicKeyAlgorithm, PublicKeyRequest, SigningCertificate, credentials, oidc_issuer,
    signing_certificate,
};
use sigstack_e2e::both_backends;
use sigstack_e2e::ca::check::{
    chain_of_pems, check_leaf, counts, pem_to_der, san_of, v2_chain, v2_pems,
};
use sigstack_e2e::ca::{CaSetup, CaStack, RequesterKey};
use sigstack_engine::EngineStore;
use sigstack_store::issuance::IssuanceStore;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const TOKEN_ERROR: &str = "There was an error processing the identity token";
const BAD_SIGNATURE: &str = "The signature supplied in the request could not be verified";
const UNPARSABLE_KEY: &str = "The public key supplied in the request could not be parsed";
const EMAIL: &str = "alice@example.org";

both_backends!(
    both_forms_and_both_token_transports_get_a_certificate,
    trust_bundle_and_configuration_equal_rest,
    refusals_are_invalid_argument_and_issue_nothing,
    health_reports_serving,
    field_numbers_on_the_wire_are_upstreams,
    rest_and_grpc_share_one_port,
    a_request_past_its_time_limit_is_unavailable,
);

fn email_token<S>(stack: &CaStack<S>) -> String {
    stack.token(
        "email",
        "alice",
        json!({"email": EMAIL, "email_verified": true}),
    )
}

fn body_credentials(token: &str) -> Option<Credentials> {
    Some(Credentials {
        credentials: Some(credentials::Credentials::OidcIdentityToken(
            token.to_owned(),
        )),
    })
}

fn csr_request(
    key: &RequesterKey,
    credentials: Option<Credentials>,
) -> CreateSigningCertificateRequest {
    CreateSigningCertificateRequest {
        credentials,
        key: Some(Key::CertificateSigningRequest(key.csr_pem().into_bytes())),
    }
}

fn public_key_request(
    key: &RequesterKey,
    credentials: Option<Credentials>,
    challenge: &str,
) -> CreateSigningCertificateRequest {
    CreateSigningCertificateRequest {
        credentials,
        key: Some(Key::PublicKeyRequest(PublicKeyRequest {
            public_key: Some(PublicKey {
                algorithm: PublicKeyAlgorithm::Ecdsa.into(),
                content: key.spki_pem(),
            }),
            proof_of_possession: key.sign(challenge.as_bytes()),
        })),
    }
}

/// `message` with `metadata` pairs attached.
fn with_metadata<T>(message: T, metadata: &[(&'static str, &str)]) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    for (name, value) in metadata {
        request
            .metadata_mut()
            .append(*name, value.parse().expect("ASCII metadata"));
    }
    request
}

/// The PEM strings of an answer, asserting the embedded-SCT member is the one set.
fn grpc_pems(answer: SigningCertificate) -> Vec<String> {
    match answer.certificate {
        Some(signing_certificate::Certificate::SignedCertificateEmbeddedSct(embedded)) => {
            embedded.chain.expect("chain").certificates
        }
        other => panic!("expected signed_certificate_embedded_sct, got {other:?}"),
    }
}

async fn both_forms_and_both_token_transports_get_a_certificate<
    S: EngineStore + IssuanceStore + Clone + 'static,
>(
    store: S,
    setup: CaSetup,
) {
    let stack = CaStack::serve_with(store, setup).await;
    let mut client = stack.grpc_client().await;
    let key = RequesterKey::new();
    let (ct_before, issued_before) = counts(&stack).await;

    // REST first, for the strings gRPC must repeat.
    let rest = v2_pems(
        stack
            .post(
                "/api/v2/signingCert",
                Some(&email_token(&stack)),
                &json!({"certificateSigningRequest": base64_of(key.csr_pem().as_bytes())}),
            )
            .await,
    )
    .await;

    // (a) CSR, token in credentials.
    let csr_answer = client
        .create_signing_certificate(csr_request(&key, body_credentials(&email_token(&stack))))
        .await
        .expect("CSR form")
        .into_inner();
    // (b) public key + proof, token in `oidcidentitytoken` metadata.
    let token = email_token(&stack);
    let pop_answer = client
        .create_signing_certificate(with_metadata(
            public_key_request(&key, None, EMAIL),
            &[("oidcidentitytoken", &token)],
        ))
        .await
        .expect("public-key form")
        .into_inner();
    // (c) empty credentials fall through to the metadata (§2.4 step 1: "if non-empty").
    let token = email_token(&stack);
    let fallthrough = client
        .create_signing_certificate(with_metadata(
            csr_request(&key, body_credentials("")),
            &[("oidcidentitytoken", &token)],
        ))
        .await
        .expect("empty body token, metadata token")
        .into_inner();

    for answer in [csr_answer, pop_answer, fallthrough] {
        let pems = grpc_pems(answer);
        let chain = chain_of_pems(&pems);
        let leaf = check_leaf(&chain[0], &chain[1]);
        assert_eq!(san_of(&leaf), format!("email:{EMAIL}"));
        assert_eq!(chain[1..], stack.chain[..]);
        assert_eq!(
            pems[1..],
            rest[1..],
            "the CA chain is the same strings REST sends"
        );
        assert_ne!(pems[0], rest[0], "a new leaf per request");
        assert_eq!(
            leaf_spki(&chain[0]),
            key.spki_der(),
            "the requester's key, as submitted"
        );
    }
    let (ct_after, issued_after) = counts(&stack).await;
    assert_eq!(
        (ct_after - ct_before, issued_after - issued_before),
        (4, 4),
        "one CT entry and one record per certificate, REST's included"
    );
}

fn leaf_spki(der: &[u8]) -> Vec<u8> {
    use der::{Decode as _, Encode as _};
    x509_cert::Certificate::from_der(der)
        .expect("leaf")
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .expect("SPKI")
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn trust_bundle_and_configuration_equal_rest<
    S: EngineStore + IssuanceStore + Clone + 'static,
>(
    store: S,
    setup: CaSetup,
) {
    let stack = CaStack::serve_with(store, setup).await;
    let mut client = stack.grpc_client().await;

    let bundle = client
        .get_trust_bundle(GetTrustBundleRequest {})
        .await
        .expect("GetTrustBundle")
        .into_inner();
    let grpc_chains: Vec<Vec<String>> = bundle.chains.into_iter().map(|c| c.certificates).collect();
    let rest = stack.get_json("/api/v2/trustBundle").await;
    let rest_chains: Vec<Vec<String>> = rest["chains"]
        .as_array()
        .expect("chains")
        .iter()
        .map(|c| {
            c["certificates"]
                .as_array()
                .expect("certificates")
                .iter()
                .map(|p| p.as_str().expect("PEM").to_owned())
                .collect()
        })
        .collect();
    assert_eq!(grpc_chains, rest_chains);
    assert_eq!(
        grpc_chains[0]
            .iter()
            .map(|p| pem_to_der(p))
            .collect::<Vec<_>>(),
        stack.chain
    );

    let configuration = client
        .get_configuration(GetConfigurationRequest {})
        .await
        .expect("GetConfiguration")
        .into_inner();
    // Each issuer in REST's JSON names, so the two lists compare whole.
    let grpc_issuers: Vec<Value> = configuration
        .issuers
        .into_iter()
        .map(|i| {
            let (key, url) = match i.issuer.expect("one issuer member") {
                oidc_issuer::Issuer::IssuerUrl(url) => ("issuerUrl", url),
                oidc_issuer::Issuer::WildcardIssuerUrl(url) => ("wildcardIssuerUrl", url),
            };
            json!({key: url, "audience": i.audience, "challengeClaim": i.challenge_claim,
                "spiffeTrustDomain": i.spiffe_trust_domain, "issuerType": i.issuer_type,
                "subjectDomain": i.subject_domain,
                "skipEmailVerification": i.skip_email_verification})
        })
        .collect();
    let rest = stack.get_json("/api/v2/configuration").await;
    assert_eq!(Value::Array(grpc_issuers.clone()), rest["issuers"]);
    // REST's own suite checks what each issuer says; equal lists suffice here.
    assert_eq!(grpc_issuers.len(), sigstack_e2e::ca::ISSUER_TYPES.len());
}

async fn refusals_are_invalid_argument_and_issue_nothing<
    S: EngineStore + IssuanceStore + Clone + 'static,
>(
    store: S,
    setup: CaSetup,
) {
    let stack = CaStack::serve_with(store, setup).await;
    let mut client = stack.grpc_client().await;
    let key = RequesterKey::new();
    let good = || email_token(&stack);
    let unconfigured = stack.token(
        "unconfigured",
        "alice",
        json!({"email": EMAIL, "email_verified": true}),
    );
    let (first, second) = (good(), good());

    let cases: Vec<(
        &str,
        tonic::Request<CreateSigningCertificateRequest>,
        Code,
        &str,
    )> = vec![
        (
            "not a JWT in credentials",
            tonic::Request::new(csr_request(&key, body_credentials("not.a-jwt"))),
            Code::InvalidArgument,
            TOKEN_ERROR,
        ),
        (
            "token of an unconfigured issuer in metadata",
            with_metadata(
                csr_request(&key, None),
                &[("oidcidentitytoken", &unconfigured)],
            ),
            Code::InvalidArgument,
            TOKEN_ERROR,
        ),
        (
            "a bad body token wins over a good metadata token",
            with_metadata(
                csr_request(&key, body_credentials("not.a-jwt")),
                &[("oidcidentitytoken", &good())],
            ),
            Code::InvalidArgument,
            TOKEN_ERROR,
        ),
        (
            "good token only in authorization metadata",
            with_metadata(
                public_key_request(&key, None, EMAIL),
                &[("authorization", &format!("Bearer {}", good()))],
            ),
            Code::InvalidArgument,
            TOKEN_ERROR,
        ),
        (
            "two oidcidentitytoken values",
            with_metadata(
                csr_request(&key, None),
                &[
                    ("oidcidentitytoken", &first),
                    ("oidcidentitytoken", &second),
                ],
            ),
            Code::InvalidArgument,
            TOKEN_ERROR,
        ),
        (
            "no token at all",
            tonic::Request::new(csr_request(&key, None)),
            Code::InvalidArgument,
            TOKEN_ERROR,
        ),
        (
            "proof of possession over another challenge",
            tonic::Request::new(public_key_request(
                &key,
                body_credentials(&good()),
                "mallory@example.org",
            )),
            Code::InvalidArgument,
            BAD_SIGNATURE,
        ),
        (
            "no key",
            tonic::Request::new(CreateSigningCertificateRequest {
                credentials: body_credentials(&good()),
                key: None,
            }),
            Code::InvalidArgument,
            UNPARSABLE_KEY,
        ),
        (
            "CSR that is not PEM",
            tonic::Request::new(CreateSigningCertificateRequest {
                credentials: body_credentials(&good()),
                key: Some(Key::CertificateSigningRequest(b"garbage".to_vec())),
            }),
            Code::InvalidArgument,
            "The certificate signing request could not be parsed",
        ),
    ];
    let (ct_before, issued_before) = counts(&stack).await;
    for (what, request, code, message) in cases {
        let status = client
            .create_signing_certificate(request)
            .await
            .expect_err(what);
        assert_eq!(status.code(), code, "{what}: {status:?}");
        assert_eq!(status.message(), message, "{what}");
    }
    // Over 4 MiB: refused before it is read (ca.md §1).
    let huge = CreateSigningCertificateRequest {
        credentials: body_credentials(&good()),
        key: Some(Key::CertificateSigningRequest(vec![b'A'; (1 << 22) + 1])),
    };
    let status = client
        .create_signing_certificate(huge)
        .await
        .expect_err("over 4 MiB");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert_eq!(
        counts(&stack).await,
        (ct_before, issued_before),
        "nothing logged, nothing issued"
    );
    // The same channel still gets a certificate: the refusals were the requests'.
    let answer = client
        .create_signing_certificate(public_key_request(&key, body_credentials(&good()), EMAIL))
        .await
        .expect("a good request after the refusals")
        .into_inner();
    chain_of_pems(&grpc_pems(answer));
}

async fn health_reports_serving<S: EngineStore + IssuanceStore + Clone + 'static>(
    store: S,
    setup: CaSetup,
) {
    let stack = CaStack::serve_with(store, setup).await;
    let mut health = HealthClient::new(stack.grpc_channel().await);
    for service in ["", "dev.sigstore.fulcio.v2.CA"] {
        let answer = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("Check")
            .into_inner();
        assert_eq!(answer.status(), ServingStatus::Serving, "{service:?}");
    }
    let status = health
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .expect_err("unknown service");
    assert_eq!(status.code(), Code::NotFound);
}

async fn field_numbers_on_the_wire_are_upstreams<
    S: EngineStore + IssuanceStore + Clone + 'static,
>(
    store: S,
    setup: CaSetup,
) {
    let stack = CaStack::serve_with(store, setup).await;
    let mut grpc = tonic::client::Grpc::new(stack.grpc_channel().await);
    let key = RequesterKey::new();
    let (ct_before, issued_before) = counts(&stack).await;

    // CreateSigningCertificateRequest { 1 credentials { 1 token }, 3 CSR }.
    let mut credentials = Vec::new();
    wire::bytes_field(1, email_token(&stack).as_bytes(), &mut credentials);
    let mut csr_form = Vec::new();
    wire::bytes_field(1, &credentials, &mut csr_form);
    wire::bytes_field(3, key.csr_pem().as_bytes(), &mut csr_form);

    // { 1 credentials, 2 public_key_request { 1 public_key { 1 algorithm
    // ECDSA = 2, 2 content }, 2 proof_of_possession } }.
    let mut credentials = Vec::new();
    wire::bytes_field(1, email_token(&stack).as_bytes(), &mut credentials);
    let mut public_key = Vec::new();
    wire::varint_field(1, 2, &mut public_key);
    wire::bytes_field(2, key.spki_pem().as_bytes(), &mut public_key);
    let mut public_key_request = Vec::new();
    wire::bytes_field(1, &public_key, &mut public_key_request);
    wire::bytes_field(2, &key.sign(EMAIL.as_bytes()), &mut public_key_request);
    let mut key_form = Vec::new();
    wire::bytes_field(1, &credentials, &mut key_form);
    wire::bytes_field(2, &public_key_request, &mut key_form);

    for request in [csr_form, key_form] {
        let answer = wire::call(
            &mut grpc,
            "/dev.sigstore.fulcio.v2.CA/CreateSigningCertificate",
            request,
        )
        .await;
        // SigningCertificate { 2 embedded { 1 chain { 1 certificates… } } }, no 1.
        let top = wire::fields(&answer);
        assert!(
            top.iter().all(|(number, _)| *number == 2),
            "only signed_certificate_embedded_sct (2): {top:?}"
        );
        let embedded = wire::only_bytes(&top, 2);
        let chain = wire::only_bytes(&wire::fields(embedded), 1);
        let pems: Vec<String> = wire::fields(chain)
            .iter()
            .map(|(number, value)| {
                assert_eq!(*number, 1, "certificates is field 1");
                let wire::Value::Bytes(bytes) = value else {
                    panic!("certificates are length-delimited")
                };
                String::from_utf8(bytes.to_vec()).expect("PEM text")
            })
            .collect();
        let chain = chain_of_pems(&pems);
        check_leaf(&chain[0], &chain[1]);
    }
    let (ct_after, issued_after) = counts(&stack).await;
    assert_eq!((ct_after - ct_before, issued_after - issued_before), (2, 2));

    // TrustBundle { 1 chains { 1 certificates… } }.
    let answer = wire::call(
        &mut grpc,
        "/dev.sigstore.fulcio.v2.CA/GetTrustBundle",
        Vec::new(),
    )
    .await;
    let chain = wire::only_bytes(&wire::fields(&answer), 1);
    let certificates: Vec<Vec<u8>> = wire::fields(chain)
        .iter()
        .map(|(number, value)| match (number, value) {
            (1, wire::Value::Bytes(pem)) => pem_to_der(std::str::from_utf8(pem).expect("PEM")),
            other => panic!("unexpected chain field {other:?}"),
        })
        .collect();
    assert_eq!(certificates, stack.chain);

    // Configuration { 1 issuers { 1 issuer_url, 3 audience, 4 challenge_claim,
    // 5 spiffe_trust_domain, 6 issuer_type, 7 subject_domain, 8 skip… } }.
    let answer = wire::call(
        &mut grpc,
        "/dev.sigstore.fulcio.v2.CA/GetConfiguration",
        Vec::new(),
    )
    .await;
    let issuers: Vec<Vec<(u32, wire::Value<'_>)>> = wire::fields(&answer)
        .into_iter()
        .map(|(number, value)| match (number, value) {
            (1, wire::Value::Bytes(issuer)) => wire::fields(issuer),
            other => panic!("unexpected Configuration field {other:?}"),
        })
        .collect();
    assert_eq!(issuers.len(), sigstack_e2e::ca::ISSUER_TYPES.len());
    let text = |issuer: &[(u32, wire::Value<'_>)], number: u32| {
        issuer.iter().find_map(|(n, v)| match v {
            wire::Value::Bytes(b) if *n == number => {
                Some(String::from_utf8(b.to_vec()).expect("UTF-8"))
            }
            _ => None,
        })
    };
    let of_type = |kind: &str| {
        issuers
            .iter()
            .find(|i| text(i, 6).as_deref() == Some(kind))
            .unwrap_or_else(|| panic!("issuer_type (6) {kind}"))
    };
    let email = of_type("email");
    assert_eq!(text(email, 1), Some(format!("{}/oidc/email", stack.base)));
    assert_eq!(text(email, 3).as_deref(), Some("sigstore"));
    assert_eq!(text(email, 4).as_deref(), Some("email"));
    let spiffe = of_type("spiffe");
    assert_eq!(text(spiffe, 4).as_deref(), Some("sub"));
    assert_eq!(text(spiffe, 5).as_deref(), Some("example.org"));
    let uri = of_type("uri");
    assert_eq!(text(uri, 7).as_deref(), Some("http://127.0.0.1"));
}

async fn rest_and_grpc_share_one_port<S: EngineStore + IssuanceStore + Clone + 'static>(
    store: S,
    setup: CaSetup,
) {
    let stack = CaStack::serve_with(store, setup).await;
    let key = RequesterKey::new();
    // HTTP/1.1 REST (reqwest without its http2 feature speaks nothing else).
    let response = stack
        .post(
            "/api/v2/signingCert",
            Some(&email_token(&stack)),
            &json!({"certificateSigningRequest": base64_of(key.csr_pem().as_bytes())}),
        )
        .await;
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    let rest = v2_chain(response).await;
    check_leaf(&rest[0], &rest[1]);
    // gRPC (HTTP/2 prior knowledge) to the very same address.
    let answer = stack
        .grpc_client()
        .await
        .create_signing_certificate(csr_request(&key, body_credentials(&email_token(&stack))))
        .await
        .expect("gRPC on the REST port")
        .into_inner();
    let grpc = chain_of_pems(&grpc_pems(answer));
    check_leaf(&grpc[0], &grpc[1]);
    // The gRPC routes took no fallback: an unknown REST path is still HTTP 404.
    let response = stack.get("/api/v2/nothing-here").await;
    assert_eq!(response.status(), 404);
    assert!(response.headers().get("grpc-status").is_none());
}

async fn a_request_past_its_time_limit_is_unavailable<
    S: EngineStore + IssuanceStore + Clone + 'static,
>(
    store: S,
    setup: CaSetup,
) {
    let stack = CaStack::serve_with(store, setup).await;
    // The same service behind a zero time limit, on a listener of its own:
    // issuance waits at least on the issuer's discovery document, so no
    // request can finish in time.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    let routes = sigstack_ca::grpc::grpc_routes(stack.service.clone(), Duration::ZERO).await;
    let server = tokio::spawn(async move { axum::serve(listener, routes).await });
    let channel = tonic::transport::Endpoint::from_shared(address)
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let key = RequesterKey::new();
    let status = CaClient::new(channel)
        .create_signing_certificate(csr_request(&key, body_credentials(&email_token(&stack))))
        .await
        .expect_err("past the time limit");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(status.message(), "error communicating with CA backend");
    server.abort();
}

/// Protobuf wire format by hand (varint keys, wire types 0 and 2), so the
/// field numbers checked are the ones in ca.md §2.2, not ours; and a codec
/// that hands tonic the raw message bytes.
mod wire {
    use prost::bytes::{Buf as _, BufMut as _};
    use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Value<'a> {
        Varint(u64),
        Bytes(&'a [u8]),
    }

    fn varint(mut value: u64, out: &mut Vec<u8>) {
        while value >= 0x80 {
            out.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }

    pub fn varint_field(number: u32, value: u64, out: &mut Vec<u8>) {
        varint(u64::from(number) << 3, out);
        varint(value, out);
    }

    pub fn bytes_field(number: u32, value: &[u8], out: &mut Vec<u8>) {
        varint((u64::from(number) << 3) | 2, out);
        varint(value.len() as u64, out);
        out.extend_from_slice(value);
    }

    fn read_varint(bytes: &mut &[u8]) -> u64 {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = bytes.split_first().expect("truncated varint");
            *bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return value;
            }
        }
        panic!("varint longer than 10 bytes")
    }

    /// Every field of one message, in order.
    pub fn fields(mut bytes: &[u8]) -> Vec<(u32, Value<'_>)> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let key = read_varint(&mut bytes);
            let number = u32::try_from(key >> 3).expect("field number");
            let value = match key & 7 {
                0 => Value::Varint(read_varint(&mut bytes)),
                2 => {
                    let len = usize::try_from(read_varint(&mut bytes)).expect("length");
                    let (value, rest) = bytes.split_at(len);
                    bytes = rest;
                    Value::Bytes(value)
                }
                other => panic!("wire type {other} where §2.2 has none"),
            };
            out.push((number, value));
        }
        out
    }

    /// The one length-delimited field `number`, asserting it appears once.
    pub fn only_bytes<'a>(fields: &[(u32, Value<'a>)], number: u32) -> &'a [u8] {
        let matching: Vec<&[u8]> = fields
            .iter()
            .filter_map(|(n, v)| match v {
                Value::Bytes(b) if *n == number => Some(*b),
                _ => None,
            })
            .collect();
        assert_eq!(matching.len(), 1, "field {number} once: {fields:?}");
        matching[0]
    }

    /// A unary call with raw request bytes; the raw answer bytes.
    pub async fn call(
        grpc: &mut tonic::client::Grpc<tonic::transport::Channel>,
        path: &'static str,
        request: Vec<u8>,
    ) -> Vec<u8> {
        grpc.ready().await.expect("channel ready");
        grpc.unary(
            tonic::Request::new(request),
            tonic::codegen::http::uri::PathAndQuery::from_static(path),
            RawCodec,
        )
        .await
        .unwrap_or_else(|status| panic!("{path}: {status:?}"))
        .into_inner()
    }

    #[derive(Debug, Clone, Copy)]
    pub struct RawCodec;

    impl Codec for RawCodec {
        type Encode = Vec<u8>;
        type Decode = Vec<u8>;
        type Encoder = RawCodec;
        type Decoder = RawCodec;
        fn encoder(&mut self) -> Self::Encoder {
            RawCodec
        }
        fn decoder(&mut self) -> Self::Decoder {
            RawCodec
        }
    }

    impl Encoder for RawCodec {
        type Item = Vec<u8>;
        type Error = tonic::Status;
        fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
            dst.put_slice(&item);
            Ok(())
        }
    }

    impl Decoder for RawCodec {
        type Item = Vec<u8>;
        type Error = tonic::Status;
        fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
            Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
        }
    }

    #[test]
    fn varints_round_trip() {
        let mut out = Vec::new();
        varint_field(1, 300, &mut out);
        bytes_field(15, b"hi", &mut out);
        // 300 = 0b1_0010_1100: 0xac 0x02; key of field 15, type 2 = 0x7a.
        assert_eq!(out, [0x08, 0xac, 0x02, 0x7a, 0x02, b'h', b'i']);
        assert_eq!(
            fields(&out),
            vec![(1, Value::Varint(300)), (15, Value::Bytes(b"hi"))]
        );
    }
}
