"""Fixed key material of the sandboxes: public test keys, worthless outside them.

Why fixed keys: an adapter built with its defaults and a sandbox started by
``asxh-pay sandbox serve`` in another process must agree on keys without any setup.
These keys are published with the library; never use them for a real provider (real
adapters take their keys as arguments, loaded with :func:`asxh_pay.signing.load_private_key`).
The EC keys are derived from fixed scalars; the RSA key is a PEM generated once.
"""

from __future__ import annotations

from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

#: The partner's (our) ECDSA P-256 key for Viettel Money requests, sandbox only.
_VIETTEL_PARTNER_SCALAR = 0x5A17E77E11A5B7A2D0C0FFEE1234567890ABCDEF0123456789ABCDEF0F1E2D3C
#: Viettel's ECDSA P-256 key signing responses and callbacks, sandbox only.
_VIETTEL_GATEWAY_SCALAR = 0x3C2D1E0FFEDCBA9876543210FEDCBA98765432100123456789ABCDEFABCDEF01

#: MoMo's RSA-2048 key (the sandbox decrypts ``disbursementMethod`` with it), sandbox only.
MOMO_SANDBOX_RSA_PEM = """-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCTeVNBBIerv91G
HpUpdAulkkKIchWc/Lz7gDEaqH3kY3K3R2RaM56xJXBdQjSxWn8GWVmVg1diGM62
1+FMve9W1nAZYgSQFoQdql6Ci7IhsrxQjuETji9axXjTcCLeixKDIqQWdXn28bnW
TR5pB8yvPP/jp0LbtQq5mXQjUGj1rlaOtTwqtxmPrKfjUVMQvtYp20lzxjzv62O+
rd8g74TgVuVGlkHN1P2X+n9N+ITcOIJ7H/BY6E6xhUG3gHiEkAfX+P804WN9uT4A
s0I4O6lqYkiiHp1UL9QV8rxqO3eFPKHA9ye/f6vG+nYQboLJjplhuW6zhHjA3dDR
a+Rr0/IBAgMBAAECggEAAjesHr14IocN10XDE4quGOcPSuzPukLC3vN/UYW8cF5m
MX8wYSqW6ZYc95sE7rCEGdLmveC54/TIaW+LMMenmVY7vOb4V3gONCG9XnBGLTtq
OVofpGcSO1a+LYw5awAbdvcysU+Chin988zorta+HzmvJZO8lbAGBXLLMDN/o4eN
5aN0fqZUpCL4DYXYcs7r/eEUXkjJgRD3fddYcUDGG28dRu/tKRH76kApm7YNb+lF
RHpGf4Zi0AJhDGw44U2oD1djxusRs220z6OqgpuIWK2TeL6+97vd//xfh629QACc
z/EyFErHIuq4WZGJBvXK0DSiDSWSSlZKmP6I1UcJEQKBgQDNPUiSVddkhqO/RX9a
1XDmOyx51gCuxeDQecJUGOCxru2ta59KZr1yvNvSvXf1tlmD3erG30dWYHaC3krR
4l1zXjKapfG7+x3KMbgaLyVGxprmDYml0z4mCZMMUAqZpym0u3PQRR+NWc2/BumX
B0o/DKkkJYoakC9Q8fx2nrqKUQKBgQC38qA2RAqcBgCgqKCqwpZz0u634aojYfvA
quDqbW5IajJ+x2lwwTckcMA/QtWAj5Cn8cWsMqgsJ4HpbFa+SJAa3YMkpyLM99/s
lTOWgItIjtqebPkwE6JvGviInjh73dE/tzwwI+vJfeMDb5Qw2JtG1TcxIwd0YG2S
GNhxPlFQsQKBgFvYYPGbmJhT6FNgNm3ftnZRZMXhDs0noEOrOVuJBoR9U7+XueEB
uSXvfjAAuf4rbEOmu7njkXkGEgLel3z1X/yQ2vR57oPBDMO/HDQbhQL3PbpVtJOQ
xO8gub141EWOmQtYF6vMQyJuXbRu03nSuVcdw1N5uSPKAmKm5+PthG0BAoGAPhPW
d5nMzszDx3RBDH+w0JO91jaE+X3mvSWt089saWnVcq2Paur51gVrC65daQ6KLfNM
14kc8hG/KOxT9dF9OGPLD0KMXwnD+w57I25sEueK5e42xj/KEJ7Ugx6KR1sbc9o9
qK1mtFAUnaM5Kqbe+C+aea2tpVupfqV93fG+9XECgYAsAeY2k+f1sq/B9C5Y6p8S
Y6E7oHFJjWVXrrcIwWOYoUU/TXW9l3pkEQsUE5y13uhbINUzu+kTStU3nXVId4F7
4mHYxToZPg194LmpF3DrhO479jCcX/LAnb+fMSThYdZMUb+GkPK4TK0IAAlm5qV+
Bj7+gZsb7ZUyoD8m7EMFPw==
-----END PRIVATE KEY-----"""


@cache
def viettel_partner_key() -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(_VIETTEL_PARTNER_SCALAR, ec.SECP256R1())


@cache
def viettel_gateway_key() -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(_VIETTEL_GATEWAY_SCALAR, ec.SECP256R1())


@cache
def momo_rsa_key() -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(MOMO_SANDBOX_RSA_PEM.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


#: Shared secrets of the sandboxes (HMAC, bearer token): public, sandbox only.
MOMO_SANDBOX_PARTNER_CODE = "MOMOASXH0001"
MOMO_SANDBOX_ACCESS_KEY = "asxhSandboxAccessKey"
MOMO_SANDBOX_SECRET_KEY = "asxh-momo-sandbox-secret-key-not-for-production"
VIETTEL_SANDBOX_PARTNER_CODE = "ASXH_VTM_01"
VIETTEL_SANDBOX_TOKEN = "asxh-viettel-sandbox-bearer-token"
GENERIC_SANDBOX_SECRET = "generic-sandbox-secret"
VNPOST_SANDBOX_SECRET = "vnpost-sandbox-secret"
VNPOST_SANDBOX_PARTNER_CODE = "ASXH"


def _public_der(key: object) -> bytes | None:
    """The SubjectPublicKeyInfo DER of a key object (private or public), else None."""
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        key = key.public_key()
    if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return None


@cache
def _published() -> tuple[frozenset[bytes], frozenset[bytes]]:
    secrets = frozenset(
        s.encode()
        for s in (
            MOMO_SANDBOX_SECRET_KEY,
            VIETTEL_SANDBOX_TOKEN,
            GENERIC_SANDBOX_SECRET,
            VNPOST_SANDBOX_SECRET,
        )
    )
    der = frozenset(
        d
        for d in (_public_der(k) for k in (viettel_partner_key(), viettel_gateway_key(), momo_rsa_key()))
        if d is not None
    )
    return secrets, der


#: Credentials of sandboxes outside this library (provider plugins), added by :func:`publish`.
_EXTRA_SECRETS: set[bytes] = set()
_EXTRA_DER: set[bytes] = set()


def publish(*credentials: object) -> None:
    """Declare more published sandbox credentials (a provider plugin's), refused like these.

    Why: a provider package outside this library ships its sandbox's secret too; its
    adapter's :meth:`~asxh_pay.providers.base.ProviderAdapter.refuse_sandbox_credentials`
    must refuse it off a sandbox address exactly as it refuses the built-in ones. Secrets
    are ``str``/``bytes``/pydantic secrets, keys are key objects (their public half is kept).
    """
    from pydantic import SecretBytes, SecretStr

    for value in credentials:
        if isinstance(value, SecretStr | SecretBytes):
            value = value.get_secret_value()
        if isinstance(value, str):
            value = value.encode()
        if isinstance(value, bytes):
            _EXTRA_SECRETS.add(value.strip())
            continue
        der = _public_der(value)
        if der is None:
            raise TypeError(f"cannot publish a {type(value).__name__} as a sandbox credential")
        _EXTRA_DER.add(der)


def is_published(value: object) -> bool:
    """Whether ``value`` is (or holds) one of the sandbox credentials published above.

    Why by value and whatever the type: the check that keeps these keys away from real
    traffic once compared a ``SecretStr`` with a ``str``, which are never equal. Secrets
    are compared as bytes (``str``, ``bytes``, pydantic secrets, an ``HmacKey``), keys by
    their public half (private or public key objects, or a signer/verifier holding one).
    """
    from pydantic import SecretBytes, SecretStr

    from asxh_pay.signing import HmacKey

    if isinstance(value, SecretStr | SecretBytes):
        value = value.get_secret_value()
    if isinstance(value, HmacKey):
        value = value._secret.get_secret_value()
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytearray | memoryview):
        value = bytes(value)
    secrets, der = _published()
    if isinstance(value, bytes):
        return value.strip() in secrets or value.strip() in _EXTRA_SECRETS
    inner = getattr(value, "_key", None)  # EcdsaSigner, RsaVerifier, ...
    if inner is not None and inner is not value:
        return is_published(inner)
    d = _public_der(value)
    return d is not None and (d in der or d in _EXTRA_DER)
