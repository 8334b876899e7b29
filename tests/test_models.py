"""Domain model validation: each field's invalid forms give a specific error."""

from __future__ import annotations

from datetime import date
from typing import Any

import pydantic
import pytest

from asxh_pay.errors import ValidationError
from asxh_pay.models import (
    Beneficiary,
    CashHome,
    PayoutRequest,
    Recipient,
    Wallet,
    derive_idempotency_key,
)
from tests.conftest import make_request

BEN = {"cccd": "001050000001", "full_name": "Nguyễn Văn An"}
DEST = {"kind": "bank", "bank_bin": "970405", "account_number": "1234567890"}


def _code(exc: pydantic.ValidationError) -> str:
    err = exc.errors()[0]
    original = err.get("ctx", {}).get("error")
    assert isinstance(original, ValidationError), err
    return original.code


def _request(**over: Any) -> PayoutRequest:
    data: dict[str, Any] = {
        "programme": "NCC",
        "period": "2026-11",
        "beneficiary": BEN,
        "destination": DEST,
        "amount": 1_500_000,
    }
    data.update(over)
    return PayoutRequest.model_validate(data)


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("amount", 1500.5, "amount_fractional"),
        ("amount", "12abc", "amount_format"),
        ("amount", "1.500,5", "amount_fractional"),
        ("amount", 0, "amount_not_positive"),
        ("amount", -5, "amount_not_positive"),
        ("amount", 600_000_000, "amount_over_ceiling"),
        ("period", "2026-13", "period"),
        ("period", "11/2026", "period"),
        ("programme", "x", "programme"),
        ("idempotency_key", "short", "idempotency_key"),
        ("idempotency_key", "has space in it", "idempotency_key"),
    ],
)
def test_request_field_errors_are_specific(field: str, value: object, code: str) -> None:
    with pytest.raises(pydantic.ValidationError) as exc:
        _request(**{field: value})
    assert _code(exc.value) == code


@pytest.mark.parametrize(
    ("cccd", "code"),
    [
        ("00105000000", "cccd_length"),
        ("00105000000A", "cccd_not_digits"),
        ("003050000001", "cccd_province"),  # 003 is not a province code
        ("123456789", "cccd_is_cmnd"),
    ],
)
def test_bad_cccd(cccd: str, code: str) -> None:
    with pytest.raises(pydantic.ValidationError) as exc:
        Beneficiary(cccd=cccd, full_name="Lê Thị Hoa")
    assert _code(exc.value) == code


def test_cccd_contradicting_birth_date() -> None:
    with pytest.raises(pydantic.ValidationError) as exc:
        Beneficiary(cccd="001050000001", full_name="Lê Thị Hoa", birth_date=date(1951, 1, 1))
    assert _code(exc.value) == "cccd_birth_mismatch"
    Beneficiary(cccd="001050000001", full_name="Lê Thị Hoa", birth_date=date(1950, 5, 1))


@pytest.mark.parametrize(
    ("dest", "code"),
    [
        ({"kind": "bank", "bank_bin": "123456", "account_number": "1234567"}, "bank_bin_unknown"),
        ({"kind": "bank", "bank_bin": "97040", "account_number": "1234567"}, "bank_bin_format"),
        ({"kind": "bank", "bank_bin": "970405", "account_number": "12-34"}, "account_format"),
        ({"kind": "wallet", "provider": "momo", "phone": "0123"}, "phone_format"),
        ({"kind": "wallet", "provider": "momo", "phone": "0111234567"}, "phone_prefix"),
    ],
)
def test_bad_destinations(dest: dict[str, str], code: str) -> None:
    with pytest.raises(pydantic.ValidationError) as exc:
        _request(destination=dest)
    assert _code(exc.value) == code


def test_cash_at_home_needs_an_address() -> None:
    with pytest.raises(pydantic.ValidationError):
        CashHome.model_validate({"kind": "cash_home"})
    with pytest.raises(pydantic.ValidationError):
        CashHome(address="")


def test_phone_is_normalised_to_84() -> None:
    assert Wallet(provider="momo", phone="0912 345 678").phone == "84912345678"


def test_recipient_rules() -> None:
    with pytest.raises(pydantic.ValidationError) as exc:
        Recipient(kind="authorised", cccd="001050000002")
    assert _code(exc.value) == "recipient_incomplete"
    with pytest.raises(pydantic.ValidationError) as exc:
        Recipient(kind="self", cccd="001050000002")
    assert _code(exc.value) == "recipient_self_with_identity"
    r = Recipient(
        kind="guardian",
        cccd="001050000002",
        full_name="Trần Văn Bình",
        authorisation_ref="QD-12/2026",
        authorisation_valid_until=date(2026, 12, 31),
    )
    assert r.authorisation_expired(date(2027, 1, 1))
    assert not r.authorisation_expired(date(2026, 12, 31))


def test_default_key_is_per_programme_period_beneficiary_and_hides_the_cccd() -> None:
    a = make_request(1)
    same_person_other_account = make_request(1, account="9999999999")
    assert a.key() == same_person_other_account.key()  # a duplicate row cannot pay twice
    assert a.key() != make_request(1, period="2026-12").key()
    assert a.key() != make_request(1, programme="BTXH").key()
    assert a.beneficiary.cccd not in a.key()
    assert len(a.key()) <= 35  # fits ISO 20022 EndToEndId and wallet order ids
    assert a.key(b"secret-namespace") != a.key()
    assert derive_idempotency_key("NCC", "2026-11", a.beneficiary.cccd) == a.key()


def test_payload_hash_ignores_bookkeeping_but_not_money() -> None:
    a = make_request(1)
    assert a.payload_hash() == make_request(1, source="other list row 7").payload_hash()
    assert a.payload_hash() != make_request(1, amount=1_500_001).payload_hash()
    assert a.payload_hash() != make_request(1, account="9999999999").payload_hash()


def test_personal_data_is_masked_in_repr_and_str() -> None:
    req = _request(destination={"kind": "wallet", "provider": "momo", "phone": "0912345678"})
    text = repr(req)
    for secret in ("001050000001", "Nguyễn Văn An", "84912345678", "0912345678"):
        assert secret not in text
    bank = repr(_request())
    assert "1234567890" not in bank


def test_models_are_immutable() -> None:
    req = make_request(1)
    with pytest.raises(pydantic.ValidationError):
        req.amount = 5  # type: ignore[misc]


def test_payout_ids_sort_by_creation() -> None:
    from asxh_pay.models import new_payout_id

    ids = [new_payout_id() for _ in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(len(i) == len(ids[0]) and i.startswith("po_") for i in ids)


def test_a_forked_worker_does_not_repeat_its_parents_payout_ids() -> None:
    """Workers forked from one parent create payouts at the same moments: the random
    part of their ids must not come from the same generator state."""
    import os

    from asxh_pay.models import _ID_BITS

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send its next random bits, then leave without cleanup
        os.write(write, _ID_BITS.getrandbits(32).to_bytes(4, "big"))
        os._exit(0)
    os.close(write)
    child = int.from_bytes(os.read(read, 4), "big")
    os.close(read)
    os.waitpid(pid, 0)
    assert child != _ID_BITS.getrandbits(32)


# A request of every shape, as the ledger stores it (the JSON of a validated request).
_STORED_SHAPES: list[dict[str, Any]] = [
    {"destination": DEST},
    {
        "destination": {
            "kind": "bank",
            "bank_bin": " 970436 ",
            "account_number": "0011 0012 3456",
            "account_name": "NGUYEN VAN AN",
        }
    },
    {"destination": {"kind": "wallet", "provider": "viettel_money", "phone": "+84 0912.345.678"}},
    {"destination": {"kind": "postal_account", "account_number": "8895 0070 7505"}},
    {"destination": {"kind": "cash_pickup", "payment_point": " 00691 "}},
    {
        "destination": {"kind": "cash_home", "address": "Thôn 12, Phường Hà Giang 2", "phone": "0987654321"},
        "beneficiary": {**BEN, "full_name": "  H\u2019Hen   Niê ", "birth_date": "1950-03-04"},
    },
    {
        "recipient": {
            "kind": "authorised",
            "cccd": "001 150 000 002",
            "full_name": "Trần Thị Bình",
            "relation": "con",
            "authorisation_ref": "UQ-12/2026",
            "authorisation_valid_until": "2027-01-01",
        },
        "cash_fallback": {"kind": "cash_pickup", "payment_point": "00691", "point_type": "post_office"},
        "programme": " htxh ",
        "source": "00691-HTXH.xlsx:4",
        "run_id": "R1",
        "idempotency_key": "AX-manual.key_01",
    },
]


@pytest.mark.parametrize("over", _STORED_SHAPES)
def test_a_stored_request_reads_back_equal_to_a_fully_checked_one(over: dict[str, Any]) -> None:
    """What the ledger reads back with STORED (checks skipped) is the request it recorded."""
    from asxh_pay.models import STORED

    stored = _request(**over).model_dump_json()
    fast = PayoutRequest.model_validate_json(stored, context=STORED)
    assert fast == PayoutRequest.model_validate_json(stored)
    assert fast.model_dump_json() == stored
    assert fast.payload_hash() == _request(**over).payload_hash()


def test_the_checks_are_skipped_only_with_the_stored_context() -> None:
    """STORED is trust in the library's own records; anything else is checked in full."""
    from asxh_pay.models import STORED

    bad = _request().model_dump_json().replace("001050000001", "999050000001")  # no such province
    with pytest.raises(pydantic.ValidationError) as exc:
        PayoutRequest.model_validate_json(bad)
    assert _code(exc.value) == "cccd_province"
    with pytest.raises(pydantic.ValidationError):
        PayoutRequest.model_validate_json(bad, context={"asxh_pay.stored": "yes"})  # not True
    with pytest.raises(pydantic.ValidationError):
        PayoutRequest.model_validate_json(bad, context={"other": True})
    assert PayoutRequest.model_validate_json(bad, context=STORED).beneficiary.cccd == "999050000001"
    # The structure is still validated: a missing field or a wrong type is refused.
    with pytest.raises(pydantic.ValidationError):
        PayoutRequest.model_validate_json(bad.replace('"amount":1500000', '"amount":"x"'), context=STORED)
