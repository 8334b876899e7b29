"""Workers that share one PostgreSQL ledger and one payroll run.

How a run scales out: the payouts are recorded first (``enqueue``: write-ahead, the
unique constraints make a second load of the same list harmless), then any number
of ``asxh-pay worker`` processes, on any number of machines, claim batches of
unfinished payouts under a lease and drive each to its end through the ordinary
client, so every rule of the single-process engine holds unchanged.

What happens when a worker dies: its leases expire and another worker claims the
payouts. Those left ``submitted``/``unknown``/``processing`` are *queried* first
(the client's ``drive``), never resubmitted blind. A worker that stalls past its
lease is fenced: its client writes through the ledger's fenced view
(:meth:`asxh_pay.ledger.base.Ledger.fenced`), so the write-ahead step before any send
checks the lease. On SIGTERM/SIGINT a worker stops
claiming, lets in-flight payouts finish for a short grace period, then hands every
lease back so the others continue at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import AsyncIterable, Iterable, Sequence
from dataclasses import dataclass, field

from asxh_pay.client import AsyncPayoutClient, FallbackCheck, PollPolicy, ProviderSetup
from asxh_pay.errors import AsxhPayError, IdempotencyConflict
from asxh_pay.ledger.base import Fence, Ledger
from asxh_pay.models import Payout, PayoutRequest
from asxh_pay.retry import RetryPolicy
from asxh_pay.routing import Router

log = logging.getLogger("asxh_pay.worker")

__all__ = ["EnqueueSummary", "WorkerStats", "default_worker_id", "enqueue", "run_worker"]


def default_worker_id() -> str:
    """host:pid: unique among live workers, and says where to look when one misbehaves."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class WorkerStats:
    """What one worker did; printed as JSON by ``asxh-pay worker``."""

    worker_id: str
    claimed: int = 0
    finished: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    lost_leases: int = 0
    handed_back: int = 0
    fallbacks_resumed: int = 0
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "worker_id": self.worker_id,
            "claimed": self.claimed,
            "finished": dict(self.finished),
            "errors": self.errors,
            "lost_leases": self.lost_leases,
            "handed_back": self.handed_back,
            "fallbacks_resumed": self.fallbacks_resumed,
            "elapsed_s": round(self.elapsed_s, 3),
        }


async def run_worker(
    ledger_url: str,
    providers: list[ProviderSetup],
    router: Router | None,
    *,
    worker_id: str,
    batch_size: int = 100,
    concurrency: int = 64,
    stop_event: asyncio.Event | None = None,
    run_id: str | None = None,
    lease_s: float = 30.0,
    follow: bool = False,
    idle_poll_s: float = 1.0,
    shutdown_grace_s: float = 5.0,
    retry_after_s: float = 5.0,
    schema: str | None = None,
    retry: RetryPolicy | None = None,
    poll: PollPolicy | None = None,
    before_fallback: FallbackCheck | None = None,
) -> WorkerStats:
    """Claim and pay until the run has no unfinished payout left (or, with ``follow``, until stopped).

    ``before_fallback`` is the client's (see :class:`AsyncPayoutClient`): asked before each
    cash fallback this worker would send.

    "No work left" means no payout of the run is unfinished at all, not merely none
    claimable: payouts leased by a worker that died are waited for until the lease
    expires, then resumed here.
    """
    from asxh_pay.ledger.postgres import PostgresLedger

    if concurrency < 1 or batch_size < 1 or lease_s <= 0:
        raise ValueError("concurrency, batch_size and lease_s must be positive")
    stop = stop_event or asyncio.Event()
    ledger = PostgresLedger(ledger_url, schema=schema, max_size=max(4, min(20, concurrency // 8 + 2)))
    # Every write the client makes (sends, fallbacks) is under this worker's lease.
    client = AsyncPayoutClient(
        ledger.fenced(Fence(worker_id, lease_s)),
        providers,
        router=router,
        retry=retry,
        poll=poll,
        before_fallback=before_fallback,
    )
    stats = WorkerStats(worker_id)
    started = time.monotonic()
    active: dict[asyncio.Task[Payout], str] = {}
    backoff: list[str] = []

    finished: asyncio.Queue[asyncio.Task[Payout]] = asyncio.Queue()

    async def drive(payout: Payout) -> Payout:
        return await client.drive(payout)

    def start(payout: Payout) -> None:
        task = asyncio.create_task(drive(payout))
        task.add_done_callback(finished.put_nowait)
        active[task] = payout.id

    async def renew_leases() -> None:
        while True:
            await asyncio.sleep(lease_s / 3)
            held = list(active.values())
            if not held:
                continue
            try:
                kept = await ledger.renew(worker_id, held, lease_s)
            except AsxhPayError as exc:
                log.warning("worker %s could not renew leases: %s", worker_id, exc)
                continue
            for task, pid in list(active.items()):
                if pid not in kept and not task.done():
                    # Another worker holds it now: stop driving it here (it queries first).
                    stats.lost_leases += 1
                    task.cancel()

    def collect(done: Iterable[asyncio.Task[Payout]]) -> None:
        for task in done:
            pid = active.pop(task, None)
            if pid is None:
                continue
            if task.cancelled():
                continue
            exc = task.exception()
            if exc is not None:
                stats.errors += 1
                log.warning(
                    "worker %s: payout %s left for later: %s: %s", worker_id, pid, type(exc).__name__, exc
                )
                backoff.append(pid)
                continue
            result = task.result()
            stats.finished[result.status.value] += 1
            # A finished payout keeps its (expiring) lease as a record of who paid it:
            # releasing it would cost a write per payout and changes nothing, since
            # finished payouts are never claimed. Unfinished ones go back for later.
            if not result.is_terminal:
                backoff.append(result.id)

    tried: set[str] = set()  # fallbacks this worker already tried to make: once each

    async def claim_fallbacks_due() -> list[Payout]:
        """Lease failed payouts of the run whose cash fallback was never made.

        Normally the worker that learnt of the failure made the fallback at once; one
        is missing after a crash between the two, or when a callback reported the
        failure. Leased first, so that two idle workers never make the same one.
        """
        due: list[Payout] = []
        if client.router.fallback_provider is None:
            return due  # no cash rail configured: no failure ever falls back
        statuses = client.router.fallback_statuses
        while True:
            batch = await ledger.claim_batch(
                worker_id, batch_size, lease_s, run_id, statuses=statuses, childless=True
            )
            if not batch:
                return due
            skip = []
            for p in batch:
                if client.router.cash_destination(p) is not None and p.id not in tried:
                    tried.add(p.id)
                    due.append(p)
                else:
                    skip.append(p.id)
            # Failures that stay failed (deceased, no cash point): not again for a while.
            await ledger.release(worker_id, skip, retry_after_s=max(lease_s, 60.0))
            if due:
                return due

    async def flush_releases() -> None:
        if backoff:
            ids = list(backoff)
            backoff.clear()
            await ledger.release(worker_id, ids, retry_after_s=retry_after_s)

    await client.open()
    renewer = asyncio.create_task(renew_leases())
    stopper = asyncio.create_task(stop.wait())
    next_claim = 0.0
    next_sweep = 0.0
    try:
        while not stop.is_set():
            free = concurrency - len(active)
            # Claim in batches: when idle, or when half a batch of slots is free.
            want_claim = free > 0 and (not active or free >= min(batch_size, concurrency) // 2)
            if want_claim and time.monotonic() >= next_claim:
                batch = await ledger.claim_batch(worker_id, min(batch_size, free), lease_s, run_id)
                stats.claimed += len(batch)
                for payout in batch:
                    start(payout)
                if not batch:
                    next_claim = time.monotonic() + idle_poll_s
                    if not active:
                        finishing = not follow and await ledger.unfinished(run_id) == 0
                        if finishing or time.monotonic() >= next_sweep:
                            next_sweep = time.monotonic() + lease_s
                            due = await claim_fallbacks_due()
                            if due:
                                stats.fallbacks_resumed += len(due)
                                for payout in due:
                                    start(payout)
                                continue
                        if finishing:
                            break
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(asyncio.shield(stopper), idle_poll_s)
                        continue
            if active:
                wait_s = next_claim - time.monotonic()
                getter = asyncio.ensure_future(finished.get())
                await asyncio.wait(
                    [getter, stopper],
                    timeout=wait_s if want_claim and wait_s > 0 else None,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if not getter.done():
                    getter.cancel()
                    await asyncio.gather(getter, return_exceptions=True)
                done = [getter.result()] if getter.done() and not getter.cancelled() else []
                while not finished.empty():
                    done.append(finished.get_nowait())
                collect(done)
                await flush_releases()
    finally:
        await _shutdown(active, shutdown_grace_s)
        collect(list(active))
        with contextlib.suppress(AsxhPayError):
            await flush_releases()
        renewer.cancel()
        stopper.cancel()
        await asyncio.gather(renewer, stopper, return_exceptions=True)
        # Whatever is still leased to this worker (cancelled mid-drive) goes back now.
        with contextlib.suppress(AsxhPayError):
            stats.handed_back = await _release_all(ledger, worker_id)
        await client.close()
        stats.elapsed_s = time.monotonic() - started
    return stats


async def _shutdown(active: dict[asyncio.Task[Payout], str], grace_s: float) -> None:
    """Let in-flight payouts finish for ``grace_s``, then cancel the rest.

    Cancelling is safe at any point: a payout cancelled mid-send is left
    ``submitted`` and the next worker queries the provider before doing anything.
    """
    if not active:
        return
    _, pending = await asyncio.wait(list(active), timeout=grace_s)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)


async def _release_all(ledger: Ledger, worker_id: str) -> int:
    """Hand back every unfinished payout still leased to this worker."""
    from asxh_pay.ledger.postgres import READY_STATUSES, PostgresLedger

    assert isinstance(ledger, PostgresLedger)
    async with ledger.pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE payouts SET lease_owner = NULL, lease_expires_at = NULL "
            "WHERE lease_owner = %s AND status = ANY(%s)",
            (worker_id, [st.value for st in READY_STATUSES]),
        )
        return cur.rowcount


# ---------------------------------------------------------------------- loading a run


@dataclass
class EnqueueSummary:
    """What ``enqueue`` recorded: new payouts, ones already there, and refusals."""

    created: int = 0
    existing: int = 0
    conflicts: list[str] = field(default_factory=list)  # masked messages

    def as_dict(self) -> dict[str, object]:
        return {"created": self.created, "existing": self.existing, "conflicts": len(self.conflicts)}


async def enqueue(
    client: AsyncPayoutClient,
    requests: Iterable[PayoutRequest] | AsyncIterable[PayoutRequest],
    *,
    run_id: str | None = None,
    chunk: int = 2000,
) -> EnqueueSummary:
    """Record payouts without paying them, for workers to claim.

    Why separate from paying: the list is loaded once, checked against the unique
    constraints (a second load is harmless), and then any number of workers pay it.
    The client is only used to route and key the requests; it need not be open.
    """
    summary = EnqueueSummary()
    ledger = client.ledger
    create_many = getattr(ledger, "create_many", None)
    buf: list[Payout] = []

    async def flush() -> None:
        if not buf:
            return
        if create_many is not None:
            results: Sequence[tuple[Payout, bool] | IdempotencyConflict] = await create_many(buf)
        else:
            results = []
            for p in buf:
                try:
                    results.append(await ledger.create_or_get(p))
                except IdempotencyConflict as exc:
                    results.append(exc)
        for res in results:
            if isinstance(res, IdempotencyConflict):
                summary.conflicts.append(str(res))
            elif res[1]:
                summary.created += 1
            else:
                summary.existing += 1
        buf.clear()

    async for req in _aiter(requests):
        if run_id is not None and req.run_id != run_id:
            req = req.model_copy(update={"run_id": run_id})
        buf.append(client.new_payout(req))
        if len(buf) >= chunk:
            await flush()
    await flush()
    return summary


async def _aiter(
    items: Iterable[PayoutRequest] | AsyncIterable[PayoutRequest],
) -> AsyncIterable[PayoutRequest]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
