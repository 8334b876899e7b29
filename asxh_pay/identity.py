"""Identity checks for beneficiaries: CCCD, phone numbers and names.

Why this module exists: commune lists are typed by hand, often in Excel, and a wrong
digit pays the wrong person. Everything that identifies a beneficiary is normalised
and checked here, *before* a payout exists, and every refusal carries a specific
``ValidationError.code`` so that list imports can tell the commune officer exactly
what to fix. Error messages never repeat the refused value: it is personal data.

Facts used (see ``/work/shared/rails.md``, "Identity" and "Banks and NAPAS"):

* CCCD is 12 digits ``PPP G YY RRRRRR`` with no check digit. ``PPP`` is a province
  code (Circular 07/2016/TT-BCA), ``G`` encodes century and gender, ``YY`` the last two
  digits of the birth year. Without a check digit, the only internal consistency we can
  test is the province code, the birth year against today and against a known date of
  birth.
* Bank-side texts (transfer narrative, holder name) are ASCII without diacritics; NFD
  leaves ``Đ``/``đ`` untouched, so they are mapped explicitly.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from importlib import resources
from types import MappingProxyType
from typing import Literal

import phonenumbers
from phonenumbers import carrier as phonenumbers_carrier

from asxh_pay.errors import ValidationError
from asxh_pay.vocab import Detail

__all__ = [
    "PROVINCES",
    "CccdInfo",
    "NameMatch",
    "ascii_text",
    "bank_holder_name",
    "carrier_of",
    "check_cccd_birth_date",
    "fold",
    "is_mobile_number",
    "match_names",
    "narrative",
    "normalize_cccd",
    "normalize_name",
    "normalize_phone",
    "parse_cccd",
]


def _load_provinces() -> Mapping[str, str]:
    raw = resources.files("asxh_pay").joinpath("data/provinces.json").read_text(encoding="utf-8")
    table: dict[str, str] = json.loads(raw)["provinces"]
    return MappingProxyType(dict(table))


PROVINCES: Mapping[str, str] = _load_provinces()
"""3-digit CCCD province code -> province name (the 63 pre-2025 provinces).

Read-only: the table is a fact, not configuration. CCCDs issued before the 2025 province
merger keep their old codes, which is why the pre-2025 table is the right one.
"""

_ASCII_DIGITS = re.compile(r"[0-9]+")

# ---------------------------------------------------------------------------
# CCCD
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CccdInfo:
    """What a CCCD number itself says about its holder.

    ``birth_year_min`` is the first year of the century encoded by digit G (1900, 2000,
    ...): the bound that holds even if ``YY`` was mistyped. ``birth_year`` is that century
    plus ``YY``. Gender and birth year are kept out of ``repr`` because they are personal
    data that must not land in logs by accident.
    """

    province_code: str
    province_name: str
    gender: Literal["male", "female"] = field(repr=False)
    birth_year_min: int = field(repr=False)
    birth_year: int = field(repr=False)


def normalize_cccd(value: str) -> str:
    """Return the 12-digit CCCD with spaces removed, or refuse with a specific code.

    Only spaces are removed (people type ``001 203 012 345``); dots, dashes or letters
    signal a different kind of mistake and are refused rather than guessed at.
    A 9-digit number is the old CMND: it is refused with ``cccd_is_cmnd`` because the
    holder has a new 12-digit number, and the old one may only be kept as an alias.
    """
    if not isinstance(value, str):
        raise ValidationError(
            Detail("cccd_not_digits.not_text"),
            field="cccd",
            code="cccd_not_digits",
        )
    digits = value.replace(" ", "").replace("\u00a0", "")
    if not _ASCII_DIGITS.fullmatch(digits):
        raise ValidationError(Detail("cccd_not_digits"), field="cccd", code="cccd_not_digits")
    if len(digits) == 9:
        raise ValidationError(
            Detail("cccd_is_cmnd"),
            field="cccd",
            code="cccd_is_cmnd",
        )
    if len(digits) != 12:
        raise ValidationError(Detail("cccd_length", n=len(digits)), field="cccd", code="cccd_length")
    return digits


def parse_cccd(value: str, *, today: date | None = None) -> CccdInfo:
    """Normalise a CCCD and decode province, gender and birth year.

    Refuses an unknown province code (``cccd_province``) and a birth year after
    ``today``'s year (``cccd_birth_year``): both are certain typos since the number has
    no check digit to catch them. ``today`` exists for tests; it defaults to the local date.
    """
    digits = normalize_cccd(value)
    code = digits[:3]
    province = PROVINCES.get(code)
    if province is None:
        raise ValidationError(Detail("cccd_province"), field="cccd", code="cccd_province")
    g = int(digits[3])
    century = 1900 + 100 * (g // 2)
    gender: Literal["male", "female"] = "male" if g % 2 == 0 else "female"
    birth_year = century + int(digits[4:6])
    current_year = (today or date.today()).year
    if birth_year > current_year:
        raise ValidationError(Detail("cccd_birth_year"), field="cccd", code="cccd_birth_year")
    return CccdInfo(
        province_code=code,
        province_name=province,
        gender=gender,
        birth_year_min=century,
        birth_year=birth_year,
    )


def check_cccd_birth_date(cccd: str, birth_date: date) -> None:
    """Refuse (``cccd_birth_mismatch``) a CCCD whose century digit or YY contradict ``birth_date``.

    Why: the police verification compares name, date of birth and CCCD; a list row where
    they disagree is either a typo or another person, and must be fixed before paying.
    """
    info = parse_cccd(cccd, today=max(date.today(), birth_date))
    if info.birth_year != birth_date.year:
        raise ValidationError(
            Detail("cccd_birth_mismatch"),
            field="cccd",
            code="cccd_birth_mismatch",
        )


# ---------------------------------------------------------------------------
# Phone numbers
# ---------------------------------------------------------------------------

#: Carrier names where phonenumbers' carrier data only knows the host network. 087 was
#: allocated to Indochina Telecom (Đông Dương Telecom) for its Itel network, which runs
#: on VinaPhone's radio network; phonenumbers names the whole 848 block "Vinaphone".
_CARRIER_OVERRIDES: Mapping[str, str] = MappingProxyType({"87": "Indochina Telecom"})
_PHONE_SEPARATORS = re.compile(r"[ .\-\u00a0]")


def is_mobile_number(national: str) -> bool:
    """True when the 9-digit national number is in one of Vietnam's mobile ranges.

    The ranges are phonenumbers' (Google's libphonenumber metadata, number type MOBILE for
    region VN), kept up to date by that project as ranges are allocated; this module keeps
    no table of its own.
    """
    if len(national) != 9 or not national.isascii() or not national.isdigit():
        return False
    number = phonenumbers.PhoneNumber(country_code=84, national_number=int(national))
    return bool(phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE)


def normalize_phone(value: str) -> str:
    """Return a Vietnamese mobile number as ``84`` + 9 digits.

    Accepted: ``0xxxxxxxxx``, ``84xxxxxxxxx``, ``+84xxxxxxxxx`` (also the common
    ``+84 0xxxxxxxxx`` slip), with spaces, dots or dashes anywhere. The result is the
    form wallets key on (MSISDN), so the same person always maps to one string.
    Refused: anything else (``phone_format``) and numbers outside Vietnam's mobile ranges
    (``phone_prefix``, see :func:`is_mobile_number`), e.g. landlines, service numbers or
    retired 11-digit numbers. A 9-digit
    value is refused: it is usually an Excel number column that lost its leading 0, and
    guessing would risk paying a different phone.
    """
    if not isinstance(value, str):
        raise ValidationError(
            Detail("phone_format.not_text"),
            field="phone",
            code="phone_format",
        )
    compact = _PHONE_SEPARATORS.sub("", value.strip())
    if compact.startswith("+"):
        compact = compact[1:]
        if not compact.startswith("84"):
            raise ValidationError(Detail("phone_format.foreign"), field="phone", code="phone_format")
    if not _ASCII_DIGITS.fullmatch(compact):
        raise ValidationError(Detail("phone_format.not_digits"), field="phone", code="phone_format")
    if len(compact) == 10 and compact.startswith("0"):
        national = compact[1:]
    elif len(compact) == 11 and compact.startswith("84"):
        national = compact[2:]
    elif len(compact) == 12 and compact.startswith("840"):
        national = compact[3:]
    else:
        raise ValidationError(Detail("phone_format"), field="phone", code="phone_format")
    if not is_mobile_number(national):
        raise ValidationError(Detail("phone_prefix"), field="phone", code="phone_prefix")
    return "84" + national


def carrier_of(phone: str) -> str:
    """Name of the carrier that *issued* the number's prefix (any accepted phone form).

    Since mobile number portability (2018) a subscriber may have moved to another
    carrier: use this for statistics and hints, never to route a payment. The names are
    phonenumbers' (``Viettel``, ``Vinaphone``, ``MobiFone``, ``Vietnamobile``,
    ``G-Mobile``, ``Reddi``...); ``"unknown"`` for a mobile range it names no carrier for.
    """
    msisdn = normalize_phone(phone)
    override = _CARRIER_OVERRIDES.get(msisdn[2:4])
    if override is not None:
        return override
    number = phonenumbers.PhoneNumber(country_code=84, national_number=int(msisdn[2:]))
    return phonenumbers_carrier.name_for_number(number, "en") or "unknown"


# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------

NAME_MAX_LEN = 100
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u2018": "'"})
_NAME_PUNCT = frozenset(" -.'")
_NAME_PUNCT_DROP = str.maketrans(dict.fromkeys(_NAME_PUNCT))


def normalize_name(value: str) -> str:
    """NFC, collapse whitespace, strip; refuse what cannot be a person's name (``name_invalid``).

    Allowed: letters (any script, Vietnamese diacritics included), space, ``-``, ``.``
    and the apostrophe. The apostrophe is there because Ede, Jarai and other Central
    Highlands names are written with it (``H'Hen Niê``); typographic apostrophes are
    mapped to ``'``. Digits, other symbols and names over 100 characters are refused:
    they are list-entry errors, and a name is what the police and the bank check against.
    """
    if not isinstance(value, str):
        raise ValidationError(Detail("name_invalid.not_text"), field="name", code="name_invalid")
    text = " ".join(unicodedata.normalize("NFC", value).translate(_APOSTROPHES).split())
    if not text:
        raise ValidationError(Detail("name_invalid.empty"), field="name", code="name_invalid")
    if len(text) > NAME_MAX_LEN:
        raise ValidationError(
            Detail("name_invalid.too_long", max=NAME_MAX_LEN), field="name", code="name_invalid"
        )
    if text.translate(_NAME_PUNCT_DROP).isalpha():
        return text  # letters and the allowed punctuation only: the common case, checked in C
    if not any(ch.isalpha() for ch in text):
        raise ValidationError(Detail("name_invalid.no_letters"), field="name", code="name_invalid")
    prev_is_letter = False
    for ch in text:
        if ch.isalpha():
            prev_is_letter = True
            continue
        if unicodedata.category(ch).startswith("M") and prev_is_letter:
            continue  # a combining mark with no precomposed form, on a letter
        if ch in _NAME_PUNCT:
            prev_is_letter = False
            continue
        if ch.isdigit() or unicodedata.category(ch) == "Nd":
            raise ValidationError(Detail("name_invalid.digits"), field="name", code="name_invalid")
        raise ValidationError(Detail("name_invalid"), field="name", code="name_invalid")
    return text


_D_MAP = str.maketrans({"Đ": "D", "đ": "d"})


def _strip_marks(value: str) -> str:
    decomposed = unicodedata.normalize("NFD", value.translate(_D_MAP))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_D_MAP)


def fold(value: str) -> str:
    """Comparison key for names: no diacritics (``Đ``/``đ`` -> ``d``), casefolded, single spaces.

    Why: lists, banks and wallets spell the same person as ``Nguyễn Văn An``,
    ``NGUYEN VAN AN`` or ``nguyen  van an``. Idempotent (``fold(fold(x)) == fold(x)``),
    so folded values can be stored and compared again.
    """
    text = unicodedata.normalize("NFC", value).casefold()
    text = _strip_marks(text).casefold()
    text = _strip_marks(text)
    return " ".join(text.split())


class NameMatch(StrEnum):
    """How two spellings of a name relate, from strongest to weakest.

    * ``EXACT``: identical after NFC and whitespace collapsing.
    * ``FOLDED``: identical after :func:`fold` (case, diacritics, ``Đ``/``D``, spacing).
    * ``REORDERED``: same multiset of folded words, different order.
    * ``NEAR``: same number of words and a Levenshtein distance between the folded
      full names of at most ``max(1, L // 10)``, ``L`` being the length of the longer
      folded name: one typo per 10 characters (e.g. ``An`` vs ``Anh``).
    * ``MISMATCH``: anything else, or an empty name on either side.

    Only ``EXACT`` and ``FOLDED`` are accepted; ``REORDERED`` and ``NEAR`` may be the same
    person or a relative, so they are reported to a person and never silently accepted.
    """

    EXACT = "exact"
    FOLDED = "folded"
    REORDERED = "reordered"
    NEAR = "near"
    MISMATCH = "mismatch"

    @property
    def is_accepted(self) -> bool:
        """True only when the names cannot be two different people's (EXACT, FOLDED)."""
        return self in (NameMatch.EXACT, NameMatch.FOLDED)


def _levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def match_names(expected: str, actual: str) -> NameMatch:
    """Classify how ``actual`` (from a bank/wallet/police check) matches ``expected`` (the list).

    Never raises: a name that does not even normalise simply does not match.
    See :class:`NameMatch` for the exact definitions.
    """
    exp_nfc = " ".join(unicodedata.normalize("NFC", expected).split())
    act_nfc = " ".join(unicodedata.normalize("NFC", actual).split())
    exp, act = fold(expected), fold(actual)
    if not exp or not act:
        return NameMatch.MISMATCH
    if exp_nfc == act_nfc:
        return NameMatch.EXACT
    if exp == act:
        return NameMatch.FOLDED
    exp_words, act_words = exp.split(), act.split()
    if sorted(exp_words) == sorted(act_words):
        return NameMatch.REORDERED
    if len(exp_words) == len(act_words):
        allowed = max(1, max(len(exp), len(act)) // 10)
        if _levenshtein(exp, act) <= allowed:
            return NameMatch.NEAR
    return NameMatch.MISMATCH


# ---------------------------------------------------------------------------
# Bank-side texts
# ---------------------------------------------------------------------------

_NON_ASCII_ALNUM = re.compile(r"[^A-Za-z0-9]+")


def ascii_text(value: str) -> str:
    """Diacritics removed (``Đ`` -> ``D``), only ``[A-Za-z0-9 ]`` kept, single spaces.

    Why: NAPAS narratives and bank holder names are plain ASCII; a stray ``&`` or emoji
    gets a transfer rejected. Characters that cannot be transliterated become spaces,
    case is preserved.
    """
    text = _strip_marks(unicodedata.normalize("NFC", value))
    return " ".join(_NON_ASCII_ALNUM.sub(" ", text).split())


def narrative(value: str, max_len: int = 25) -> str:
    """Transfer description: :func:`ascii_text`, at most ``max_len`` characters.

    Cut at the last word boundary that fits so the beneficiary reads whole words; a single
    word longer than ``max_len`` is cut hard. 25 is the NAPAS limit; pass 19 for QR channels.
    """
    if max_len < 1:
        raise ValidationError("max_len must be at least 1", field="max_len", code="narrative_max_len")
    text = ascii_text(value)
    if len(text) <= max_len:
        return text
    cut = text[: max_len + 1].rfind(" ")
    if cut > 0:
        return text[:cut].rstrip()
    return text[:max_len]


HOLDER_NAME_MIN = 5
HOLDER_NAME_MAX = 50


def bank_holder_name(name: str) -> str:
    """Account holder name as banks store it: ASCII, uppercase, 5 to 50 characters.

    Refused (``holder_name_length``) rather than truncated: a cut name would then fail
    the bank's own holder-name check, or worse, match someone else's.
    """
    text = ascii_text(name).upper()
    if not HOLDER_NAME_MIN <= len(text) <= HOLDER_NAME_MAX:
        raise ValidationError(
            f"holder name must be {HOLDER_NAME_MIN} to {HOLDER_NAME_MAX} characters without diacritics",
            field="name",
            code="holder_name_length",
        )
    return text
