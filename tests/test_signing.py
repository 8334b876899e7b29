"""Known-answer and tamper tests for asxh_pay.signing.

Published vectors come from RFC 4231 (HMAC), RFC 8032 section 7.1 (Ed25519), RFC 6979 A.2.5
(ECDSA P-256/SHA-256) and NIST CAVP FIPS 186-3 SigGen15 (RSA PKCS#1 v1.5, SHA-256): a library
that only round-trips with itself could be consistently wrong; these catch that.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Literal

import httpx
import pytest
from cryptography.hazmat.backends.openssl import backend
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from pydantic import SecretStr

from asxh_pay.errors import ConfigurationError, SignatureError, ValidationError
from asxh_pay.signing import (
    EcdsaSigner,
    EcdsaVerifier,
    Ed25519Signer,
    Ed25519Verifier,
    HmacKey,
    PrivateKey,
    RsaSigner,
    RsaVerifier,
    SignatureAuth,
    Signer,
    Verifier,
    canonical_query,
    generate_ec_key,
    generate_ed25519_key,
    generate_rsa_key,
    load_private_key,
    load_public_key,
    private_key_to_pem,
    public_key_to_pem,
    rsa_decrypt_pkcs1v15,
    rsa_encrypt_pkcs1v15,
    timestamped_message,
)

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return generate_rsa_key()


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return generate_ec_key()


@pytest.fixture(scope="module")
def ed_key() -> ed25519.Ed25519PrivateKey:
    return generate_ed25519_key()


def flip(data: bytes, bit: int = 0) -> bytes:
    """Flip one bit (default: the lowest bit of the middle byte)."""
    b = bytearray(data)
    i = len(b) // 2
    b[i] ^= 1 << bit
    return bytes(b)


# --------------------------------------------------------------------------- RFC 4231

K131 = b"\xaa" * 131
RFC4231 = {
    1: (
        b"\x0b" * 20,
        b"Hi There",
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
        "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
    ),
    2: (
        b"Jefe",
        b"what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
        "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
    ),
    3: (
        b"\xaa" * 20,
        b"\xdd" * 50,
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
        "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
    ),
    4: (
        bytes(range(1, 26)),
        b"\xcd" * 50,
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
        "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
    ),
    6: (
        K131,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
        "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
    ),
    7: (
        K131,
        b"This is a test using a larger than block-size key and a larger than block-size data. "
        b"The key needs to be hashed before being used by the HMAC algorithm.",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
        "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
    ),
}


@pytest.mark.parametrize("case", sorted(RFC4231))
@pytest.mark.parametrize("hash_name", ["sha256", "sha512"])
def test_hmac_rfc4231(case: int, hash_name: str) -> None:
    key, data, mac256, mac512 = RFC4231[case]
    expected = bytes.fromhex(mac256 if hash_name == "sha256" else mac512)
    hk = HmacKey(key, hash="sha256" if hash_name == "sha256" else "sha512")
    assert hk.sign(data) == expected
    hk.verify(data, expected)
    with pytest.raises(SignatureError):
        hk.verify(flip(data), expected)
    with pytest.raises(SignatureError):
        hk.verify(data, flip(expected))
    with pytest.raises(SignatureError):
        hk.verify(data, expected[:-1])


def test_hmac_secret_forms_agree_and_wrong_key_fails() -> None:
    a = HmacKey(SecretStr("Jefe")).sign(b"x")
    assert a == HmacKey("Jefe").sign(b"x") == HmacKey(b"Jefe").sign(b"x")
    with pytest.raises(SignatureError):
        HmacKey("Jeff").verify(b"x", a)
    with pytest.raises(ConfigurationError):
        HmacKey("")
    with pytest.raises(ConfigurationError):
        HmacKey("k", hash="md5")  # type: ignore[arg-type]


def test_hmac_algorithm_names() -> None:
    assert HmacKey("k").algorithm == "HS256"
    assert HmacKey("k", hash="sha512").algorithm == "HS512"


# --------------------------------------------------------------------------- RFC 8032

RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


@pytest.mark.parametrize(("sk", "pk", "msg", "sig"), RFC8032, ids=["TEST1", "TEST2", "TEST3"])
def test_ed25519_rfc8032(sk: str, pk: str, msg: str, sig: str) -> None:
    priv = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(sk))
    pub = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(pk))
    message, signature = bytes.fromhex(msg), bytes.fromhex(sig)
    assert Ed25519Signer(priv).sign(message) == signature
    v = Ed25519Verifier(pub)
    v.verify(message, signature)
    with pytest.raises(SignatureError):
        v.verify(message + b"\x00", signature)
    with pytest.raises(SignatureError):
        v.verify(message, flip(signature))


def test_ed25519_tamper_and_wrong_key(ed_key: ed25519.Ed25519PrivateKey) -> None:
    sig = Ed25519Signer(ed_key).sign(b"payout 42")
    v = Ed25519Verifier(ed_key.public_key())
    v.verify(b"payout 42", sig)
    with pytest.raises(SignatureError):
        v.verify(flip(b"payout 42"), sig)
    with pytest.raises(SignatureError):
        v.verify(b"payout 42", flip(sig))
    with pytest.raises(SignatureError):
        Ed25519Verifier(generate_ed25519_key().public_key()).verify(b"payout 42", sig)


# --------------------------------------------------------------------------- RFC 6979 A.2.5

P256_X = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721
P256_UX = 0x60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6
P256_UY = 0x7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299
RFC6979 = [
    (
        b"sample",
        0xEFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716,
        0xF7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8,
    ),
    (
        b"test",
        0xF1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367,
        0x019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083,
    ),
]


def _raw(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


@pytest.mark.parametrize(("msg", "r", "s"), RFC6979, ids=["sample", "test"])
def test_ecdsa_rfc6979_verify(msg: bytes, r: int, s: int) -> None:
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    pub = ec.EllipticCurvePublicNumbers(P256_UX, P256_UY, ec.SECP256R1()).public_key()
    EcdsaVerifier(pub).verify(msg, encode_dss_signature(r, s))
    EcdsaVerifier(pub, encoding="raw").verify(msg, _raw(r, s))
    with pytest.raises(SignatureError):
        EcdsaVerifier(pub, encoding="raw").verify(msg + b"!", _raw(r, s))
    with pytest.raises(SignatureError):
        EcdsaVerifier(pub, encoding="raw").verify(msg, flip(_raw(r, s)))


@pytest.mark.skipif(not backend.ecdsa_deterministic_supported(), reason="needs OpenSSL >= 3.2")
@pytest.mark.parametrize(("msg", "r", "s"), RFC6979, ids=["sample", "test"])
def test_ecdsa_rfc6979_reproduce(msg: bytes, r: int, s: int) -> None:
    priv = ec.derive_private_key(P256_X, ec.SECP256R1())
    assert priv.public_key().public_numbers().x == P256_UX
    assert EcdsaSigner(priv, encoding="raw", deterministic=True).sign(msg) == _raw(r, s)


@pytest.mark.parametrize("encoding", ["der", "raw"])
def test_ecdsa_roundtrip_tamper_wrong_key(
    ec_key: ec.EllipticCurvePrivateKey, encoding: Literal["der", "raw"]
) -> None:
    enc = encoding
    sig = EcdsaSigner(ec_key, encoding=enc).sign(b"{}")
    if enc == "raw":
        assert len(sig) == 64
    v = EcdsaVerifier(ec_key.public_key(), encoding=enc)
    v.verify(b"{}", sig)
    with pytest.raises(SignatureError):
        v.verify(flip(b"{}"), sig)
    for bit in range(8):  # DER tamper may hit length bytes: any position must still fail
        with pytest.raises(SignatureError):
            v.verify(b"{}", flip(sig, bit))
    with pytest.raises(SignatureError):
        EcdsaVerifier(generate_ec_key().public_key(), encoding=enc).verify(b"{}", sig)
    with pytest.raises(SignatureError):
        v.verify(b"{}", b"")


def test_ecdsa_refuses_other_curves() -> None:
    k = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(SignatureError, match="P-256"):
        EcdsaSigner(k)
    with pytest.raises(SignatureError, match="P-256"):
        EcdsaVerifier(k.public_key())
    with pytest.raises(SignatureError):
        load_private_key(private_key_to_pem(k))


# --------------------------------------------------------------------------- RSA

# NIST CAVP FIPS 186-3 "SigGen15_186-3.txt", [mod = 2048], SHAAlg = SHA256, first vector.
NIST_N = int(
    "cea80475324c1dc8347827818da58bac069d3419c614a6ea1ac6a3b510dcd72cc516954905e9fef908d45e13006adf27"
    "d467a7d83c111d1a5df15ef293771aefb920032a5bb989f8e4f5e1b05093d3f130f984c07a772a3683f4dc6fb28a9681"
    "5b32123ccdd13954f19d5b8b24a103e771a34c328755c65ed64e1924ffd04d30b2142cc262f6e0048fef6dbc652f2147"
    "9ea1c4b1d66d28f4d46ef7185e390cbfa2e02380582f3188bb94ebbf05d31487a09aff01fcbb4cd4bfd1f0a833b38c11"
    "813c84360bb53c7d4481031c40bad8713bb6b835cb08098ed15ba31ee4ba728a8c8e10f7294e1b4163b7aee57277bfd8"
    "81a6f9d43e02c6925aa3a043fb7fb78d",
    16,
)
NIST_E = 0x260445
NIST_D = int(
    "0997634c477c1a039d44c810b2aaa3c7862b0b88d3708272e1e15f66fc9389709f8a11f3ea6a5af7effa2d01c189c50f"
    "0d5bcbe3fa272e56cfc4a4e1d388a9dcd65df8628902556c8b6bb6a641709b5a35dd2622c73d4640bfa1359d0e76e1f2"
    "19f8e33eb9bd0b59ec198eb2fccaae0346bd8b401e12e3c67cb629569c185a2e0f35a2f741644c1cca5ebb139d77a89a"
    "2953fc5e30048c0e619f07c8d21d1e56b8af07193d0fdf3f49cd49f2ef3138b5138862f1470bd2d16e34a2b9e7777a6c"
    "8c8d4cb94b4e8b5d616cd5393753e7b0f31cc7da559ba8e98d888914e334773baf498ad88d9631eb5fe32e53a4145bf0"
    "ba548bf2b0a50c63f67b14e398a34b0d",
    16,
)
NIST_MSG = bytes.fromhex(
    "c43011f3ee88c9c9adcac8bf37221afa31769d347dec705e53aca98993e74606591867ccd289ba1b4f19365f983e0c57"
    "8346da76c5e2228a07e4fc9b3d4807163371a52b68b66873201dc7d6b56616ac2e4cb522120787df7f15a5e8763a54c1"
    "79c635d65816bc19485de3eb35a52040591094fe0e6485a7e0c60e38e7c61551"
)
NIST_S = bytes.fromhex(
    "aa3a4e12eb87596c711c9a22bcabcb9dadffcabcecbd16228889e9bb457d5d22571a72f034be4783384f43ce6fffc605"
    "34b8331cdd5d7c77f49180bfd194b5fd43a508c66d786c558876735894e6a9300952de792f747045e74d87fd50980230"
    "707a34a4df013ce050bbff0d6f570885c9c7bf8dc499132caee071b41d81ff91b8ce21aa2f282cbf52389f239afe1490"
    "890be21f9d808b3d70b97efd59c0b60e466088bb42714f212bc90db7e942ebcee60e7b107fff44fb3564ff07d6d02850"
    "215fd357d897c4d32bef8661689f2d84ff897637fb6d5568a7270e783426b74b7037493e5155fd7cb3ddddfd36bd8a9c"
    "877d71d2a966057c08263d2939c84987"
)


def _nist_rsa_key() -> rsa.RSAPrivateKey:
    """The vector gives (n, e, d) only; the primes are recovered so a signing key can be built."""
    p, q = rsa.rsa_recover_prime_factors(NIST_N, NIST_E, NIST_D)
    pub = rsa.RSAPublicNumbers(NIST_E, NIST_N)
    return rsa.RSAPrivateNumbers(
        p, q, NIST_D, rsa.rsa_crt_dmp1(NIST_D, p), rsa.rsa_crt_dmq1(NIST_D, q), rsa.rsa_crt_iqmp(p, q), pub
    ).private_key()


def test_rsa_pkcs1v15_nist_known_answer() -> None:
    key = _nist_rsa_key()
    assert RsaSigner(key).sign(NIST_MSG) == NIST_S  # PKCS#1 v1.5 is deterministic
    v = RsaVerifier(key.public_key())
    v.verify(NIST_MSG, NIST_S)
    with pytest.raises(SignatureError):
        v.verify(flip(NIST_MSG), NIST_S)
    with pytest.raises(SignatureError):
        v.verify(NIST_MSG, flip(NIST_S))


@pytest.mark.parametrize("pad", ["pkcs1v15", "pss"])
def test_rsa_roundtrip_tamper_wrong_key(rsa_key: rsa.RSAPrivateKey, pad: Literal["pkcs1v15", "pss"]) -> None:
    p = pad
    signer = RsaSigner(rsa_key, padding=p)
    assert signer.algorithm == ("PS256" if p == "pss" else "RS256")
    sig = signer.sign(b"amount=100000")
    v = RsaVerifier(rsa_key.public_key(), padding=p)
    v.verify(b"amount=100000", sig)
    with pytest.raises(SignatureError):
        v.verify(b"amount=100001", sig)
    with pytest.raises(SignatureError):
        v.verify(b"amount=100000", flip(sig))
    with pytest.raises(SignatureError):
        v.verify(b"amount=100000", sig[:-1])
    with pytest.raises(SignatureError):
        RsaVerifier(generate_rsa_key().public_key(), padding=p).verify(b"amount=100000", sig)
    other: Literal["pkcs1v15", "pss"] = "pkcs1v15" if p == "pss" else "pss"
    with pytest.raises(SignatureError):
        RsaVerifier(rsa_key.public_key(), padding=other).verify(b"amount=100000", sig)


def test_rsa_pss_verify_accepts_max_salt(rsa_key: rsa.RSAPrivateKey) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    pss_max = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)
    sig = rsa_key.sign(b"m", pss_max, hashes.SHA256())
    RsaVerifier(rsa_key.public_key(), padding="pss").verify(b"m", sig)


def test_rsa_refuses_small_and_wrong_type_keys(ec_key: ec.EllipticCurvePrivateKey) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(SignatureError, match="2048"):
        RsaSigner(small)
    with pytest.raises(SignatureError):
        RsaVerifier(small.public_key())
    with pytest.raises(SignatureError):
        RsaSigner(ec_key)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        generate_rsa_key(1024)


def test_rsa_encrypt_momo_disbursement_method(rsa_key: rsa.RSAPrivateKey) -> None:
    method = json.dumps(
        {"walletId": "0912345678", "walletName": "NGUYEN VAN A", "personalId": "001090000001"}
    ).encode()
    ct = rsa_encrypt_pkcs1v15(rsa_key.public_key(), method)
    assert len(ct) == 256
    assert rsa_encrypt_pkcs1v15(rsa_key.public_key(), method) != ct  # randomised padding
    wire = base64.b64encode(ct).decode()
    assert rsa_decrypt_pkcs1v15(rsa_key, base64.b64decode(wire)) == method


def test_rsa_encrypt_length_limit(rsa_key: rsa.RSAPrivateKey) -> None:
    rsa_encrypt_pkcs1v15(rsa_key.public_key(), b"x" * 245)
    secret_looking = b"001090000001" + b"y" * 240
    with pytest.raises(SignatureError, match="at most 245") as exc:
        rsa_encrypt_pkcs1v15(rsa_key.public_key(), secret_looking)
    assert "001090000001" not in str(exc.value)
    with pytest.raises(SignatureError):
        rsa_decrypt_pkcs1v15(rsa_key, b"\x00" * 10)


# --------------------------------------------------------------------------- protocols


def test_protocol_conformance(
    rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    signers: list[Signer] = [HmacKey("s"), RsaSigner(rsa_key), EcdsaSigner(ec_key), Ed25519Signer(ed_key)]
    verifiers: list[Verifier] = [
        HmacKey("s"),
        RsaVerifier(rsa_key.public_key()),
        EcdsaVerifier(ec_key.public_key()),
        Ed25519Verifier(ed_key.public_key()),
    ]
    for s, v in zip(signers, verifiers, strict=True):
        assert isinstance(s, Signer) and isinstance(v, Verifier)
        assert s.algorithm == v.algorithm
        v.verify(b"d", s.sign(b"d"))  # returns nothing; raising is the only failure mode


# --------------------------------------------------------------------------- key loading


@pytest.mark.parametrize("kind", ["rsa", "ec", "ed25519"])
def test_pem_roundtrip_and_der(kind: str, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    key: PrivateKey
    if kind == "rsa":
        key = generate_rsa_key()
    elif kind == "ec":
        key = generate_ec_key()
    else:
        key = generate_ed25519_key()
    pem = private_key_to_pem(key)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = load_private_key(pem)
    assert type(loaded) is type(key)
    assert public_key_to_pem(loaded.public_key()) == public_key_to_pem(key.public_key())
    assert load_private_key(pem.decode()) is not None
    path = tmp_path / "k.pem"
    path.write_bytes(pem)
    assert public_key_to_pem(load_private_key(path).public_key()) == public_key_to_pem(key.public_key())
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert public_key_to_pem(load_private_key(der).public_key()) == public_key_to_pem(key.public_key())

    pub_pem = public_key_to_pem(key.public_key())
    assert public_key_to_pem(load_public_key(pub_pem)) == pub_pem
    pub_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public_key_to_pem(load_public_key(pub_der)) == pub_pem
    # MoMo publishes its public key as bare Base64 of the DER, with no PEM armour.
    assert public_key_to_pem(load_public_key(base64.b64encode(pub_der).decode())) == pub_pem


def test_encrypted_pem_passwords(rsa_key: rsa.RSAPrivateKey) -> None:
    password = "correct horse battery staple"
    pem = private_key_to_pem(rsa_key, password=SecretStr(password))
    assert b"ENCRYPTED" in pem
    for pw in (password, password.encode(), SecretStr(password)):
        assert public_key_to_pem(load_private_key(pem, pw).public_key()) == public_key_to_pem(
            rsa_key.public_key()
        )

    wrong = "Tr0ub4dor&3-wrong"
    with pytest.raises(SignatureError) as exc:
        load_private_key(pem, wrong)
    assert wrong not in str(exc.value) and password not in str(exc.value)
    assert exc.value.__cause__ is None and exc.value.__suppress_context__
    with pytest.raises(SignatureError, match="no password"):
        load_private_key(pem)
    with pytest.raises(SignatureError, match="not encrypted"):
        load_private_key(private_key_to_pem(rsa_key), password="x")


def test_load_garbage() -> None:
    with pytest.raises(SignatureError):
        load_private_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(SignatureError):
        load_public_key(b"\x30\x03\x02\x01\x00")
    with pytest.raises(SignatureError):
        load_public_key(Path("/nonexistent/key.pem"))


# --------------------------------------------------------------------------- canonical query


def test_canonical_query_momo_rule() -> None:
    params = {
        "requestType": "disburseToWallet",
        "accessKey": "F8BBA842ECF85",
        "amount": 1_500_000,
        "extraData": None,
        "orderInfo": "Tro cap xa hoi T6/2025 & ho tro",
        "partnerCode": "MOMO",
    }
    assert canonical_query(params) == (
        "accessKey=F8BBA842ECF85&amount=1500000&extraData=&orderInfo=Tro cap xa hoi T6/2025 & ho tro"
        "&partnerCode=MOMO&requestType=disburseToWallet"
    )
    assert canonical_query({"b": True, "a": False}) == "a=false&b=true"
    with pytest.raises(ValidationError):
        canonical_query({"amount": 1.5})


def test_canonical_query_with_hmac_hex() -> None:
    # The whole MoMo signature pipeline: canonical string -> HMAC-SHA256 -> hex.
    import hashlib
    import hmac as std_hmac

    raw = canonical_query({"orderId": "o1", "amount": 1000})
    assert (
        HmacKey("secret").sign(raw.encode()).hex()
        == std_hmac.new(b"secret", raw.encode(), hashlib.sha256).hexdigest()
    )


# --------------------------------------------------------------------------- SignatureAuth


def _server_check(
    verifier: Verifier, *, header: str, encoding: str, ts_header: str | None, token: str | None
) -> httpx.MockTransport:
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = request.read()  # exactly the bytes received
        sig_text = request.headers[header]
        sig = base64.b64decode(sig_text) if encoding == "base64" else bytes.fromhex(sig_text)
        message = timestamped_message(request.headers[ts_header], body) if ts_header else body
        try:
            verifier.verify(message, sig)
        except SignatureError:
            return httpx.Response(401)
        if token is not None and request.headers.get("authorization") != f"Bearer {token}":
            return httpx.Response(403)
        seen.append(body)
        return httpx.Response(200, json={"ok": True})

    transport = httpx.MockTransport(handler)
    transport.seen = seen  # type: ignore[attr-defined]
    return transport


@pytest.mark.parametrize("encoding", ["base64", "hex"])
@pytest.mark.parametrize("ts_header", [None, "X-Timestamp"])
def test_signature_auth_sync(
    ec_key: ec.EllipticCurvePrivateKey, encoding: Literal["base64", "hex"], ts_header: str | None
) -> None:
    enc = encoding
    auth = SignatureAuth(
        EcdsaSigner(ec_key), encoding=enc, timestamp_header=ts_header, bearer_token=SecretStr("tok-123")
    )
    transport = _server_check(
        EcdsaVerifier(ec_key.public_key()),
        header="Signature",
        encoding=enc,
        ts_header=ts_header,
        token="tok-123",
    )
    body = '{"amount":500000,"name":"Nguyễn Văn A"}'.encode()
    with httpx.Client(transport=transport, auth=auth) as client:
        assert client.post("https://pay.example/v1/tx", content=body).status_code == 200
        assert client.post("https://pay.example/v1/tx", json={"b": 1, "a": [1, 2]}).status_code == 200
    assert transport.seen[0] == body  # type: ignore[attr-defined]


async def test_signature_auth_async(ed_key: ed25519.Ed25519PrivateKey) -> None:
    auth = SignatureAuth(
        Ed25519Signer(ed_key), header="X-Signature", timestamp_header="X-Ts", clock=lambda: 1.7e9
    )
    transport = _server_check(
        Ed25519Verifier(ed_key.public_key()),
        header="X-Signature",
        encoding="base64",
        ts_header="X-Ts",
        token=None,
    )
    async with httpx.AsyncClient(transport=transport, auth=auth) as client:
        r = await client.post("https://pay.example/cb", content=b"\x00\xffraw")
        assert r.status_code == 200
        assert r.request.headers["X-Ts"] == "1700000000"


def test_signature_auth_detects_tampering_in_transit() -> None:
    key = HmacKey("shared")
    auth = SignatureAuth(key, encoding="hex")

    def handler(request: httpx.Request) -> httpx.Response:
        try:
            key.verify(request.read() + b" ", bytes.fromhex(request.headers["Signature"]))
        except SignatureError:
            return httpx.Response(401)
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        assert client.post("https://x.example/", content=b"{}").status_code == 401


# --------------------------------------------------------------------------- no secrets in repr


def test_no_secret_in_repr_or_str(
    rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    secret = "momo-secret-K3y-value"
    token = "bearer-T0ken-value"
    hk = HmacKey(secret)
    rsa_pem = private_key_to_pem(rsa_key).decode()
    objects: list[object] = [
        hk,
        HmacKey(SecretStr(secret), hash="sha512"),
        RsaSigner(rsa_key),
        RsaVerifier(rsa_key.public_key()),
        EcdsaSigner(ec_key),
        EcdsaVerifier(ec_key.public_key()),
        Ed25519Signer(ed_key),
        Ed25519Verifier(ed_key.public_key()),
        SignatureAuth(hk, bearer_token=token),
        SignatureAuth(hk, bearer_token=SecretStr(token)),
    ]
    d = str(rsa_key.private_numbers().d)
    for obj in objects:
        for text in (repr(obj), str(obj), f"{obj!r:>10}"):
            assert secret not in text and token not in text and d not in text
            assert rsa_pem[40:80] not in text
    assert "**" in repr(hk)
