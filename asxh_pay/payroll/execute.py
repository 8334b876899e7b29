"""Execute an approved run: pay exactly the frozen payouts, once, resumably.

Order of work, and why:

1. :func:`~asxh_pay.payroll.approval.load_approved` checks both signatures and the run
   hash; nothing outside the frozen file is ever paid, and a ledger that holds a root
   payout of this run which the frozen file does not list stops the run (refused).
2. The frozen payouts are streamed to ``pay_many`` (concurrency ~128, plus each rail's own
   limit). Just before each chunk of 500 is handed over, the population register is
   asked again (``check_batch``): a death or loss of entitlement recorded after the run
   was prepared stops that payout. A stopped payout is *recorded*, not skipped: it is
   created in the ledger and cancelled with the reason (``beneficiary_deceased``,
   ``regulatory``...), so reports and a re-run see it and nothing can pay it later.
3. An electronic payout that fails for a reason about its destination (no/closed/blocked
   account, returned) falls back to cash through the postal service (Router fallback),
   after the register is asked once more (the engine's ``before_fallback``): the cash
   leaves later than the checks of step 2, days later after a bank's return.
4. After a crash or Ctrl-C, ``--resume`` first drives every unfinished payout of the run
   by asking the provider (never resending blind), then re-streams the frozen file: the
   ledger returns the payouts it already has (same idempotency key), so nobody is paid
   twice.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asxh_pay.client import AsyncPayoutClient, FallbackCheck, PollPolicy, drain
from asxh_pay.engine.treasury import TreasuryChannel
from asxh_pay.errors import AsxhPayError
from asxh_pay.heap import release_free_memory
from asxh_pay.ledger import open_ledger
from asxh_pay.ledger.base import Ledger
from asxh_pay.masking import mask_cccd
from asxh_pay.models import EventSource, Payout, PayoutRequest
from asxh_pay.payroll.approval import ApprovalError, ApprovedRun, load_approved
from asxh_pay.payroll.rails import FILE_SIZE, TREASURY, Rails
from asxh_pay.payroll.registry import BATCH, PopulationRegistry, Stop
from asxh_pay.providers.base import SubmitShape
from asxh_pay.status import FailureReason, PayoutStatus

ProgressHook = Callable[[str], None]


@dataclass
class ExecutionResult:
    run_id: str
    counts: dict[str, int] = field(default_factory=dict)  # ledger status -> payouts of the run
    stopped: list[tuple[str, str, str]] = field(default_factory=list)  # (payout id, masked cccd, reason)
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    resumed: int = 0


class AlreadyStarted(AsxhPayError):
    """The run has payouts in the ledger already: continue it with ``--resume``."""


async def _check_ledger_within_run(ledger: Ledger, approved: ApprovedRun) -> int:
    keys = approved.keys
    seen = 0
    async for p in ledger.iter_payouts(run_id=approved.run_id):
        if p.parent_id is None:
            seen += 1
            if p.idempotency_key not in keys:
                raise ApprovalError(
                    f"the ledger holds payout {p.id} for run {approved.run_id} that the approved run does "
                    "not "
                    "list; refusing to continue"
                )
    return seen


async def _stop(client: AsyncPayoutClient, req: PayoutRequest, stop: Stop) -> Payout:
    payout, _ = await client.ledger.create_or_get(client.new_payout(req))
    if payout.status is PayoutStatus.CREATED:
        res = await client.ledger.transition(
            payout,
            PayoutStatus.CANCELLED,
            source=EventSource.SYSTEM,
            reason=stop.reason,
            detail=f"stopped before sending: {stop.detail}",
            only_from=PayoutStatus.CREATED,
        )
        payout = res.payout
    return payout


async def execute_run(
    data_dir: Path,
    run_id: str,
    *,
    ledger_url: str,
    registry: PopulationRegistry,
    rails: Rails,
    resume: bool = False,
    concurrency: int = 128,
    on_update: Callable[[Counter[str], int], None] | None = None,
    on_close: Callable[[int, int], None] | None = None,
) -> ExecutionResult:
    """Pay an approved run. Raises ApprovalError (refused) or AlreadyStarted (use resume).

    ``on_update(tally, total)`` follows the paying phase; ``on_close(done, rounds)`` the month
    close that follows it (the bank's days, the cash window, fallbacks), for a progress bar.
    """
    started = time.perf_counter()
    approved = load_approved(data_dir, run_id)
    total = int(approved.manifest["counts"]["payouts"])
    result = ExecutionResult(run_id)
    ledger = open_ledger(ledger_url)
    client = AsyncPayoutClient(
        ledger,
        rails.setups,
        router=rails.router,
        retry=rails.retry,
        poll=PollPolicy(initial_s=0.1, multiplier=2.0, max_s=2.0, deadline_s=300.0),
        before_fallback=_fallback_guard(registry, result.stopped),
    )
    rails.wire_callbacks(client.handle_callback)
    tally: Counter[str] = Counter()

    def note(idx: int, outcome: Payout | BaseException) -> None:
        if isinstance(outcome, BaseException):
            tally["error"] += 1
        elif outcome.parent_id is not None:
            tally[f"{outcome.status.value}(cash)"] += 1
        else:
            tally[outcome.status.value] += 1
        if on_update is not None:
            on_update(tally, total)

    # The bank's files go through the engine's file path with the client's hooks and the
    # bank's one retry budget (the client's status queries to the bank draw on it too).
    bank_setup = next((s for s in rails.setups if s.name == TREASURY), None)
    channel = (
        rails.treasury.channel(
            ledger, hooks=client.hooks, retry_budget=bank_setup.retry_budget if bank_setup else None
        )
        if rails.treasury is not None
        else None
    )
    bank_lock = asyncio.Lock()

    async def submit_bank(reqs: list[PayoutRequest]) -> None:
        """Record a file's worth of bank payouts and hand them to the channel (pain.001)."""
        assert channel is not None
        payouts = [
            p for p, _ in await asyncio.gather(*(ledger.create_or_get(client.new_payout(r)) for r in reqs))
        ]
        async with bank_lock:  # one file at a time: files are numbered and stored in order
            rep = await channel.submit(payouts)
        tally["submitted(bank)"] += rep.submitted
        tally["failed"] += len(rep.failed_before_sending)
        if on_update is not None:
            on_update(tally, total)

    try:
        async with client, rails.running():
            rails.begin_period(_period_of(approved))
            already = await _check_ledger_within_run(ledger, approved)
            if already and not resume:
                raise AlreadyStarted(
                    f"run {run_id} was already started ({already} payouts in the ledger); continue it with "
                    f"'asxh-pay run {run_id} --resume'"
                )
            if resume:
                result.resumed = sum(n for s, n in (await ledger.counts(run_id)).items() if not s.is_terminal)
                if channel is not None:
                    rep = await channel.resume()  # files stored but never acknowledged: the same bytes
                    result.errors.extend(f"batch {b}: {e}" for b, e in rep.not_uploaded)

            async def checked(chunk: list[PayoutRequest]) -> list[PayoutRequest]:
                """Ask the register about one chunk; record the stopped ones; return the rest."""
                stops = await _register_stops(registry, chunk)
                go: list[PayoutRequest] = []
                for req in chunk:
                    stop = _applicable_stop(req, stops)
                    if stop is None:
                        go.append(req)
                        continue
                    payout = await _stop(client, req, stop)
                    if payout.status is PayoutStatus.CANCELLED:
                        result.stopped.append((payout.id, mask_cccd(req.beneficiary.cccd), stop.detail))
                        tally["stopped"] += 1
                    elif payout.status in (PayoutStatus.FAILED, PayoutStatus.RETURNED) and not any(
                        c.status in _MONEY_OUT for c in await client.ledger.children(payout.id)
                    ):
                        pass  # sent, but no money stayed out, nor went by cash: nothing to recover
                    else:  # already sent before the register changed: a person must recover it
                        result.errors.append(
                            f"{payout.id}: {stop.detail} recorded after the payout was sent "
                            f"({payout.status.value}); recover it by hand"
                        )
                return go

            chunks = _chunks(approved)
            first = next(chunks, [])
            ready = await checked(first)
            bank: list[PayoutRequest] = []
            bank_tasks: list[asyncio.Task[None]] = []

            def to_bank(req: PayoutRequest) -> bool:
                # By declaration, not by name: a provider whose default submission is a
                # file goes through the engine's file path, in files, not one by one.
                if not _by_file(client, channel, rails.router.provider_for_request(req)):
                    return False
                bank.append(req)
                if len(bank) >= FILE_SIZE:
                    bank_tasks.append(asyncio.create_task(submit_bank(bank[:])))
                    bank.clear()
                return True

            async def stream() -> AsyncIterator[PayoutRequest]:
                # The next chunk is checked while this one is paid, so that pay_many's workers never
                # wait on the register (a wait there would stagger them and defeat the ledger's group
                # commit); each chunk is still checked only moments before it is sent. Bank payouts
                # leave the stream for the Treasury channel: they go in files, not one by one.
                current = ready
                while True:
                    nxt = next(chunks, None)
                    task = asyncio.ensure_future(checked(nxt)) if nxt else None
                    for req in current:
                        if not to_bank(req):
                            yield req
                    if task is None:
                        return
                    current = await task

            # wait=False: cash is collected over days; the month is finished below, once.
            summary = await client.pay_many(stream(), concurrency=concurrency, on_result=note, wait=False)
            result.errors.extend(m for _, m in summary.errors)
            if bank:
                bank_tasks.append(asyncio.create_task(submit_bank(bank[:])))
            for outcome in await asyncio.gather(*bank_tasks, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    result.errors.append(f"bank file: {type(outcome).__name__}: {outcome}")
            bank_tasks.clear()
            release_free_memory()  # the month close starts from what is live, not the paying's peak
            result.errors.extend(
                await finish_month(
                    client,
                    rails,
                    channel,
                    run_id,
                    concurrency=concurrency,
                    on_round=on_close,
                )
            )
            result.counts = {s.value: n for s, n in (await ledger.counts(run_id)).items()}
    finally:
        if channel is not None:
            await channel.aclose()
    result.elapsed_s = time.perf_counter() - started
    return result


def _by_file(client: AsyncPayoutClient, channel: TreasuryChannel | None, provider: str | None) -> bool:
    """Whether ``provider``'s payouts go through the engine's file path: it submits files by
    default (its first declared submission) and the run has a file channel for it."""
    if channel is None or provider is None or provider != channel.adapter.name:
        return False
    return client.adapter(provider).capabilities.submissions[0].shape is SubmitShape.FILE


_OPEN = [PayoutStatus.CREATED, PayoutStatus.SUBMITTED, PayoutStatus.UNKNOWN, PayoutStatus.PROCESSING]
# A payout in one of these may have put money in someone's hands.
_MONEY_OUT = frozenset(
    {PayoutStatus.SUBMITTED, PayoutStatus.UNKNOWN, PayoutStatus.PROCESSING, PayoutStatus.SUCCEEDED}
)


async def finish_month(
    client: AsyncPayoutClient,
    rails: Rails,
    channel: TreasuryChannel | None,
    run_id: str,
    *,
    concurrency: int = 128,
    rounds: int = 4,
    on_round: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Let the month pass until every payout of the run is final; returns masked errors.

    Each round: the bank files not acknowledged are resent (same bytes) and bank
    payouts still ``created`` are filed; the bank runs its days and its reports are
    applied; the cash window passes (pickups, visits, no-shows, all by callback); then
    every payout still open is asked about once (never resent blind) and every failed
    or returned one that wants cash gets its one fallback (the engine's
    ``_after_terminal``, through :meth:`AsyncPayoutClient.drive`). A fallback made in a
    round is paid in the next round's window.

    The client's ``before_fallback`` (the register, in :func:`execute_run`) is asked before
    each fallback leaves, here as in the paying phase.
    """
    ledger = client.ledger
    errors: list[str] = []
    for done in range(rounds):
        if on_round is not None:
            on_round(done, rounds)
        if channel is not None and rails.treasury is not None:
            rep = await channel.resume()
            errors.extend(f"batch {b}: {e}" for b, e in rep.not_uploaded)
            created = [
                p
                async for p in ledger.iter_payouts(statuses=[PayoutStatus.CREATED], run_id=run_id)
                if _by_file(client, channel, p.provider)
            ]
            if created:
                rep = await channel.submit(created)
                errors.extend(f"batch {b}: {e}" for b, e in rep.not_uploaded)
            await rails.treasury.pass_days(channel)
        await rails.pass_cash_window()
        await rails.deliver_callbacks()

        async def one(p: Payout) -> None:
            try:
                if p.status is PayoutStatus.PROCESSING:
                    p = await client.refresh(p)
                await client.drive(p, wait=False)
            except AsxhPayError as exc:
                errors.append(f"{p.id}: {type(exc).__name__}: {exc}")

        # Streamed from the ledger, never listed: a province's month leaves a hundred
        # thousand cash payouts open through the window.
        if not await drain(client.iter_unfinished(run_id=run_id), one, concurrency=concurrency):
            break
    else:
        left = sum([1 async for _ in ledger.iter_payouts(statuses=_OPEN, run_id=run_id)])
        if left:
            errors.append(f"{left} payouts still open after {rounds} rounds; resume the run later")
    if on_round is not None:
        on_round(rounds, rounds)
    return errors


def _period_of(approved: ApprovedRun) -> str:
    for p in approved.payouts():
        return p.request.period
    return datetime.now(UTC).strftime("%Y-%m")


def _fallback_guard(registry: PopulationRegistry, stopped: list[tuple[str, str, str]]) -> FallbackCheck:
    """The engine's ``before_fallback``: the register is asked again before cash leaves.

    Why again: it was asked just before the electronic payment left, but a fallback leaves
    later (moments later after a wallet's decline, days later after a bank's return), and
    a death or an ended entitlement recorded meanwhile must stop the cash too.
    """

    async def check(parent: Payout, fallback: Payout) -> tuple[FailureReason, str] | None:
        stop = _applicable_stop(parent.request, await _register_stops(registry, [parent.request]))
        if stop is None:
            return None
        stopped.append((fallback.id, mask_cccd(parent.request.beneficiary.cccd), stop.detail))
        return stop.reason, stop.detail

    return check


async def _register_stops(
    registry: PopulationRegistry, requests: list[PayoutRequest]
) -> dict[str, list[Stop]]:
    """What the register says now of these requests' beneficiaries and authorised persons."""
    cccds = sorted({c for r in requests for c in (r.beneficiary.cccd, r.recipient.cccd) if c})
    return await registry.check_batch(cccds)


def _chunks(approved: ApprovedRun) -> Iterator[list[PayoutRequest]]:
    chunk: list[PayoutRequest] = []
    for p in approved.payouts():
        chunk.append(p.request)
        if len(chunk) >= BATCH:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _applicable_stop(req: PayoutRequest, stops: dict[str, list[Stop]]) -> Stop | None:
    for stop in stops.get(req.beneficiary.cccd, []):
        if stop.applies_to(req.programme):
            return stop
    if req.recipient.cccd:
        for stop in stops.get(req.recipient.cccd, []):
            if stop.reason is FailureReason.BENEFICIARY_DECEASED:
                return Stop(
                    stop.cccd,
                    FailureReason.AUTHORISATION_INVALID,
                    f"the authorised person/guardian {stop.detail}",
                )
    return None


def describe(result: ExecutionResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "ledger_counts": result.counts,
        "stopped": len(result.stopped),
        "errors": result.errors[:20],
        "resumed": result.resumed,
        "elapsed_s": round(result.elapsed_s, 2),
    }
