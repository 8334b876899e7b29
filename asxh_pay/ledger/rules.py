"""The ledger's rules, written once: what a write records, whichever store records it.

Why a module of pure functions: the SQLite and PostgreSQL stores used to each carry
their own copy of the transition decision (the sendable check, ``only_from``, the
attempt compare-and-set, the state machine's plan, the hash chain, masking the
detail), and a rule changed in one copy and not the other is a store that keeps a
different audit trail. Here nothing does I/O: a store reads the row's head inside its
transaction, asks :func:`decide`, and writes what it is told in its own SQL dialect
(group commit, leases, placeholders stay in the store).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from asxh_pay.errors import LeaseLost
from asxh_pay.masking import mask_text
from asxh_pay.models import EventSource, Payout
from asxh_pay.status import FailureReason, PayoutStatus, plan_transition

__all__ = [
    "FAILURE_STATUSES",
    "GENESIS",
    "SENDABLE",
    "Creation",
    "Fence",
    "Head",
    "Step",
    "check_lease",
    "clean_detail",
    "creation",
    "decide",
    "event_hash",
    "genesis_hash",
    "mask_key",
]

GENESIS = "0" * 64
#: The only statuses from which a request may (still) be sent. ``transition(...,
#: count_attempt=True)`` on any other records nothing and returns ``changed=False``: the
#: engine then does not send, whatever its (stale) copy of the payout said.
SENDABLE = frozenset({PayoutStatus.CREATED, PayoutStatus.SUBMITTED, PayoutStatus.UNKNOWN})
#: Statuses whose row carries a failure reason and detail.
FAILURE_STATUSES = frozenset({PayoutStatus.FAILED, PayoutStatus.CANCELLED, PayoutStatus.RETURNED})
#: Longest failure detail kept (masked first, then cut).
DETAIL_MAX = 500

# The canonical text of an event is the compact JSON array of its fields, UTF-8 text
# as is (what json.JSONEncoder(separators=(",", ":"), ensure_ascii=False) writes).
# Changing it would break every chain.
_json_str = json.encoder.encode_basestring


def _json_opt(value: str | None) -> str:
    return "null" if value is None else _json_str(value)


def event_hash(
    *,
    payout_id: str,
    seq: int,
    at: datetime | str,
    from_status: PayoutStatus | None,
    to_status: PayoutStatus,
    source: EventSource,
    reason: FailureReason | None,
    detail: str | None,
    provider: str | None,
    provider_ref: str | None,
    prev_hash: str,
) -> str:
    """Hash of one event, chained to the previous one of the same payout.

    The first event of a payout chains to a genesis value bound to the payout's id,
    idempotency key and payload hash (see :func:`genesis_hash`), so that editing the
    payout row itself (amount, destination) also breaks the chain. ``at`` may be given
    already rendered (``datetime.isoformat()``), as the stores write it anyway.

    Written out by hand rather than through ``json.dumps``: it runs three times per
    payout, and the generic encoder costs more than the hash.
    """
    body = "[%s,%d,%s,%s,%s,%s,%s,%s,%s,%s,%s]" % (  # noqa: UP031 - fastest here, see above
        _json_str(payout_id),
        seq,
        _json_str(at if isinstance(at, str) else at.isoformat()),
        _json_opt(from_status.value if from_status else None),
        _json_str(to_status.value),
        _json_str(source.value),
        _json_opt(reason.value if reason else None),
        _json_opt(detail),
        _json_opt(provider),
        _json_opt(provider_ref),
        _json_str(prev_hash),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def genesis_hash(payout_id: str, idempotency_key: str, payload_hash: str, request_json: str) -> str:
    body = f"{GENESIS}|{payout_id}|{idempotency_key}|{payload_hash}|{request_json}"
    return hashlib.sha256(body.encode()).hexdigest()


def mask_key(key: str) -> str:
    """An idempotency key as error messages show it: enough to find it, not to replay it."""
    return key[:6] + "…" if len(key) > 8 else "…"


def clean_detail(detail: str | None) -> str | None:
    """A detail as the ledger keeps it: personal data masked, then cut to a bounded length
    (masking first, so that a cut never leaves half a number readable)."""
    return mask_text(detail)[:DETAIL_MAX] if detail else None


@dataclass(frozen=True)
class Fence:
    """Who sends, and for how long a send extends their lease (many workers, one ledger).

    Part of the ledger interface (``transition(..., fence=)``, ``create_or_get(...,
    fence=)``, :meth:`asxh_pay.ledger.base.Ledger.fenced`): a worker that stalls past its
    lease may find its payouts claimed by another, and the write-ahead record of a send
    is where it must learn so, before anything leaves. A store without leases (SQLite,
    one process per file under an OS lock) holds every fence by construction.
    """

    owner: str
    lease_s: float


def check_lease(payout_id: str, fence: Fence, lease_owner: str | None, lease_live: bool) -> None:
    """Refuse a send under ``fence`` while another worker holds a live lease on the payout.

    An expired lease, or none, may be taken: the store then writes ``fence.owner`` with a
    new expiry in the same transaction as the attempt.
    """
    if lease_live and lease_owner != fence.owner:
        raise LeaseLost(f"payout {payout_id} is leased to another worker; {fence.owner} does not send it")


class Head(NamedTuple):
    """A payout row's current state, as the store read it inside its transaction."""

    status: PayoutStatus
    event_count: int
    last_hash: str
    provider: str | None
    provider_ref: str | None
    attempts: int


class Step(NamedTuple):
    """One event to append, and the row's new values: what :func:`decide` tells a store to write."""

    payout_id: str
    changed: bool  # False: only an attempt is counted, the status stays
    from_status: PayoutStatus
    to_status: PayoutStatus
    seq: int
    at: datetime
    at_text: str
    source: EventSource
    reason: FailureReason | None
    detail: str | None
    provider: str | None
    provider_ref: str | None
    prev_hash: str
    hash: str
    attempts: int
    failure_reason: FailureReason | None
    failure_detail: str | None

    @property
    def head(self) -> Head:
        """The row's head once this step is written."""
        return Head(self.to_status, self.seq, self.hash, self.provider, self.provider_ref, self.attempts)

    def event_row(self, at: datetime | str) -> tuple[Any, ...]:
        """The ``events`` row, in table order; ``at`` as the store's dialect keeps times."""
        return (
            self.payout_id,
            self.seq,
            at,
            self.from_status.value,
            self.to_status.value,
            self.source.value,
            self.reason.value if self.reason else None,
            self.detail,
            self.provider,
            self.provider_ref,
            self.prev_hash,
            self.hash,
        )

    def event_fields(self) -> dict[str, Any]:
        """Fields of the :class:`~asxh_pay.models.StatusEvent` this step records."""
        return dict(
            payout_id=self.payout_id,
            seq=self.seq,
            at=self.at,
            from_status=self.from_status,
            to_status=self.to_status,
            source=self.source,
            reason=self.reason,
            detail=self.detail,
            provider=self.provider,
            provider_ref=self.provider_ref,
            prev_hash=self.prev_hash,
            hash=self.hash,
        )

    def applied(self, payout: Payout) -> Payout:
        """``payout`` as the row reads once this step is written."""
        return payout.model_copy(
            update={
                "status": self.to_status,
                "provider": self.provider,
                "provider_ref": self.provider_ref,
                "attempts": self.attempts,
                "failure_reason": self.failure_reason,
                "failure_detail": self.failure_detail,
                "updated_at": self.at,
            }
        )


def decide(
    payout_id: str,
    head: Head,
    target: PayoutStatus,
    *,
    source: EventSource,
    now: datetime,
    reason: FailureReason | None = None,
    detail: str | None = None,
    provider: str | None = None,
    provider_ref: str | None = None,
    count_attempt: bool = False,
    only_from: PayoutStatus | None = None,
    expect_attempts: int | None = None,
) -> Step | None:
    """The transition decision: the step to write, or ``None`` when nothing is written.

    ``None`` means the caller's news changes nothing (a duplicate, stale news) or a
    compare-and-set was refused because the row moved on since the caller looked:

    * an attempt is counted only from a sendable status (someone else already sent it,
      or it is finished: a stale copy in a caller's hands must not send);
    * ``expect_attempts``: an attempt is counted only if the row still has that many (of
      two drivers resending one payout at once, one sends);
    * ``only_from``: only from exactly that status (stopping an unsent payout must not
      hide a request another driver just sent).

    The store then answers ``changed=False`` with the row as it is. A contradiction raises
    :class:`~asxh_pay.status.IllegalTransition` and nothing is written. A counted
    attempt always writes an event, even when the status stays (``submitted`` again).
    """
    current = head.status
    if count_attempt and (
        current not in SENDABLE or (expect_attempts is not None and head.attempts != expect_attempts)
    ):
        return None
    if only_from is not None and current is not only_from:
        return None
    planned = plan_transition(current, target)
    if planned is None and not count_attempt:
        return None
    to_status = planned or current
    if detail:
        detail = mask_text(detail)[:DETAIL_MAX]
    new_provider = provider or head.provider
    new_ref = provider_ref or head.provider_ref
    seq = head.event_count + 1
    at_text = now.isoformat()
    prev = head.last_hash
    h = event_hash(
        payout_id=payout_id,
        seq=seq,
        at=at_text,
        from_status=current,
        to_status=to_status,
        source=source,
        reason=reason,
        detail=detail,
        provider=new_provider,
        provider_ref=new_ref,
        prev_hash=prev,
    )
    failed = to_status in FAILURE_STATUSES
    # Positional: a NamedTuple built by keyword costs several times more.
    return Step(
        payout_id,
        planned is not None,
        current,
        to_status,
        seq,
        now,
        at_text,
        source,
        reason,
        detail,
        new_provider,
        new_ref,
        prev,
        h,
        head.attempts + 1 if count_attempt else head.attempts,
        reason if failed else None,
        detail if failed else None,
    )


class Creation(NamedTuple):
    """What recording a new payout writes: its head and its first event(s)."""

    request_json: str
    genesis: str
    head: Head
    # (seq, from_status, to_status, prev_hash, hash) of each first event
    events: tuple[tuple[int, str | None, str, str, str], ...]

    def event_rows(self, payout: Payout, at: datetime | str) -> list[tuple[Any, ...]]:
        """The ``events`` rows, in table order; ``at`` as the store's dialect keeps times."""
        return [
            (payout.id, seq, at, frm, to, "system", None, None, payout.provider, None, prev, h)
            for seq, frm, to, prev, h in self.events
        ]


def creation(payout: Payout, *, submit: bool = False) -> Creation:
    """The first event of a new payout (``created``), and with ``submit`` its first attempt too
    (``submitted``, one attempt: the write-ahead record of a send that follows at once)."""
    request_json = payout.request.model_dump_json()
    genesis = genesis_hash(payout.id, payout.idempotency_key, payout.payload_hash, request_json)
    at = payout.created_at.isoformat()
    first = event_hash(
        payout_id=payout.id,
        seq=1,
        at=at,
        from_status=None,
        to_status=PayoutStatus.CREATED,
        source=EventSource.SYSTEM,
        reason=None,
        detail=None,
        provider=payout.provider,
        provider_ref=None,
        prev_hash=genesis,
    )
    events: tuple[tuple[int, str | None, str, str, str], ...] = ((1, None, "created", genesis, first),)
    head = Head(PayoutStatus.CREATED, 1, first, payout.provider, None, 0)
    if submit:
        second = event_hash(
            payout_id=payout.id,
            seq=2,
            at=at,
            from_status=PayoutStatus.CREATED,
            to_status=PayoutStatus.SUBMITTED,
            source=EventSource.SYSTEM,
            reason=None,
            detail=None,
            provider=payout.provider,
            provider_ref=None,
            prev_hash=first,
        )
        events += ((2, "created", "submitted", first, second),)
        head = Head(PayoutStatus.SUBMITTED, 2, second, payout.provider, None, 1)
    return Creation(request_json, genesis, head, events)
