"""The shared ledger: PostgreSQL, for many workers on many machines paying one run.

Why PostgreSQL past one process: SQLite has one writer and an OS lock per file, so a
run is paid by one process. A province's monthly run (hundreds of thousands of
payouts) wants many workers, and they must agree on who pays what. Here they do it
through the database: the same unique constraints as SQLite are the last line of
defence (one payout per idempotency key, one root payout per entitlement), workers
claim disjoint batches with ``FOR UPDATE SKIP LOCKED`` under a lease, and every
status change re-reads the row ``FOR UPDATE`` inside its transaction.

Why group commit here too: a worker drives hundreds of payouts at once and each one
writes twice per send (the write-ahead ``submitted`` and the result). Writes that
arrive in the same event-loop iteration share one transaction: one round trip to
lock the rows, one pipelined batch of updates and inserts, one commit. A call still
returns only after *its* transaction committed (write-ahead holds), but the database
sees a few large transactions instead of thousands of small ones.

Fencing: a worker that stalls past its lease may find its payouts claimed by another
worker. A write made under a :class:`~asxh_pay.ledger.rules.Fence` (``fence=``, or the
worker's :meth:`~asxh_pay.ledger.base.Ledger.fenced` view) checks inside its
transaction that the lease is still held and raises
:class:`~asxh_pay.errors.LeaseLost` otherwise, so a stale worker never sends.

What a write records is decided by :mod:`asxh_pay.ledger.rules`, the same functions
as the SQLite store's; this module keeps the I/O: group commit, leases, ``%s``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from asxh_pay.errors import (
    ConfigurationError,
    IdempotencyConflict,
    LeaseLost,
    LedgerError,
    LedgerNotFound,
    Message,
)
from asxh_pay.ledger.base import (
    CHILDLESS,
    HEAD_COLUMNS,
    OUTBOX_SELECT,
    PAID_TWICE_WHERE,
    PAYOUT_COLUMNS,
    ChainHead,
    ChainReport,
    Ledger,
    OutboxEvent,
    PaidTwice,
    RequestCache,
    TransitionResult,
    event_from_row,
    outbox_event,
    payout_from_row,
    verify_payout_events,
)
from asxh_pay.ledger.migrations import load_migrations
from asxh_pay.ledger.rules import Fence, Head, check_lease, creation, decide, genesis_hash, mask_key
from asxh_pay.masking import mask_text
from asxh_pay.models import EventSource, Payout, StatusEvent
from asxh_pay.status import FailureReason, IllegalTransition, PayoutStatus

__all__ = [
    "READY_STATUSES",
    "Fence",
    "LeaseLost",
    "PostgresLedger",
    "ensure_schema",
    "upgrade",
]

log = logging.getLogger("asxh_pay.ledger.postgres")


#: Unfinished payouts: what workers claim (the engine queries before resending any).
READY_STATUSES: tuple[PayoutStatus, ...] = (
    PayoutStatus.CREATED,
    PayoutStatus.SUBMITTED,
    PayoutStatus.UNKNOWN,
    PayoutStatus.PROCESSING,
)

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_MIGRATION_LOCK = "asxh_pay:migrations"
_PAYOUT_COLS = PAYOUT_COLUMNS
_EVENT_COLS = (
    "payout_id, seq, at, from_status, to_status, source, reason, detail, provider, provider_ref, "
    "prev_hash, hash"
)
_INSERT_PAYOUT = (
    "INSERT INTO payouts (id, idempotency_key, payload_hash, programme, period, beneficiary_cccd, parent_id, "
    "lineage_depth, run_id, destination_kind, amount, status, provider, attempts, request_json, created_at, "
    "updated_at, event_count, last_event_hash, lease_owner, lease_expires_at) "
    "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,'created',%s,0,%s,%s,%s,1,%s,%s,"
    "CASE WHEN %s::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => %s::float8) END) "
    "ON CONFLICT DO NOTHING RETURNING id"
)
_INSERT_EVENT = f"INSERT INTO events ({_EVENT_COLS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
_RETRYABLE_SQLSTATES = ("40001", "40P01")  # serialization failure, deadlock detected


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------- group commit


@dataclass
class _Create:
    payout: Payout
    future: asyncio.Future[tuple[Payout, bool]]
    # A payout made by a worker (a cash fallback) starts leased to it, so that no other
    # worker claims it between its creation and its first send.
    fence: Fence | None = None


@dataclass
class _Transition:
    payout: Payout
    target: PayoutStatus
    source: EventSource
    reason: FailureReason | None
    detail: str | None
    provider: str | None
    provider_ref: str | None
    count_attempt: bool
    fence: Fence | None
    future: asyncio.Future[TransitionResult]
    only_from: PayoutStatus | None = None
    expect_attempts: int | None = None


@dataclass
class _RowState:
    status: PayoutStatus
    event_count: int
    last_hash: str
    provider: str | None
    provider_ref: str | None
    attempts: int
    failure_reason: str | None
    failure_detail: str | None
    updated_at: datetime
    lease_owner: str | None
    lease_live: bool
    dirty: bool = False
    take_lease: float | None = None

    @property
    def head(self) -> Head:
        return Head(
            self.status, self.event_count, self.last_hash, self.provider, self.provider_ref, self.attempts
        )


@dataclass
class _Group:
    creates: list[_Create] = field(default_factory=list)
    transitions: list[_Transition] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.creates or self.transitions)

    def futures(self) -> list[asyncio.Future[Any]]:
        return [op.future for op in self.creates] + [op.future for op in self.transitions]


# ---------------------------------------------------------------------- migrations


async def upgrade(conn: psycopg.AsyncConnection[Any]) -> list[int]:
    """Apply pending migrations on ``conn`` (autocommit); returns the versions applied.

    Why an advisory lock: every worker may run this at start-up; the lock (scoped to
    the schema) makes the second one wait and then find nothing left to do, instead
    of two of them creating the same table at once.
    """
    applied: list[int] = []
    async with conn.transaction():
        schema_row = await (await conn.execute("SELECT current_schema()")).fetchone()
        if schema_row is None or schema_row[0] is None:
            raise ConfigurationError("no schema to create the ledger in (check search_path)")
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{_MIGRATION_LOCK}:{schema_row[0]}",)
        )
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {r[0] for r in await (await conn.execute("SELECT version FROM schema_migrations")).fetchall()}
        for mig in load_migrations("postgresql"):
            if mig.version in done:
                continue
            await conn.execute(mig.sql.encode())  # no parameters: the whole script in one go
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (mig.version, mig.name)
            )
            applied.append(mig.version)
    return applied


async def ensure_schema(conn: psycopg.AsyncConnection[Any], schema: str) -> None:
    """Create ``schema`` if missing; workers starting together must not race on it
    (``CREATE SCHEMA IF NOT EXISTS`` alone is not safe against a concurrent create)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"asxh_pay:schema:{schema}",))
        await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


async def pending_migrations(conn: psycopg.AsyncConnection[Any]) -> list[int]:
    """Versions not yet applied (all of them on an empty schema)."""
    wanted = [m.version for m in load_migrations("postgresql")]
    exists = await (await conn.execute("SELECT to_regclass('schema_migrations')")).fetchone()
    if exists is None or exists[0] is None:
        return wanted
    done = {r[0] for r in await (await conn.execute("SELECT version FROM schema_migrations")).fetchall()}
    return [v for v in wanted if v not in done]


# ---------------------------------------------------------------------- the ledger


class PostgresLedger(Ledger):
    """PostgreSQL ledger shared by many processes; one object per event loop.

    ``schema`` puts every table in that schema (created if missing) through the
    connections' ``search_path``: tests isolate themselves this way, and one database
    can hold several ledgers. ``auto_migrate`` applies pending migrations on open,
    like the SQLite store; turn it off where workers run without DDL rights and a
    DBA runs ``asxh-pay db upgrade`` (open then refuses an out-of-date schema).
    """

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        schema: str | None = None,
        auto_migrate: bool = True,
        read_only: bool = False,
    ) -> None:
        if schema is not None and not _SCHEMA_RE.match(schema):
            raise ConfigurationError("schema name must be lower-case letters, digits and '_' (max 63)")
        if min_size < 1 or max_size < min_size:
            raise ConfigurationError("pool sizes need 1 <= min_size <= max_size")
        self.url = url
        self.schema = schema
        self._min_size = min_size
        self._max_size = max_size
        self._auto_migrate = auto_migrate and not read_only
        self._read_only = read_only
        self._pool: AsyncConnectionPool | None = None
        self._group = _Group()
        self._flusher: asyncio.Task[None] | None = None
        self._requests = RequestCache(max_entries=200_000)

    def __repr__(self) -> str:
        # Never show the URL: it may carry a password.
        return f"PostgresLedger(schema={self.schema!r}, open={self._pool is not None})"

    # ------------------------------------------------------------------ lifecycle

    def _conn_kwargs(self) -> dict[str, Any]:
        # The URL's own ``options`` (e.g. ``?options=-csearch_path%3Dasxh``, a DBA's choice)
        # come first: passing ``options`` below would otherwise drop them silently.
        given = str(psycopg.conninfo.conninfo_to_dict(self.url).get("options") or "")
        options = (given + " " if given else "") + "-c timezone=UTC"
        if self._read_only:
            # Every transaction of every pooled connection is read-only: the server refuses
            # a write, whatever code path tries one.
            options += " -c default_transaction_read_only=on"
        if self.schema:
            options += f" -c search_path={self.schema}"
        return {"autocommit": True, "options": options}

    async def open(self) -> None:
        if self._pool is not None:
            return
        try:
            async with await psycopg.AsyncConnection.connect(self.url, **self._conn_kwargs()) as conn:
                if self._read_only:
                    missing = await pending_migrations(conn)
                    if missing == [m.version for m in load_migrations("postgresql")]:
                        raise LedgerNotFound(
                            Message("pg_no_ledger_schema", schema=self.schema)
                            if self.schema
                            else Message("pg_no_ledger")
                        )
                    if missing:
                        raise LedgerError(Message("ledger_schema_behind", missing=missing))
                else:
                    if self.schema:
                        await ensure_schema(conn, self.schema)
                    await self._migrate_or_check(conn)
        except psycopg.OperationalError as exc:
            raise LedgerError(Message("pg_connect_detail", detail=_pg_message(exc))) from None
        pool = AsyncConnectionPool(
            self.url,
            min_size=self._min_size,
            max_size=self._max_size,
            kwargs=self._conn_kwargs(),
            open=False,
            name="asxh-pay-ledger",
        )
        await pool.open(wait=True, timeout=30)
        self._pool = pool

    async def _migrate_or_check(self, conn: psycopg.AsyncConnection[Any]) -> None:
        if self._auto_migrate:
            await upgrade(conn)
            return
        missing = await pending_migrations(conn)
        if missing:
            raise LedgerError(Message("ledger_schema_behind", missing=missing))

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def pool(self) -> AsyncConnectionPool:
        if self._pool is None:
            raise LedgerError("ledger is not open")
        return self._pool

    # ------------------------------------------------------------------ group commit

    def _enqueue(self, op: _Create | _Transition) -> None:
        if self._pool is None:
            raise LedgerError("ledger is not open")
        if isinstance(op, _Create):
            self._group.creates.append(op)
        else:
            self._group.transitions.append(op)
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_loop())

    async def _flush_loop(self) -> None:
        """Commit queued writes, one group per transaction, until none are left.

        The first group waits one loop iteration so that every coroutine already
        running can add its write; later groups form while the previous commits.
        """
        try:
            await asyncio.sleep(0)
            while self._group:
                group, self._group = self._group, _Group()
                await self._commit_group(group)
        finally:
            self._flusher = None

    async def _commit_group(self, group: _Group) -> None:
        results: dict[int, Any] = {}
        for attempt in range(5):
            results = {}
            try:
                async with self.pool.connection() as conn, conn.transaction():
                    await self._write_creates(conn, group.creates, results)
                    await self._write_transitions(conn, group.transitions, results)
                break
            except psycopg.Error as exc:
                if exc.sqlstate in _RETRYABLE_SQLSTATES and attempt < 4:
                    await asyncio.sleep(0.01 * (attempt + 1))
                    continue
                failure = LedgerError(f"ledger transaction failed, nothing recorded: {_pg_message(exc)}")
                for fut in group.futures():
                    if not fut.done():
                        fut.set_exception(failure)
                return
            except BaseException as exc:
                failure = LedgerError(f"ledger transaction failed, nothing recorded: {type(exc).__name__}")
                for fut in group.futures():
                    if not fut.done():
                        fut.set_exception(failure)
                if isinstance(exc, Exception):
                    return
                raise
        # Committed: only now may any caller proceed (write-ahead).
        for fut in group.futures():
            outcome = results.get(id(fut))
            if fut.done():
                continue
            if isinstance(outcome, BaseException):
                fut.set_exception(outcome)
            else:
                fut.set_result(outcome)

    async def _write_creates(
        self, conn: psycopg.AsyncConnection[Any], creates: list[_Create], results: dict[int, Any]
    ) -> None:
        if not creates:
            return
        # Sorted so that two processes inserting the same keys take index locks in one order.
        ordered = sorted(creates, key=lambda op: op.payout.idempotency_key)
        params: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        for op in ordered:
            p = op.payout
            req = p.request
            made = creation(p)
            params.append(
                (
                    p.id,
                    p.idempotency_key,
                    p.payload_hash,
                    req.programme,
                    req.period,
                    req.beneficiary.cccd,
                    p.parent_id,
                    p.lineage_depth,
                    req.run_id,
                    req.destination.kind,
                    req.amount,
                    p.provider,
                    made.request_json,
                    p.created_at,
                    p.created_at,
                    made.head.last_hash,
                    op.fence.owner if op.fence else None,
                    op.fence.lease_s if op.fence else None,
                    op.fence.lease_s if op.fence else None,
                )
            )
            events.extend(made.event_rows(p, p.created_at))
        async with conn.cursor() as cur:
            await cur.executemany(_INSERT_PAYOUT, params, returning=True)
            inserted: list[bool] = []
            while True:
                inserted.append(await cur.fetchone() is not None)
                if not cur.nextset():
                    break
            new_events = [ev for ev, ok in zip(events, inserted, strict=True) if ok]
            if new_events:
                await cur.executemany(_INSERT_EVENT, new_events)
        losers: list[_Create] = []
        for op, ok in zip(ordered, inserted, strict=True):
            if ok:
                self._requests.put(op.payout.id, op.payout.request)
                results[id(op.future)] = (op.payout, True)
            else:
                losers.append(op)
        if not losers:
            return
        keys = [op.payout.idempotency_key for op in losers]
        rows = await (
            await conn.execute(f"SELECT {_PAYOUT_COLS} FROM payouts WHERE idempotency_key = ANY(%s)", (keys,))
        ).fetchall()
        by_key = {r[1]: self._row_to_payout(r) for r in rows}
        for op in losers:
            new = op.payout
            existing = by_key.get(new.idempotency_key)
            if existing is not None:
                if existing.payload_hash != new.payload_hash:
                    results[id(op.future)] = IdempotencyConflict(mask_key(new.idempotency_key), existing.id)
                else:
                    results[id(op.future)] = (existing, False)
                continue
            req = new.request
            row = await (
                await conn.execute(
                    "SELECT id FROM payouts WHERE programme=%s AND period=%s AND beneficiary_cccd=%s "
                    "AND parent_id IS NULL",
                    (req.programme, req.period, req.beneficiary.cccd),
                )
            ).fetchone()
            holder = row[0] if row else "?"
            results[id(op.future)] = IdempotencyConflict(mask_key(new.idempotency_key), holder)

    async def _write_transitions(
        self, conn: psycopg.AsyncConnection[Any], transitions: list[_Transition], results: dict[int, Any]
    ) -> None:
        if not transitions:
            return
        ids = sorted({op.payout.id for op in transitions})
        # ORDER BY: rows are locked in id order, so concurrent groups cannot deadlock.
        rows = await (
            await conn.execute(
                "SELECT id, status, event_count, last_event_hash, provider, provider_ref, attempts, "
                "failure_reason, failure_detail, updated_at, lease_owner, "
                "coalesce(lease_expires_at > now(), false) "
                "FROM payouts WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                (ids,),
            )
        ).fetchall()
        state = {
            r[0]: _RowState(PayoutStatus(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11])
            for r in rows
        }
        events: list[tuple[Any, ...]] = []
        for op in transitions:
            pid = op.payout.id
            row = state.get(pid)
            if row is None:
                results[id(op.future)] = LedgerError(f"unknown payout {pid}")
                continue
            try:
                step = decide(
                    pid,
                    row.head,
                    op.target,
                    source=op.source,
                    now=_now(),
                    reason=op.reason,
                    detail=op.detail,
                    provider=op.provider,
                    provider_ref=op.provider_ref,
                    count_attempt=op.count_attempt,
                    only_from=op.only_from,
                    expect_attempts=op.expect_attempts,
                )
                if step is not None and op.count_attempt and op.fence is not None:
                    check_lease(pid, op.fence, row.lease_owner, row.lease_live)
            except (IllegalTransition, LeaseLost) as exc:
                results[id(op.future)] = exc
                continue
            if step is None:  # nothing to record, or the row moved on (a stale copy): do not send
                results[id(op.future)] = TransitionResult(_apply_row(op.payout, row), False)
                continue
            if op.count_attempt and op.fence is not None:
                # Sending: hold (or take, for a fallback payout made here) the lease.
                row.lease_owner = op.fence.owner
                row.lease_live = True
                row.take_lease = op.fence.lease_s
            events.append(step.event_row(step.at))
            row.status = step.to_status
            row.event_count = step.seq
            row.last_hash = step.hash
            row.provider = step.provider
            row.provider_ref = step.provider_ref
            row.attempts = step.attempts
            row.failure_reason = step.failure_reason.value if step.failure_reason else None
            row.failure_detail = step.failure_detail
            row.updated_at = step.at
            row.dirty = True
            results[id(op.future)] = TransitionResult(_apply_row(op.payout, row), step.changed, _step=step)
        updates = [
            (
                r.status.value,
                r.provider,
                r.provider_ref,
                r.attempts,
                r.failure_reason,
                r.failure_detail,
                r.updated_at,
                r.event_count,
                r.last_hash,
                r.lease_owner,
                r.take_lease,
                r.take_lease,
                pid,
            )
            for pid, r in state.items()
            if r.dirty
        ]
        if not updates:
            return
        async with conn.cursor() as cur:
            await cur.executemany(
                "UPDATE payouts SET status=%s, provider=%s, provider_ref=%s, attempts=%s, failure_reason=%s, "
                "failure_detail=%s, updated_at=%s, event_count=%s, last_event_hash=%s, lease_owner=%s, "
                "lease_expires_at = CASE WHEN %s::float8 IS NULL THEN lease_expires_at "
                "ELSE now() + make_interval(secs => %s::float8) END WHERE id=%s",
                updates,
            )
            await cur.executemany(_INSERT_EVENT, events)

    # ------------------------------------------------------------------ writes

    async def create_or_get(
        self, payout: Payout, *, durable: bool = True, submit: bool = False, fence: Fence | None = None
    ) -> tuple[Payout, bool]:
        # Always durable here: the write is its own (grouped) transaction on the server.
        existing = await self.get_by_key(payout.idempotency_key)
        if existing is not None:
            if existing.payload_hash != payout.payload_hash:
                raise IdempotencyConflict(mask_key(payout.idempotency_key), existing.id)
            return existing, False
        fut: asyncio.Future[tuple[Payout, bool]] = asyncio.get_running_loop().create_future()
        self._enqueue(_Create(payout, fut, fence))
        return await asyncio.shield(fut)

    async def create_many(self, payouts: Sequence[Payout]) -> list[tuple[Payout, bool] | IdempotencyConflict]:
        """Record many payouts in one transaction (loading a run); conflicts are returned, not raised.

        Why: enqueueing a province's list one payout per transaction would take
        minutes; here a batch of thousands is one pipelined insert and one commit.
        """
        loop = asyncio.get_running_loop()
        ops = [_Create(p, loop.create_future()) for p in payouts]
        group = _Group(creates=ops)
        await self._commit_group(group)
        out: list[tuple[Payout, bool] | IdempotencyConflict] = []
        for op in ops:
            exc = op.future.exception()
            if isinstance(exc, IdempotencyConflict):
                out.append(exc)
            elif exc is not None:
                raise exc
            else:
                out.append(op.future.result())
        return out

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
        durable: bool = True,  # always durable here: each call is its own committed write
        only_from: PayoutStatus | None = None,
        expect_attempts: int | None = None,
        fence: Fence | None = None,
    ) -> TransitionResult:
        fut: asyncio.Future[TransitionResult] = asyncio.get_running_loop().create_future()
        self._enqueue(
            _Transition(
                payout,
                target,
                source,
                reason,
                detail,
                provider,
                provider_ref,
                count_attempt,
                fence,
                fut,
                only_from,
                expect_attempts,
            )
        )
        return await asyncio.shield(fut)

    async def remember_callback(self, provider: str, callback_id: str) -> bool:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO callbacks (provider, callback_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (provider, callback_id),
            )
            return cur.rowcount == 1

    # ------------------------------------------------------------------ the event outbox

    async def outbox_due(self, limit: int, now: float) -> list[OutboxEvent]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(OUTBOX_SELECT.format(mark="%s"), (now, limit))
            return [outbox_event(r) for r in await cur.fetchall()]

    async def outbox_delivered(self, event_id: int) -> None:
        async with self.pool.connection() as conn:
            await conn.execute("UPDATE event_outbox SET delivered_at=now() WHERE id=%s", (event_id,))

    async def outbox_retry(self, event_id: int, next_at: float, error: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE event_outbox SET attempts=attempts+1, next_at=%s, last_error=%s WHERE id=%s",
                (next_at, error[:300], event_id),
            )

    async def outbox_pending(self) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT count(*) FROM event_outbox WHERE delivered_at IS NULL")
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------ work distribution

    async def claim_batch(
        self,
        owner: str,
        limit: int,
        lease_s: float,
        run_id: str | None = None,
        statuses: Iterable[PayoutStatus] = READY_STATUSES,
        childless: bool = False,
    ) -> list[Payout]:
        """Lease up to ``limit`` unfinished payouts to ``owner`` (oldest first).

        ``SKIP LOCKED`` lets many workers claim at once without waiting on each
        other; a payout is claimable when nobody holds an unexpired lease on it.
        Lease times use the database clock, so machines need not agree on the time.
        ``childless`` as for :meth:`iter_payouts`: with failed statuses, the payouts
        whose cash fallback is still to be made.
        """
        if limit <= 0:
            return []
        sts = [PayoutStatus(s).value for s in statuses]
        run_clause = "AND run_id = %(run)s" if run_id is not None else ""
        if childless:
            run_clause += f" AND {CHILDLESS}"
        query = (
            "WITH c AS (SELECT id FROM payouts "
            f"WHERE status = ANY(%(sts)s) {run_clause} "
            "AND (lease_expires_at IS NULL OR lease_expires_at < now()) "
            "ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
            "UPDATE payouts p SET lease_owner = %(owner)s, "
            "lease_expires_at = now() + make_interval(secs => %(lease)s) "
            f"FROM c WHERE p.id = c.id RETURNING {', '.join('p.' + c for c in _PAYOUT_COLS.split(', '))}"
        )
        params = {"sts": sts, "run": run_id, "limit": limit, "owner": owner, "lease": float(lease_s)}
        async with self.pool.connection() as conn:
            rows = await (await conn.execute(query, params)).fetchall()
        payouts = [self._row_to_payout(r) for r in rows]
        payouts.sort(key=lambda p: p.id)
        return payouts

    async def renew(self, owner: str, ids: Sequence[str], lease_s: float) -> set[str]:
        """Extend ``owner``'s leases; returns the ids it still holds (the rest were lost).

        The cash fallback payouts made for ``ids`` are renewed with them: a worker drives a
        payout's fallback in the same task, and cash can take longer than one lease.
        """
        if not ids:
            return set()
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "UPDATE payouts SET lease_expires_at = now() + make_interval(secs => %s) "
                    "WHERE (id = ANY(%s) OR parent_id = ANY(%s)) AND lease_owner = %s RETURNING id",
                    (float(lease_s), list(ids), list(ids), owner),
                )
            ).fetchall()
        return {r[0] for r in rows}

    async def release(self, owner: str, ids: Sequence[str], *, retry_after_s: float = 0.0) -> int:
        """Hand leases back; with ``retry_after_s`` nobody claims them again before then."""
        if not ids:
            return 0
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE payouts SET lease_owner = NULL, lease_expires_at = "
                "CASE WHEN %s > 0 THEN now() + make_interval(secs => %s) END "
                "WHERE id = ANY(%s) AND lease_owner = %s",
                (float(retry_after_s), float(retry_after_s), list(ids), owner),
            )
            return cur.rowcount

    async def unfinished(self, run_id: str | None = None) -> int:
        """How many payouts are not yet terminal (held by a worker or not)."""
        run_clause = "AND run_id = %s" if run_id is not None else ""
        params: tuple[Any, ...] = ([s.value for s in READY_STATUSES],)
        if run_id is not None:
            params += (run_id,)
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    f"SELECT count(*) FROM payouts WHERE status = ANY(%s) {run_clause}", params
                )
            ).fetchone()
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------ reads

    def _row_to_payout(self, row: Sequence[Any]) -> Payout:
        return payout_from_row(row, self._requests.parse(row[0], row[3]), row[12], row[13])

    async def _one(self, where: str, params: tuple[Any, ...]) -> Payout | None:
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(f"SELECT {_PAYOUT_COLS} FROM payouts WHERE {where}", params)
            ).fetchone()
        return self._row_to_payout(row) if row else None

    async def get(self, payout_id: str) -> Payout | None:
        return await self._one("id=%s", (payout_id,))

    async def get_by_key(self, idempotency_key: str) -> Payout | None:
        return await self._one("idempotency_key=%s", (idempotency_key,))

    async def get_by_provider_ref(self, provider: str, provider_ref: str) -> Payout | None:
        return await self._one("provider=%s AND provider_ref=%s LIMIT 1", (provider, provider_ref))

    async def paid_twice(self, *, run_id: str | None = None) -> list[PaidTwice]:
        sql = (
            "SELECT parent.id, child.id FROM payouts child JOIN payouts parent "
            f"ON child.parent_id = parent.id WHERE {PAID_TWICE_WHERE}"
        )
        params: tuple[Any, ...] = ()
        if run_id is not None:
            sql += " AND parent.run_id = %s"
            params = (run_id,)
        async with self.pool.connection() as conn:
            pairs = await (await conn.execute(sql + " ORDER BY parent.id", params)).fetchall()
        out = []
        for parent_id, child_id in pairs:
            parent, child = await self.get(parent_id), await self.get(child_id)
            if parent is not None and child is not None:
                out.append(PaidTwice(parent, child))
        return out

    async def children(self, parent_id: str) -> list[Payout]:
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    f"SELECT {_PAYOUT_COLS} FROM payouts WHERE parent_id=%s ORDER BY id", (parent_id,)
                )
            ).fetchall()
        return [self._row_to_payout(r) for r in rows]

    async def iter_payouts(
        self,
        *,
        statuses: Iterable[PayoutStatus] | None = None,
        run_id: str | None = None,
        batch_size: int = 1000,
        childless: bool = False,
    ) -> AsyncIterator[Payout]:
        clauses = ["id > %(last)s"]
        params: dict[str, Any] = {"limit": batch_size}
        if childless:
            clauses.append(CHILDLESS)
        if statuses is not None:
            clauses.append("status = ANY(%(sts)s)")
            params["sts"] = [PayoutStatus(s).value for s in statuses]
        if run_id is not None:
            clauses.append("run_id = %(run)s")
            params["run"] = run_id
        query = (
            f"SELECT {_PAYOUT_COLS} FROM payouts WHERE {' AND '.join(clauses)} ORDER BY id LIMIT %(limit)s"
        )
        last = ""
        while True:
            params["last"] = last
            async with self.pool.connection() as conn:
                rows = await (await conn.execute(query, params)).fetchall()
            if not rows:
                return
            for row in rows:
                yield self._row_to_payout(row)
            last = rows[-1][0]

    async def iter_heads(
        self, *, run_id: str | None = None, batch_size: int = 5000
    ) -> AsyncIterator[ChainHead]:
        where = "id > %(last)s" + (" AND run_id = %(run)s" if run_id is not None else "")
        query = f"SELECT {HEAD_COLUMNS} FROM payouts WHERE {where} ORDER BY id LIMIT %(limit)s"
        params: dict[str, Any] = {"last": "", "run": run_id, "limit": batch_size}
        while True:
            async with self.pool.connection() as conn:
                rows = await (await conn.execute(query, params)).fetchall()
            if not rows:
                return
            for row in rows:
                yield ChainHead(*row)
            params["last"] = rows[-1][0]

    async def heads(self, payout_ids: Sequence[str]) -> dict[str, ChainHead]:
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    f"SELECT {HEAD_COLUMNS} FROM payouts WHERE id = ANY(%s)", (list(payout_ids),)
                )
            ).fetchall()
        return {row[0]: ChainHead(*row) for row in rows}

    async def events(self, payout_id: str) -> list[StatusEvent]:
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    f"SELECT {_EVENT_COLS} FROM events WHERE payout_id=%s ORDER BY seq", (payout_id,)
                )
            ).fetchall()
        return [event_from_row(r, r[2]) for r in rows]

    async def counts(self, run_id: str | None = None) -> dict[PayoutStatus, int]:
        async with self.pool.connection() as conn:
            if run_id is None:
                cur = await conn.execute("SELECT status, count(*) FROM payouts GROUP BY status")
            else:
                cur = await conn.execute(
                    "SELECT status, count(*) FROM payouts WHERE run_id=%s GROUP BY status", (run_id,)
                )
            rows = await cur.fetchall()
        return {PayoutStatus(s): int(n) for s, n in rows}

    async def verify_chain(self, *, page: int = 2000) -> ChainReport:
        """Recompute every chain, a page of payouts (and their events) at a time."""
        report = ChainReport()
        last = ""
        while True:
            async with self.pool.connection() as conn:
                payouts = await (
                    await conn.execute(
                        "SELECT id, idempotency_key, payload_hash, request_json, status, event_count, "
                        "last_event_hash FROM payouts WHERE id > %s ORDER BY id LIMIT %s",
                        (last, page),
                    )
                ).fetchall()
                if not payouts:
                    return report
                ids = [p[0] for p in payouts]
                rows = await (
                    await conn.execute(
                        f"SELECT {_EVENT_COLS} FROM events WHERE payout_id = ANY(%s) ORDER BY payout_id, seq",
                        (ids,),
                    )
                ).fetchall()
            by_payout: dict[str, list[StatusEvent]] = {}
            for r in rows:
                by_payout.setdefault(r[0], []).append(event_from_row(r, r[2]))
            for pid, key, phash, rjson, status, count, last_hash in payouts:
                report.payouts_checked += 1
                genesis = genesis_hash(pid, key, phash, rjson)
                verify_payout_events(report, pid, genesis, by_payout.get(pid, []), status, count, last_hash)
            last = ids[-1]


def _apply_row(payout: Payout, row: _RowState) -> Payout:
    return payout.model_copy(
        update={
            "status": row.status,
            "provider": row.provider,
            "provider_ref": row.provider_ref,
            "attempts": row.attempts,
            "failure_reason": FailureReason(row.failure_reason) if row.failure_reason else None,
            "failure_detail": row.failure_detail,
            "updated_at": row.updated_at,
        }
    )


def _pg_message(exc: psycopg.Error) -> str:
    """The server's one-line message, never the connection string."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    lines = str(exc).splitlines()
    text = primary or (lines[0] if lines else type(exc).__name__)
    return mask_text(str(text))[:300]
