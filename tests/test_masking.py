"""Tests for asxh_pay.masking: personal data never leaks into logs, errors or payloads."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asxh_pay.masking import (
    MaskingFilter,
    install_masking,
    mask_account,
    mask_cccd,
    mask_name,
    mask_phone,
    mask_text,
    scrub,
)

NINE_DIGITS = re.compile(r"\d{9,}")


def test_field_masks() -> None:
    assert mask_cccd("001203012345") == "0012******45"
    assert mask_phone("84912345678") == "849*****678"
    assert mask_phone("0912345678") == "091****678"
    assert mask_account("0071000123456") == "*********3456"
    assert mask_name("Nguyễn Văn An") == "N***** V** A*"
    assert mask_name("  Đặng   Thị  ") == "Đ*** T**"


@pytest.mark.parametrize("value", ["", "1", "12345", "123456"])
def test_short_values_fully_masked(value: str) -> None:
    for mask in (mask_cccd, mask_phone, mask_account):
        assert set(mask(value)) <= {"*"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CCCD 001203012345 khong khop", "CCCD 0012******45 khong khop"),
        ("phone=0912345678;", "phone=091****678;"),
        ("sdt +84912345678", "sdt +849*****678"),
        ("tk 0071000123456 tai VCB", "tk *********3456 tai VCB"),
        ("CMND 012345678", "CMND *****5678"),
        ("so 0912.345.678 nhe", "so 091*.***.678 nhe"),
        ("cccd 001 203 012 345", "cccd 001 2** *** *45"),
        ("so tien 1.500.000 dong", "so tien 1.500.000 dong"),  # 7 digits: kept
        ("ngay 2024-05-01", "ngay 2024-05-01"),
        ("ref 12345678", "ref 12345678"),
    ],
)
def test_mask_text(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@given(st.text())
def test_mask_text_leaves_no_long_digit_run(text: str) -> None:
    assert NINE_DIGITS.search(mask_text(text)) is None


@given(st.lists(st.sampled_from(["0912345678", "001203012345", " ", ".", "-", "a", "7", "84"]), max_size=30))
def test_mask_text_leaves_no_long_digit_run_in_digit_soup(parts: list[str]) -> None:
    out = mask_text("".join(parts))
    assert NINE_DIGITS.search(out) is None


def test_scrub_payload() -> None:
    payload: dict[str, Any] = {
        "partnerCode": "MOMO123",
        "amount": 1500000,
        "accessKey": "F8BBA842ECF85",
        "signature": "abcdef0123456789",
        "disbursementMethod": {
            "walletId": "0912345678",
            "walletName": "Nguyễn Văn An",
            "personalId": "001203012345",
        },
        "beneficiary": {
            "full_name": "Trần Thị Hoa",
            "ACCOUNT-NUMBER": "0071000123456",
            "bankName": "Agribank",
        },
        "items": [{"msisdn": "84912345678"}, "ghi chu: sdt 0987654321"],
        "Authorization": "Bearer eyJhbGciOi",
        "note": ("cccd 001203012345",),
        "cccd": 1203012345,
        "phones": ["0912345678", "0987654321"],
    }
    out = scrub(payload)
    assert out["partnerCode"] == "MOMO123" and out["amount"] == 1500000
    assert out["accessKey"] == "***" and out["signature"] == "***" and out["Authorization"] == "***"
    dm = out["disbursementMethod"]
    assert dm == {"walletId": "091****678", "walletName": "N***** V** A*", "personalId": "0012******45"}
    assert out["beneficiary"] == {
        "full_name": "T*** T** H**",
        "ACCOUNT-NUMBER": "*********3456",
        "bankName": "Agribank",
    }
    assert out["items"] == [{"msisdn": "849*****678"}, "ghi chu: sdt 098****321"]
    assert out["note"] == ("cccd 0012******45",)
    assert out["cccd"] == "1203****45"  # an int under a personal key is masked too
    assert out["phones"] == ["091****678", "098****321"]
    assert payload["disbursementMethod"]["walletId"] == "0912345678"  # input untouched
    flat = repr(out)
    for secret in ("0912345678", "001203012345", "0071000123456", "Nguyễn", "F8BBA842", "eyJhbGciOi"):
        assert secret not in flat


def test_scrub_custom_keys() -> None:
    out = scrub({"so_cccd": "001203012345", "ho_ten": "Lê Văn Tám"}, frozenset({"hoten"}))
    assert out["so_cccd"] == "0012******45"  # strong suffix, even with custom keys
    assert out["ho_ten"] == "L* V** T**"


@given(
    st.recursive(
        st.one_of(st.text(), st.integers(), st.none(), st.booleans()),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(["cccd", "phone", "note", "name", "x", "token"]), children, max_size=4
            )
        ),
        max_leaves=20,
    )
)
def test_scrub_strings_have_no_long_digit_runs(obj: object) -> None:
    def strings(o: object) -> Iterator[str]:
        if isinstance(o, str):
            yield o
        elif isinstance(o, dict):
            for v in o.values():
                yield from strings(v)
        elif isinstance(o, list | tuple):
            for v in o:
                yield from strings(v)

    for s in strings(scrub(obj)):
        assert NINE_DIGITS.search(s) is None


@pytest.fixture
def logger_and_stream() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    logger = logging.getLogger("asxh_pay.test_masking")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    for f in list(logger.filters):
        logger.removeFilter(f)


def test_masking_filter_masks_message_args_and_traceback(
    logger_and_stream: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = logger_and_stream
    flt = install_masking(logger)
    assert install_masking(logger) is flt  # idempotent
    logger.info("paying %s phone %s", "001203012345", "0912345678")
    logger.info("dict %(acct)s", {"acct": "0071000123456"})
    try:
        raise ValueError("bad account 0071000123456")
    except ValueError:
        logger.exception("failed for %s", "84912345678")
    text = stream.getvalue()
    assert "0012******45" in text and "091****678" in text
    assert "ValueError" in text
    assert NINE_DIGITS.search(text) is None


def test_masking_filter_survives_broken_format() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "cccd %s %s", ("001203012345",), None)
    assert MaskingFilter().filter(record) is True
    assert NINE_DIGITS.search(record.getMessage()) is None


def test_install_masking_on_handlers_catches_child_loggers() -> None:
    parent = logging.getLogger("asxh_pay_test_parent")
    parent.propagate = False
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    parent.addHandler(handler)
    parent.setLevel(logging.INFO)
    try:
        install_masking(parent)
        logging.getLogger("asxh_pay_test_parent.child").warning("tk %s", "0071000123456")
        assert "*********3456" in stream.getvalue()
    finally:
        parent.removeHandler(handler)
