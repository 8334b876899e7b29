"""Signing, MACs, key loading and request signing for every rail.

Why one module: each rail signs differently (MoMo HMAC-SHA256 over a canonical query,
Viettel ECDSA P-256 over the raw body, ZaloPay RSA over a MAC, VNPay HMAC-SHA512), but an
adapter should only ever hold a ``Signer`` and a ``Verifier``. Everything here delegates the
mathematics to ``cryptography`` (or the stdlib ``hmac``); nothing is hand-rolled.

Rules kept throughout:

* ``Verifier.verify`` raises :class:`~asxh_pay.errors.SignatureError` and never returns
  ``False``: a forgotten ``if`` must not turn into an accepted forgery.
* Secrets (HMAC keys, private-key passwords, bearer tokens) are held as pydantic secret types
  and never appear in ``repr``, ``str``, logs or exception messages.
* Problems with key material (wrong type, wrong curve, too short, wrong password, malformed
  file) raise ``SignatureError``; nonsensical options raise ``ConfigurationError``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import tempfile
import time
from collections.abc import Callable, Generator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Literal, Protocol, TypeAlias, runtime_checkable

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from pydantic import SecretBytes, SecretStr

from asxh_pay.errors import ConfigurationError, SignatureError, ValidationError

__all__ = [
    "EcdsaSigner",
    "EcdsaVerifier",
    "Ed25519Signer",
    "Ed25519Verifier",
    "HmacKey",
    "PrivateKey",
    "PublicKey",
    "RsaSigner",
    "RsaVerifier",
    "SignatureAuth",
    "Signer",
    "Verifier",
    "canonical_query",
    "generate_ec_key",
    "generate_ed25519_key",
    "generate_rsa_key",
    "load_private_key",
    "load_public_key",
    "private_key_to_pem",
    "public_key_to_pem",
    "rsa_decrypt_pkcs1v15",
    "rsa_encrypt_pkcs1v15",
    "timestamped_message",
    "write_private_key",
]

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey: TypeAlias = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

#: RSA below this size is refused: 1024-bit RSA is within reach of well-funded attackers and
#: no rail we know of still requires it. A provider that does must be fixed, not accommodated.
MIN_RSA_BITS = 2048

_P256_COORD_BYTES = 32


# --------------------------------------------------------------------------- protocols


@runtime_checkable
class Signer(Protocol):
    """Anything that produces a signature or MAC over bytes.

    ``algorithm`` is a short JOSE-style name (``HS256``, ``RS256``, ``PS256``, ``ES256``,
    ``EdDSA``) for logs and configuration checks; it is never secret.
    """

    algorithm: str

    def sign(self, data: bytes) -> bytes:
        """Return the signature over exactly ``data``."""
        ...


@runtime_checkable
class Verifier(Protocol):
    """Anything that checks a signature or MAC over bytes.

    ``verify`` returns ``None`` on success and raises ``SignatureError`` otherwise; there is
    deliberately no boolean variant, so an ignored return value cannot accept a forgery.
    """

    algorithm: str

    def verify(self, data: bytes, signature: bytes) -> None:
        """Raise ``SignatureError`` unless ``signature`` is valid for ``data``."""
        ...


# --------------------------------------------------------------------------- helpers


def _secret_bytes(value: SecretStr | SecretBytes | str | bytes, what: str) -> bytes:
    """Unwrap a secret to bytes (str is UTF-8) without ever echoing it."""
    if isinstance(value, SecretStr):
        raw: str | bytes = value.get_secret_value()
    elif isinstance(value, SecretBytes):
        raw = value.get_secret_value()
    else:
        raw = value
    if isinstance(raw, str):
        return raw.encode("utf-8")
    if isinstance(raw, bytes | bytearray | memoryview):
        return bytes(raw)
    raise ConfigurationError(f"{what} must be SecretStr, str or bytes, not {type(value).__name__}")


def _check_rsa_bits(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> None:
    if key.key_size < MIN_RSA_BITS:
        raise SignatureError(f"RSA key of {key.key_size} bits refused: at least {MIN_RSA_BITS} required")


def _check_p256(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> None:
    if not isinstance(key.curve, ec.SECP256R1):
        raise SignatureError(f"ECDSA key on curve {key.curve.name} refused: only P-256 (secp256r1) is used")


# --------------------------------------------------------------------------- HMAC


class HmacKey:
    """HMAC-SHA256/512 with a shared secret; both a ``Signer`` and a ``Verifier``.

    Used by MoMo (SHA-256, hex, over :func:`canonical_query`), ZaloPay (SHA-256) and VNPay
    (SHA-512). Verification compares in constant time (``hmac.compare_digest``) so the time
    taken leaks nothing about how many leading bytes of a forged MAC were right.
    """

    __slots__ = ("_digest", "_secret", "algorithm", "hash")

    algorithm: str
    hash: Literal["sha256", "sha512"]

    def __init__(self, secret: SecretStr | str | bytes, hash: Literal["sha256", "sha512"] = "sha256") -> None:
        if hash not in ("sha256", "sha512"):
            raise ConfigurationError(f"unsupported HMAC hash {hash!r}: use 'sha256' or 'sha512'")
        raw = _secret_bytes(secret, "HMAC secret")
        if not raw:
            raise ConfigurationError("HMAC secret is empty")
        self._secret = SecretBytes(raw)
        self.hash = hash
        self._digest = hashlib.sha256 if hash == "sha256" else hashlib.sha512
        self.algorithm = "HS256" if hash == "sha256" else "HS512"

    def sign(self, data: bytes) -> bytes:
        """Return the raw MAC (hex or Base64 encoding is the caller's wire concern)."""
        return hmac.new(self._secret.get_secret_value(), data, self._digest).digest()

    def verify(self, data: bytes, signature: bytes) -> None:
        """Raise ``SignatureError`` unless ``signature`` is the raw MAC of ``data``."""
        if not hmac.compare_digest(self.sign(data), signature):
            raise SignatureError(f"{self.algorithm} MAC does not verify")

    def __repr__(self) -> str:
        return f"HmacKey(hash={self.hash!r}, secret='**********')"

    __str__ = __repr__


# --------------------------------------------------------------------------- RSA


def _rsa_padding(kind: str, *, verifying: bool) -> padding.AsymmetricPadding:
    if kind == "pkcs1v15":
        return padding.PKCS1v15()
    if kind == "pss":
        # Signing uses salt = digest length (32), the common interoperable choice; verifying
        # accepts any salt length (AUTO covers both DIGEST_LENGTH and MAX) because peers differ.
        salt = padding.PSS.AUTO if verifying else padding.PSS.DIGEST_LENGTH
        return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt)
    raise ConfigurationError(f"unsupported RSA padding {kind!r}: use 'pkcs1v15' or 'pss'")


class RsaSigner:
    """RSA with SHA-256, PKCS#1 v1.5 (``RS256``, deterministic) or PSS (``PS256``).

    PKCS#1 v1.5 is what ZaloPay and most Vietnamese gateways expect; prefer PSS where the peer
    accepts it.
    """

    __slots__ = ("_key", "_padding", "algorithm", "padding")

    algorithm: str

    def __init__(
        self, private_key: rsa.RSAPrivateKey, padding: Literal["pkcs1v15", "pss"] = "pkcs1v15"
    ) -> None:
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise SignatureError(f"RsaSigner needs an RSA private key, not {type(private_key).__name__}")
        _check_rsa_bits(private_key)
        self._padding = _rsa_padding(padding, verifying=False)
        self._key = private_key
        self.padding = padding
        self.algorithm = "RS256" if padding == "pkcs1v15" else "PS256"

    def sign(self, data: bytes) -> bytes:
        """Return the RSA signature (key-size bytes) over SHA-256 of ``data``."""
        return self._key.sign(data, self._padding, hashes.SHA256())

    def __repr__(self) -> str:
        return f"RsaSigner(algorithm={self.algorithm!r}, bits={self._key.key_size})"


class RsaVerifier:
    """Verifies ``RS256``/``PS256`` signatures with a public key."""

    __slots__ = ("_key", "_padding", "algorithm", "padding")

    algorithm: str

    def __init__(
        self, public_key: rsa.RSAPublicKey, padding: Literal["pkcs1v15", "pss"] = "pkcs1v15"
    ) -> None:
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise SignatureError(f"RsaVerifier needs an RSA public key, not {type(public_key).__name__}")
        _check_rsa_bits(public_key)
        self._padding = _rsa_padding(padding, verifying=True)
        self._key = public_key
        self.padding = padding
        self.algorithm = "RS256" if padding == "pkcs1v15" else "PS256"

    def verify(self, data: bytes, signature: bytes) -> None:
        """Raise ``SignatureError`` unless ``signature`` is valid for ``data``."""
        try:
            self._key.verify(signature, data, self._padding, hashes.SHA256())
        except (InvalidSignature, ValueError):
            raise SignatureError(f"{self.algorithm} signature does not verify") from None

    def __repr__(self) -> str:
        return f"RsaVerifier(algorithm={self.algorithm!r}, bits={self._key.key_size})"


def rsa_encrypt_pkcs1v15(public_key: rsa.RSAPublicKey, plaintext: bytes) -> bytes:
    """Encrypt ``plaintext`` with RSAES-PKCS1-v1_5 and return the raw ciphertext.

    Why this legacy scheme: MoMo Disbursement requires the ``disbursementMethod`` JSON to be
    encrypted with MoMo's RSA public key in PKCS#1 v1.5 (then Base64-encoded by the caller).
    The padding needs 11 bytes, so at most ``key_bytes - 11`` bytes fit (245 for RSA-2048);
    longer input raises ``SignatureError`` instead of an opaque library error. The message
    never includes the plaintext, which carries a national ID.
    """
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise SignatureError(f"RSA encryption needs an RSA public key, not {type(public_key).__name__}")
    _check_rsa_bits(public_key)
    limit = (public_key.key_size + 7) // 8 - 11
    if len(plaintext) > limit:
        raise SignatureError(
            f"plaintext is {len(plaintext)} bytes; RSA-{public_key.key_size} PKCS#1 v1.5 "
            f"encryption takes at most {limit} bytes"
        )
    return public_key.encrypt(plaintext, padding.PKCS1v15())


def rsa_decrypt_pkcs1v15(private_key: rsa.RSAPrivateKey, ciphertext: bytes) -> bytes:
    """Decrypt an RSAES-PKCS1-v1_5 ciphertext (used by the MoMo sandbox, which plays MoMo).

    Caution: OpenSSL >= 3.2 applies *implicit rejection* against Bleichenbacher attacks, so a
    tampered or foreign ciphertext usually decrypts to random bytes instead of raising. The
    caller must validate the result (the MoMo sandbox parses it as JSON and refuses otherwise).
    A ciphertext of the wrong length raises ``SignatureError``.
    """
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise SignatureError(f"RSA decryption needs an RSA private key, not {type(private_key).__name__}")
    _check_rsa_bits(private_key)
    if len(ciphertext) != (private_key.key_size + 7) // 8:
        raise SignatureError("ciphertext length does not match the RSA key size")
    try:
        return private_key.decrypt(ciphertext, padding.PKCS1v15())
    except ValueError:
        raise SignatureError("RSA PKCS#1 v1.5 decryption failed") from None


# --------------------------------------------------------------------------- ECDSA


class EcdsaSigner:
    """ECDSA P-256 with SHA-256 (``ES256``), as Viettel Money's gateway uses.

    ``encoding="der"`` gives the ASN.1 DER signature (Java/OpenSSL default); ``"raw"`` gives
    the 64-byte ``r || s`` used by JOSE and some gateways. ``deterministic=True`` uses RFC 6979
    nonces (needs OpenSSL >= 3.2), removing the dependence on a good random source at signing.
    """

    __slots__ = ("_algo", "_key", "algorithm", "encoding")

    algorithm: str

    def __init__(
        self,
        private_key: ec.EllipticCurvePrivateKey,
        *,
        encoding: Literal["der", "raw"] = "der",
        deterministic: bool = False,
    ) -> None:
        if not isinstance(private_key, ec.EllipticCurvePrivateKey):
            raise SignatureError(f"EcdsaSigner needs an EC private key, not {type(private_key).__name__}")
        _check_p256(private_key)
        if encoding not in ("der", "raw"):
            raise ConfigurationError(f"unsupported ECDSA encoding {encoding!r}: use 'der' or 'raw'")
        if deterministic:
            from cryptography.hazmat.backends.openssl import backend

            if not backend.ecdsa_deterministic_supported():
                raise ConfigurationError("deterministic ECDSA (RFC 6979) needs OpenSSL >= 3.2")
            self._algo = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
        else:
            self._algo = ec.ECDSA(hashes.SHA256())
        self._key = private_key
        self.encoding = encoding
        self.algorithm = "ES256"

    def sign(self, data: bytes) -> bytes:
        """Return the signature over SHA-256 of ``data`` in the configured encoding."""
        der = self._key.sign(data, self._algo)
        if self.encoding == "der":
            return der
        r, s = utils.decode_dss_signature(der)
        return r.to_bytes(_P256_COORD_BYTES, "big") + s.to_bytes(_P256_COORD_BYTES, "big")

    def __repr__(self) -> str:
        return f"EcdsaSigner(algorithm='ES256', encoding={self.encoding!r})"


class EcdsaVerifier:
    """Verifies ``ES256`` signatures (DER or raw ``r || s``) with a P-256 public key."""

    __slots__ = ("_key", "algorithm", "encoding")

    algorithm: str

    def __init__(
        self, public_key: ec.EllipticCurvePublicKey, *, encoding: Literal["der", "raw"] = "der"
    ) -> None:
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise SignatureError(f"EcdsaVerifier needs an EC public key, not {type(public_key).__name__}")
        _check_p256(public_key)
        if encoding not in ("der", "raw"):
            raise ConfigurationError(f"unsupported ECDSA encoding {encoding!r}: use 'der' or 'raw'")
        self._key = public_key
        self.encoding = encoding
        self.algorithm = "ES256"

    def verify(self, data: bytes, signature: bytes) -> None:
        """Raise ``SignatureError`` unless ``signature`` is valid for ``data``."""
        if self.encoding == "raw":
            if len(signature) != 2 * _P256_COORD_BYTES:
                raise SignatureError("ES256 raw signature must be 64 bytes (r || s)")
            r = int.from_bytes(signature[:_P256_COORD_BYTES], "big")
            s = int.from_bytes(signature[_P256_COORD_BYTES:], "big")
            signature = utils.encode_dss_signature(r, s)
        try:
            self._key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            raise SignatureError("ES256 signature does not verify") from None

    def __repr__(self) -> str:
        return f"EcdsaVerifier(algorithm='ES256', encoding={self.encoding!r})"


# --------------------------------------------------------------------------- Ed25519


class Ed25519Signer:
    """Ed25519 (``EdDSA``): deterministic, no parameters to get wrong; our choice for new work."""

    __slots__ = ("_key", "algorithm")

    algorithm: str

    def __init__(self, private_key: ed25519.Ed25519PrivateKey) -> None:
        if not isinstance(private_key, ed25519.Ed25519PrivateKey):
            raise SignatureError(
                f"Ed25519Signer needs an Ed25519 private key, not {type(private_key).__name__}"
            )
        self._key = private_key
        self.algorithm = "EdDSA"

    def sign(self, data: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature over ``data``."""
        return self._key.sign(data)

    def __repr__(self) -> str:
        return "Ed25519Signer(algorithm='EdDSA')"


class Ed25519Verifier:
    """Verifies ``EdDSA`` (Ed25519) signatures."""

    __slots__ = ("_key", "algorithm")

    algorithm: str

    def __init__(self, public_key: ed25519.Ed25519PublicKey) -> None:
        if not isinstance(public_key, ed25519.Ed25519PublicKey):
            raise SignatureError(
                f"Ed25519Verifier needs an Ed25519 public key, not {type(public_key).__name__}"
            )
        self._key = public_key
        self.algorithm = "EdDSA"

    def verify(self, data: bytes, signature: bytes) -> None:
        """Raise ``SignatureError`` unless ``signature`` is valid for ``data``."""
        try:
            self._key.verify(signature, data)
        except (InvalidSignature, ValueError):
            raise SignatureError("EdDSA signature does not verify") from None

    def __repr__(self) -> str:
        return "Ed25519Verifier(algorithm='EdDSA')"


# --------------------------------------------------------------------------- key loading


def _read_key_input(source: bytes | str | Path) -> bytes:
    """Path -> file bytes, str -> UTF-8 text. A str is key *text*, never a file name: guessing
    between the two would let a typo'd path be parsed as a key and vice versa."""
    if isinstance(source, Path):
        try:
            return source.read_bytes()
        except OSError as exc:
            raise SignatureError(f"cannot read key file {source.name}: {exc.strerror}") from None
    if isinstance(source, str):
        return source.encode("utf-8")
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    raise SignatureError(f"key must be bytes, str or Path, not {type(source).__name__}")


def _is_pem(data: bytes) -> bool:
    return data.lstrip().startswith(b"-----BEGIN ")


def load_private_key(pem: bytes | str | Path, password: SecretStr | str | bytes | None = None) -> PrivateKey:
    """Load an RSA, EC (P-256 only) or Ed25519 private key from PEM or DER (PKCS#8 or
    traditional), optionally encrypted.

    A wrong, missing or superfluous password raises ``SignatureError``; the message never
    contains the password and the underlying exception is not chained, so it cannot leak
    through a traceback either.
    """
    data = _read_key_input(pem)
    pw = None if password is None else _secret_bytes(password, "key password")
    try:
        if _is_pem(data):
            key = serialization.load_pem_private_key(data, password=pw)
        else:
            key = serialization.load_der_private_key(data, password=pw)
    except TypeError:
        if pw is None:
            raise SignatureError("private key is encrypted and no password was given") from None
        raise SignatureError("private key is not encrypted but a password was given") from None
    except (ValueError, UnsupportedAlgorithm):
        raise SignatureError("cannot load private key: wrong password or malformed/unsupported key") from None
    return _accept_private(key)


def _accept_private(key: object) -> PrivateKey:
    if isinstance(key, rsa.RSAPrivateKey):
        _check_rsa_bits(key)
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        _check_p256(key)
        return key
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    raise SignatureError(f"unsupported private key type {type(key).__name__}")


def load_public_key(pem: bytes | str | Path) -> PublicKey:
    """Load an RSA, EC (P-256) or Ed25519 public key.

    Accepts PEM (``PUBLIC KEY``, ``RSA PUBLIC KEY`` or an X.509 ``CERTIFICATE``, whose key is
    taken), DER, or bare Base64 of DER: MoMo publishes its public key in the last form.
    A certificate's validity and chain are *not* checked here; pinning the key is the point.
    """
    data = _read_key_input(pem)
    try:
        if _is_pem(data):
            if b"-----BEGIN CERTIFICATE-----" in data:
                key: object = x509.load_pem_x509_certificate(data).public_key()
            else:
                key = serialization.load_pem_public_key(data)
        else:
            der = data
            stripped = b"".join(data.split())
            if stripped and all(c in _B64_ALPHABET for c in stripped):
                try:
                    der = base64.b64decode(stripped, validate=True)
                except binascii.Error:
                    der = data
            key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        raise SignatureError("cannot load public key: malformed or unsupported key") from None
    if isinstance(key, rsa.RSAPublicKey):
        _check_rsa_bits(key)
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        _check_p256(key)
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    raise SignatureError(f"unsupported public key type {type(key).__name__}")


_B64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


def generate_rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    """Fresh RSA key (e = 65537) for sandboxes and tests; production keys come from the HSM/KMS."""
    if bits < MIN_RSA_BITS:
        raise ConfigurationError(f"RSA keys below {MIN_RSA_BITS} bits are refused")
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def generate_ec_key() -> ec.EllipticCurvePrivateKey:
    """Fresh P-256 key for sandboxes and tests."""
    return ec.generate_private_key(ec.SECP256R1())


def generate_ed25519_key() -> ed25519.Ed25519PrivateKey:
    """Fresh Ed25519 key for sandboxes and tests."""
    return ed25519.Ed25519PrivateKey.generate()


def private_key_to_pem(key: PrivateKey, password: SecretStr | str | bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted with the best available scheme when a password is given."""
    encryption: serialization.KeySerializationEncryption
    if password is None:
        encryption = serialization.NoEncryption()
    else:
        pw = _secret_bytes(password, "key password")
        if not pw:
            raise ConfigurationError("key password is empty")
        encryption = serialization.BestAvailableEncryption(pw)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def write_private_key(path: Path, pem: bytes) -> None:
    """Write a private key so that it is never readable by others, not even for a moment.

    Why a temp file and a rename: ``open(O_CREAT, 0o600)`` keeps the mode of a file that
    already exists (perhaps 0644), and a chmod after writing leaves a window. ``mkstemp``
    creates the file 0600 whatever the umask; the rename replaces the old file atomically.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def public_key_to_pem(key: PublicKey) -> bytes:
    """SubjectPublicKeyInfo PEM (``-----BEGIN PUBLIC KEY-----``), the form peers exchange."""
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_key_fingerprint(key: PublicKey) -> str:
    """Short name of a public key (SHA-256 of its PEM, 32 hex digits), printed next to signatures
    so a reader can tell which of the trusted keys made one."""
    return hashlib.sha256(public_key_to_pem(key)).hexdigest()[:32]


# --------------------------------------------------------------------------- canonical query


def _canonical_value(key: str, value: object) -> str:
    # Exact, boring conversions only: a value whose text form depends on Python's repr (float,
    # arbitrary objects) would sign differently from the provider's Java/JS reference code.
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    raise ValidationError(
        f"cannot sign a {type(value).__name__}; pass str, int, bool, Decimal or None", field=key
    )


def canonical_query(params: Mapping[str, object]) -> str:
    """MoMo's string-to-sign: ``k1=v1&k2=v2...`` with keys sorted a-z.

    Exactly as MoMo's reference code builds it: keys in code-point order (what Java's
    ``String.compareTo`` and JS ``sort()`` give), values as plain text, **no URL encoding** and
    no escaping. ``None`` becomes ``""`` (MoMo's empty ``extraData``), booleans ``true``/``false``,
    ``Decimal`` fixed-point; floats and other objects are refused with ``ValidationError``
    because their text form is not portable. Note the scheme is ambiguous if a value contains
    ``&`` or ``=``; that is MoMo's design and the field set it signs is fixed.
    """
    parts = []
    for key in sorted(params):
        if not isinstance(key, str):
            raise ValidationError("parameter names must be str")
        parts.append(f"{key}={_canonical_value(key, params[key])}")
    return "&".join(parts)


# --------------------------------------------------------------------------- httpx auth


def timestamped_message(timestamp: int | str, body: bytes) -> bytes:
    """The bytes :class:`SignatureAuth` signs when a timestamp header is used:
    ``b"<timestamp>." + body``. Exposed so the receiving side (and sandboxes) rebuild it exactly."""
    return f"{timestamp}.".encode("ascii") + body


class SignatureAuth(httpx.Auth):
    """httpx auth flow that signs the raw request body (Viettel-style ``Signature`` header).

    Why an auth flow: it runs after httpx has encoded the body, so the signature covers the
    exact bytes on the wire (never a re-serialised object), and it does no I/O, so one instance
    serves ``httpx.Client`` and ``httpx.AsyncClient`` alike.

    * ``header``: name of the signature header; ``encoding``: ``base64`` or ``hex``.
    * ``timestamp_header``: when set, the current Unix time in whole seconds is sent in that
      header and the signature covers :func:`timestamped_message` (``b"<ts>." + body``),
      binding the request to a time so a captured request cannot be replayed much later.
    * ``bearer_token``: optional ``Authorization: Bearer <token>``; kept as ``SecretStr``.
    """

    requires_request_body = True

    def __init__(
        self,
        signer: Signer,
        *,
        header: str = "Signature",
        encoding: Literal["base64", "hex"] = "base64",
        timestamp_header: str | None = None,
        bearer_token: SecretStr | str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if encoding not in ("base64", "hex"):
            raise ConfigurationError(f"unsupported signature encoding {encoding!r}: use 'base64' or 'hex'")
        if not header:
            raise ConfigurationError("signature header name is empty")
        self._signer = signer
        self.header = header
        self.encoding = encoding
        self.timestamp_header = timestamp_header
        if bearer_token is not None and not isinstance(bearer_token, SecretStr):
            bearer_token = SecretStr(bearer_token)
        if bearer_token is not None and not bearer_token.get_secret_value():
            raise ConfigurationError("bearer token is empty")
        self._bearer = bearer_token
        self._clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign ``request.content`` and set the headers; yields the request once."""
        body = request.content  # already read: requires_request_body = True
        if self.timestamp_header is not None:
            ts = str(int(self._clock()))
            request.headers[self.timestamp_header] = ts
            message = timestamped_message(ts, body)
        else:
            message = body
        signature = self._signer.sign(message)
        encoded = (
            base64.b64encode(signature).decode("ascii") if self.encoding == "base64" else signature.hex()
        )
        request.headers[self.header] = encoded
        if self._bearer is not None:
            request.headers["Authorization"] = f"Bearer {self._bearer.get_secret_value()}"
        yield request

    def __repr__(self) -> str:
        return (
            f"SignatureAuth(algorithm={self._signer.algorithm!r}, header={self.header!r}, "
            f"encoding={self.encoding!r}, timestamp_header={self.timestamp_header!r}, "
            f"bearer_token={'**********' if self._bearer is not None else None})"
        )

    __str__ = __repr__
