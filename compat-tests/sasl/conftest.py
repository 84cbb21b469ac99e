"""One `strait dev` that requires SASL: SCRAM bootstrap users (one per mechanism), OAUTHBEARER against a JWKS
file holding the suite's own RSA key, and a short re-authentication interval."""
import base64
import json
import os
import shutil
import sys
import tempfile
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../py-support"))
from strait_process import StraitProcess  # noqa: E402  (compat-tests/py-support)

ISSUER = "https://idp.strait.test/"
AUDIENCE = "strait"
KID = "suite-key-1"
REAUTH_MS = 2000
USERS = {"admin256": ("admin256-secret", "SCRAM-SHA-256"), "admin512": ("admin512-secret", "SCRAM-SHA-512")}


def _b64(n):
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Secured(StraitProcess):
    def __init__(self, tmp):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pub = self.key.public_key().public_numbers()
        jwks = os.path.join(tmp, "jwks.json")
        with open(jwks, "w") as f:
            json.dump({"keys": [{"kty": "RSA", "kid": KID, "use": "sig", "alg": "RS256",
                                 "n": _b64(pub.n), "e": _b64(pub.e)}]}, f)
        users = ",".join(f'{{name="{n}",password="{p}",mechanism="{m}",iterations=4096}}'
                         for n, (p, m) in USERS.items())
        super().__init__(os.path.join(tmp, "data"), env={
            "STRAIT_KAFKA__SASL__SCRAM_USERS": f"[{users}]",
            "STRAIT_KAFKA__SASL__MAX_REAUTH_MS": str(REAUTH_MS),
            "STRAIT_KAFKA__SASL__OAUTHBEARER__JWKS_FILE": jwks,
            "STRAIT_KAFKA__SASL__OAUTHBEARER__ISSUER": ISSUER,
            "STRAIT_KAFKA__SASL__OAUTHBEARER__AUDIENCE": f'["{AUDIENCE}"]',
            # This suite tests Kafka only; a node refuses an open AWS API beside an authenticated Kafka unless told.
            "STRAIT_SECURITY__ALLOW_UNAUTHENTICATED_AWS": "true",
        })

    def token(self, sub="alice", aud=AUDIENCE, exp_in=600, key=None, kid=KID):
        now = int(time.time())
        claims = {"sub": sub, "iss": ISSUER, "aud": aud, "iat": now, "exp": now + exp_in}
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture(scope="session")
def secured():
    tmp = tempfile.mkdtemp(prefix="strait-sasl-")
    s = Secured(tmp).start()
    yield s
    s.stop()
    if os.environ.get("STRAIT_KEEP_DATA"):
        print(f"strait data and log kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def scram(bootstrap, user, password, mechanism, **extra):
    return {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": mechanism,
            "sasl.username": user, "sasl.password": password, **extra}
