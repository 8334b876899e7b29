"""The durable ledger interface: the source of truth for every payout.

Why this shape: it is narrow and SQL-shaped so that an embedded SQLite store and a
PostgreSQL store shared by many workers implement the same few operations, each of
which is one transaction. The engine never holds state that the ledger does not have.

Two rules every store implements:

* ``create_or_get`` is the first line of the exactly-once guarantee: a payout is
  recorded under its idempotency key (unique) and its entitlement (programme,
  period, beneficiary: unique among root payouts) *before* anything is sent.
* ``transition`` reads the current status inside the transaction, asks the state
  machine, and appends a hash-chained event, so that late or duplicate reports are
  harmless whichever worker or callback delivers them.

What to write is decided once, by the pure functions of :mod:`asxh_pay.ledger.rules`
(the sendable check, ``only_from``, the attempt compare-and-set, the plan, hashing,
masking); a store keeps only its I/O and its SQL dialect. Lease fencing is part of
this interface too: a write-ahead record made under a :class:`Fence` is refused
(:class:`~asxh_pay.errors.LeaseLost`) when another worker holds the payout's lease.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from asxh_pay.errors import LeaseLost
from asxh_pay.ledger.rules import (
    GENESIS,
    SENDABLE,
    Fence,
    Step,
    event_hash,
    genesis_hash,
    mask_key,
)
from asxh_pay.models import STORED, EventSource, Payout, PayoutRequest, StatusEvent
from asxh_pay.status import FailureReason, PayoutStatus

# Written once in :mod:`asxh_pay.ledger.rules`; importable from here as before.
__all__ = [
    "CHILDLESS",
    "GENESIS",
    "HEAD_COLUMNS",
    "LEFT",
    "PAID_TWICE_WHERE",
    "PAYOUT_COLUMNS",
    "SENDABLE",
    "ChainHead",
    "ChainReport",
    "Fence",
    "FencedLedger",
    "LeaseLost",
    "Ledger",
    "PaidTwice",
    "RequestCache",
    "TransitionResult",
    "event_from_row",
    "event_hash",
    "genesis_hash",
    "mask_key",
    "payout_from_row",
    "stop_fallbacks_after_late_truth",
    "verify_payout_events",
]

#: Columns of ``payouts`` that make a :class:`ChainHead`, in its order.
HEAD_COLUMNS = "id, event_count, last_event_hash"

#: SQL condition (both dialects) on ``payouts``: no fallback payout was made for this one.
CHILDLESS = "NOT EXISTS (SELECT 1 FROM payouts child WHERE child.parent_id = payouts.id)"

#: Column order every store selects payouts in, so one function turns a row into a Payout.
PAYOUT_COLUMNS = (
    "id, idempotency_key, payload_hash, request_json, status, provider, provider_ref, attempts, "
    "failure_reason, failure_detail, parent_id, lineage_depth, created_at, updated_at"
)


#: Statuses of a cash fallback that has left (or may have): it cannot be stopped by the ledger.
LEFT = frozenset(
    {PayoutStatus.SUBMITTED, PayoutStatus.UNKNOWN, PayoutStatus.PROCESSING, PayoutStatus.SUCCEEDED}
)

#: Parent/child pairs of a paid-twice case (both dialects; ``{run}`` is a run filter or empty).
#: A parent in ``succeeded`` was paid; a fallback child that has left pays again. A ``returned``
#: parent's money came back from the bank: its cash fallback is the one payment, not a second.
PAID_TWICE_WHERE = (
    "parent.status = 'succeeded' AND child.status IN ('submitted', 'unknown', 'processing', 'succeeded')"
)


@dataclass(frozen=True)
class PaidTwice:
    """One entitlement paid electronically (found late) and by its cash fallback.

    ``electronic`` carries the provider reference of the late-found payment, ``fallback``
    the cash payout's; both are needed to recover the money.
    """

    electronic: Payout
    fallback: Payout

    @property
    def references(self) -> tuple[str | None, str | None]:
        return self.electronic.provider_ref, self.fallback.provider_ref


async def stop_fallbacks_after_late_truth(ledger: Ledger, res: TransitionResult) -> list[TransitionResult]:
    """After late truth (``res`` moved a payout from failed/cancelled to succeeded), cancel
    its cash fallbacks that have not left; one that has left makes a paid-twice case.

    Why here, for every driver (the client, the Treasury channel's statement polling):
    whoever learns that the money arrived must stop the second payment. The cancel is
    compare-and-set on ``created``, so a driver sending that fallback at this very moment
    either wins (it has left: paid twice, listed by :meth:`Ledger.paid_twice`) or finds it
    cancelled. Returns the cancel attempts (for hooks).
    """
    from asxh_pay.masking import get_logger, mask_text

    log = get_logger("asxh_pay")
    if not res.changed or res.from_status not in (PayoutStatus.FAILED, PayoutStatus.CANCELLED):
        return []
    payout = res.payout
    log.warning(
        "payout %s recorded %s was delivered after all (ref %s): late truth recorded",
        payout.id,
        res.from_status,
        mask_text(payout.provider_ref or "-"),
    )
    out = []
    for child in await ledger.children(payout.id):
        stop = await ledger.transition(
            child,
            PayoutStatus.CANCELLED,
            source=EventSource.SYSTEM,
            reason=FailureReason.DUPLICATE,
            detail=f"payout {payout.id} was delivered after all: cash fallback not sent",
            only_from=PayoutStatus.CREATED,
        )
        out.append(stop)
        if stop.payout.status in LEFT:
            log.error(
                "PAID TWICE: payout %s delivered (ref %s) after its cash fallback %s left (%s)",
                payout.id,
                mask_text(payout.provider_ref or "-"),
                child.id,
                stop.payout.status,
            )
    return out


class RequestCache:
    """Parsed requests by payout id, bounded.

    Why: a request is immutable once recorded, and re-validating its JSON (CCCD, names,
    bank tables) is most of the cost of reading a payout back, which reports, callbacks
    and reconciliation do for every payout. When full the cache starts again rather than
    tracking recency: cheaper, and a month's run re-reads payouts in waves anyway.
    """

    def __init__(self, max_entries: int = 20_000) -> None:
        self.max_entries = max_entries
        self._items: dict[str, PayoutRequest] = {}

    def put(self, payout_id: str, request: PayoutRequest) -> None:
        if len(self._items) >= self.max_entries:
            self._items.clear()
        self._items[payout_id] = request

    def parse(self, payout_id: str, request_json: str) -> PayoutRequest:
        request = self._items.get(payout_id)
        if request is None:
            # STORED: the ledger validated this request when it recorded it.
            request = PayoutRequest.model_validate_json(request_json, context=STORED)
            self.put(payout_id, request)
        return request


def payout_from_row(
    row: Sequence[Any], request: PayoutRequest, created_at: datetime, updated_at: datetime
) -> Payout:
    """A Payout from a row selected with :data:`PAYOUT_COLUMNS` (no re-validation: it was
    validated when recorded, and the request comes parsed from its JSON)."""
    return Payout.model_construct(
        id=row[0],
        idempotency_key=row[1],
        payload_hash=row[2],
        request=request,
        status=PayoutStatus(row[4]),
        provider=row[5],
        provider_ref=row[6],
        attempts=row[7],
        failure_reason=FailureReason(row[8]) if row[8] else None,
        failure_detail=row[9],
        parent_id=row[10],
        lineage_depth=row[11],
        created_at=created_at,
        updated_at=updated_at,
    )


def event_from_row(row: Sequence[Any], at: datetime) -> StatusEvent:
    """A StatusEvent from an ``events`` row (columns in table order; ``at`` parsed by the store)."""
    return StatusEvent(
        payout_id=row[0],
        seq=row[1],
        at=at,
        from_status=PayoutStatus(row[3]) if row[3] else None,
        to_status=PayoutStatus(row[4]),
        source=EventSource(row[5]),
        reason=FailureReason(row[6]) if row[6] else None,
        detail=row[7],
        provider=row[8],
        provider_ref=row[9],
        prev_hash=row[10],
        hash=row[11],
    )


@dataclass
class ChainReport:
    """Result of ``asxh-pay ledger verify``."""

    payouts_checked: int = 0
    events_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_payout_events(
    report: ChainReport,
    pid: str,
    genesis: str,
    events: list[StatusEvent],
    status: str,
    count: int,
    last: str,
) -> None:
    """Check one payout's chain (every store calls this, so the rule is written once)."""
    prev = genesis
    for i, ev in enumerate(events, start=1):
        report.events_checked += 1
        if ev.seq != i:
            report.problems.append(f"{pid}: event {i} missing (found seq {ev.seq})")
            return
        if ev.prev_hash != prev:
            report.problems.append(f"{pid}: event {i} does not chain to its predecessor")
            return
        expected = event_hash(
            payout_id=ev.payout_id,
            seq=ev.seq,
            at=ev.at,
            from_status=ev.from_status,
            to_status=ev.to_status,
            source=ev.source,
            reason=ev.reason,
            detail=ev.detail,
            provider=ev.provider,
            provider_ref=ev.provider_ref,
            prev_hash=ev.prev_hash,
        )
        if expected != ev.hash:
            report.problems.append(f"{pid}: event {i} was altered (hash mismatch)")
            return
        prev = ev.hash
    if len(events) != count or prev != last:
        report.problems.append(
            f"{pid}: history truncated or extended ({len(events)} events, row says {count})"
        )
    elif events and events[-1].to_status.value != status:
        report.problems.append(f"{pid}: status {status} is not the last recorded event")


class ChainHead(NamedTuple):
    """The newest event of one payout's history: what a signed anchor pins."""

    payout_id: str
    seq: int
    hash: str


@dataclass(frozen=True)
class TransitionResult:
    """What a transition did. The event is built on first use: most callers never look,
    and building a model per status change is a measurable share of a payout's cost."""

    payout: Payout
    changed: bool
    _event: StatusEvent | None = None
    _event_fields: dict[str, Any] | None = None
    _step: Step | None = None  # what the store wrote (asxh_pay.ledger.rules.decide)

    @property
    def recorded(self) -> bool:
        """Whether an event was written (a counted attempt writes one even when the status
        stays ``submitted``; a refused compare-and-set writes none)."""
        return self._event is not None or self._event_fields is not None or self._step is not None

    @property
    def from_status(self) -> PayoutStatus | None:
        """The status the payout left, when an event was written (without building it)."""
        if self._event is not None:
            return self._event.from_status
        if self._step is not None:
            return self._step.from_status
        if self._event_fields is not None:
            status: PayoutStatus | None = self._event_fields["from_status"]
            return status
        return None

    @property
    def event(self) -> StatusEvent | None:
        if self._event is None:
            fields = self._step.event_fields() if self._step is not None else self._event_fields
            if fields is not None:
                object.__setattr__(self, "_event", StatusEvent.model_construct(**fields))
        return self._event


@dataclass(frozen=True)
class OutboxEvent:
    """A payout status event waiting in the outbox for the integrator's backend.

    Only what a backend needs to follow a payout: ids, states, amount, programme and
    period; never the beneficiary's CCCD, name, phone or account.
    """

    id: int
    payout_id: str
    seq: int
    attempts: int
    at: str
    from_status: str | None
    to_status: str
    source: str
    reason: str | None
    provider: str | None
    run_id: str | None
    amount: int
    programme: str
    period: str
    parent_id: str | None


OUTBOX_SELECT = (
    "SELECT o.id, o.payout_id, o.seq, o.attempts, e.at, e.from_status, e.to_status, e.source, e.reason, "
    "e.provider, p.run_id, p.amount, p.programme, p.period, p.parent_id FROM event_outbox o "
    "JOIN events e ON e.payout_id = o.payout_id AND e.seq = o.seq JOIN payouts p ON p.id = o.payout_id "
    "WHERE o.delivered_at IS NULL AND o.next_at <= {mark} ORDER BY o.next_at, o.id LIMIT {mark}"
)


def outbox_event(row: Sequence[Any]) -> OutboxEvent:
    at = row[4]
    return OutboxEvent(
        int(row[0]),
        str(row[1]),
        int(row[2]),
        int(row[3]),
        at.isoformat() if isinstance(at, datetime) else str(at),
        row[5],
        str(row[6]),
        str(row[7]),
        row[8],
        row[9],
        row[10],
        int(row[11]),
        str(row[12]),
        str(row[13]),
        row[14],
    )


class Ledger(ABC):
    """A durable store of payouts and their histories (async, one transaction per call)."""

    url: str

    @abstractmethod
    async def open(self) -> None:
        """Connect and apply pending schema migrations."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def create_or_get(
        self, payout: Payout, *, durable: bool = True, submit: bool = False, fence: Fence | None = None
    ) -> tuple[Payout, bool]:
        """Record a new payout (status ``created``, first event) or return the existing one.

        ``fence``: a payout made by a worker (a cash fallback) starts leased to
        ``fence.owner``, so that no other worker claims it between its creation and its
        first send. A store without leases ignores it.

        ``durable=False`` lets the call return before its commit, for a caller whose very
        next call is a durable write on the same store: commits are ordered, so that one
        reaching the disk implies this one did (the engine records the first attempt
        right after creating a payout, and only then sends anything).

        ``submit=True`` records the first attempt in the same transaction (status
        ``submitted``, one attempt, two events) and always waits for the commit: it is
        the write-ahead record of a send that follows at once. A store may ignore it and
        return the payout ``created``; the engine then records the attempt itself.

        Returns ``(payout, created)``. The same key with another payload hash raises
        :class:`~asxh_pay.errors.IdempotencyConflict`; a second *root* payout for the
        same (programme, period, beneficiary) under another key raises it too.
        """

    @abstractmethod
    async def get(self, payout_id: str) -> Payout | None: ...

    @abstractmethod
    async def get_by_key(self, idempotency_key: str) -> Payout | None: ...

    @abstractmethod
    async def get_by_provider_ref(self, provider: str, provider_ref: str) -> Payout | None: ...

    @abstractmethod
    async def transition(
        self,
        payout: Payout,
        target: PayoutStatus,
        *,
        source: EventSource,
        reason: FailureReason | None = None,
        detail: str | None = None,
        provider: str | None = None,
        provider_ref: str | None = None,
        count_attempt: bool = False,
        durable: bool = True,
        only_from: PayoutStatus | None = None,
        expect_attempts: int | None = None,
        fence: Fence | None = None,
    ) -> TransitionResult:
        """Move ``payout`` towards ``target`` if the state machine allows it.

        The store re-reads the current status inside its transaction (the caller's
        snapshot may be stale). Duplicate and stale reports return ``changed=False``.
        ``count_attempt`` increments the attempt counter in the same transaction: the
        engine uses it to record a send *before* the request leaves the process.
        ``durable=False`` returns before the commit (which still comes, with the next
        group): for news *from* a provider, which a crash would only make the engine ask
        for again, never for the write-ahead record of a send. A store may ignore it.
        ``only_from``: move only if the payout is in that status now (compare-and-set, in
        the same transaction); otherwise nothing is written and ``changed`` is False. The
        engine stops an unsent payout with ``only_from=CREATED``: a legal
        ``submitted -> cancelled`` must not hide a request that another driver just sent.
        ``expect_attempts`` (with ``count_attempt``): record the attempt only if the payout
        still has exactly that many (compare-and-set, same transaction). The engine resends
        a payout whose outcome was unknown this way, so that of two drivers (a resume, a
        second worker) deciding to resend at once, only one sends; the other finds the
        attempt recorded and waits out its confirmation window.
        ``fence`` (with ``count_attempt``): the attempt is recorded only while
        ``fence.owner`` holds the payout's lease (or nobody does: it is then taken, for
        ``fence.lease_s``); otherwise :class:`~asxh_pay.errors.LeaseLost` is raised and
        nothing is written, so a worker that stalled past its lease never sends. A store
        without leases (SQLite: one process per file) holds every fence.
        """

    @abstractmethod
    async def children(self, parent_id: str) -> list[Payout]:
        """Fallback payouts made for ``parent_id`` (oldest first)."""

    @abstractmethod
    def iter_payouts(
        self,
        *,
        statuses: Iterable[PayoutStatus] | None = None,
        run_id: str | None = None,
        batch_size: int = 1000,
        childless: bool = False,
    ) -> AsyncIterator[Payout]:
        """Every payout matching the filter, in id order, fetched in pages.

        ``childless``: only payouts no fallback payout was made for, which is how a
        failure whose cash fallback was never created (a crash between the two) is
        found without asking for each failed payout's children one by one.
        """

    @abstractmethod
    async def events(self, payout_id: str) -> list[StatusEvent]: ...

    async def paid_twice(self, *, run_id: str | None = None) -> list[PaidTwice]:
        """Entitlements whose electronic payout was found paid after its cash fallback left.

        Why a query and not a status: both payouts are right about themselves (the
        provider delivered, the cash was sent); the case is the pair, which a person
        recovers. Stores answer it with one SQL join (:data:`PAID_TWICE_SQL`); this
        default walks the failed-then-paid payouts for a store without SQL.
        """
        out: list[PaidTwice] = []
        async for parent in self.iter_payouts(statuses=[PayoutStatus.SUCCEEDED], run_id=run_id):
            for child in await self.children(parent.id):
                if child.status in LEFT:
                    out.append(PaidTwice(parent, child))
        return out

    @abstractmethod
    async def remember_callback(self, provider: str, callback_id: str) -> bool:
        """Record a processed callback id; False if it was seen before (a replay)."""

    @abstractmethod
    async def counts(self, run_id: str | None = None) -> dict[PayoutStatus, int]: ...

    # -- the event outbox (asxh_pay.events): every status event, recorded with it ----------

    async def outbox_due(self, limit: int, now: float) -> list[OutboxEvent]:
        """Undelivered events whose next try is due, oldest first."""
        raise NotImplementedError(f"{type(self).__name__} keeps no event outbox")

    async def outbox_delivered(self, event_id: int) -> None:
        """The backend acknowledged the event: never send it again."""
        raise NotImplementedError(f"{type(self).__name__} keeps no event outbox")

    async def outbox_retry(self, event_id: int, next_at: float, error: str) -> None:
        """The delivery failed: count the attempt, keep why, try again at ``next_at``."""
        raise NotImplementedError(f"{type(self).__name__} keeps no event outbox")

    async def outbox_pending(self) -> int:
        """How many events the backend has not acknowledged yet."""
        raise NotImplementedError(f"{type(self).__name__} keeps no event outbox")

    @abstractmethod
    async def verify_chain(self) -> ChainReport: ...

    @abstractmethod
    def iter_heads(self, *, run_id: str | None = None, batch_size: int = 5000) -> AsyncIterator[ChainHead]:
        """Every payout's chain head (of one run, or all), in id order, fetched in pages.

        Why: a chain proves that no event was edited *unless* someone recomputed it, which
        anyone with write access to the database can do. Signing the heads elsewhere (an
        anchor, :mod:`asxh_pay.ledger.anchor`) takes that power away from them.
        """

    @abstractmethod
    async def heads(self, payout_ids: Sequence[str]) -> dict[str, ChainHead]:
        """The current chain heads of these payouts; an id missing from the answer is gone."""

    def fenced(self, fence: Fence) -> Ledger:
        """This ledger as seen by one lease holder: every write is made under ``fence``.

        Why a view: the engine (the client) writes through the ledger interface and never
        needs to know about leases; a worker hands its client the fenced view, and every
        write-ahead record the client makes is checked against the worker's lease.
        """
        return FencedLedger(self, fence)

    async def __aenter__(self) -> Ledger:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class FencedLedger(Ledger):
    """A ledger whose creates and transitions are all made under one :class:`Fence`.

    Everything else is the inner store's (its own extras too, such as a PostgreSQL
    store's ``claim_batch``, through attribute access).
    """

    def __init__(self, inner: Ledger, fence: Fence) -> None:
        self.inner = inner
        self.fence = fence
        self.url = inner.url

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"FencedLedger({self.inner!r}, owner={self.fence.owner!r})"

    def fenced(self, fence: Fence) -> Ledger:
        return self.inner.fenced(fence)

    async def open(self) -> None:
        await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()

    async def create_or_get(
        self, payout: Payout, *, durable: bool = True, submit: bool = False, fence: Fence | None = None
    ) -> tuple[Payout, bool]:
        return await self.inner.create_or_get(
            payout, durable=durable, submit=submit, fence=fence or self.fence
        )

    async def get(self, payout_id: str) -> Payout | None:
        return await self.inner.get(payout_id)

    async def get_by_key(self, idempotency_key: str) -> Payout | None:
        return await self.inner.get_by_key(idempotency_key)

    async def get_by_provider_ref(self, provider: str, provider_ref: str) -> Payout | None:
        return await self.inner.get_by_provider_ref(provider, provider_ref)

    async def transition(
        self,
        payout: Payout,
        target: PayoutStatus,
        *,
        source: EventSource,
        reason: FailureReason | None = None,
        detail: str | None = None,
        provider: str | None = None,
        provider_ref: str | None = None,
        count_attempt: bool = False,
        durable: bool = True,
        only_from: PayoutStatus | None = None,
        expect_attempts: int | None = None,
        fence: Fence | None = None,
    ) -> TransitionResult:
        return await self.inner.transition(
            payout,
            target,
            source=source,
            reason=reason,
            detail=detail,
            provider=provider,
            provider_ref=provider_ref,
            count_attempt=count_attempt,
            durable=durable,
            only_from=only_from,
            expect_attempts=expect_attempts,
            fence=fence or self.fence,
        )

    async def children(self, parent_id: str) -> list[Payout]:
        return await self.inner.children(parent_id)

    def iter_payouts(
        self,
        *,
        statuses: Iterable[PayoutStatus] | None = None,
        run_id: str | None = None,
        batch_size: int = 1000,
        childless: bool = False,
    ) -> AsyncIterator[Payout]:
        return self.inner.iter_payouts(
            statuses=statuses, run_id=run_id, batch_size=batch_size, childless=childless
        )

    async def events(self, payout_id: str) -> list[StatusEvent]:
        return await self.inner.events(payout_id)

    async def paid_twice(self, *, run_id: str | None = None) -> list[PaidTwice]:
        return await self.inner.paid_twice(run_id=run_id)

    async def remember_callback(self, provider: str, callback_id: str) -> bool:
        return await self.inner.remember_callback(provider, callback_id)

    async def counts(self, run_id: str | None = None) -> dict[PayoutStatus, int]:
        return await self.inner.counts(run_id)

    async def verify_chain(self) -> ChainReport:
        return await self.inner.verify_chain()

    def iter_heads(self, *, run_id: str | None = None, batch_size: int = 5000) -> AsyncIterator[ChainHead]:
        return self.inner.iter_heads(run_id=run_id, batch_size=batch_size)

    async def heads(self, payout_ids: Sequence[str]) -> dict[str, ChainHead]:
        return await self.inner.heads(payout_ids)
