#!/usr/bin/env python3
"""Checks the one embedded SCT of a certificate with Python's `cryptography`.

Usage: verify_sct.py LEAF.pem ISSUER.pem CT_KEY.der

What sigstore-python does at signing time (spec/ca.md 10.2): exactly one SCT,
SHA-256, its log ID = SHA-256 of the CT key's DER SubjectPublicKeyInfo, and
the signature over the RFC 6962 3.2 precert entry rebuilt from the final
certificate (cryptography strips the SCT list: tbs_precertificate_bytes) and
the issuer's key hash. Exit status 0 only if all of that holds.
"""

import calendar
import hashlib
import struct
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def main() -> int:
    leaf_path, issuer_path, key_path = sys.argv[1:4]
    with open(leaf_path, "rb") as f:
        leaf = x509.load_pem_x509_certificate(f.read())
    with open(issuer_path, "rb") as f:
        issuer = x509.load_pem_x509_certificate(f.read())
    with open(key_path, "rb") as f:
        key_der = f.read()
    ct_key = serialization.load_der_public_key(key_der)

    scts = leaf.extensions.get_extension_for_class(
        x509.PrecertificateSignedCertificateTimestamps
    ).value
    if len(scts) != 1:
        print(f"expected exactly one SCT, found {len(scts)}")
        return 1
    sct = scts[0]
    if sct.version != x509.certificate_transparency.Version.v1:
        print("SCT is not v1")
        return 1
    if sct.entry_type != x509.certificate_transparency.LogEntryType.PRE_CERTIFICATE:
        print("SCT is not for a precertificate")
        return 1
    if not isinstance(sct.signature_hash_algorithm, hashes.SHA256):
        print("SCT hash is not SHA-256")
        return 1
    if sct.log_id != hashlib.sha256(key_der).digest():
        print("SCT log ID is not SHA-256 of the CT key")
        return 1

    issuer_key = issuer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    tbs = leaf.tbs_precertificate_bytes
    # `timestamp` is a naive UTC datetime with the milliseconds intact.
    moment = sct.timestamp
    millis = calendar.timegm(moment.utctimetuple()) * 1000 + moment.microsecond // 1000
    ext = sct.extension_bytes
    signed = (
        struct.pack(">BBQH", 0, 0, millis, 1)
        + hashlib.sha256(issuer_key).digest()
        + len(tbs).to_bytes(3, "big")
        + tbs
        + struct.pack(">H", len(ext))
        + ext
    )
    if not isinstance(ct_key, ec.EllipticCurvePublicKey):
        print("CT key is not ECDSA")
        return 1
    try:
        ct_key.verify(sct.signature, signed, ec.ECDSA(hashes.SHA256()))
    except Exception as exc:  # InvalidSignature
        print(f"SCT signature does not verify: {exc!r}")
        return 1
    print("SCT verifies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
