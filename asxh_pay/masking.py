"""Masking of personal data and secrets before anything is logged, raised or printed.

Why: payment details (CCCD, phone numbers, account numbers, names) are personal data of
vulnerable people and must never leave the machine except to the provider that needs
them. Logs are shipped, copied and read by support; so everything that may reach a log
goes through here: the ``mask_*`` helpers for known fields, :func:`scrub` for payloads,
:func:`mask_text` for free text and :class:`MaskingFilter` as the last line of defence.

Every function here is total: it never raises on odd input, because it runs on error
paths where a second exception would hide the first.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from typing import Any

__all__ = [
    "DEFAULT_PERSONAL_KEYS",
    "DEFAULT_SECRET_KEYS",
    "MaskingFilter",
    "install_masking",
    "mask_account",
    "mask_cccd",
    "mask_name",
    "mask_phone",
    "mask_text",
    "scrub",
]

_STAR = "*"


def _keep(value: str, head: int, tail: int, min_hidden: int = 3) -> str:
    """Keep ``head`` leading and ``tail`` trailing characters; all stars if too short to hide enough."""
    n = len(value)
    if n - head - tail < min_hidden:
        return _STAR * n
    return value[:head] + _STAR * (n - head - tail) + (value[n - tail :] if tail else "")


def mask_cccd(value: str) -> str:
    """``001203012345`` -> ``0012******45``: province and century/gender digit, last 2 digits."""
    return _keep("".join(str(value).split()), 4, 2)


def mask_phone(value: str) -> str:
    """``84912345678`` -> ``849*****678``: first 3 and last 3 characters."""
    return _keep("".join(str(value).split()), 3, 3)


def mask_account(value: str) -> str:
    """``0071000123456`` -> ``*********3456``: last 4 only (what bank statements show)."""
    return _keep("".join(str(value).split()), 0, 4)


def mask_name(value: str) -> str:
    """``Nguyễn Văn An`` -> ``N***** V** A*``: first letter of each word, word lengths kept."""
    words = unicodedata.normalize("NFC", str(value)).split()
    return " ".join(w[0] + _STAR * (len(w) - 1) for w in words)


# A run of 9+ digits, possibly written in groups with single spaces, dots or dashes
# (``0912.345.678``, ``001 203 012 345``, ``+84 912 345 678``). ``\d`` is Unicode-aware on
# purpose: full-width or other-script digits are masked too.
_DIGIT_RUN = re.compile(r"\d(?:[ .\-]?\d){8,}")
_DIGIT = re.compile(r"\d")


def _mask_digits(digits: str) -> str:
    n = len(digits)
    if n == 12:
        return mask_cccd(digits)
    if (n == 10 and digits.startswith("0")) or (n == 11 and digits.startswith("84")):
        return mask_phone(digits)
    return mask_account(digits)


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    masked = iter(_mask_digits("".join(_DIGIT.findall(run))))
    return _DIGIT.sub(lambda _m: next(masked), run)


def mask_text(text: str) -> str:
    """Mask every run of 9 or more digits in free text (CCCD, CMND, phones, accounts).

    Grouped writings count as one run. The digits that remain visible follow the field
    masks (12 digits as a CCCD, 10/11 with 0/84 as a phone, else last 4), so no more than 4
    consecutive digits survive. Over-masking is accepted: a 9+ digit amount or reference
    in free text is masked too, as text cannot tell it from an account number.
    """
    return _DIGIT_RUN.sub(_mask_run, str(text))


def _norm_key(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.casefold())


DEFAULT_SECRET_KEYS: frozenset[str] = frozenset(
    {"secret", "password", "passwd", "token", "key", "signature", "authorization", "mac", "sig", "otp", "pin"}
)
"""Normalised key names (lowercase, no ``_``/``-``) whose values are replaced by ``***``.

A key also counts as secret when it *contains* secret/password/token/signature/
authorization or *ends with* ``key`` (``accessKey``, ``privateKey``, ``idempotencyKey``).
"""

_CCCD_KEYS = frozenset({"cccd", "cmnd", "personalid", "nationalid", "idnumber", "citizenid", "idcard"})
_PHONE_KEYS = frozenset({"phone", "phonenumber", "msisdn", "mobile", "walletid", "receiverphone"})
_ACCOUNT_KEYS = frozenset(
    {
        "account",
        "accountnumber",
        "accountno",
        "bankaccount",
        "creditoraccount",
        "debtoraccount",
        "iban",
        "cardnumber",
    }
)
_NAME_KEYS = frozenset(
    {
        "name",
        "fullname",
        "walletname",
        "holdername",
        "accountname",
        "beneficiaryname",
        "receivername",
        "creditorname",
        "payeename",
    }
)
_OTHER_KEYS = frozenset({"address", "birthdate", "dateofbirth", "dob", "email"})

DEFAULT_PERSONAL_KEYS: frozenset[str] = _CCCD_KEYS | _PHONE_KEYS | _ACCOUNT_KEYS | _NAME_KEYS | _OTHER_KEYS
"""Normalised key names (lowercase, no ``_``/``-``) whose values are personal data.

Keys ending with a strong suffix (``...cccd``, ``...phone``, ``...accountnumber``,
``...fullname``...) also count, so ``beneficiaryCccd`` is caught without listing it.
"""

_STRONG_SUFFIXES = (
    "cccd",
    "cmnd",
    "personalid",
    "phone",
    "msisdn",
    "walletid",
    "accountnumber",
    "accountno",
    "fullname",
    "holdername",
    "walletname",
)
_SECRET_PARTS = ("secret", "password", "token", "signature", "authorization", "privatekey")


def _is_secret(nkey: str) -> bool:
    return nkey in DEFAULT_SECRET_KEYS or nkey.endswith("key") or any(p in nkey for p in _SECRET_PARTS)


def _mask_generic(value: str) -> str:
    digits = sum(ch.isdigit() for ch in value)
    if digits * 2 >= len(value.replace(" ", "")):
        return mask_account(value)
    return mask_name(value)


def _masker_for(nkey: str, personal_keys: frozenset[str]) -> Callable[[str], str] | None:
    is_personal = nkey in personal_keys or nkey.endswith(_STRONG_SUFFIXES)
    if not is_personal:
        return None
    if nkey in _CCCD_KEYS or nkey.endswith(("cccd", "cmnd", "personalid")):
        return mask_cccd
    if nkey in _PHONE_KEYS or nkey.endswith(("phone", "msisdn", "walletid")):
        return mask_phone
    if nkey in _ACCOUNT_KEYS or nkey.endswith(("accountnumber", "accountno")):
        return mask_account
    if nkey in _NAME_KEYS or nkey.endswith("name"):
        return mask_name
    return _mask_generic


def _mask_all(obj: Any, masker: Callable[[str], str]) -> Any:
    if isinstance(obj, dict):
        return {k: _mask_all(v, masker) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [_mask_all(v, masker) for v in obj]
    if obj is None or isinstance(obj, bool):
        return obj
    return masker(str(obj))


def scrub(obj: Any, personal_keys: frozenset[str] = DEFAULT_PERSONAL_KEYS) -> Any:
    """A masked deep copy of a payload (dicts, lists, tuples), safe to log or attach to errors.

    Values under personal keys are masked with the matching field mask (any type, nested
    too); values under secret keys become ``***``; every other string goes through
    :func:`mask_text`. Keys are compared case-insensitively with ``_``/``-`` ignored, so
    ``walletId``, ``wallet_id`` and ``WALLET-ID`` are the same. Other scalars (numbers of
    amounts, flags) are kept as they are. The input is never modified.
    """
    if isinstance(obj, dict):
        out: dict[Any, Any] = {}
        for k, v in obj.items():
            nkey = _norm_key(str(k))
            if _is_secret(nkey):
                out[k] = "***"
                continue
            masker = _masker_for(nkey, personal_keys)
            out[k] = _mask_all(v, masker) if masker is not None else scrub(v, personal_keys)
        return out
    if isinstance(obj, list):
        return [scrub(v, personal_keys) for v in obj]
    if isinstance(obj, tuple):
        return tuple(scrub(v, personal_keys) for v in obj)
    if isinstance(obj, str):
        return mask_text(obj)
    if isinstance(obj, bytes | bytearray):
        return mask_text(bytes(obj).decode("utf-8", errors="replace"))
    return obj


class MaskingFilter(logging.Filter):
    """Logging filter that masks the formatted message, its args and any traceback text.

    The message is formatted once (``record.getMessage()``), masked with
    :func:`mask_text`, and stored back with empty args, so handlers and formatters see
    only masked text. Never drops a record and never raises.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not unmask the args
            message = f"{record.msg!s} {scrub(record.args)!r}"
        record.msg = mask_text(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def install_masking(logger: logging.Logger | None = None) -> MaskingFilter:
    """Attach one :class:`MaskingFilter` to ``logger`` (root if None) and to its handlers.

    Both are needed: a logger's own filters do not see records propagated from child
    loggers (``asxh_pay.x`` -> root), while handler filters see every record they emit.
    Idempotent. Handlers added later must be given the returned filter too.
    """
    target = logger if logger is not None else logging.getLogger()
    existing = next((f for f in target.filters if isinstance(f, MaskingFilter)), None)
    flt = existing if existing is not None else MaskingFilter()
    if existing is None:
        target.addFilter(flt)
    for handler in target.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(flt)
    return flt


def get_logger(name: str) -> logging.Logger:
    """A library logger whose own records are masked before any handler sees them.

    Every asxh_pay module logs through one of these, so masking does not depend on
    how the application configured its handlers.
    """
    logger = logging.getLogger(name)
    if not any(isinstance(f, MaskingFilter) for f in logger.filters):
        logger.addFilter(MaskingFilter())
    return logger
