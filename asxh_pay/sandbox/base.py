"""A stateful fake provider to build every provider's sandbox on.

Why stateful and not canned responses: the exactly-once guarantee is only proven if
the other side keeps its own books. A sandbox keeps a ledger of the payments it
received, keyed by the idempotency key (as real providers deduplicate), settles them
after a delay on a clock that tests can advance, sends signed callbacks, and injects
the faults that make payments hard: timeouts before and after committing, 5xx, 429
with Retry-After, connection resets, duplicate and reordered callbacks, and later
reversals. Its books are what the reliability tests compare the library's ledger to.

A concrete sandbox supplies the wire format (``route``/``render_*``); this base
supplies the books, the clock and the faults. The handler is an async
``httpx.Request -> httpx.Response`` function: in-process through
``httpx.MockTransport`` (:meth:`transport`) or over real HTTP on localhost through
:mod:`asxh_pay.localserver`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import json
import random
import sqlite3
import sys
import time
from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx

# The words of a provider's books (defined with the settlement reports; importable here as before).
from asxh_pay.providers.reports import PaymentState as PaymentState


class SandboxClock:
    """Wall time by default; a test can freeze it and move it forward."""

    def __init__(self, start: float | None = None, *, frozen: bool = False) -> None:
        self._offset = 0.0
        self._frozen_at = (start if start is not None else time.time()) if frozen else None

    def now(self) -> float:
        if self._frozen_at is not None:
            return self._frozen_at + self._offset
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += seconds


@dataclass
class FaultPlan:
    """Probabilities (0..1) of each fault per request or callback; seeded, reproducible.

    * ``connect_error``: the request never arrives (safe to resend).
    * ``timeout_before_commit`` / ``reset_before_commit``: the request arrives, is not
      processed, and the client sees a timeout / a reset (outcome unknown to it).
    * ``timeout_after_commit`` / ``reset_after_commit``: processed, answer lost.
    * ``server_error``: a 502/503/504 before processing; ``rate_limited``: 429.
    * ``duplicate_callback``, ``reorder_callbacks``: on callback delivery.
    * ``reversal``: a settled payment is reversed later (``returned``).

    Faults of providers that are wrong the way real ones are (issue 13), all timed on
    the sandbox clock:

    * ``stale_read``: a status query about a payment booked less than
      ``stale_read_window_s`` ago answers "not found" (a read replica, an eventually
      consistent index).
    * ``dedupe_race``: a pay request whose key was booked less than
      ``dedupe_race_window_s`` ago is booked again, as a second payment with its own
      reference (an idempotency check that races).
    * ``late_success``: a payment that settled failed is delivered after all,
      ``late_success_after_s`` later, with a callback saying so.
    * ``wrong_amount``: an answer about a payment (pay, status) says another amount
      than the one booked, validly signed (a provider's bug, a proxy's mix-up).
    """

    connect_error: float = 0.0
    timeout_before_commit: float = 0.0
    timeout_after_commit: float = 0.0
    reset_before_commit: float = 0.0
    reset_after_commit: float = 0.0
    server_error: float = 0.0
    rate_limited: float = 0.0
    retry_after_s: float = 0.01
    duplicate_callback: float = 0.0
    reorder_callbacks: float = 0.0
    reversal: float = 0.0
    reversal_after_s: float = 0.0
    stale_read: float = 0.0
    stale_read_window_s: float = 0.2
    dedupe_race: float = 0.0
    dedupe_race_window_s: float = 0.05
    late_success: float = 0.0
    late_success_after_s: float = 0.0
    wrong_amount: float = 0.0
    seed: int = 0

    @classmethod
    def every_kind(cls, rate: float, *, seed: int = 0) -> FaultPlan:
        """The same probability for every fault kind (the reliability tests use 0.1)."""
        return cls(
            connect_error=rate,
            timeout_before_commit=rate,
            timeout_after_commit=rate,
            reset_before_commit=rate,
            reset_after_commit=rate,
            server_error=rate,
            rate_limited=rate,
            duplicate_callback=rate,
            reorder_callbacks=rate,
            reversal=0.0,
            seed=seed,
        )


class Fault(StrEnum):
    CONNECT_ERROR = "connect_error"
    TIMEOUT_BEFORE = "timeout_before_commit"
    TIMEOUT_AFTER = "timeout_after_commit"
    RESET_BEFORE = "reset_before_commit"
    RESET_AFTER = "reset_after_commit"
    SERVER_ERROR = "server_error"
    RATE_LIMITED = "rate_limited"


_BEFORE = (
    Fault.CONNECT_ERROR,
    Fault.SERVER_ERROR,
    Fault.RATE_LIMITED,
    Fault.TIMEOUT_BEFORE,
    Fault.RESET_BEFORE,
)


@dataclass(slots=True)
class SandboxPayment:
    """One payment in the sandbox's own books."""

    key: str
    ref: str
    amount: int
    body_hash: str
    attributes: dict[str, Any]  # wire fields the sandbox needs later (destination, person...)
    state: PaymentState
    received_at: float
    settle_at: float
    outcome: PaymentState  # what it will settle to
    reason_code: str | None = None
    settled_at: float | None = None
    reverse_at: float | None = None
    #: Delivered after it settled failed (the ``late_success`` fault), at this time.
    late_success_at: float | None = None
    #: A second booking of an already booked key (the ``dedupe_race`` fault).
    duplicate: bool = False


@dataclass(slots=True, frozen=True)
class QueuedCallback:
    """A signed callback waiting to be sent, held as its bytes.

    Why not the ``httpx.Request`` itself: a provider's webhook queue runs behind its
    payments (the receiver writes each one durably), so a province's month queues
    100,000s of them, and a built request (URL parsed, headers as triples) is several
    times its bytes. The request is built again when it is sent, identical: same
    method, URL, headers (signature and timestamp included) and body.
    """

    method: str
    url: str
    head: bytes  # the headers, one "name: value" per line
    content: bytes

    @classmethod
    def of(cls, request: httpx.Request) -> QueuedCallback:
        lines = []
        for name, value in request.headers.raw:
            if b"\n" in name or b"\n" in value or b": " in name:
                raise ValueError(f"callback header {name!r} cannot be queued: a newline or ': ' in it")
            lines.append(name + b": " + value)
        return cls(request.method, str(request.url), b"\n".join(lines), request.content)

    def request(self) -> httpx.Request:
        headers = [line.partition(b": ")[::2] for line in self.head.split(b"\n")] if self.head else []
        return httpx.Request(self.method, self.url, headers=headers, content=self.content)


@dataclass(frozen=True)
class Operation:
    """A decoded request: which operation, on which key, with which fields."""

    kind: str  # "pay", "status", "inquiry", "cancel", or a subclass's own
    key: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


CallbackSink = Callable[[httpx.Request], Awaitable[Any]]


class SandboxProvider(ABC):
    """Books, clock and faults of a fake provider; subclasses give the wire format."""

    name: str = "sandbox"
    #: The request fields a payment keeps after it is booked (None: all of them). Why a
    #: subset: a province's month books 300,000 payments in one process, and the whole
    #: decoded request (names, addresses, phones) is most of each payment's memory; a
    #: subclass names the fields it reads again later (a manifest's point, a callback's id).
    kept_attributes: frozenset[str] | None = None

    def __init__(
        self,
        *,
        settle_after_s: float = 0.0,
        faults: FaultPlan | None = None,
        clock: SandboxClock | None = None,
        latency_s: float = 0.0,
        callback_sink: CallbackSink | None = None,
        book: Path | None = None,
    ) -> None:
        self.settle_after_s = settle_after_s
        self.faults = faults or FaultPlan()
        self.clock = clock or SandboxClock()
        self.latency_s = latency_s
        self.callback_sink = callback_sink
        self.payments: dict[str, SandboxPayment] = {}
        self.by_ref: dict[str, SandboxPayment] = {}
        #: Second bookings of a key already booked (``dedupe_race``): the provider paid twice.
        self.duplicates: list[SandboxPayment] = []
        self.fault_counts: Counter[str] = Counter()
        self.request_counts: Counter[str] = Counter()
        self.callbacks_sent = 0
        self._rng = random.Random(self.faults.seed)
        self._seq = 0
        self._pending_callbacks: list[QueuedCallback] = []
        self._held_back: list[QueuedCallback] = []  # reordered: delivered after later ones
        self._due: list[tuple[float, int, str]] = []
        self._scripted: dict[str, list[Fault | None]] = {}
        self._next_fault: str | None = None
        self._book: sqlite3.Connection | None = None
        self._dirty: set[str] = set()
        if book is not None:
            self._open_book(book)

    # ------------------------------------------------------------------ wiring

    def transport(self) -> httpx.MockTransport:
        """In-process transport: plug into ``httpx.AsyncClient(transport=...)``."""
        return httpx.MockTransport(self.handle)

    # ------------------------------------------------------------------ wire format (subclass)

    @abstractmethod
    def route(self, request: httpx.Request) -> Operation | httpx.Response:
        """Decode and authenticate a request; a Response is an immediate error answer."""

    @abstractmethod
    def render_payment(self, op: Operation, payment: SandboxPayment, *, created: bool) -> httpx.Response: ...

    @abstractmethod
    def render_not_found(self, op: Operation) -> httpx.Response: ...

    @abstractmethod
    def render_conflict(self, op: Operation, payment: SandboxPayment) -> httpx.Response: ...

    @abstractmethod
    def build_callback(self, payment: SandboxPayment, event_id: str) -> httpx.Request: ...

    def render_unavailable(self, status: int) -> httpx.Response:
        return httpx.Response(status, json={"error": "unavailable"})

    def render_rate_limited(self) -> httpx.Response:
        return httpx.Response(
            429, headers={"Retry-After": f"{self.faults.retry_after_s:g}"}, json={"error": "slow down"}
        )

    def handle_other(self, op: Operation) -> httpx.Response:
        """Operations beyond pay/status/cancel (inquiry, batch...)."""
        return httpx.Response(404, json={"error": f"unsupported operation {op.kind}"})

    def decide(self, op: Operation) -> tuple[PaymentState, str | None]:
        """Final outcome of a new payment: subclasses use magic values in test data."""
        return PaymentState.SUCCEEDED, None

    def validate_pay(self, op: Operation) -> httpx.Response | None:
        """Reject a pay request outright (bad format, over limit): a Response, or None."""
        return None

    # ------------------------------------------------------------------ the handler

    #: The provider whose settlement report this sandbox publishes (asxh_pay.providers.reports).
    report_provider: str | None = None

    def render_report(self, request: httpx.Request) -> httpx.Response:
        """``GET /reports/settlement?from=&to=``: the books as the provider's report, by the
        date (Vietnam time, on the sandbox's clock) each payment was received.

        The sandbox does not check the request's signature (the adapters sign it): the
        report is a copy of books any test can already read.
        """
        from datetime import date, datetime

        from asxh_pay.calendar_vn import VN_TZ
        from asxh_pay.providers.reports import ReportEntry, render_report

        assert self.report_provider is not None
        try:
            start = date.fromisoformat(request.url.params.get("from", "2000-01-01"))
            end = date.fromisoformat(request.url.params.get("to", "2999-12-31"))
        except ValueError:
            return httpx.Response(400, json={"error": "from/to: YYYY-MM-DD"})
        self.settle_due()
        entries = []
        for p in self.payments.values():
            day = datetime.fromtimestamp(p.received_at, VN_TZ)
            if start <= day.date() <= end:
                entries.append(
                    ReportEntry(p.key, p.ref, p.amount, p.state, day.isoformat(timespec="seconds"))
                )
        content = render_report(self.report_provider, entries, partner_code=getattr(self, "partner_code", ""))
        kind = "application/json" if content.startswith(b"{") else "text/csv; charset=utf-8"
        return httpx.Response(200, content=content, headers={"Content-Type": kind})

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if self.report_provider and request.method == "GET" and request.url.path == "/reports/settlement":
            return self.render_report(request)
        self.settle_due()
        routed = self.route(request)
        if isinstance(routed, httpx.Response):
            return routed
        op = routed
        self.request_counts[op.kind] += 1
        planned, self._next_fault = self._next_fault, None
        if planned is not None:
            saved = self.faults
            plan = replace(saved)
            for name in _KINDS_OF_FAULT:
                setattr(plan, name, 0.0)
            setattr(plan, planned, 1.0)
            self.faults = plan
            try:
                return await self._handle_op(request, op)
            finally:
                self.faults = saved
        return await self._handle_op(request, op)

    async def _handle_op(self, request: httpx.Request, op: Operation) -> httpx.Response:
        fault = self._draw_fault(op)
        if fault in _BEFORE:
            self.fault_counts[fault.value] += 1
            if fault is Fault.CONNECT_ERROR:
                raise httpx.ConnectError("sandbox: connection refused", request=request)
            if fault is Fault.SERVER_ERROR:
                return self.render_unavailable(self._rng.choice((502, 503, 504)))
            if fault is Fault.RATE_LIMITED:
                return self.render_rate_limited()
            if fault is Fault.TIMEOUT_BEFORE:
                raise httpx.ReadTimeout("sandbox: timed out before processing", request=request)
            raise httpx.ReadError("sandbox: connection reset before processing", request=request)
        response = self.process(op)
        self.flush_book()  # on disk before the answer leaves (or is lost)
        if fault is Fault.TIMEOUT_AFTER:
            self.fault_counts[fault.value] += 1
            raise httpx.ReadTimeout("sandbox: timed out after processing", request=request)
        if fault is Fault.RESET_AFTER:
            self.fault_counts[fault.value] += 1
            raise httpx.ReadError("sandbox: connection reset after processing", request=request)
        return response

    def process(self, op: Operation) -> httpx.Response:
        if op.kind == "pay":
            return self._pay(op)
        if op.kind == "status":
            payment = self._find(op)
            if payment is not None and self._reads_stale(payment):
                return self.render_not_found(op)
            if payment is None:
                return self.render_not_found(op)
            return self.render_payment(op, self._echo(payment), created=False)
        if op.kind == "cancel":
            payment = self._find(op)
            if payment is None:
                return self.render_not_found(op)
            if payment.state is PaymentState.PROCESSING:
                self._set_state(payment, PaymentState.CANCELLED)
                payment.outcome = PaymentState.CANCELLED
            return self.render_payment(op, payment, created=False)
        return self.handle_other(op)

    def _find(self, op: Operation) -> SandboxPayment | None:
        if op.key and op.key in self.payments:
            return self.payments[op.key]
        ref = op.fields.get("ref")
        return self.by_ref.get(ref) if isinstance(ref, str) else None

    def _pay(self, op: Operation) -> httpx.Response:
        assert op.key is not None
        body_hash = _hash_fields(op.fields)
        existing = self.payments.get(op.key)
        if existing is not None:
            if existing.body_hash != body_hash:
                return self.render_conflict(op, existing)
            latest = max(self.bookings(op.key), key=lambda p: p.received_at)
            within = self.clock.now() - latest.received_at < self.faults.dedupe_race_window_s
            if not (within and self._chance(self.faults.dedupe_race)):
                return self.render_payment(op, self._echo(existing), created=False)
            self.fault_counts["dedupe_race"] += 1  # the idempotency check raced: booked again
        rejected = self.validate_pay(op)
        if rejected is not None:
            return rejected
        now = self.clock.now()
        outcome, code = self.decide(op)
        self._seq += 1
        duplicate = existing is not None
        payment = SandboxPayment(
            key=op.key,
            ref=f"{self.name[:3].upper()}{self._seq:010d}",
            amount=int(op.fields.get("amount", 0)),
            body_hash=body_hash,
            attributes=self._kept(op.fields),
            state=PaymentState.PROCESSING,
            received_at=now,
            settle_at=now + self.settle_after_s,
            outcome=outcome,
            reason_code=code,
            duplicate=duplicate,
        )
        if duplicate:
            self.duplicates.append(payment)
        else:
            self.payments[op.key] = payment
        self.by_ref[payment.ref] = payment
        self._dirty.add(_book_key(payment))
        if self.settle_after_s <= 0:
            self._settle(payment)
        else:
            heapq.heappush(self._due, (payment.settle_at, self._seq, payment.ref))
        return self.render_payment(op, self._echo(payment), created=True)

    def _kept(self, fields: dict[str, Any]) -> dict[str, Any]:
        keep = self.kept_attributes
        if keep is None:
            return dict(fields)
        # Interned: kept fields are mostly a few values repeated (period, service, commune),
        # each decoded afresh from every request; a province's books would hold a copy each.
        return {k: sys.intern(v) if type(v) is str else v for k, v in fields.items() if k in keep}

    def _echo(self, payment: SandboxPayment) -> SandboxPayment:
        """The payment as an answer describes it: with another amount under ``wrong_amount``."""
        if not self._chance(self.faults.wrong_amount):
            return payment
        self.fault_counts["wrong_amount"] += 1
        return replace(payment, amount=payment.amount + 1_000)

    # ------------------------------------------------------------------ settlement & callbacks

    def settle_due(self) -> int:
        """Settle every payment whose time has come; queue their callbacks.

        Due times sit in a heap, so a big run costs O(log n) per payment, not O(n).
        """
        now = self.clock.now()
        n = 0
        due = self._due
        while due and due[0][0] <= now:
            _, _, ref = heapq.heappop(due)
            payment = self.by_ref[ref]
            if payment.state is PaymentState.PROCESSING:
                self._settle(payment)
                n += 1
            elif payment.state is PaymentState.FAILED and payment.late_success_at is not None:
                self._deliver_late(payment)
                n += 1
            elif payment.state is PaymentState.SUCCEEDED and payment.reverse_at is not None:
                self._set_state(payment, PaymentState.RETURNED)
                payment.reason_code = payment.reason_code or "RETURNED"
                self._queue_callback(payment)
                n += 1
        if n:
            self.flush_book()
        return n

    def _settle(self, payment: SandboxPayment) -> None:
        self._set_state(payment, payment.outcome)
        payment.settled_at = self.clock.now()
        if payment.outcome is PaymentState.SUCCEEDED and self._chance(self.faults.reversal):
            payment.reverse_at = payment.settled_at + self.faults.reversal_after_s
            self._seq += 1
            heapq.heappush(self._due, (payment.reverse_at, self._seq, payment.ref))
        if payment.outcome is PaymentState.FAILED and self._chance(self.faults.late_success):
            self.fault_counts["late_success"] += 1
            payment.late_success_at = payment.settled_at + self.faults.late_success_after_s
            self._seq += 1
            heapq.heappush(self._due, (payment.late_success_at, self._seq, payment.ref))
        self._queue_callback(payment)

    def _deliver_late(self, payment: SandboxPayment) -> None:
        """The payment said failed, then the money arrived after all: say so, with a callback."""
        payment.late_success_at = None
        payment.outcome = PaymentState.SUCCEEDED
        payment.reason_code = None
        self._set_state(payment, PaymentState.SUCCEEDED)
        self._queue_callback(payment)

    def _reads_stale(self, payment: SandboxPayment) -> bool:
        """Whether this status read misses a payment booked moments ago (``stale_read``)."""
        young = self.clock.now() - payment.received_at < self.faults.stale_read_window_s
        if young and self._chance(self.faults.stale_read):
            self.fault_counts["stale_read"] += 1
            return True
        return False

    def _set_state(self, payment: SandboxPayment, state: PaymentState) -> None:
        payment.state = state
        self._dirty.add(_book_key(payment))

    def _queue_callback(self, payment: SandboxPayment) -> None:
        if self.callback_sink is None:
            return
        self._seq += 1
        event_id = f"evt_{self._seq:012d}"
        req = QueuedCallback.of(self.build_callback(payment, event_id))
        self._pending_callbacks.append(req)
        if self._chance(self.faults.duplicate_callback):
            self.fault_counts["duplicate_callback"] += 1
            self._pending_callbacks.append(QueuedCallback.of(self.build_callback(payment, event_id)))

    async def deliver_callbacks(self, *, concurrency: int = 64) -> int:
        """Send queued callbacks to the sink (maybe duplicated, maybe out of order).

        Delivered ``concurrency`` at a time, as a provider's webhook workers do: one by
        one, each would wait for the receiver's durable write, and a month's callbacks
        would queue for minutes. A callback the receiver refuses is queued again.
        """
        if self.callback_sink is None or not (self._pending_callbacks or self._held_back):
            return 0
        batch, self._pending_callbacks = self._pending_callbacks, []
        late, self._held_back = self._held_back, []
        if self.faults.reorder_callbacks:
            # Drawn per callback, not per delivery round, so that the fault happens at its
            # rate whatever the delivery rhythm: a callback held back arrives after those
            # of the next round, which were sent after it.
            kept = []
            for req in batch:
                if self._chance(self.faults.reorder_callbacks):
                    self.fault_counts["reorder_callbacks"] += 1
                    self._held_back.append(req)
                else:
                    kept.append(req)
            batch = kept
        batch += late
        sink = self.callback_sink

        async def one(queued: QueuedCallback) -> None:
            try:
                await sink(queued.request())
            except Exception:  # a receiver's error must not stop the provider; it retries later
                self._pending_callbacks.append(queued)
                return
            self.callbacks_sent += 1

        count = len(batch)
        waiting = deque(batch)  # a sent callback is let go at once, not at the end of the round
        del batch
        while waiting:
            chunk = [waiting.popleft() for _ in range(min(concurrency, len(waiting)))]
            await asyncio.gather(*(one(q) for q in chunk))
        return count

    async def run(self, *, interval_s: float = 0.05, stop: asyncio.Event | None = None) -> None:
        """Background settlement and callback delivery for in-process use."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            self.settle_due()
            await self.deliver_callbacks()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)

    # ------------------------------------------------------------------ faults

    def _chance(self, p: float) -> bool:
        return p > 0 and self._rng.random() < p

    def inject(self, kind: str, *faults: Fault | None) -> None:
        """Script the next faults for one operation kind ("pay", "status"...), in order.

        ``None`` in the script means "this request goes through"; scripted faults come
        before the random ones of the FaultPlan.
        """
        self._scripted.setdefault(kind, []).extend(faults)

    def fault_next(self, fault: str) -> None:
        """The next request, of any kind, meets this :class:`FaultPlan` fault (a field
        name such as ``"timeout_after_commit"`` or ``"stale_read"``) and no other."""
        if fault not in _KINDS_OF_FAULT:
            raise ValueError(f"unknown fault {fault!r}")
        self._next_fault = fault

    def succeed_after_failure(self, key: str) -> SandboxPayment:
        """Deliver now a payment of ``key`` that settled failed (late truth), with a callback."""
        payment = self.payments.get(key)
        if payment is None or payment.state is not PaymentState.FAILED:
            raise ValueError("no failed payment under that key")
        self._deliver_late(payment)
        self.flush_book()
        return payment

    def _draw_fault(self, op: Operation) -> Fault | None:
        script = self._scripted.get(op.kind)
        if script:
            return script.pop(0)
        f = self.faults
        table = (
            (Fault.CONNECT_ERROR, f.connect_error),
            (Fault.SERVER_ERROR, f.server_error),
            (Fault.RATE_LIMITED, f.rate_limited),
            (Fault.TIMEOUT_BEFORE, f.timeout_before_commit),
            (Fault.RESET_BEFORE, f.reset_before_commit),
            (Fault.TIMEOUT_AFTER, f.timeout_after_commit),
            (Fault.RESET_AFTER, f.reset_after_commit),
        )
        total = sum(p for _, p in table)
        if total <= 0:
            return None
        draw = self._rng.random()
        acc = 0.0
        for fault, p in table:
            acc += p
            if draw < acc:
                return fault
        return None

    # ------------------------------------------------------------------ persistent books

    def _open_book(self, path: Path) -> None:
        """Keep the books in SQLite at ``path`` and load what an earlier process left there.

        Why: a sandbox plays the other side of the payment, and the other side does not
        forget a payment because our process died. Resume-after-kill is only proven if
        the books survive the kill. WAL with ``synchronous=NORMAL`` survives a killed
        process (not a power cut, which a sandbox need not survive).
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS payments (key TEXT PRIMARY KEY, ref TEXT, amount INTEGER, "
            "body_hash TEXT, attributes TEXT, state TEXT, outcome TEXT, reason_code TEXT, "
            "received_at REAL, settle_at REAL, settled_at REAL, extra TEXT)"
        )
        self._book = db
        rows = db.execute("SELECT * FROM payments ORDER BY received_at, ref").fetchall()
        for (
            key,
            ref,
            amount,
            body_hash,
            attrs,
            state,
            outcome,
            code,
            received,
            settle_at,
            settled,
            extra,
        ) in rows:
            payment = SandboxPayment(
                key=key,
                ref=ref,
                amount=amount,
                body_hash=body_hash,
                attributes=json.loads(attrs),
                state=PaymentState(state),
                received_at=received,
                settle_at=settle_at,
                outcome=PaymentState(outcome),
                reason_code=code,
                settled_at=settled,
            )
            if "#" in key:  # a second booking of a key (dedupe race), kept under key#ref
                payment.key, payment.duplicate = key.split("#", 1)[0], True
                self.duplicates.append(payment)
            else:
                self.payments[key] = payment
            self.by_ref[ref] = payment
            digits = "".join(c for c in ref if c.isdigit())
            self._seq = max(self._seq, int(digits) if digits else 0)
            if payment.state is PaymentState.PROCESSING:
                self._seq += 1
                heapq.heappush(self._due, (settle_at, self._seq, ref))
            self.restore_extra(payment, json.loads(extra) if extra else None)

    def book_extra(self, payment: SandboxPayment) -> dict[str, Any] | None:
        """A subclass's own state about one payment, kept in the books beside it."""
        return None

    def restore_extra(self, payment: SandboxPayment, extra: dict[str, Any] | None) -> None:  # noqa: B027
        """Rebuild a subclass's own state about one payment loaded from the books."""

    def mark_dirty(self, key: str) -> None:
        """The payment under ``key`` changed: write it with the next :meth:`flush_book`."""
        self._dirty.add(key)

    def flush_book(self) -> None:
        """Write every changed payment to the books, in one transaction."""
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        if self._book is None:
            return
        rows = []
        for key in dirty:
            p = self.payments.get(key)
            if p is None and "#" in key:
                p = self.by_ref.get(key.split("#", 1)[1])
            if p is None:
                continue
            extra = self.book_extra(p)
            rows.append(
                (
                    _book_key(p),
                    p.ref,
                    p.amount,
                    p.body_hash,
                    json.dumps(p.attributes, default=str),
                    p.state.value,
                    p.outcome.value,
                    p.reason_code,
                    p.received_at,
                    p.settle_at,
                    p.settled_at,
                    json.dumps(extra, default=str) if extra is not None else None,
                )
            )
        self._book.execute("BEGIN")
        self._book.executemany("INSERT OR REPLACE INTO payments VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        self._book.execute("COMMIT")

    def close(self) -> None:
        """Write what is left and close the books (a no-op without books)."""
        if self._book is not None:
            self.flush_book()
            self._book.close()
            self._book = None

    # ------------------------------------------------------------------ books, for tests

    def paid(self) -> dict[str, SandboxPayment]:
        """Payments that ended with the money at the beneficiary (first booking of each key)."""
        return {k: p for k, p in self.payments.items() if p.state is PaymentState.SUCCEEDED}

    def bookings(self, key: str) -> list[SandboxPayment]:
        """Every payment booked under ``key``: more than one means the provider paid twice."""
        first = self.payments.get(key)
        if first is None:
            return []
        return [first, *(p for p in self.duplicates if p.key == key)]

    def all_bookings(self) -> list[SandboxPayment]:
        """Every payment in the books, second bookings of a key included."""
        return [*self.payments.values(), *self.duplicates]


_KINDS_OF_FAULT = frozenset(
    {
        "connect_error",
        "timeout_before_commit",
        "timeout_after_commit",
        "reset_before_commit",
        "reset_after_commit",
        "server_error",
        "rate_limited",
        "duplicate_callback",
        "reorder_callbacks",
        "reversal",
        "stale_read",
        "dedupe_race",
        "late_success",
        "wrong_amount",
    }
)


def _book_key(payment: SandboxPayment) -> str:
    """A payment's row key in the books: its key, or ``key#ref`` for a second booking."""
    return f"{payment.key}#{payment.ref}" if payment.duplicate else payment.key


def _hash_fields(fields: dict[str, Any]) -> str:
    import json

    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()
