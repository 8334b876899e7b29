"""Tests for asxh_pay.money: exact VND parsing, never rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asxh_pay.errors import ValidationError
from asxh_pay.money import MAX_PAYOUT_VND_DEFAULT, format_vnd, parse_vnd


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_500_000, 1_500_000),
        (1, 1),
        (MAX_PAYOUT_VND_DEFAULT, MAX_PAYOUT_VND_DEFAULT),
        (1500000.0, 1_500_000),  # Excel number cell
        (Decimal("1500000"), 1_500_000),
        (Decimal("1500000.000"), 1_500_000),
        ("1500000", 1_500_000),
        ("  1500000  ", 1_500_000),
        ("1.500.000", 1_500_000),
        ("1,500,000", 1_500_000),
        ("1 500 000", 1_500_000),
        ("1\u00a0500\u00a0000", 1_500_000),
        ("1.500.000đ", 1_500_000),
        ("1.500.000 đ", 1_500_000),
        ("1.500.000 ₫", 1_500_000),
        ("1.500.000d", 1_500_000),
        ("1.500.000 VND", 1_500_000),
        ("1.500.000 vnd", 1_500_000),
        ("1.500.000 VNĐ", 1_500_000),
        ("1.500", 1_500),
        ("360.000", 360_000),
        ("500.000.000", 500_000_000),
    ],
)
def test_parse_vnd_valid(value: object, expected: int) -> None:
    result = parse_vnd(value)
    assert result == expected and type(result) is int


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (1500000.5, "amount_fractional"),
        (0.1, "amount_fractional"),
        (Decimal("1500000.01"), "amount_fractional"),
        ("1500.5", "amount_fractional"),
        ("1,5", "amount_fractional"),
        ("1.50", "amount_fractional"),
        ("1500000.0", "amount_fractional"),
        ("1.500.000,00", "amount_fractional"),
        ("1,500,000.50", "amount_fractional"),
        ("1.5000", "amount_fractional"),
        ("1.500,000", "amount_format"),  # mixed separators
        ("15.00.000", "amount_format"),  # Indian grouping
        ("1..500", "amount_format"),
        ("1.500.", "amount_format"),
        (".500", "amount_format"),
        ("1 500.000", "amount_format"),
        ("", "amount_format"),
        ("   ", "amount_format"),
        ("đ", "amount_format"),
        ("abc", "amount_format"),
        ("1e6", "amount_format"),
        ("0x10", "amount_format"),
        ("1_500_000", "amount_format"),
        ("+1500000", "amount_format"),
        ("(1.500)", "amount_format"),
        ("１５００", "amount_format"),  # full-width digits
        ("١٥٠٠", "amount_format"),  # Arabic-Indic digits
        ("1500000 USD", "amount_format"),
        ("NaN", "amount_format"),
        ("Infinity", "amount_format"),
        ("9" * 5000, "amount_format"),  # hostile length
        ("1500000\x00", "amount_format"),
        (float("nan"), "amount_format"),
        (float("inf"), "amount_format"),
        (Decimal("NaN"), "amount_format"),
        (Decimal("Infinity"), "amount_format"),
        (True, "amount_format"),
        (None, "amount_format"),
        ([1500000], "amount_format"),
        (b"1500000", "amount_format"),
        (0, "amount_not_positive"),
        (-1, "amount_not_positive"),
        (0.0, "amount_not_positive"),
        (-1500000.0, "amount_not_positive"),
        ("0", "amount_not_positive"),
        ("-1.500.000", "amount_not_positive"),
        ("000", "amount_not_positive"),
        (MAX_PAYOUT_VND_DEFAULT + 1, "amount_over_ceiling"),
        ("500.000.001", "amount_over_ceiling"),
        (1e18, "amount_over_ceiling"),
        (Decimal("1E+1000000"), "amount_over_ceiling"),
        ("999999999999999999999999", "amount_over_ceiling"),
    ],
)
def test_parse_vnd_invalid(value: object, code: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_vnd(value)
    assert exc.value.code == code
    assert exc.value.field == "amount"


def test_parse_vnd_ceiling_and_field() -> None:
    assert parse_vnd(20_000_000, ceiling=20_000_000) == 20_000_000
    with pytest.raises(ValidationError) as exc:
        parse_vnd("20.000.001", ceiling=20_000_000, field="so_tien")
    assert exc.value.code == "amount_over_ceiling" and exc.value.field == "so_tien"


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_parse_vnd_float_never_rounds(value: float) -> None:
    try:
        result = parse_vnd(value, ceiling=10**30)
    except ValidationError:
        return
    assert result == value  # exact equality: nothing was rounded


@given(st.decimals(allow_nan=True, allow_infinity=True))
def test_parse_vnd_decimal_never_rounds(value: Decimal) -> None:
    try:
        result = parse_vnd(value, ceiling=10**30)
    except ValidationError:
        return
    assert Decimal(result) == value


@given(
    st.integers(min_value=1, max_value=10**12), st.integers(min_value=1, max_value=99), st.sampled_from(".,")
)
def test_parse_vnd_text_with_decimals_is_refused(whole: int, frac: int, sep: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_vnd(f"{whole}{sep}{frac}", ceiling=10**30)
    assert exc.value.code in {"amount_fractional", "amount_format"}


@given(st.integers(min_value=1, max_value=MAX_PAYOUT_VND_DEFAULT), st.sampled_from([".", ",", " "]))
def test_parse_vnd_roundtrips_grouped_text(amount: int, sep: str) -> None:
    text = f"{amount:,}".replace(",", sep)
    assert parse_vnd(text) == amount
    assert parse_vnd(format_vnd(amount)) == amount


@given(st.text(max_size=30))
def test_parse_vnd_text_is_exact_or_refused(value: str) -> None:
    try:
        result = parse_vnd(value, ceiling=10**30)
    except ValidationError:
        return
    digits = "".join(ch for ch in value if ch in "0123456789")
    assert result == int(digits)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (1_500_000, "1.500.000 ₫"),
        (0, "0 ₫"),
        (999, "999 ₫"),
        (1000, "1.000 ₫"),
        (500_000_000, "500.000.000 ₫"),
    ],
)
def test_format_vnd(amount: int, text: str) -> None:
    assert format_vnd(amount) == text


@pytest.mark.parametrize("value", [1.5, True, "1000", Decimal("1000")])
def test_format_vnd_refuses_non_int(value: object) -> None:
    with pytest.raises(ValidationError):
        format_vnd(value)  # type: ignore[arg-type]
