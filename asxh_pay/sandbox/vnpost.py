"""Sandbox of the postal service (see :mod:`asxh_pay.providers.vnpost` for the wire format).

It keeps VNPost's side of the books: every instruction by ``partner_ref``, the cash sent
to each payment point, the pickup codes, every handover attempt (refused ones too) and
the proof of each payment. Time is the sandbox clock, so a test freezes it at the start
of a month and advances it through the payment window.

Two ways to make cash change hands:

* **by hand**, for tests: :meth:`VNPostSandbox.pickup` (code + CCCD, and for an
  authorised person the authorisation reference), :meth:`VNPostSandbox.deliver` (with
  proof of delivery) and :meth:`VNPostSandbox.fail_delivery` (a postman's failed visit);
* **simulated**, with :class:`CashSimulation` (``auto=True``): seeded no-show and
  failed-delivery rates decide who comes and which visits fail.

Either way, a cash payment not handed over by the end of its window is ``expired`` then
``returned`` (reason ``NOT_COLLECTED``), and a home delivery whose last attempt failed is
``returned`` (``DELIVERY_FAILED``).

Magic values: a postal account number ending ``0001`` does not exist
(``ACCOUNT_NOT_FOUND``), ``0002`` is closed, ``0003`` blocked, ``0004`` belongs to someone
else (inquiry); a payment point code ending ``9999`` is unknown (``PAYMENT_POINT_UNKNOWN``).
"""

from __future__ import annotations

import contextlib
import heapq
import json
import random
import re
import secrets
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NoReturn

import httpx
from pydantic import SecretStr

from asxh_pay.errors import AsxhPayError
from asxh_pay.identity import fold, normalize_cccd
from asxh_pay.masking import mask_cccd
from asxh_pay.providers.vnpost import (
    DELIVERY_ATTEMPT_REASONS,
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    VN_TZ,
    PaymentWindows,
    PostalState,
    VNPostProvider,
    day_start,
    encode,
    local_date,
    shift_months,
)
from asxh_pay.sandbox import keys
from asxh_pay.sandbox.base import Operation, PaymentState, SandboxPayment, SandboxProvider
from asxh_pay.signing import HmacKey, timestamped_message
from asxh_pay.webhooks import signed_payload

_ACCOUNT_MAGIC = {"0001": "ACCOUNT_NOT_FOUND", "0002": "ACCOUNT_CLOSED", "0003": "ACCOUNT_BLOCKED"}
_PAYMENT = re.compile(r"^/api/v1/payments/([0-9A-Za-z_.-]{1,64})$")
_MANIFEST = re.compile(r"^/api/v1/manifests/([0-9A-Za-z_.-]{1,64})$")
MAX_BODY = 64 * 1024
_SERVICES = ("ACCOUNT_CREDIT", "CASH_PICKUP", "CASH_HOME")
_FAILED = (PostalState.EXPIRED, PostalState.RETURNED, PostalState.REJECTED)
_FINAL = (PostalState.PAID, *_FAILED)


class HandoverRefused(AsxhPayError):
    """The post office refused to hand cash over; nothing was paid.

    ``code`` says why: ``UNKNOWN_CODE``, ``NOT_PAYABLE`` (already paid, expired, not yet
    dispatched), ``OUTSIDE_WINDOW``, ``IDENTITY_MISMATCH``, ``AUTHORISATION_INVALID``,
    ``AUTHORISATION_EXPIRED``, ``PROOF_INCOMPLETE``, ``INVALID_ID``.
    """

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass
class CashSimulation:
    """Seeded behaviour of people and postmen when nobody drives the sandbox by hand.

    ``no_show_rate``: share of pickup recipients who never come (their cash expires);
    ``delivery_failure_rate``: chance that one home visit fails; ``max_delivery_attempts``
    visits, ``attempt_interval_s`` apart, before the cash is returned.
    """

    auto: bool = False
    no_show_rate: float = 0.0
    delivery_failure_rate: float = 0.0
    max_delivery_attempts: int = 3
    attempt_interval_s: float = 86_400.0
    seed: int = 0


@dataclass(slots=True)
class PostalRecord:
    """VNPost's own view of one cash or account payment, beside the base books."""

    key: str
    service: str
    state: PostalState
    beneficiary_cccd: str
    receiver_type: str
    receiver_cccd: str | None
    authorisation_ref: str | None
    authorisation_valid_until: date | None
    window_from: date | None = None
    window_to: date | None = None
    pickup_code: str | None = None
    manifest_no: str | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[dict[str, Any]] = field(default_factory=list)
    proof: dict[str, Any] | None = None
    states: list[tuple[float, PostalState]] = field(default_factory=list)


@dataclass
class ManifestRecord:
    manifest_no: str
    seal: str
    body_hash: str
    keys: list[str]
    received_at: float


class VNPostSandbox(SandboxProvider):
    """A stateful fake VNPost on :class:`~asxh_pay.sandbox.base.SandboxProvider`."""

    report_provider = "vnpost"

    name = "vnpost"
    kept_attributes = frozenset({"period", "service", "commune_code", "payment_point"})

    def __init__(
        self,
        *,
        secret: SecretStr | str = keys.VNPOST_SANDBOX_SECRET,
        callback_url: str = "http://127.0.0.1/callbacks/vnpost",
        simulation: CashSimulation | None = None,
        require_manifest: bool = False,
        max_amount: int = 100_000_000,
        min_amount: int = 1_000,
        **kwargs: Any,
    ) -> None:
        # Our own state first: the base loads persisted books (``book=``) and calls
        # restore_extra, which fills these.
        self._key = HmacKey(secret if isinstance(secret, SecretStr) else SecretStr(secret))
        self.callback_url = callback_url
        self.simulation = simulation or CashSimulation()
        self.require_manifest = require_manifest
        self.max_amount = max_amount
        self.min_amount = min_amount
        self.holders: dict[str, str] = {}  # postal account number -> holder name
        self.tolerance_s = 300.0
        self.postal: dict[str, PostalRecord] = {}
        self.manifests: dict[str, ManifestRecord] = {}
        self.by_code: dict[str, str] = {}
        self._sim_rng = random.Random(self.simulation.seed)
        self._events: list[tuple[float, int, str, str]] = []  # (at, seq, key, action)
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ wire

    def _signed(self, status: int, body: dict[str, Any]) -> httpx.Response:
        raw = encode(body)
        ts = str(int(time.time()))
        sig = self._key.sign(timestamped_message(ts, raw)).hex()
        return httpx.Response(
            status,
            content=raw,
            headers={"Content-Type": "application/json", TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sig},
        )

    def _authentic(self, request: httpx.Request) -> bool:
        ts = request.headers.get(TIMESTAMP_HEADER, "")
        try:
            sig = bytes.fromhex(request.headers.get(SIGNATURE_HEADER, ""))
            if abs(time.time() - float(ts)) > self.tolerance_s:
                return False
            self._key.verify(timestamped_message(ts, request.content), sig)
        except Exception:
            return False
        return True

    def route(self, request: httpx.Request) -> Operation | httpx.Response:
        if len(request.content) > MAX_BODY:
            return self._signed(413, {"error_code": "TOO_LARGE"})
        if not self._authentic(request):
            return self._signed(401, {"error_code": "BAD_SIGNATURE"})
        path = request.url.path
        if request.method == "POST" and path in (
            "/api/v1/payments",
            "/api/v1/manifests",
            "/api/v1/inquiries",
        ):
            try:
                body = json.loads(request.content)
                if not isinstance(body, dict):
                    raise TypeError
            except (ValueError, TypeError):
                return self._signed(400, {"error_code": "INVALID_REQUEST"})
            if path == "/api/v1/inquiries":
                return Operation("inquiry", fields=body)
            if path == "/api/v1/manifests":
                return Operation("manifest_submit", key=str(body.get("manifest_no")), fields=body)
            key = body.get("partner_ref")
            if not isinstance(key, str) or request.headers.get("X-Idempotency-Key") != key:
                return self._signed(400, {"error_code": "INVALID_REQUEST", "message": "partner_ref mismatch"})
            return Operation("pay", key=key, fields=body)
        if request.method == "GET":
            m = _PAYMENT.match(path)
            if m:
                return Operation("status", key=m.group(1))
            m = _MANIFEST.match(path)
            if m:
                return Operation("manifest_status", key=m.group(1))
        return self._signed(404, {"error_code": "NO_ROUTE"})

    def _reject(self, code: str, message: str) -> httpx.Response:
        return self._signed(422, {"error_code": code, "message": message})

    def validate_pay(self, op: Operation) -> httpx.Response | None:
        f = op.fields
        amount = f.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return self._reject("INVALID_REQUEST", "amount must be a positive whole number of VND")
        if not self.min_amount <= amount <= self.max_amount:
            return self._reject("LIMIT_EXCEEDED", "over the per-payment limit")
        if f.get("currency") != "VND":
            return self._reject("INVALID_REQUEST", "currency must be VND")
        service = f.get("service")
        if service not in _SERVICES:
            return self._reject("INVALID_REQUEST", "unknown service")
        beneficiary = f.get("beneficiary")
        receiver = f.get("receiver")
        if not isinstance(beneficiary, dict) or not isinstance(receiver, dict):
            return self._reject("INVALID_REQUEST", "beneficiary and receiver are required")
        try:
            normalize_cccd(str(beneficiary.get("id_no", "")))
            if receiver.get("type") != "SELF":
                normalize_cccd(str(receiver.get("id_no", "")))
        except ValueError:
            return self._reject("INVALID_REQUEST", "identity numbers must be 12-digit CCCD")
        if receiver.get("type") != "SELF" and not receiver.get("authorisation_ref"):
            return self._reject(
                "AUTHORISATION_INVALID", "an authorised receiver needs an authorisation reference"
            )
        if service == "ACCOUNT_CREDIT":
            account = f.get("account")
            if not isinstance(account, dict) or not str(account.get("account_no", "")).isdigit():
                return self._reject("INVALID_REQUEST", "account_no is required")
            return None
        window = f.get("window")
        if not isinstance(window, dict):
            return self._reject("INVALID_REQUEST", "a cash payment needs its window")
        try:
            first, last = date.fromisoformat(window["from"]), date.fromisoformat(window["to"])
        except (KeyError, TypeError, ValueError):
            return self._reject("INVALID_REQUEST", "window dates are malformed")
        if first > last:
            return self._reject("INVALID_REQUEST", "window ends before it starts")
        if service == "CASH_HOME":
            delivery = f.get("delivery")
            address = delivery.get("address") if isinstance(delivery, dict) else None
            if not isinstance(address, str) or len(address.strip()) < 5:
                return self._reject("ADDRESS_REQUIRED", "a home delivery needs the address")
        else:
            point = f.get("payment_point")
            if not isinstance(point, dict) or point.get("type") not in ("COMMUNE", "POST_OFFICE"):
                return self._reject("INVALID_REQUEST", "payment_point {code, type} is required")
            if str(point.get("code", "")).endswith("9999"):
                return self._reject("PAYMENT_POINT_UNKNOWN", "no such payment point")
        until = receiver.get("authorisation_valid_until")
        if receiver.get("type") != "SELF" and isinstance(until, str):
            try:
                valid_until = date.fromisoformat(until)
            except ValueError:
                return self._reject("INVALID_REQUEST", "authorisation_valid_until is malformed")
            if valid_until < first:
                return self._reject(
                    "AUTHORISATION_EXPIRED", "the authorisation expires before the window opens"
                )
        return None

    def decide(self, op: Operation) -> tuple[PaymentState, str | None]:
        if op.fields.get("service") == "ACCOUNT_CREDIT":
            code = _ACCOUNT_MAGIC.get(str(op.fields["account"]["account_no"])[-4:])
            if code:
                return PaymentState.FAILED, code
        return PaymentState.SUCCEEDED, None

    # ------------------------------------------------------------------ books

    def process(self, op: Operation) -> httpx.Response:
        if op.kind == "pay" and op.key is not None and op.key not in self.payments:
            response = self.validate_pay(op)
            if response is not None:
                return response
            self._open_record(op)
        return super().process(op)

    def _open_record(self, op: Operation) -> None:
        f = op.fields
        receiver = f["receiver"]
        until = receiver.get("authorisation_valid_until")
        record = PostalRecord(
            key=str(op.key),
            service=sys.intern(str(f["service"])),
            state=PostalState.SUBMITTED,
            beneficiary_cccd=normalize_cccd(str(f["beneficiary"]["id_no"])),
            receiver_type=sys.intern(str(receiver.get("type", "SELF"))),
            receiver_cccd=normalize_cccd(str(receiver["id_no"])) if receiver.get("id_no") else None,
            authorisation_ref=receiver.get("authorisation_ref"),
            authorisation_valid_until=date.fromisoformat(until) if isinstance(until, str) else None,
        )
        window = f.get("window")
        if isinstance(window, dict):
            record.window_from = date.fromisoformat(window["from"])
            record.window_to = date.fromisoformat(window["to"])
        record.states.append((self.clock.now(), PostalState.SUBMITTED))
        self.postal[record.key] = record

    def _settle(self, payment: SandboxPayment) -> None:
        record = self.postal[payment.key]
        if record.service == "ACCOUNT_CREDIT":
            # The postal state first: the base settlement queues the callback that reports it.
            record.state = (
                PostalState.PAID if payment.outcome is PaymentState.SUCCEEDED else PostalState.REJECTED
            )
            record.states.append((self.clock.now(), record.state))
            super()._settle(payment)
            return
        if not self.require_manifest:
            self._dispatch(payment, record)

    def _deliver_late(self, payment: SandboxPayment) -> None:
        """Late truth at the post office: the cash was handed over after all (a paper
        receipt keyed in days after the item was reported expired or rejected)."""
        payment.late_success_at = None
        payment.reason_code = None
        self._move(payment, self.postal[payment.key], PostalState.PAID)

    def _dispatch(self, payment: SandboxPayment, record: PostalRecord) -> None:
        """Cash leaves for the payment point (or the postman's round): code issued, window fixed."""
        if record.state is not PostalState.SUBMITTED:
            return
        assert record.window_from is not None and record.window_to is not None
        now = self.clock.now()
        # An instruction that arrives after its window closed is paid in the next month's
        # window (assumed VNPost practice), never in a window that has already passed.
        while day_start(record.window_to) + 86_400 <= now:
            record.window_from = shift_months(record.window_from, 1)
            record.window_to = shift_months(record.window_to, 1)
        opens, closes = day_start(record.window_from), day_start(record.window_to) + 86_400
        if record.service == "CASH_PICKUP":
            code = f"{secrets.randbelow(10**8):08d}"
            while code in self.by_code:
                code = f"{secrets.randbelow(10**8):08d}"
            record.pickup_code = code
            self.by_code[code] = record.key
            self._move(payment, record, PostalState.READY_FOR_PICKUP)
            if self.simulation.auto and not self._sim_chance(self.simulation.no_show_rate):
                at = max(now, opens) + self._sim_rng.random() * (closes - max(now, opens)) * 0.9
                self._schedule(at, record.key, "auto_pickup")
        else:
            self._move(payment, record, PostalState.OUT_FOR_DELIVERY)
            if self.simulation.auto:
                self._schedule(max(now, opens) + 9 * 3600, record.key, "auto_visit")
        self._schedule(closes, record.key, "window_end")

    def _schedule(self, at: float, key: str, action: str) -> None:
        self._seq += 1
        heapq.heappush(self._events, (at, self._seq, key, action))

    def _sim_chance(self, p: float) -> bool:
        return p > 0 and self._sim_rng.random() < p

    def _move(
        self, payment: SandboxPayment, record: PostalRecord, state: PostalState, reason: str | None = None
    ) -> None:
        record.state = state
        now = self.clock.now()
        record.states.append((now, state))
        self.mark_dirty(payment.key)
        if state is PostalState.PAID:
            self._set_state(payment, PaymentState.SUCCEEDED)
            payment.outcome = PaymentState.SUCCEEDED
            payment.settled_at = now
        elif state in (PostalState.EXPIRED, PostalState.RETURNED, PostalState.REJECTED):
            if payment.state is not PaymentState.FAILED:
                self._set_state(payment, PaymentState.FAILED)
            payment.outcome = PaymentState.FAILED
            payment.reason_code = reason or payment.reason_code
            payment.settled_at = payment.settled_at or now
        self._queue_callback(payment)

    def settle_due(self) -> int:
        n = super().settle_due()
        now = self.clock.now()
        while self._events and self._events[0][0] <= now:
            at, _, key, action = heapq.heappop(self._events)
            payment, record = self.payments[key], self.postal[key]
            if record.state in _FINAL:
                continue
            n += 1
            if action == "window_end":
                self._expire(payment, record)
            elif action == "auto_pickup" and record.state is PostalState.READY_FOR_PICKUP:
                with contextlib.suppress(HandoverRefused):  # refused: the cash waits, then expires
                    self._hand_over(
                        payment,
                        record,
                        cccd=record.receiver_cccd or record.beneficiary_cccd,
                        authorisation_ref=record.authorisation_ref,
                        proof_ref=f"SIG-{self._seq}",
                        post_office_code="AUTO",
                        at=at,
                    )
            elif action == "auto_visit":
                if self._sim_chance(self.simulation.delivery_failure_rate):
                    self._record_failed_visit(payment, record, "NOT_AT_HOME", at=at)
                    continue
                try:
                    self._hand_over(
                        payment,
                        record,
                        cccd=record.receiver_cccd or record.beneficiary_cccd,
                        authorisation_ref=record.authorisation_ref,
                        proof_ref=f"OTP-{self._seq}",
                        gps="21.0285,105.8542",
                        at=at,
                    )
                except HandoverRefused as exc:
                    self._record_failed_visit(payment, record, exc.code, at=at)
        self.flush_book()
        return n

    # ------------------------------------------------------------------ persistent books

    def book_extra(self, payment: SandboxPayment) -> dict[str, Any] | None:
        record = self.postal.get(payment.key)
        if record is None:
            return None
        return {
            "service": record.service,
            "state": record.state.value,
            "beneficiary_cccd": record.beneficiary_cccd,
            "receiver_type": record.receiver_type,
            "receiver_cccd": record.receiver_cccd,
            "authorisation_ref": record.authorisation_ref,
            "authorisation_valid_until": _day(record.authorisation_valid_until),
            "window_from": _day(record.window_from),
            "window_to": _day(record.window_to),
            "pickup_code": record.pickup_code,
            "manifest_no": record.manifest_no,
            "attempts": record.attempts,
            "refusals": record.refusals,
            "proof": record.proof,
        }

    def restore_extra(self, payment: SandboxPayment, extra: dict[str, Any] | None) -> None:
        """Rebuild the postal record; cash still out is scheduled again (pickup, visit, window end).

        Who comes and which visit fails is drawn again: the people of the simulation
        do not remember a draw the process that died made.
        """
        if extra is None:
            return
        record = PostalRecord(
            key=payment.key,
            service=extra["service"],
            state=PostalState(extra["state"]),
            beneficiary_cccd=extra["beneficiary_cccd"],
            receiver_type=extra["receiver_type"],
            receiver_cccd=extra["receiver_cccd"],
            authorisation_ref=extra["authorisation_ref"],
            authorisation_valid_until=_parse_day(extra["authorisation_valid_until"]),
            window_from=_parse_day(extra["window_from"]),
            window_to=_parse_day(extra["window_to"]),
            pickup_code=extra["pickup_code"],
            manifest_no=extra["manifest_no"],
            attempts=list(extra["attempts"]),
            refusals=list(extra["refusals"]),
            proof=extra["proof"],
        )
        self.postal[record.key] = record
        if record.pickup_code:
            self.by_code[record.pickup_code] = record.key
        if record.state in _FINAL or record.window_from is None or record.window_to is None:
            return
        opens, closes = day_start(record.window_from), day_start(record.window_to) + 86_400
        now = max(self.clock.now(), opens)
        if record.state is PostalState.READY_FOR_PICKUP:
            if self.simulation.auto and not self._sim_chance(self.simulation.no_show_rate):
                self._schedule(
                    now + self._sim_rng.random() * max(0.0, closes - now) * 0.9, record.key, "auto_pickup"
                )
        elif self.simulation.auto and record.state in (
            PostalState.OUT_FOR_DELIVERY,
            PostalState.DELIVERY_ATTEMPT_FAILED,
        ):
            self._schedule(now + 9 * 3600, record.key, "auto_visit")
        if record.state is not PostalState.SUBMITTED:
            self._schedule(closes, record.key, "window_end")

    def _expire(self, payment: SandboxPayment, record: PostalRecord) -> None:
        if record.service == "CASH_HOME":
            self._move(payment, record, PostalState.RETURNED, "DELIVERY_FAILED")
            return
        reasons = {r["code"] for r in record.refusals}
        if reasons & {"AUTHORISATION_INVALID", "AUTHORISATION_EXPIRED"}:
            code = "AUTHORISATION_INVALID"
        elif "IDENTITY_MISMATCH" in reasons:
            code = "IDENTITY_CHECK_FAILED"
        else:
            code = "NOT_COLLECTED"
        self._move(payment, record, PostalState.EXPIRED, code)
        # The undelivered cash goes back to the payer: a second, final state.
        self._move(payment, record, PostalState.RETURNED, code)

    # ------------------------------------------------------------------ handover (tests drive these)

    def pickup_code(self, key: str) -> str:
        """The code VNPost gave the beneficiary (by notice/SMS); tests read it here."""
        code = self.postal[key].pickup_code
        if code is None:
            raise HandoverRefused(
                "no pickup code issued (not dispatched, or not a pickup)", code="NOT_PAYABLE"
            )
        return code

    def postal_state(self, key: str) -> PostalState:
        return self.postal[key].state

    def pickup(self, pickup_code: str, cccd: str, authorisation_ref: str | None = None) -> SandboxPayment:
        """Someone presents a pickup code and a CCCD (and an authorisation) at the counter."""
        self.settle_due()
        key = self.by_code.get(str(pickup_code).strip())
        if key is None:
            raise HandoverRefused("no payment has this pickup code", code="UNKNOWN_CODE")
        return self._hand_over(
            self.payments[key],
            self.postal[key],
            cccd=cccd,
            authorisation_ref=authorisation_ref,
            proof_ref=f"SIG-{pickup_code[-4:]}",
            post_office_code="PO-COUNTER",
        )

    def deliver(
        self,
        key: str,
        *,
        cccd: str,
        proof_ref: str,
        authorisation_ref: str | None = None,
        gps: str | None = None,
        post_office_code: str | None = None,
    ) -> SandboxPayment:
        """A postman hands the cash over at home, with proof (signature/OTP ref, GPS or office)."""
        self.settle_due()
        record = self.postal.get(key)
        if record is None or record.service != "CASH_HOME":
            raise HandoverRefused("no home delivery with this reference", code="UNKNOWN_CODE")
        if not proof_ref or not (gps or post_office_code):
            raise HandoverRefused(
                "proof of delivery needs a signature/OTP reference and GPS or a post-office code",
                code="PROOF_INCOMPLETE",
            )
        payment = self.payments[key]
        try:
            return self._hand_over(
                payment,
                record,
                cccd=cccd,
                authorisation_ref=authorisation_ref,
                proof_ref=proof_ref,
                gps=gps,
                post_office_code=post_office_code,
            )
        except HandoverRefused as exc:
            if exc.code in DELIVERY_ATTEMPT_REASONS:
                self._record_failed_visit(payment, record, exc.code)
            raise

    def fail_delivery(self, key: str, reason: str = "NOT_AT_HOME") -> PostalState:
        """A visit that did not end in a handover; the last allowed one returns the cash."""
        self.settle_due()
        if reason not in DELIVERY_ATTEMPT_REASONS:
            raise HandoverRefused(f"unknown failed-attempt reason {reason!r}", code="INVALID_REASON")
        record = self.postal.get(key)
        if record is None or record.service != "CASH_HOME":
            raise HandoverRefused("no home delivery with this reference", code="UNKNOWN_CODE")
        if record.state not in (PostalState.OUT_FOR_DELIVERY, PostalState.DELIVERY_ATTEMPT_FAILED):
            raise HandoverRefused(f"delivery is {record.state.value}", code="NOT_PAYABLE")
        self._record_failed_visit(self.payments[key], record, reason)
        return record.state

    def _record_failed_visit(
        self, payment: SandboxPayment, record: PostalRecord, reason: str, at: float | None = None
    ) -> None:
        record.attempts.append({"at": _iso(at or self.clock.now()), "result": "failed", "reason": reason})
        if len(record.attempts) >= self.simulation.max_delivery_attempts:
            self._move(payment, record, PostalState.RETURNED, "DELIVERY_FAILED")
            return
        self._move(payment, record, PostalState.DELIVERY_ATTEMPT_FAILED)
        if self.simulation.auto:  # the postman goes out again on the next round
            self._schedule(
                (at or self.clock.now()) + self.simulation.attempt_interval_s, record.key, "auto_visit"
            )

    def _hand_over(
        self,
        payment: SandboxPayment,
        record: PostalRecord,
        *,
        cccd: str,
        proof_ref: str,
        authorisation_ref: str | None = None,
        gps: str | None = None,
        post_office_code: str | None = None,
        at: float | None = None,
    ) -> SandboxPayment:
        now = at or self.clock.now()
        if record.state not in (
            PostalState.READY_FOR_PICKUP,
            PostalState.OUT_FOR_DELIVERY,
            PostalState.DELIVERY_ATTEMPT_FAILED,
        ):
            raise HandoverRefused(f"payment is {record.state.value}", code="NOT_PAYABLE")
        assert record.window_from is not None and record.window_to is not None
        today = local_date(now)
        if not record.window_from <= today <= record.window_to:
            raise HandoverRefused(
                f"payable {record.window_from.isoformat()}..{record.window_to.isoformat()}, not {today}",
                code="OUTSIDE_WINDOW",
            )
        try:
            presented = normalize_cccd(cccd)
        except ValueError:
            self._refuse(record, "INVALID_ID", None, now)
        receiver_type = "SELF"
        if presented == record.beneficiary_cccd:
            pass  # the beneficiary in person may always collect
        elif record.receiver_type != "SELF" and presented == record.receiver_cccd:
            if authorisation_ref is None or authorisation_ref != record.authorisation_ref:
                self._refuse(record, "AUTHORISATION_INVALID", presented, now)
            if record.authorisation_valid_until is not None and record.authorisation_valid_until < today:
                self._refuse(record, "AUTHORISATION_EXPIRED", presented, now)
            receiver_type = record.receiver_type
        else:
            self._refuse(record, "IDENTITY_MISMATCH", presented, now)
        record.proof = {
            "receiver_id_no": presented,
            "receiver_type": receiver_type,
            "proof_ref": proof_ref,
            "at": _iso(now),
            "gps": gps,
            "post_office_code": post_office_code,
        }
        if record.service == "CASH_HOME":
            record.attempts.append({"at": _iso(now), "result": "delivered", "reason": None})
        self._move(payment, record, PostalState.PAID)
        return payment

    def _refuse(self, record: PostalRecord, code: str, presented: str | None, now: float) -> NoReturn:
        record.refusals.append(
            {"at": _iso(now), "code": code, "presented": mask_cccd(presented) if presented else None}
        )
        raise HandoverRefused("handover refused at identity check", code=code)

    # ------------------------------------------------------------------ manifests

    def handle_other(self, op: Operation) -> httpx.Response:
        if op.kind == "inquiry":
            return self._inquiry(op)
        if op.kind == "manifest_submit":
            return self._manifest_submit(op)
        if op.kind == "manifest_status":
            record = self.manifests.get(op.key or "")
            if record is None:
                return self._signed(404, {"error_code": "NOT_FOUND"})
            return self._manifest_json(record, 200)
        return super().handle_other(op)

    def _inquiry(self, op: Operation) -> httpx.Response:
        f = op.fields
        if f.get("service") == "ACCOUNT_CREDIT":
            account = str((f.get("account") or {}).get("account_no", ""))
            code = _ACCOUNT_MAGIC.get(account[-4:])
            if code in ("ACCOUNT_NOT_FOUND", "ACCOUNT_CLOSED"):
                return self._signed(200, {"exists": False, "reason_code": code})
            holder = self.holders.get(account) or str(f.get("name", ""))
            if account.endswith("0004"):
                holder = "TRAN THI KHAC"
            return self._signed(200, {"exists": True, "holder_name": fold(holder).upper()})
        point = f.get("payment_point")
        if isinstance(point, dict) and str(point.get("code", "")).endswith("9999"):
            return self._signed(200, {"exists": False, "reason_code": "PAYMENT_POINT_UNKNOWN"})
        return self._signed(200, {"exists": True, "holder_name": None})

    def _manifest_submit(self, op: Operation) -> httpx.Response:
        f = dict(op.fields)
        seal = f.pop("seal", None)
        no = f.get("manifest_no")
        if not isinstance(seal, str) or not isinstance(no, str):
            return self._reject("INVALID_REQUEST", "manifest_no and seal are required")
        try:
            self._key.verify(encode(f), bytes.fromhex(seal))
        except Exception:
            return self._reject("BAD_SEAL", "the manifest seal does not verify")
        body_hash = encode(f).hex()
        existing = self.manifests.get(no)
        if existing is not None:
            if existing.body_hash != body_hash:
                return self._signed(409, {"error_code": "CONFLICT"})
            return self._manifest_json(existing, 200)
        items = f.get("items")
        if not isinstance(items, list) or f.get("item_count") != len(items):
            return self._reject("INVALID_REQUEST", "item_count does not match the items")
        errors: list[dict[str, Any]] = []
        keys: list[str] = []
        total = 0
        for item in items:
            ref = item.get("partner_ref") if isinstance(item, dict) else None
            payment = self.payments.get(ref) if isinstance(ref, str) else None
            record = self.postal.get(ref) if isinstance(ref, str) else None
            code = None
            if payment is None or record is None:
                code = "UNKNOWN_ITEM"
            elif record.service == "ACCOUNT_CREDIT":
                code = "NOT_CASH"
            elif payment.amount != item.get("amount"):
                code = "AMOUNT_MISMATCH"
            elif record.manifest_no is not None:
                code = "IN_OTHER_MANIFEST"
            elif not self._same_point(payment, f):
                code = "POINT_MISMATCH"
            if code:
                errors.append({"partner_ref": ref, "code": code})
            else:
                keys.append(str(ref))
                total += int(item["amount"])
        if not errors and total != f.get("total_amount"):
            errors.append({"partner_ref": None, "code": "TOTAL_MISMATCH"})
        if errors:
            return self._signed(422, {"error_code": "MANIFEST_REFUSED", "errors": errors})
        manifest = ManifestRecord(no, seal, body_hash, keys, self.clock.now())
        self.manifests[no] = manifest
        for key in keys:
            self.postal[key].manifest_no = no
            self._dispatch(self.payments[key], self.postal[key])
        return self._manifest_json(manifest, 201)

    @staticmethod
    def _same_point(payment: SandboxPayment, manifest: dict[str, Any]) -> bool:
        a = payment.attributes
        if manifest.get("period") != a.get("period"):
            return False
        if a.get("service") == "CASH_HOME":
            return manifest.get("point_type") == "HOME" and manifest.get("commune_code") == a.get(
                "commune_code"
            )
        point = a.get("payment_point") or {}
        return bool(
            point.get("code") == manifest.get("payment_point")
            and point.get("type") == manifest.get("point_type")
        )

    def _manifest_json(self, record: ManifestRecord, status: int) -> httpx.Response:
        items = [self._payment_json(self.payments[k]) for k in record.keys]
        final = all(self.postal[k].state in _FINAL for k in record.keys)
        return self._signed(
            status,
            {
                "manifest_no": record.manifest_no,
                "state": "closed" if final else "dispatched",
                "items": items,
                "item_count": len(items),
            },
        )

    # ------------------------------------------------------------------ rendering

    def _payment_json(self, payment: SandboxPayment) -> dict[str, Any]:
        record = self.postal[payment.key]
        body: dict[str, Any] = {
            "txn_id": payment.ref,
            "partner_ref": payment.key,
            "service": record.service,
            "state": record.state.value,
            "amount": payment.amount,
            "reason_code": payment.reason_code if record.state in _FAILED else None,
            "manifest_no": record.manifest_no,
            "attempts": list(record.attempts),
        }
        if record.window_from and record.window_to:
            body["window"] = {"from": record.window_from.isoformat(), "to": record.window_to.isoformat()}
        if record.pickup_code:
            body["pickup_code_last4"] = record.pickup_code[-4:]
        if record.proof:
            body["proof"] = record.proof
        return body

    def render_payment(self, op: Operation, payment: SandboxPayment, *, created: bool) -> httpx.Response:
        return self._signed(201 if created else 200, self._payment_json(payment))

    def render_not_found(self, op: Operation) -> httpx.Response:
        return self._signed(404, {"error_code": "NOT_FOUND"})

    def render_conflict(self, op: Operation, payment: SandboxPayment) -> httpx.Response:
        return self._signed(409, {"error_code": "CONFLICT"})

    def render_unavailable(self, status: int) -> httpx.Response:
        return self._signed(status, {"error_code": "SYSTEM_BUSY"})

    def render_rate_limited(self) -> httpx.Response:
        resp = self._signed(429, {"error_code": "RATE_LIMITED"})
        resp.headers["Retry-After"] = f"{self.faults.retry_after_s:g}"
        return resp

    def build_callback(self, payment: SandboxPayment, event_id: str) -> httpx.Request:
        body = encode(
            {
                "event_id": event_id,
                "event_type": "payment.state_changed",
                "payment": self._payment_json(payment),
            }
        )
        ts = int(time.time())
        sig = self._key.sign(signed_payload(event_id, ts, body)).hex()
        return httpx.Request(
            "POST",
            self.callback_url,
            content=body,
            headers={
                "Content-Type": "application/json",
                EVENT_ID_HEADER: event_id,
                TIMESTAMP_HEADER: str(ts),
                SIGNATURE_HEADER: sig,
            },
        )


def _day(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _parse_day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, VN_TZ).isoformat(timespec="seconds")


SANDBOX_URL = "https://vnpost.sandbox.invalid"


def vnpost_sandbox_provider(
    base_url: str = SANDBOX_URL, *, windows: PaymentWindows | None = None, **kwargs: Any
) -> VNPostProvider:
    """The VNPost adapter with the sandbox's published secret (refused off a sandbox address)."""
    credentials: dict[str, Any] = {
        "secret": keys.VNPOST_SANDBOX_SECRET,
        "partner_code": keys.VNPOST_SANDBOX_PARTNER_CODE,
        "windows": windows,
    }
    return VNPostProvider(base_url, **{**credentials, **kwargs})
