"""The domain model: who is paid, for whom, where, how much, and what happened.

Models are pydantic v2 and frozen: a payout request is evidence, and evidence is not
edited in place. Every personal field (CCCD, names, phone and account numbers) is
masked in ``repr()`` so that a stray ``print``/log of a model never leaks it.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)

from asxh_pay import identity, masking
from asxh_pay.banks import bank_by_bin, normalize_account_number
from asxh_pay.errors import ValidationError
from asxh_pay.money import MAX_PAYOUT_VND_DEFAULT, parse_vnd
from asxh_pay.status import FailureReason, PayoutStatus
from asxh_pay.vocab import Detail

# --------------------------------------------------------------------------- trust

#: Validation context for a request the library itself validated and stored, read back
#: (``PayoutRequest.model_validate_json(text, context=STORED)``): the checks and
#: normalisations below are skipped, the structure and types are still validated by
#: pydantic. Why: the ledger reads every payout back several times a month (statements,
#: callbacks, reports, reconciliation), and re-running the CCCD, name, phone and bank
#: checks on what those same checks wrote was 40% of the cost of each read. Never pass
#: it for anything that came from outside.
STORED: Mapping[str, bool] = MappingProxyType({"asxh_pay.stored": True})  # read-only: shared


def _stored(info: ValidationInfo) -> bool:
    context = info.context
    return context is not None and context.get("asxh_pay.stored") is True


def _unless_stored(check: Callable[[Any], Any]) -> Callable[[Any, ValidationInfo], Any]:
    """The field validator that runs ``check``, except on a request read back with STORED."""

    def validator(value: Any, info: ValidationInfo) -> Any:
        return value if _stored(info) else check(value)

    return validator


# --------------------------------------------------------------------------- scalars


def _cccd(value: str) -> str:
    identity.parse_cccd(value)
    return identity.normalize_cccd(value)


def _amount(value: object) -> int:
    return parse_vnd(value, ceiling=MAX_PAYOUT_VND_DEFAULT)


_PERIOD_RE = re.compile(r"^(20\d\d)-(0[1-9]|1[0-2])$")
_PROGRAMME_RE = re.compile(r"^[A-Z][A-Z0-9_-]{1,15}$")
_KEY_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]{7,34}$")
_CODE_RE = re.compile(r"^[0-9A-Za-z_.-]{1,32}$")


def check_period(value: str) -> str:
    """A pay period as ``YYYY-MM`` (``period`` otherwise)."""
    value = str(value).strip()
    if not _PERIOD_RE.match(value):
        raise ValidationError(Detail("period", value=value), field="period", code="period")
    return value


def _programme(value: str) -> str:
    value = str(value).strip().upper()
    if not _PROGRAMME_RE.match(value):
        raise ValidationError(
            Detail("programme"),
            field="programme",
            code="programme",
        )
    return value


def _idem_key(value: str) -> str:
    if not _KEY_RE.match(value):
        raise ValidationError(
            "idempotency key must be 8-35 characters of letters, digits, '.', '_' or '-' "
            "(it travels to providers whose id fields are at most 35 characters)",
            field="idempotency_key",
            code="idempotency_key",
        )
    return value


def _code(value: str) -> str:
    value = str(value).strip()
    if not _CODE_RE.match(value):
        raise ValidationError(Detail("admin_code", value=value), code="admin_code")
    return value


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


Cccd = Annotated[str, BeforeValidator(_strip), AfterValidator(_unless_stored(_cccd))]
PersonName = Annotated[str, AfterValidator(_unless_stored(identity.normalize_name))]
Phone = Annotated[str, AfterValidator(_unless_stored(identity.normalize_phone))]
Vnd = Annotated[int, BeforeValidator(_amount)]
PayPeriod = Annotated[str, AfterValidator(_unless_stored(check_period))]
ProgrammeCode = Annotated[str, BeforeValidator(_unless_stored(_programme))]
IdempotencyKey = Annotated[str, AfterValidator(_unless_stored(_idem_key))]
AdminCode = Annotated[str, AfterValidator(_unless_stored(_code))]


class Programme:
    """Known programme codes; any code matching the pattern is accepted (extensible)."""

    NCC: ClassVar[str] = "NCC"  # nguoi co cong: people with meritorious service
    BTXH: ClassVar[str] = "BTXH"  # bao tro xa hoi: social protection
    HTXH: ClassVar[str] = "HTXH"  # tro cap huu tri xa hoi: social pension (Decree 176/2025)
    # Names and agencies are data: asxh_pay/programmes.py


# --------------------------------------------------------------------------- masking base

_MASKERS: dict[str, Callable[[str], str]] = {
    "cccd": masking.mask_cccd,
    "full_name": masking.mask_name,
    "account_name": masking.mask_name,
    "phone": masking.mask_phone,
    "account_number": masking.mask_account,
    "address": lambda _value: "***",
}


class _Model(BaseModel):
    # hide_input_in_errors: a validation error must not carry the CCCD, phone or name it refused.
    model_config = ConfigDict(
        frozen=True, extra="forbid", str_strip_whitespace=True, hide_input_in_errors=True
    )

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            masker = _MASKERS.get(name or "")
            if masker is not None and isinstance(value, str):
                yield name, masker(value)
            else:
                yield name, value


# --------------------------------------------------------------------------- people


class Beneficiary(_Model):
    """The person entitled to the benefit, identified by the 12-digit CCCD."""

    cccd: Cccd
    full_name: PersonName
    birth_date: date | None = None
    #: The 2025 commune (5 digits) and province (2 digits): districts no longer exist.
    commune_code: AdminCode | None = None
    province_code: AdminCode | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy_district(cls, data: Any) -> Any:
        # Payouts recorded before the 2025 model carried a district code; they still read.
        if isinstance(data, dict) and "district_code" in data:
            data = {k: v for k, v in data.items() if k != "district_code"}
        return data

    @model_validator(mode="after")
    def _birth_matches_cccd(self, info: ValidationInfo) -> Beneficiary:
        if self.birth_date is not None and not _stored(info):
            identity.check_cccd_birth_date(self.cccd, self.birth_date)
        return self


class RecipientKind(StrEnum):
    SELF = "self"
    AUTHORISED = "authorised"  # nguoi duoc uy quyen
    GUARDIAN = "guardian"  # nguoi giam ho


class Recipient(_Model):
    """Who receives the money: the beneficiary, or someone on their behalf.

    An authorised person or guardian is a different person with their own CCCD and
    a reference to the authorisation (letter, court decision) that lets them receive.
    """

    kind: RecipientKind = RecipientKind.SELF
    cccd: Cccd | None = None
    full_name: PersonName | None = None
    relation: str | None = Field(default=None, max_length=50)
    authorisation_ref: str | None = Field(default=None, max_length=64)
    authorisation_valid_until: date | None = None

    @model_validator(mode="after")
    def _on_behalf_needs_identity(self, info: ValidationInfo) -> Recipient:
        if _stored(info):
            return self
        if self.kind is RecipientKind.SELF:
            if self.cccd or self.full_name or self.authorisation_ref:
                raise ValidationError(
                    Detail("recipient_self_with_identity"),
                    field="recipient",
                    code="recipient_self_with_identity",
                )
            return self
        missing = [n for n in ("cccd", "full_name", "authorisation_ref") if getattr(self, n) in (None, "")]
        if missing:
            raise ValidationError(
                Detail("recipient_incomplete", kind=self.kind.value, missing=missing),
                field="recipient",
                code="recipient_incomplete",
            )
        return self

    def authorisation_expired(self, on: date) -> bool:
        return self.authorisation_valid_until is not None and self.authorisation_valid_until < on


SELF = Recipient()


# --------------------------------------------------------------------------- destinations


class BankAccount(_Model):
    """A payment account at a bank, addressed by its NAPAS BIN and domestic number."""

    kind: Literal["bank"] = "bank"
    bank_bin: str
    account_number: str
    account_name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and not _stored(info):
            data = dict(data)
            if "bank_bin" in data:
                data["bank_bin"] = bank_by_bin(str(data["bank_bin"]).strip()).bin
            if "account_number" in data:
                data["account_number"] = normalize_account_number(data["account_number"])
        return data


class Wallet(_Model):
    """A mobile-money / e-wallet account, addressed by the phone number it is tied to."""

    kind: Literal["wallet"] = "wallet"
    provider: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")
    phone: Phone


class PostalAccount(_Model):
    """A payment account opened by the postal service (card issued to the beneficiary)."""

    kind: Literal["postal_account"] = "postal_account"
    account_number: str

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and "account_number" in data and not _stored(info):
            data = dict(data)
            data["account_number"] = normalize_account_number(data["account_number"])
        return data


class CashPickup(_Model):
    """Cash collected in person at a commune payment point or a post office."""

    kind: Literal["cash_pickup"] = "cash_pickup"
    payment_point: AdminCode
    point_type: Literal["commune", "post_office"] = "commune"


class CashHome(_Model):
    """Cash delivered at home (aged 80+, sick, disabled, no authorised person)."""

    kind: Literal["cash_home"] = "cash_home"
    address: str = Field(min_length=5, max_length=300)
    phone: Phone | None = None
    special_case: str | None = Field(default=None, max_length=100)


Destination = Annotated[
    BankAccount | Wallet | PostalAccount | CashPickup | CashHome, Field(discriminator="kind")
]
ELECTRONIC_KINDS = frozenset({"bank", "wallet", "postal_account"})
CASH_KINDS = frozenset({"cash_pickup", "cash_home"})


# --------------------------------------------------------------------------- requests & payouts

KEY_NAMESPACE_DEFAULT = b"asxh_pay/v1"


def derive_idempotency_key(
    programme: str, period: str, cccd: str, *, namespace: bytes = KEY_NAMESPACE_DEFAULT
) -> str:
    """The default key: one per (programme, pay period, beneficiary).

    Why a hash and not the plain triple: the key travels to providers in their
    request-id fields, and the CCCD must not. The namespace lets a deployment make
    the key unguessable (a CCCD has little entropy); it must never change between
    runs of the same period, or the key would no longer catch a rerun.
    """
    digest = hashlib.sha256(namespace + b"|" + f"{programme}|{period}|{cccd}".encode()).hexdigest()
    return "AX" + digest[:30]


class PayoutRequest(_Model):
    """One benefit payment to make: validated before anything is written or sent."""

    programme: ProgrammeCode
    period: PayPeriod
    beneficiary: Beneficiary
    recipient: Recipient = SELF
    destination: Destination
    amount: Vnd
    idempotency_key: IdempotencyKey | None = None
    # Where to pay in cash if the electronic destination fails (no account, final
    # decline, returned): usually the commune payment point from the list.
    cash_fallback: Annotated[CashPickup | CashHome, Field(discriminator="kind")] | None = None
    source: str | None = Field(default=None, max_length=200)  # list file + row, API caller...
    run_id: str | None = Field(default=None, max_length=64)

    def key(self, namespace: bytes = KEY_NAMESPACE_DEFAULT) -> str:
        return self.idempotency_key or derive_idempotency_key(
            self.programme, self.period, self.beneficiary.cccd, namespace=namespace
        )

    def payload_hash(self) -> str:
        """Hash of what is paid to whom: the same key with another payload is a conflict.

        ``source`` and ``run_id`` are bookkeeping, left out so that a rerun from
        another copy of the list is recognised as the same payout.
        """
        body = self.model_dump_json(exclude={"source", "run_id", "idempotency_key"})
        return hashlib.sha256(body.encode()).hexdigest()

    @property
    def recipient_cccd(self) -> str:
        return self.recipient.cccd or self.beneficiary.cccd

    @property
    def recipient_name(self) -> str:
        return self.recipient.full_name or self.beneficiary.full_name


class EventSource(StrEnum):
    """Where a status change came from: the audit trail must say."""

    SYSTEM = "system"  # the engine itself (created, submitted, deadline)
    RESPONSE = "response"
    POLL = "poll"
    CALLBACK = "callback"
    RECONCILIATION = "reconciliation"
    OPERATOR = "operator"


class StatusEvent(_Model):
    """One entry of a payout's append-only, hash-chained history."""

    payout_id: str
    seq: int
    at: datetime
    from_status: PayoutStatus | None
    to_status: PayoutStatus
    source: EventSource
    reason: FailureReason | None = None
    detail: str | None = None
    provider: str | None = None
    provider_ref: str | None = None
    prev_hash: str
    hash: str


_ID_BITS = random.Random()  # seeded from os.urandom
os.register_at_fork(after_in_child=_ID_BITS.seed)  # a forked worker must not repeat its parent's ids


def new_payout_id() -> str:
    """Time-ordered payout id: sorting by id is sorting by creation, and the ledger's id
    indexes grow at their end instead of at random pages.

    The 32 bits after the nanosecond clock only have to differ between processes that
    create payouts in the same nanosecond; they need not be unpredictable, so they come
    from a per-process generator seeded by the OS rather than a system call per id.
    """
    return f"po_{time.time_ns():x}{_ID_BITS.getrandbits(32):08x}"


class Payout(_Model):
    """The ledger's view of one payout: the request plus everything that happened to it."""

    id: str
    idempotency_key: str
    payload_hash: str
    request: PayoutRequest
    status: PayoutStatus = PayoutStatus.CREATED
    provider: str | None = None
    provider_ref: str | None = None
    attempts: int = 0
    failure_reason: FailureReason | None = None
    failure_detail: str | None = None
    parent_id: str | None = None  # set on a fallback payout: the failed one it replaces
    lineage_depth: int = 0
    created_at: datetime
    updated_at: datetime

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    @property
    def amount(self) -> int:
        return self.request.amount

    def __str__(self) -> str:
        return (
            f"Payout {self.id} [{self.status.value}] {self.request.programme} {self.request.period} "
            f"{masking.mask_cccd(self.request.beneficiary.cccd)} {self.request.amount} VND "
            f"via {self.provider or '-'}"
        )
