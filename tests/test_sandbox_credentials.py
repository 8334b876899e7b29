"""The sandboxes' published keys and secrets never reach a production address.

Their private halves ship with the library: a production adapter holding one signs
requests anyone can forge, or trusts callbacks anyone can sign. Each test hands one to an
adapter at a production address, in every Python type it could arrive in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretBytes, SecretStr

from asxh_pay.errors import ConfigurationError
from asxh_pay.iso20022 import Party
from asxh_pay.providers.base import is_sandbox_url
from asxh_pay.providers.generic import GenericProvider
from asxh_pay.providers.momo import MomoProvider
from asxh_pay.providers.treasury import TreasuryConfig, TreasuryProvider
from asxh_pay.providers.viettel_money import ViettelMoneyProvider
from asxh_pay.providers.vnpost import VNPostProvider
from asxh_pay.sandbox import keys
from asxh_pay.sandbox.generic import generic_sandbox_provider
from asxh_pay.sandbox.momo import momo_sandbox_provider
from asxh_pay.sandbox.viettel_money import viettel_money_sandbox_provider
from asxh_pay.sandbox.vnpost import vnpost_sandbox_provider
from asxh_pay.signing import EcdsaSigner, EcdsaVerifier, HmacKey

PROD = "https://api.provider.vn"


def _forms(secret: str) -> list[Any]:
    """The same secret as it may reach a constructor."""
    return [secret, secret.encode(), SecretStr(secret), SecretBytes(secret.encode()), f" {secret}\n"]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1.evil.example",
        "https://localhost.evil.example",
        "https://localhost@evil.example",
        "https://127.0.0.1@evil.example/pay",
        "https://sandbox.invalid.evil.example",
        "https://10.0.0.5",
        "https://[::ffff:8.8.8.8]",
        PROD,
    ],
)
def test_is_sandbox_url_decides_on_the_parsed_host(url: str) -> None:
    assert not is_sandbox_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://127.9.9.9",
        "http://[::1]:9000",
        "http://localhost",
        "https://x.sandbox.invalid",
    ],
)
def test_sandbox_addresses(url: str) -> None:
    assert is_sandbox_url(url)


@pytest.mark.parametrize("form", _forms(keys.GENERIC_SANDBOX_SECRET), ids=repr)
def test_generic_refuses_the_published_secret(form: Any) -> None:
    with pytest.raises(ConfigurationError, match="published credentials"):
        GenericProvider(PROD, secret=form)
    with pytest.raises(ConfigurationError, match="published credentials"):
        generic_sandbox_provider("https://127.0.0.1.evil.example")


@pytest.mark.parametrize("form", _forms(keys.VNPOST_SANDBOX_SECRET), ids=repr)
def test_vnpost_refuses_the_published_secret(form: Any) -> None:
    with pytest.raises(ConfigurationError, match="published credentials"):
        VNPostProvider(PROD, secret=form, partner_code="ASXH")
    with pytest.raises(ConfigurationError, match="published credentials"):
        vnpost_sandbox_provider(PROD)


def _momo(**over: Any) -> MomoProvider:
    real: dict[str, Any] = {
        "partner_code": "MOMOREAL",
        "access_key": "real-access",
        "secret_key": SecretStr("a-real-secret-from-momo"),
        "momo_public_key": rsa.generate_private_key(65537, 2048).public_key(),
    }
    return MomoProvider(PROD, **{**real, **over})


@pytest.mark.parametrize("form", _forms(keys.MOMO_SANDBOX_SECRET_KEY), ids=repr)
def test_momo_refuses_the_published_secret(form: Any) -> None:
    with pytest.raises(ConfigurationError, match="published credentials"):
        _momo(secret_key=form)


def test_momo_refuses_the_published_rsa_key() -> None:
    # Encrypting the beneficiary's wallet and CCCD to a key whose private half is public.
    with pytest.raises(ConfigurationError, match="published credentials"):
        _momo(momo_public_key=keys.momo_rsa_key().public_key())
    with pytest.raises(ConfigurationError, match="published credentials"):
        momo_sandbox_provider(PROD)
    _momo()  # real credentials: fine


def _viettel(**over: Any) -> ViettelMoneyProvider:
    real: dict[str, Any] = {
        "partner_code": "REAL01",
        "token": SecretStr("a-real-token"),
        "partner_key": ec.generate_private_key(ec.SECP256R1()),
        "viettel_public_key": ec.generate_private_key(ec.SECP256R1()).public_key(),
    }
    return ViettelMoneyProvider(PROD, **{**real, **over})


@pytest.mark.parametrize("form", _forms(keys.VIETTEL_SANDBOX_TOKEN), ids=repr)
def test_viettel_refuses_the_published_token(form: Any) -> None:
    with pytest.raises(ConfigurationError, match="published credentials"):
        _viettel(token=form)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("viettel_public_key", lambda: keys.viettel_gateway_key().public_key()),
        ("viettel_public_key", lambda: keys.viettel_gateway_key()),
        ("partner_key", lambda: keys.viettel_partner_key()),
    ],
)
def test_viettel_refuses_the_published_keys(field: str, value: Callable[[], Any]) -> None:
    with pytest.raises(ConfigurationError, match="published credentials"):
        _viettel(**{field: value()})


def test_viettel_has_no_gateway_key_to_fall_back_on() -> None:
    # Today's fault: real token and partner key, no Viettel key given -> the sandbox gateway's
    # key was used, and anyone holding its (published) private half could forge callbacks.
    with pytest.raises(TypeError, match="viettel_public_key"):
        ViettelMoneyProvider(
            PROD,
            partner_code="REAL01",
            token="a-real-token",
            partner_key=ec.generate_private_key(ec.SECP256R1()),
        )  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match="published credentials"):
        viettel_money_sandbox_provider(PROD)
    _viettel()  # real credentials: fine


def _treasury(signer: Any, verifier: Any, url: str = PROD) -> TreasuryProvider:
    config = TreasuryConfig(
        debtor=Party("Phòng LĐTBXH", "0011001234567", bank_bin="970415"),
        initiating_party="Phòng LĐTBXH",
        client_id="district-1",
    )
    return TreasuryProvider(config, signer, base_url=url, bank_verifier=verifier)


def test_treasury_refuses_published_keys_and_unverified_answers() -> None:
    own = EcdsaSigner(ec.generate_private_key(ec.SECP256R1()))
    bank = EcdsaVerifier(ec.generate_private_key(ec.SECP256R1()).public_key())
    with pytest.raises(ConfigurationError, match="published credentials"):
        _treasury(EcdsaSigner(keys.viettel_partner_key()), bank)
    with pytest.raises(ConfigurationError, match="published credentials"):
        _treasury(own, EcdsaVerifier(keys.viettel_gateway_key().public_key()))
    with pytest.raises(ConfigurationError, match="bank_verifier"):
        _treasury(own, None)
    _treasury(own, bank)
    _treasury(own, None, "https://h2h.treasury.sandbox.invalid")  # a sandbox may go unverified


def test_published_secret_inside_an_hmac_key_is_recognised() -> None:
    assert keys.is_published(HmacKey(keys.MOMO_SANDBOX_SECRET_KEY))
    assert not keys.is_published(HmacKey("another-secret"))
    assert not keys.is_published(ec.generate_private_key(ec.SECP256R1()))
