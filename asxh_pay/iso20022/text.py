"""Text rules for what goes on the wire: Vietnamese to ASCII, and field checks.

Why explicit ``Đ``/``đ`` handling: Unicode NFD decomposes every other Vietnamese
letter into a base letter plus combining marks, but ``Đ`` (U+0110) and ``đ``
(U+0111) are letters of their own with no decomposition, so the usual
"NFD then drop marks" recipe silently loses them (rails.md, Banks and NAPAS).
"""

from __future__ import annotations

import re
import unicodedata

from asxh_pay.errors import ValidationError

_D_MAP = str.maketrans({"Đ": "D", "đ": "d", "Ð": "D", "ð": "d"})

#: Characters of the SEPA / EPC "Latin character set" used by pain.001.001.03 files.
_SEPA_RE = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")
_NOT_ALNUM_SPACE_RE = re.compile(r"[^A-Za-z0-9 ]")
_SPACES_RE = re.compile(r"\s+")
#: Combining diacritical marks (U+0300-U+036F): every Vietnamese tone and vowel mark.
_COMBINING_RE = re.compile("[\u0300-\u036f]")

#: ISO 20022 identifiers we generate (MsgId, PmtInfId, InstrId, EndToEndId): the EPC
#: restricted set without spaces, 1 to 35 characters, no leading/trailing or double slash.
_ID_CHARS_RE = re.compile(r"^[A-Za-z0-9/\-?:().,'+]{1,35}$")
#: The whole rule in one pattern, for the per-transfer fast path.
ID_RE = re.compile(r"^(?!/)(?!.*//)[A-Za-z0-9/\-?:().,'+]{1,35}(?<!/)$")


def strip_diacritics(text: str) -> str:
    """Vietnamese (and other Latin) text with the accents removed, ``Đ`` -> ``D``."""
    if text.isascii():
        return text
    stripped = _COMBINING_RE.sub("", unicodedata.normalize("NFD", text.translate(_D_MAP)))
    if stripped.isascii():
        return stripped
    # Rare: marks outside the basic block (other scripts); the general, slower rule.
    return "".join(ch for ch in stripped if not unicodedata.combining(ch))


def _collapse(text: str) -> str:
    return _SPACES_RE.sub(" ", text).strip()


def remittance_ascii(text: str, max_len: int = 25) -> str:
    """Transfer description as NAPAS accepts it: ASCII letters, digits and spaces, <= max_len.

    Truncation is safe here (the description is informative; reconciliation uses
    EndToEndId), unlike for names.
    """
    if max_len < 1:
        raise ValidationError("must be at least 1", field="remittance_max_len")
    cleaned = _NOT_ALNUM_SPACE_RE.sub(" ", strip_diacritics(text))
    return _collapse(cleaned)[:max_len].rstrip()


def name_latin(text: str) -> str:
    """Name in the SEPA Latin character set (for pain.001.001.03)."""
    return _collapse(_SEPA_RE.sub(" ", strip_diacritics(text)))


def name_unicode(text: str) -> str:
    """Name kept in Unicode, NFC-normalised so the same name is always the same bytes."""
    return _collapse(unicodedata.normalize("NFC", text))


def check_id(value: object, field: str) -> str:
    """Refuse an identifier that is not a Max35Text in the restricted character set.

    Why strict: a MsgId or EndToEndId that a bank rewrites or truncates breaks the
    link between what we sent and what comes back in pain.002 and camt.054.
    """
    if isinstance(value, str) and ID_RE.match(value):
        return value
    if not isinstance(value, str) or not _ID_CHARS_RE.match(value):
        raise ValidationError(
            "must be 1-35 characters of A-Z a-z 0-9 / - ? : ( ) . , ' + (no spaces)", field=field
        )
    if value.startswith("/") or value.endswith("/") or "//" in value:
        raise ValidationError("must not start or end with '/' or contain '//'", field=field)
    return value
