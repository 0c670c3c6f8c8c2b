"""Loads sigstack's exported trust files in sigstore-python's own classes
and prints what they yield, as one JSON object, for tests/tests/up_sigstore_python.rs.

Usage: python sigstore_python_trust.py TRUST_DIR

Any file the classes refuse raises, and the script exits non-zero.
"""

import json
import sys
from importlib.metadata import version
from pathlib import Path

from sigstore._internal.trust import KeyringPurpose
from sigstore.models import ClientTrustConfig, SigningConfig, TrustedRoot


def describe_root(root: TrustedRoot) -> dict:
    # Keyrings for both purposes: SIGN drops keys outside validFor, VERIFY
    # keeps expired ones; both raise when no key is left.
    rekor = root.rekor_keyring(KeyringPurpose.SIGN)
    ct = root.ct_keyring(KeyringPurpose.SIGN)
    root.rekor_keyring(KeyringPurpose.VERIFY)
    root.ct_keyring(KeyringPurpose.VERIFY)
    return {
        "rekor_key_ids": sorted(k.hex() for k in rekor._keyring),
        "ct_key_ids": sorted(k.hex() for k in ct._keyring),
        "fulcio_certificates": len(root.get_fulcio_certs()),
        "timestamp_authorities": len(root.get_timestamp_authorities()),
    }


def describe_config(config: SigningConfig) -> dict:
    return {
        "tlogs": [t.url for t in config.get_tlogs()],
        "fulcio": config.get_fulcio().url,
        "oidc": config.get_oidc_url(),
        "tsas": len(config.get_tsas()),
    }


def main() -> None:
    trust = Path(sys.argv[1])
    both = ClientTrustConfig.from_json((trust / "trust_config.json").read_text())
    out = {
        "sigstore_version": version("sigstore"),
        "trusted_root": describe_root(TrustedRoot.from_file(str(trust / "trusted_root.json"))),
        "signing_config": describe_config(
            SigningConfig.from_file(str(trust / "signing_config.v0.2.json"))
        ),
        "client_trust_config": {
            "trusted_root": describe_root(both.trusted_root),
            "signing_config": describe_config(both.signing_config),
        },
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
