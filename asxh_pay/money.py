"""Vietnamese dong amounts: whole numbers only, never rounded, never floats.

Why: VND has no minor unit (ISO 4217 exponent 0). An amount with a fractional part in a
benefit list is a data error (a wrong column, a locale mix-up such as ``1,5`` for 1.5
million), and rounding it silently would pay a different amount than was decided. So
every input is converted *exactly* or refused with a specific code:

* ``amount_format``: not a number we can read unambiguously;
* ``amount_fractional``: a decimal part (even ``.0`` in text, see :func:`parse_vnd`);
* ``amount_not_positive``: zero or negative;
* ``amount_over_ceiling``: above the per-transaction ceiling (NAPAS 247: 500,000,000).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from asxh_pay.errors import ValidationError
from asxh_pay.vocab import Detail

__all__ = ["MAX_PAYOUT_VND_DEFAULT", "format_vnd", "parse_vnd"]

MAX_PAYOUT_VND_DEFAULT = 500_000_000
"""NAPAS 247 per-transaction ceiling in VND; providers and banks often set lower ones."""

_MAX_TEXT_LEN = 40  # far more than any valid amount; bounds work on hostile input
_SUFFIXES = ("vnđ", "vnd", "đồng", "dong", "₫", "đ", "d")
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})
_PLAIN = re.compile(r"[0-9]+")
_GROUPED = {sep: re.compile(rf"[0-9]{{1,3}}(?:{re.escape(sep)}[0-9]{{3}})+") for sep in (".", ",", " ")}
# Something that reads as a number with a decimal part: digits, optional 3-digit groups, then a
# separator followed by a group that is not exactly 3 digits (``1,5``, ``1500.50``, ``1.500.000,00``).
_DECIMAL = re.compile(r"[0-9]+(?:[., ][0-9]{3})*[.,](?:[0-9]{1,2}|[0-9]{4,})")


def _check_range(amount: int, ceiling: int, field: str) -> int:
    if amount <= 0:
        raise ValidationError(Detail("amount_not_positive"), field=field, code="amount_not_positive")
    if amount > ceiling:
        raise ValidationError(
            Detail("amount_over_ceiling", ceiling=ceiling), field=field, code="amount_over_ceiling"
        )
    return amount


def _parse_text(value: str, field: str) -> int:
    text = value.translate(_SPACES).strip()
    if len(text) > _MAX_TEXT_LEN:
        raise ValidationError(Detail("amount_format.too_long"), field=field, code="amount_format")
    lowered = text.casefold()
    for suffix in _SUFFIXES:
        if lowered.endswith(suffix):
            text = text[: len(text) - len(suffix)].rstrip()
            break
    negative = text.startswith("-")
    if negative:
        text = text[1:].lstrip()
    amount: int | None = None
    if _PLAIN.fullmatch(text):
        amount = int(text)
    else:
        for sep, pattern in _GROUPED.items():
            if pattern.fullmatch(text):
                amount = int(text.replace(sep, ""))
                break
    if amount is None:
        if _DECIMAL.fullmatch(text):
            raise ValidationError(
                Detail("amount_fractional.text"),
                field=field,
                code="amount_fractional",
            )
        raise ValidationError(Detail("amount_format"), field=field, code="amount_format")
    return -amount if negative else amount


def parse_vnd(value: object, *, ceiling: int = MAX_PAYOUT_VND_DEFAULT, field: str = "amount") -> int:
    """Convert a list cell or API value to a whole number of VND, exactly, or refuse.

    * ``int`` (not ``bool``) as is.
    * ``float`` only when integral (Excel hands ``1500000.0`` for ``1500000``); ``1500000.5``,
      NaN and infinities are refused. ``Decimal`` the same way.
    * ``str``: surrounding spaces and a trailing ``đ``/``d``/``₫``/``VND``/``VNĐ``/``đồng``
      (any case) are dropped; thousands separators ``.``, ``,`` or space are allowed only
      between groups of exactly 3 digits, one kind per value (``1.500.000``,
      ``1,500,000``, ``1 500 000``). Anything with a decimal part (``1500.5``, ``1,5``,
      ``1.50``, even ``1.500.000,00``) is ``amount_fractional``: in Vietnamese usage
      ``.`` is the thousands separator, so a short trailing group means a decimal from
      another locale, and guessing which would risk a factor of 1000.
    * Zero and negatives: ``amount_not_positive``; over ``ceiling``: ``amount_over_ceiling``.

    Never rounds: the returned int equals the input value exactly.
    """
    if isinstance(value, bool):
        raise ValidationError(Detail("amount_format.boolean"), field=field, code="amount_format")
    if isinstance(value, int):
        return _check_range(value, ceiling, field)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(Detail("amount_format.not_finite"), field=field, code="amount_format")
        if not value.is_integer():
            raise ValidationError(Detail("amount_fractional"), field=field, code="amount_fractional")
        return _check_range(int(value), ceiling, field)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValidationError(Detail("amount_format.not_finite"), field=field, code="amount_format")
        if value != value.to_integral_value():
            raise ValidationError(Detail("amount_fractional"), field=field, code="amount_fractional")
        if value.adjusted() > 30:
            raise ValidationError(
                Detail("amount_over_ceiling", ceiling=ceiling),
                field=field,
                code="amount_over_ceiling",
            )
        return _check_range(int(value), ceiling, field)
    if isinstance(value, str):
        return _check_range(_parse_text(value, field), ceiling, field)
    raise ValidationError(Detail("amount_format.type"), field=field, code="amount_format")


def format_vnd(amount: int) -> str:
    """Display form used in Vietnam: ``1500000`` -> ``"1.500.000 ₫"`` (dot thousands separator)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationError("amount must be a whole number of VND", field="amount", code="amount_format")
    return f"{amount:,}".replace(",", ".") + " ₫"
