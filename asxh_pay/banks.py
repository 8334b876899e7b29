"""Vietnamese banks by NAPAS/VietQR BIN, and the account numbers they hold.

Why: commune lists name the bank the way people say it ("Agribank", "VCB",
"NHCSXH", "Ngân hàng Chính sách Xã hội"), while NAPAS, VietQR and ISO 20022 messages
need the 6-digit BIN. :func:`resolve_bank` turns the first into the second, and refuses
rather than guesses when the text is unknown or ambiguous: a wrong bank is a payment to
the wrong place.

The table is the project's own (``asxh_pay/data/banks.json``, sources inside). It
includes the Bank for Social Policies (VBSP, BIN 999888), where many poor households hold
their account. E-wallet BINs whose sources conflict (Viettel Money, VNPT Money) are left
out on purpose.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from asxh_pay.errors import ValidationError
from asxh_pay.identity import fold
from asxh_pay.vocab import Detail

__all__ = ["BANKS", "Bank", "bank_by_bin", "normalize_account_number", "resolve_bank"]


@dataclass(frozen=True)
class Bank:
    """One bank (or wallet) as NAPAS knows it.

    ``lookup`` is whether the account-holder name can be looked up before paying, which
    decides if a name check is possible before the money leaves.
    """

    bin: str
    code: str
    short_name: str
    name: str
    swift: str | None
    lookup: bool


_BIN_RE = re.compile(r"[0-9]{6}")
_NON_KEY = re.compile(r"[^a-z0-9]+")
_PREFIXES = ("nganhang", "nh")


def _key(text: str) -> str:
    """Lookup key: folded (no diacritics, casefold) and reduced to ``[a-z0-9]``."""
    return _NON_KEY.sub("", fold(text))


def _load() -> tuple[Mapping[str, Bank], Mapping[str, str], Mapping[str, str], frozenset[str]]:
    raw = resources.files("asxh_pay").joinpath("data/banks.json").read_text(encoding="utf-8")
    entries = json.loads(raw)["banks"]
    banks: dict[str, Bank] = {}
    primary: dict[str, set[str]] = {}
    secondary: dict[str, set[str]] = {}

    def add(index: dict[str, set[str]], texts: Iterable[str], bin_: str) -> None:
        for text in texts:
            key = _key(text)
            if key:
                index.setdefault(key, set()).add(bin_)

    for e in entries:
        bank = Bank(
            bin=e["bin"],
            code=e["code"],
            short_name=e["short_name"],
            name=e["name"],
            swift=e["swift"],
            lookup=bool(e["lookup"]),
        )
        banks[bank.bin] = bank
        add(primary, [bank.code, bank.short_name, bank.name, *([bank.swift] if bank.swift else [])], bank.bin)
        names = [bank.name, *e.get("aliases", [])]
        stripped = []
        for n in names:
            k = _key(n)
            for p in ("nganhangtmcp", "nganhang"):
                if k.startswith(p) and len(k) > len(p):
                    stripped.append(k[len(p) :])
                    break
        add(secondary, [*e.get("aliases", []), *stripped], bank.bin)

    ambiguous = {k for index in (primary, secondary) for k, v in index.items() if len(v) > 1}
    # A text that names two banks resolves to neither; a primary name wins over any alias.
    prim = {k: next(iter(v)) for k, v in primary.items() if len(v) == 1}
    sec = {k: next(iter(v)) for k, v in secondary.items() if len(v) == 1 and k not in primary}
    amb = frozenset(k for k in ambiguous if k not in prim)
    return MappingProxyType(banks), MappingProxyType(prim), MappingProxyType(sec), amb


BANKS: Mapping[str, Bank]
"""Every known bank keyed by its 6-digit BIN (read-only)."""
BANKS, _PRIMARY, _SECONDARY, _AMBIGUOUS = _load()


def bank_by_bin(bin: str) -> Bank:
    """The bank for a 6-digit BIN; ``bank_bin_format`` if not 6 digits, ``bank_bin_unknown`` if unknown."""
    text = bin.strip() if isinstance(bin, str) else ""
    if not _BIN_RE.fullmatch(text):
        raise ValidationError(Detail("bank_bin_format"), field="bank", code="bank_bin_format")
    bank = BANKS.get(text)
    if bank is None:
        raise ValidationError(Detail("bank_bin_unknown"), field="bank", code="bank_bin_unknown")
    return bank


def resolve_bank(text: str) -> Bank:
    """Find a bank from how a list names it: BIN, code, short name, SWIFT or Vietnamese name.

    Case, diacritics, spacing and punctuation are ignored (``"NHNo&PTNT"``,
    ``"ngan hang chinh sach xa hoi"``), and a leading "Ngân hàng"/"NH" is tolerated.
    Official codes and names win over informal aliases; a text that still names more than
    one bank is refused (``bank_unknown``) instead of picking one.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(Detail("bank_unknown.empty"), field="bank", code="bank_unknown")
    stripped = text.strip()
    if _BIN_RE.fullmatch(stripped):
        try:
            return bank_by_bin(stripped)
        except ValidationError as exc:
            raise ValidationError(Detail("bank_unknown.bin"), field="bank", code="bank_unknown") from exc
    key = _key(stripped)
    candidates = [key]
    for p in _PREFIXES:
        if key.startswith(p) and len(key) > len(p):
            candidates.append(key[len(p) :])
            break
    for index in (_PRIMARY, _SECONDARY):
        for k in candidates:
            bin_ = index.get(k)
            if bin_ is not None:
                return BANKS[bin_]
    if any(k in _AMBIGUOUS for k in candidates):
        raise ValidationError(Detail("bank_unknown.ambiguous"), field="bank", code="bank_unknown")
    raise ValidationError(Detail("bank_unknown"), field="bank", code="bank_unknown")


_ACCOUNT_RE = re.compile(r"[0-9]{6,19}")


def normalize_account_number(value: str | int) -> str:
    """Account number as digits only, 6 to 19 characters (``account_format`` otherwise).

    Spaces are removed. An ``int`` (an Excel number cell) is accepted when it is a
    non-negative whole number, but **leading zeros may already have been lost** by Excel
    and nothing here can tell: ``0071000123456`` read as a number is ``71000123456``, a
    valid-looking *different* account. The list importer must therefore read account
    columns as text; ints are tolerated only for callers that know there is no leading zero.
    Floats are refused: Excel turns long numbers into ``7.1e+10`` and drops digits.
    """
    if isinstance(value, bool):
        raise ValidationError(Detail("account_format.not_text"), field="account", code="account_format")
    if isinstance(value, int):
        if value < 0:
            raise ValidationError(Detail("account_format.negative"), field="account", code="account_format")
        text = str(value)
    elif isinstance(value, str):
        text = "".join(value.split())
    else:
        raise ValidationError(Detail("account_format.type"), field="account", code="account_format")
    if not _ACCOUNT_RE.fullmatch(text):
        raise ValidationError(Detail("account_format"), field="account", code="account_format")
    return text
