"""The postal service (VNPost / Buu dien) as a payment service organisation.

VNPost publishes no payout API. This adapter is modelled on the *process* that is
publicly known, and every wire detail (paths, field names, state and reason codes,
signing) lives in this one module so that the real interface, once a district signs an
agreement, replaces this file and nothing else. The sandbox
(:mod:`asxh_pay.sandbox.vnpost`) speaks exactly this format.

What is known and what is assumed:

============================================  ==========  ===========================================
Fact                                          Status      Where it shows here
============================================  ==========  ===========================================
Pays into postal payment accounts (card)      known       service ``ACCOUNT_CREDIT``
Pays cash at commune points, days 2-10        known       :class:`PaymentWindows` ``commune``
Pays cash at post offices, days 11-25         known       :class:`PaymentWindows` ``post_office``
Delivers cash at home to special cases        known       service ``CASH_HOME``, ``special_case``
(80+, sick/immobile, no authorised person)
Recipient or authorised person brings ID      known       identity check at handover (CCCD +
and a valid authorisation letter                          ``authorisation_ref``, validity date)
Network reaches every commune; pays           known       manifests grouped per commune and point
commune by commune
JSON over HTTPS                               assumed     every request and response
HMAC-SHA256 over ``"<ts>." + body``, hex,     assumed     ``X-VNPost-Timestamp``/``X-VNPost-Signature``
on requests and responses                                 (the generic pattern of rails.md)
Idempotency by partner reference              assumed     ``partner_ref`` = our idempotency key
Pickup code issued per cash payment           assumed     ``pickup_code_last4`` (full code goes to the
                                                          beneficiary, never to the partner)
Home-delivery window days 2-25, 3 attempts    assumed     :class:`PaymentWindows` ``home``; sandbox
Late instruction paid in next month's window  assumed     sandbox rolls the window forward
Uncollected cash is returned at window end    assumed     ``expired`` then ``returned``
Signed manifests (sealed with the same key)   assumed     :class:`Manifest`, ``seal``
Signed callbacks, Standard-Webhooks style     assumed     ``"<id>.<ts>." + body`` HMAC
============================================  ==========  ===========================================

Wire format (all amounts whole VND)::

    POST /api/v1/payments            {partner_ref, service, amount, currency, programme, period,
                                      commune_code, beneficiary, receiver, account|payment_point|delivery,
                                      window?, content}
    GET  /api/v1/payments/{ref}      -> payment | 404
    POST /api/v1/manifests           {manifest_no, period, commune_code, payment_point, point_type,
                                      items[{partner_ref, amount, service}], item_count, total_amount, seal}
    GET  /api/v1/manifests/{no}      -> {manifest_no, state, items[payment], counts, ...} | 404
    callback                         {event_id, event_type: "payment.state_changed", payment}

A payment's ``state`` is one of ``submitted``, ``ready_for_pickup``, ``out_for_delivery``,
``delivery_attempt_failed`` (all *processing* for the core), ``paid`` (succeeded),
``expired``, ``returned``, ``rejected`` (failed, with a ``reason_code``). The core's
terminal states are not widened: the postal sub-state travels in
:attr:`ProviderResult.detail` and in the event detail the ledger records.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any, ClassVar, Literal

import httpx
from pydantic import SecretStr

from asxh_pay.errors import (
    ProviderProtocolError,
    ProviderUnavailable,
    RateLimited,
    RequestNotSent,
    SignatureError,
    ValidationError,
    WebhookVerificationError,
)
from asxh_pay.identity import match_names, narrative
from asxh_pay.masking import mask_cccd
from asxh_pay.models import (
    CASH_KINDS,
    CashHome,
    CashPickup,
    Payout,
    PayoutRequest,
    PostalAccount,
    RecipientKind,
)
from asxh_pay.providers.base import (
    CallbackEvent,
    Capabilities,
    InquiryResult,
    ProviderAdapter,
    ProviderOutcome,
    ProviderResult,
    echoed_amount,
    raise_for_transport_status,
    read_json,
    require,
)
from asxh_pay.signing import HmacKey, SignatureAuth, timestamped_message
from asxh_pay.status import FailureReason
from asxh_pay.webhooks import CallbackVerifier, ReplayGuard

VN_TZ = timezone(timedelta(hours=7))  # Vietnam has no daylight saving time

SIGNATURE_HEADER = "X-VNPost-Signature"
TIMESTAMP_HEADER = "X-VNPost-Timestamp"
EVENT_ID_HEADER = "X-VNPost-Event-Id"
PARTNER_HEADER = "X-VNPost-Partner"
IDEMPOTENCY_HEADER = "X-Idempotency-Key"

SERVICE_BY_KIND = {"postal_account": "ACCOUNT_CREDIT", "cash_pickup": "CASH_PICKUP", "cash_home": "CASH_HOME"}


class PostalState(StrEnum):
    """A VNPost payment's state, as it travels on the wire."""

    SUBMITTED = "submitted"
    READY_FOR_PICKUP = "ready_for_pickup"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERY_ATTEMPT_FAILED = "delivery_attempt_failed"
    PAID = "paid"
    EXPIRED = "expired"
    RETURNED = "returned"
    REJECTED = "rejected"


STATE_OUTCOME: dict[PostalState, ProviderOutcome] = {
    PostalState.SUBMITTED: ProviderOutcome.ACCEPTED,
    PostalState.READY_FOR_PICKUP: ProviderOutcome.ACCEPTED,
    PostalState.OUT_FOR_DELIVERY: ProviderOutcome.ACCEPTED,
    PostalState.DELIVERY_ATTEMPT_FAILED: ProviderOutcome.ACCEPTED,
    PostalState.PAID: ProviderOutcome.SUCCEEDED,
    # Cash that was never handed over is a *failed* payout, not a reversed one: the
    # core's ``returned`` means "paid, then taken back", which is not what happened.
    PostalState.EXPIRED: ProviderOutcome.FAILED,
    PostalState.RETURNED: ProviderOutcome.FAILED,
    PostalState.REJECTED: ProviderOutcome.FAILED,
}

#: VNPost reason codes and what they mean to the library.
REASONS: dict[str, FailureReason] = {
    "NOT_COLLECTED": FailureReason.NOT_COLLECTED,
    "DELIVERY_FAILED": FailureReason.DELIVERY_FAILED,
    "IDENTITY_CHECK_FAILED": FailureReason.IDENTITY_CHECK_FAILED,
    "AUTHORISATION_INVALID": FailureReason.AUTHORISATION_INVALID,
    "AUTHORISATION_EXPIRED": FailureReason.AUTHORISATION_INVALID,
    "ACCOUNT_NOT_FOUND": FailureReason.NO_ACCOUNT,
    "ACCOUNT_CLOSED": FailureReason.ACCOUNT_CLOSED,
    "ACCOUNT_BLOCKED": FailureReason.ACCOUNT_BLOCKED,
    "ADDRESS_REQUIRED": FailureReason.REJECTED_BY_PROVIDER,
    "PAYMENT_POINT_UNKNOWN": FailureReason.REJECTED_BY_PROVIDER,
    "LIMIT_EXCEEDED": FailureReason.LIMIT_EXCEEDED,
    "RECIPIENT_DECEASED": FailureReason.BENEFICIARY_DECEASED,
    "INVALID_REQUEST": FailureReason.REJECTED_BY_PROVIDER,
}
#: Codes that mean "nothing was done, try again later".
RETRYABLE_CODES = frozenset({"SYSTEM_BUSY", "MAINTENANCE"})

#: Failed-attempt reasons a postman records at a door (kept verbatim in the detail).
DELIVERY_ATTEMPT_REASONS = frozenset(
    {
        "NOT_AT_HOME",
        "ADDRESS_NOT_FOUND",
        "REFUSED",
        "IDENTITY_MISMATCH",
        "AUTHORISATION_INVALID",
        "AUTHORISATION_EXPIRED",
        "UNSAFE_ACCESS",
    }
)

#: Recognised special cases for home delivery; free text is kept as ``OTHER``.
SPECIAL_CASES = {
    "aged_80_plus": "AGED_80_PLUS",
    "sick": "SICK",
    "disabled": "DISABLED",
    "no_authorised_person": "NO_AUTHORISED_PERSON",
}


# --------------------------------------------------------------------------- payment windows


@dataclass(frozen=True)
class PaymentWindows:
    """Days of the month on which cash is paid, per kind of payment point (inclusive).

    Commune points 2-10 and post offices 11-25 are the published practice; a province
    that runs another calendar configures it here. Home delivery (assumed) runs from
    the first commune day to the last post-office day so that failed attempts can be
    repeated.
    """

    commune: tuple[int, int] = (2, 10)
    post_office: tuple[int, int] = (11, 25)
    home: tuple[int, int] = (2, 25)

    def __post_init__(self) -> None:
        for name in ("commune", "post_office", "home"):
            first, last = getattr(self, name)
            if not 1 <= first <= last <= 28:
                raise ValidationError(
                    f"{name} window must be days 1-28 with first <= last, got {first}-{last}",
                    field="windows",
                    code="payment_window",
                )

    def days(self, point_type: str) -> tuple[int, int]:
        if point_type == "commune":
            return self.commune
        if point_type == "post_office":
            return self.post_office
        if point_type == "home":
            return self.home
        raise ValidationError(f"unknown point type {point_type!r}", field="point_type", code="point_type")

    def window(self, period: str, point_type: str) -> tuple[date, date]:
        """First and last day (inclusive, Vietnam time) of the period's window."""
        year, month = (int(p) for p in period.split("-"))
        first, last = self.days(point_type)
        return date(year, month, first), date(year, month, last)


def shift_months(day: date, months: int) -> date:
    """The same day of the month ``months`` later (windows end by day 28, so it exists)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def day_start(day: date) -> float:
    """Unix time at 00:00 Vietnam time of ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=VN_TZ).timestamp()


def local_date(ts: float) -> date:
    return datetime.fromtimestamp(ts, VN_TZ).date()


def point_type_of(request: PayoutRequest) -> str:
    dest = request.destination
    if isinstance(dest, CashPickup):
        return dest.point_type
    if isinstance(dest, CashHome):
        return "home"
    return "account"


def check_request(request: PayoutRequest, *, windows: PaymentWindows | None = None) -> None:
    """Refuse, before anything is recorded or sent, what VNPost would refuse.

    The models already refuse a home delivery without an address; this adds the rules
    of the postal process: an authorised person's authorisation must still be valid
    when the payment window opens, and a postal payout needs a destination VNPost pays.
    Raises :class:`~asxh_pay.errors.ValidationError` with a specific ``code``.
    """
    windows = windows or PaymentWindows()
    kind = request.destination.kind
    if kind not in SERVICE_BY_KIND:
        raise ValidationError(
            f"VNPost does not pay {kind!r} destinations", field="destination", code="destination_unsupported"
        )
    recipient = request.recipient
    if recipient.kind is not RecipientKind.SELF and recipient.authorisation_valid_until is not None:
        if kind in CASH_KINDS:
            opens = windows.window(request.period, point_type_of(request))[0]
        else:
            year, month = (int(p) for p in request.period.split("-"))
            opens = date(year, month, 1)
        if recipient.authorisation_expired(opens):
            raise ValidationError(
                f"the authorisation expired on {recipient.authorisation_valid_until.isoformat()}, "
                f"before the payment window opens on {opens.isoformat()}",
                field="recipient.authorisation_valid_until",
                code="authorisation_expired",
            )
    if isinstance(request.destination, CashHome) and len(request.destination.address.strip()) < 5:
        raise ValidationError(
            "a home delivery needs the address", field="destination.address", code="address_required"
        )


# --------------------------------------------------------------------------- wire bodies


def encode(body: Mapping[str, Any]) -> bytes:
    """Canonical JSON: the bytes that are signed, identical on every retry."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def _special_case(value: str | None) -> str | None:
    if value is None:
        return None
    key = value.strip().lower().replace(" ", "_").replace("-", "_").replace("+", "_plus")
    return SPECIAL_CASES.get(key, "OTHER")


def payment_body(payout: Payout, *, partner_code: str, windows: PaymentWindows) -> dict[str, Any]:
    """The JSON body of a pay instruction; deterministic for a payout (no clock inside)."""
    req = payout.request
    dest = req.destination
    recipient = req.recipient
    receiver: dict[str, Any] = {"type": recipient.kind.value.upper()}
    if recipient.kind is not RecipientKind.SELF:
        receiver.update(
            id_no=recipient.cccd,
            full_name=recipient.full_name,
            authorisation_ref=recipient.authorisation_ref,
            authorisation_valid_until=(
                recipient.authorisation_valid_until.isoformat()
                if recipient.authorisation_valid_until
                else None
            ),
        )
    body: dict[str, Any] = {
        "partner_ref": payout.idempotency_key,
        "partner_code": partner_code,
        "service": SERVICE_BY_KIND.get(dest.kind, dest.kind.upper()),
        "amount": req.amount,
        "currency": "VND",
        "programme": req.programme,
        "period": req.period,
        "commune_code": req.beneficiary.commune_code,
        "beneficiary": {"id_no": req.beneficiary.cccd, "full_name": req.beneficiary.full_name},
        "receiver": receiver,
        "content": narrative(f"ASXH {req.programme} {req.period}"),
    }
    if isinstance(dest, PostalAccount):
        body["account"] = {"account_no": dest.account_number}
    elif isinstance(dest, CashPickup):
        body["payment_point"] = {"code": dest.payment_point, "type": dest.point_type.upper()}
    elif isinstance(dest, CashHome):
        body["delivery"] = {
            "address": dest.address,
            "phone": dest.phone,
            "special_case": _special_case(dest.special_case),
        }
    if isinstance(dest, CashPickup | CashHome):
        first, last = windows.window(req.period, point_type_of(req))
        body["window"] = {"from": first.isoformat(), "to": last.isoformat()}
    return body


# --------------------------------------------------------------------------- manifests


@dataclass(frozen=True)
class ManifestItem:
    partner_ref: str
    amount: int
    service: str


@dataclass(frozen=True)
class Manifest:
    """The cash of one commune and payment point for one pay period, as one sealed list.

    Why manifests: the postal network moves cash commune by commune; a post office
    prepares one envelope of cash and one signed list per point. ``manifest_no`` is
    derived from the content, so building the same manifest again gives the same number
    and a resubmission is recognised instead of dispatching the cash twice.
    """

    manifest_no: str
    period: str
    commune_code: str
    payment_point: str
    point_type: Literal["commune", "post_office", "home"]
    items: tuple[ManifestItem, ...]

    @property
    def item_count(self) -> int:
        return len(self.items)

    @property
    def total_amount(self) -> int:
        return sum(i.amount for i in self.items)

    def body(self) -> dict[str, Any]:
        """The manifest without its seal: what the seal covers."""
        return {
            "manifest_no": self.manifest_no,
            "period": self.period,
            "commune_code": self.commune_code,
            "payment_point": self.payment_point,
            "point_type": self.point_type.upper(),
            "items": [
                {"partner_ref": i.partner_ref, "amount": i.amount, "service": i.service} for i in self.items
            ],
            "item_count": self.item_count,
            "total_amount": self.total_amount,
        }


def _group_of(payout: Payout) -> tuple[str, str, str, Literal["commune", "post_office", "home"]]:
    req = payout.request
    dest = req.destination
    if isinstance(dest, CashPickup):
        commune = req.beneficiary.commune_code or (
            dest.payment_point if dest.point_type == "commune" else None
        )
        if commune is None:
            raise ValidationError(
                "a post-office pickup needs the beneficiary's commune code for its manifest",
                field="beneficiary.commune_code",
                code="commune_required",
            )
        return req.period, commune, dest.payment_point, dest.point_type
    if isinstance(dest, CashHome):
        commune = req.beneficiary.commune_code
        if commune is None:
            raise ValidationError(
                "a home delivery needs the beneficiary's commune code for its manifest",
                field="beneficiary.commune_code",
                code="commune_required",
            )
        return req.period, commune, commune, "home"
    raise ValidationError(
        f"only cash payouts go into a manifest (payout {payout.id} is {dest.kind})",
        field="destination",
        code="not_cash",
    )


def build_manifests(payouts: Iterable[Payout], *, max_items: int = 5000) -> list[Manifest]:
    """Group cash payouts per (period, commune, payment point) into manifests.

    Deterministic: the same payouts give the same manifests (items sorted by key), and
    a group larger than ``max_items`` is split into numbered parts.
    """
    groups: dict[tuple[str, str, str, Literal["commune", "post_office", "home"]], dict[str, Payout]] = {}
    for payout in payouts:
        groups.setdefault(_group_of(payout), {})[payout.idempotency_key] = payout
    manifests: list[Manifest] = []
    for (period, commune, point, point_type), members in sorted(groups.items()):
        keys = sorted(members)
        for start in range(0, len(keys), max_items):
            chunk = keys[start : start + max_items]
            items = tuple(
                ManifestItem(k, members[k].amount, SERVICE_BY_KIND[members[k].request.destination.kind])
                for k in chunk
            )
            digest = (
                hashlib.sha256(encode({"g": [period, commune, point, point_type], "k": chunk}))
                .hexdigest()[:16]
                .upper()
            )
            manifests.append(
                Manifest(f"MF{period.replace('-', '')}{digest}", period, commune, point, point_type, items)
            )
    return manifests


@dataclass(frozen=True)
class ManifestStatus:
    """What VNPost says about one manifest and each payout in it."""

    manifest_no: str
    state: str  # received | dispatched | closed
    items: Mapping[str, ProviderResult] = field(default_factory=dict)  # partner_ref -> result
    counts: Mapping[str, int] = field(default_factory=dict)  # postal state -> how many
    paid_amount: int = 0


# --------------------------------------------------------------------------- the adapter


class VNPostProvider(ProviderAdapter):
    """VNPost: postal account credits, cash at commune points and post offices, cash at home."""

    name: ClassVar[str] = "vnpost"
    capabilities: ClassVar[Capabilities] = Capabilities(
        destinations=frozenset({"postal_account", "cash_pickup", "cash_home"}),
        inquiry=True,
        batch=True,
        max_batch=5000,
        cancel=False,
        callbacks=True,
        dedupes_by_key=True,
        min_amount=1_000,
        max_amount=100_000_000,
    )

    def __init__(
        self,
        base_url: str,
        *,
        secret: SecretStr | str,
        partner_code: str,
        windows: PaymentWindows | None = None,
        callback_tolerance_s: float = 300,
    ) -> None:
        """No credential defaults: the sandbox's come from
        :func:`asxh_pay.sandbox.vnpost.vnpost_sandbox_provider`."""
        super().__init__(base_url)
        self.refuse_sandbox_credentials(secret)
        self.partner_code = partner_code
        self.windows = windows or PaymentWindows()
        self._key = HmacKey(secret if isinstance(secret, SecretStr) else SecretStr(secret))
        self._auth = SignatureAuth(
            self._key, header=SIGNATURE_HEADER, encoding="hex", timestamp_header=TIMESTAMP_HEADER
        )
        # The replay guard refuses a repeat seen by this process; a repeat reaching another
        # process passes it and is acknowledged as a no-op by the ledger's callback table.
        self._callbacks = CallbackVerifier(
            self._key, tolerance_s=callback_tolerance_s, replay_guard=ReplayGuard(), signed_prefix=True
        )

    def auth(self) -> httpx.Auth:
        return self._auth

    def _headers(self, **extra: str) -> dict[str, str]:
        return {"Content-Type": "application/json", PARTNER_HEADER: self.partner_code, **extra}

    # -- payouts -------------------------------------------------------------

    def build_submit(self, payout: Payout) -> httpx.Request:
        body = payment_body(payout, partner_code=self.partner_code, windows=self.windows)
        return httpx.Request(
            "POST",
            self.endpoint("/api/v1/payments"),
            content=encode(body),
            headers=self._headers(**{IDEMPOTENCY_HEADER: payout.idempotency_key}),
        )

    def build_status(self, payout: Payout) -> httpx.Request:
        return httpx.Request(
            "GET",
            f"{self.base_url}/api/v1/payments/{payout.idempotency_key}",
            headers={PARTNER_HEADER: self.partner_code},
        )

    def parse_submit(self, payout: Payout, response: httpx.Response) -> ProviderResult:
        data = self._verified_json(response)
        if response.status_code in (200, 201):
            if data.get("partner_ref") != payout.idempotency_key:
                raise ProviderProtocolError(f"{self.name}: response is about another payout")
            return self.result(data, payout)
        code = data.get("error_code")
        if code in RETRYABLE_CODES:
            raise ProviderUnavailable(
                f"{self.name}: {code}", http_status=response.status_code, provider_code=code
            )
        if response.status_code == 422 and isinstance(code, str):
            return ProviderResult(
                ProviderOutcome.FAILED,
                reason=REASONS.get(code, FailureReason.REJECTED_BY_PROVIDER),
                code=code,
                message=f"postal_state=rejected code={code}",
                detail={"postal_state": PostalState.REJECTED.value, "reason_code": code},
            )
        if response.status_code == 409:
            raise ProviderProtocolError(
                f"{self.name}: partner_ref reused with another payload",
                http_status=409,
                provider_code="CONFLICT",
            )
        raise ProviderProtocolError(
            f"{self.name}: unexpected answer {response.status_code}",
            http_status=response.status_code,
            provider_code=str(code) if code else None,
        )

    def parse_status(self, payout: Payout, response: httpx.Response) -> ProviderResult:
        data = self._verified_json(response)
        if response.status_code == 404:
            return ProviderResult(ProviderOutcome.NOT_FOUND)
        if response.status_code != 200:
            raise ProviderProtocolError(
                f"{self.name}: unexpected status answer {response.status_code}",
                http_status=response.status_code,
            )
        if data.get("partner_ref") != payout.idempotency_key:
            raise ProviderProtocolError(f"{self.name}: status answer is about another payout")
        return self.result(data, payout)

    def result(self, data: Mapping[str, Any], payout: Payout | None = None) -> ProviderResult:
        """One payment object of the wire -> the library's result with the postal detail."""
        raw_state = require(data, "state", str, provider=self.name)
        try:
            state = PostalState(raw_state)
        except ValueError:
            raise ProviderProtocolError(f"{self.name}: unknown payment state {raw_state!r}") from None
        outcome = STATE_OUTCOME[state]
        code = data.get("reason_code")
        if code is not None and not isinstance(code, str):
            raise ProviderProtocolError(f"{self.name}: reason_code has the wrong type")
        reason = None
        if outcome is ProviderOutcome.FAILED:
            reason = REASONS.get(code or "", FailureReason.UNKNOWN)
        ref = require(data, "txn_id", str, provider=self.name)
        detail = self._detail(state, data, payout)
        message = " ".join(f"{k}={v}" for k, v in detail.items() if k != "proof_cccd")[:300]
        return ProviderResult(
            outcome,
            provider_ref=ref,
            reason=reason,
            code=code if reason else None,
            message=message,
            detail=detail,
            # Compared with the amount sent by the core (issue 13, item 7).
            amount=echoed_amount(data, "amount", provider=self.name),
        )

    def _detail(self, state: PostalState, data: Mapping[str, Any], payout: Payout | None) -> dict[str, str]:
        detail: dict[str, str] = {"postal_state": state.value}
        code = data.get("reason_code")
        if isinstance(code, str) and code:
            detail["reason_code"] = code
        last4 = data.get("pickup_code_last4")
        if isinstance(last4, str) and last4:
            detail["pickup_code_last4"] = last4
        window = data.get("window")
        if (
            isinstance(window, dict)
            and isinstance(window.get("from"), str)
            and isinstance(window.get("to"), str)
        ):
            detail["window"] = f"{window['from']}..{window['to']}"
        attempts = data.get("attempts")
        if isinstance(attempts, list):
            if attempts or state in (PostalState.DELIVERY_ATTEMPT_FAILED, PostalState.RETURNED):
                detail["attempts"] = str(len(attempts))
            if attempts and isinstance(attempts[-1], dict) and isinstance(attempts[-1].get("reason"), str):
                detail["last_attempt_reason"] = attempts[-1]["reason"]
        manifest = data.get("manifest_no")
        if isinstance(manifest, str) and manifest:
            detail["manifest_no"] = manifest
        proof = data.get("proof")
        if isinstance(proof, dict):
            cccd = proof.get("receiver_id_no")
            if isinstance(cccd, str):
                detail["proof_cccd"] = mask_cccd(cccd)
                if payout is not None:
                    req = payout.request
                    allowed = {req.beneficiary.cccd, req.recipient_cccd}
                    detail["proof_cccd_matches"] = "yes" if cccd in allowed else "no"
            for key in ("proof_ref", "at", "gps", "post_office_code", "receiver_type"):
                value = proof.get(key)
                if isinstance(value, str) and value:
                    detail[f"proof_{key}" if not key.startswith("proof") else key] = value
        return detail

    # -- inquiry -------------------------------------------------------------

    def build_inquiry(self, payout: Payout) -> httpx.Request:
        """Check a destination before paying (assumed service): for a postal account, that
        it exists and whose it is; for cash, that the payment point exists. The holder of
        cash is checked at the counter by CCCD, so a cash inquiry echoes no name."""
        req = payout.request
        body = payment_body(payout, partner_code=self.partner_code, windows=self.windows)
        keep = ("service", "account", "payment_point", "delivery", "commune_code")
        inquiry: dict[str, Any] = {k: body[k] for k in keep if k in body}
        inquiry["name"] = req.recipient_name
        return httpx.Request(
            "POST", self.endpoint("/api/v1/inquiries"), content=encode(inquiry), headers=self._headers()
        )

    def parse_inquiry(self, payout: Payout, response: httpx.Response) -> InquiryResult:
        data = self._verified_json(response)
        if response.status_code != 200:
            raise ProviderProtocolError(f"{self.name}: inquiry failed ({response.status_code})")
        exists = require(data, "exists", bool, provider=self.name)
        code = data.get("reason_code")
        if not exists:
            reason = REASONS.get(code, FailureReason.INVALID_ACCOUNT) if isinstance(code, str) else None
            return InquiryResult(
                False,
                reason=reason or FailureReason.INVALID_ACCOUNT,
                code=code if isinstance(code, str) else None,
            )
        holder = data.get("holder_name")
        if holder is None:
            return InquiryResult(True)  # cash: identity is checked at the handover
        if not isinstance(holder, str):
            raise ProviderProtocolError(f"{self.name}: inquiry holder name has the wrong type")
        return InquiryResult(
            True, holder_name=holder, name_match=match_names(payout.request.recipient_name, holder)
        )

    # -- callbacks -----------------------------------------------------------

    def parse_callback(self, request: httpx.Request) -> CallbackEvent:
        body = request.content
        try:
            signature = bytes.fromhex(request.headers.get(SIGNATURE_HEADER, ""))
            ts_raw = request.headers.get(TIMESTAMP_HEADER)
            timestamp = float(ts_raw) if ts_raw else None
        except ValueError:
            raise WebhookVerificationError(
                "malformed signature or timestamp header", code="invalid"
            ) from None
        event_header = request.headers.get(EVENT_ID_HEADER)
        self._callbacks.verify(body, signature, timestamp=timestamp, callback_id=event_header)
        try:
            data = json.loads(body)
            payment = data["payment"]
            event_id = data["event_id"]
            if not isinstance(payment, dict) or not isinstance(event_id, str):
                raise TypeError
            result = self.result(payment)
            partner_ref = payment.get("partner_ref")
            if not isinstance(partner_ref, str):
                raise TypeError
        except (ValueError, KeyError, TypeError, ProviderProtocolError) as exc:
            raise WebhookVerificationError(
                f"malformed callback body ({type(exc).__name__})", code="malformed"
            ) from None
        if event_id != event_header:
            raise WebhookVerificationError("callback id in body and header differ", code="invalid")
        return CallbackEvent(
            callback_id=event_id,
            idempotency_key=partner_ref,
            provider_ref=result.provider_ref,
            result=result,
            ack=httpx.Response(200, json={"result": "OK", "event_id": event_id}),
        )

    # -- manifests -----------------------------------------------------------

    def seal(self, manifest: Manifest) -> str:
        """HMAC over the manifest's canonical JSON: the list the post office pays from is
        verifiable on its own, apart from the transport signature of the request."""
        return self._key.sign(encode(manifest.body())).hex()

    def build_manifest_submit(self, manifest: Manifest) -> httpx.Request:
        body = {**manifest.body(), "seal": self.seal(manifest)}
        return httpx.Request(
            "POST",
            self.endpoint("/api/v1/manifests"),
            content=encode(body),
            headers=self._headers(**{IDEMPOTENCY_HEADER: manifest.manifest_no}),
        )

    def build_manifest_status(self, manifest_no: str) -> httpx.Request:
        return httpx.Request(
            "GET",
            f"{self.base_url}/api/v1/manifests/{manifest_no}",
            headers={PARTNER_HEADER: self.partner_code},
        )

    def parse_manifest(self, manifest_no: str, response: httpx.Response) -> ManifestStatus:
        """Answer to a manifest submit or status query.

        A refused manifest (unknown item, amount differs, item in another manifest)
        raises :class:`~asxh_pay.errors.ValidationError` naming the first bad item:
        nothing of it was dispatched.
        """
        data = self._verified_json(response)
        if response.status_code == 422:
            errors = data.get("errors")
            first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
            raise ValidationError(
                f"VNPost refused manifest {manifest_no}: {data.get('error_code')} "
                f"(first item {first.get('partner_ref')}: {first.get('code')})",
                field="manifest",
                code=str(data.get("error_code") or "manifest_refused").lower(),
            )
        if response.status_code == 409:
            raise ProviderProtocolError(
                f"{self.name}: manifest {manifest_no} reused with other content",
                http_status=409,
                provider_code="CONFLICT",
            )
        if response.status_code == 404:
            raise ProviderProtocolError(f"{self.name}: manifest {manifest_no} unknown", http_status=404)
        if response.status_code not in (200, 201):
            raise ProviderProtocolError(
                f"{self.name}: unexpected manifest answer {response.status_code}",
                http_status=response.status_code,
            )
        if data.get("manifest_no") != manifest_no:
            raise ProviderProtocolError(f"{self.name}: answer is about another manifest")
        state = require(data, "state", str, provider=self.name)
        raw_items = require(data, "items", list, provider=self.name)
        items: dict[str, ProviderResult] = {}
        counts: dict[str, int] = {}
        paid = 0
        for raw in raw_items:
            if not isinstance(raw, dict) or not isinstance(raw.get("partner_ref"), str):
                raise ProviderProtocolError(f"{self.name}: malformed manifest item")
            result = self.result(raw)
            items[raw["partner_ref"]] = result
            postal = result.detail["postal_state"]
            counts[postal] = counts.get(postal, 0) + 1
            if result.outcome is ProviderOutcome.SUCCEEDED:
                amount = raw.get("amount")
                paid += amount if isinstance(amount, int) else 0
        return ManifestStatus(manifest_no, state, items, counts, paid)

    # -- helpers -------------------------------------------------------------

    def _verified_json(self, response: httpx.Response) -> dict[str, Any]:
        sig = response.headers.get(SIGNATURE_HEADER, "")
        ts = response.headers.get(TIMESTAMP_HEADER, "")
        try:
            self._key.verify(timestamped_message(ts, response.content), bytes.fromhex(sig))
        except (SignatureError, ValueError):
            raise ProviderProtocolError(
                f"{self.name}: response signature does not verify", http_status=response.status_code
            ) from None
        return read_json(response, provider=self.name)


class ManifestSender:
    """Sends manifests and reads their status; the payouts themselves go through the client.

    Why separate from :class:`~asxh_pay.client.AsyncPayoutClient`: a manifest is a postal
    dispatch document, not a payout; the client pays and records each payout, this
    hands VNPost the per-commune list that tells it where to send the cash. Submitting
    is idempotent (the manifest number comes from its content), so a transport failure
    is simply retried.
    """

    def __init__(
        self,
        adapter: VNPostProvider,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
        attempts: int = 3,
    ) -> None:
        self.adapter = adapter
        self.attempts = max(1, attempts)
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout_s, trust_env=False)

    async def __aenter__(self) -> ManifestSender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _exchange(self, build: Any, parse: Any) -> ManifestStatus:
        last: Exception | None = None
        for _ in range(self.attempts):
            try:
                response = await self._http.send(build(), auth=self.adapter.auth())
                raise_for_transport_status(response, provider=self.adapter.name)
                result: ManifestStatus = parse(response)
                return result
            except (httpx.TransportError, ProviderUnavailable, RateLimited) as exc:
                last = exc
        raise RequestNotSent(f"{self.adapter.name}: manifest exchange failed ({type(last).__name__})")

    async def submit(self, manifest: Manifest) -> ManifestStatus:
        return await self._exchange(
            lambda: self.adapter.build_manifest_submit(manifest),
            lambda r: self.adapter.parse_manifest(manifest.manifest_no, r),
        )

    async def status(self, manifest_no: str) -> ManifestStatus:
        return await self._exchange(
            lambda: self.adapter.build_manifest_status(manifest_no),
            lambda r: self.adapter.parse_manifest(manifest_no, r),
        )
