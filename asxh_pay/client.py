"""The one payout interface: ``AsyncPayoutClient`` and its synchronous twin.

How a payout travels (every arrow that leaves the process is recorded first)::

    request -> key -> ledger.create_or_get            (write-ahead, exactly once)
            -> ledger: submitted, attempt n           (before the request leaves)
            -> provider.build_submit, signed, sent    (retry only if provably not processed)
               accepted -> processing -> poll/callback -> succeeded | failed
               ambiguous -> unknown -> status query   (never resent blind)
            -> failed electronically -> cash fallback (same lineage, new key)

Why the sync client wraps the async one: one implementation of every rule. The sync
client owns a private event loop thread; its methods block on that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import httpx

from asxh_pay.engine.applying import OUTCOME_STATUS, Applier
from asxh_pay.engine.applying import Hook as Hook  # re-exported: its old home
from asxh_pay.engine.batches import group_within, send_batch
from asxh_pay.engine.sending import Lane
from asxh_pay.engine.sending import ProviderSetup as ProviderSetup  # re-exported: its old home
from asxh_pay.errors import (
    AsxhPayError,
    ConfigurationError,
    FallbackCheckFailed,
    LedgerError,
    OutcomeUnknown,
    ProviderError,
    ProviderProtocolError,
    TransportError,
    WebhookVerificationError,
)
from asxh_pay.ledger.base import Ledger, TransitionResult
from asxh_pay.masking import get_logger, mask_text
from asxh_pay.models import (
    KEY_NAMESPACE_DEFAULT,
    EventSource,
    Payout,
    PayoutRequest,
    StatusEvent,
    new_payout_id,
)
from asxh_pay.providers.base import (
    CallbackEvent,
    InquiryResult,
    ProviderAdapter,
    ProviderOutcome,
    ProviderResult,
    SubmitShape,
)
from asxh_pay.retry import RetryPolicy
from asxh_pay.routing import Router
from asxh_pay.status import FailureReason, PayoutStatus

log = get_logger("asxh_pay")

T = TypeVar("T")
R = TypeVar("R")

#: Payouts whose end is not known yet: ``resume`` asks about them (never resends blind).
_UNFINISHED = (PayoutStatus.CREATED, PayoutStatus.SUBMITTED, PayoutStatus.UNKNOWN, PayoutStatus.PROCESSING)

#: How many "not found" answers, the last one after the confirmation window, before a resend.
NOT_FOUND_QUERIES = 3
#: The shortest confirmation window of a provider that does not deduplicate by key.
NON_DEDUPING_GRACE_S = 30.0


@dataclass(frozen=True)
class PollPolicy:
    """How often to ask a provider about a payout it accepted, and for how long.

    The first check comes after ``initial_s``, then the delay grows by ``multiplier``
    up to ``max_s``. After ``deadline_s`` the payout is left ``processing`` in the
    ledger (never dropped): ``resume()`` picks it up later.

    ``not_found_grace_s`` is an operator's floor on top of each provider's declared
    :attr:`~asxh_pay.providers.base.Capabilities.not_found_grace_s` (the longer wins):
    how long "not found" must persist after an ambiguous send before the payout is sent
    again. It can lengthen a provider's confirmation window, never shorten it.
    """

    initial_s: float = 0.5
    multiplier: float = 2.0
    max_s: float = 60.0
    deadline_s: float = 3600.0
    not_found_grace_s: float = 0.0


FallbackCheck = Callable[[Payout, Payout], Awaitable["tuple[FailureReason, str] | None"]]
"""Asked with (failed payout, its unsent cash fallback): ``(reason, detail)`` stops the fallback."""


@dataclass
class BatchSummary:
    """What ``pay_many`` did: counts by final status and the payouts that need a person."""

    counts: Counter[str] = field(default_factory=Counter)
    amount_by_status: Counter[str] = field(default_factory=Counter)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (index, masked message)
    payouts: list[Payout] = field(default_factory=list)

    def add(self, payout: Payout) -> None:
        self.counts[payout.status.value] += 1
        self.amount_by_status[payout.status.value] += payout.amount

    @property
    def total(self) -> int:
        return sum(self.counts.values()) + len(self.errors)


class AsyncPayoutClient:
    """Pay beneficiaries through configured providers, exactly once per entitlement."""

    def __init__(
        self,
        ledger: Ledger,
        providers: Sequence[ProviderSetup],
        *,
        router: Router | None = None,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        key_namespace: bytes = KEY_NAMESPACE_DEFAULT,
        hooks: Sequence[Hook] = (),
        verify_before_pay: bool = False,
        before_fallback: FallbackCheck | None = None,
    ) -> None:
        """``before_fallback`` is asked about the failed payout before its cash fallback's
        first send, whoever drives it (``pay``, ``resume``, a worker, a month close).

        Why: a fallback leaves minutes or days after the checks made before the first
        send (a bank's return arrives days later), and what stops a payment (a death in
        the population register, an entitlement ended) may have changed meanwhile. A stop
        records the fallback as ``cancelled`` with that reason, so nothing can pay it later.
        """
        if not providers:
            raise ConfigurationError("at least one provider is needed")
        self.ledger = ledger
        self._setups = {p.name: p for p in providers}
        if len(self._setups) != len(providers):
            raise ConfigurationError("two providers share one name")
        self.router = router or _default_router(providers)
        for name in [*self.router.routes.values(), self.router.fallback_provider]:
            if name is not None and name not in self._setups:
                raise ConfigurationError(f"route to unknown provider {name!r}")
        self.retry = retry or RetryPolicy()
        self.poll = poll or PollPolicy()
        self.key_namespace = key_namespace
        self.hooks = list(hooks)
        self.verify_before_pay = verify_before_pay
        self.before_fallback = before_fallback
        self._rt: dict[str, Lane] = {}
        self._applier = Applier(ledger, self.hooks, on_change=self._wake)
        self._inflight: dict[str, asyncio.Future[Payout]] = {}
        self._creating: dict[str, asyncio.Future[None]] = {}
        self._watchers: dict[str, asyncio.Event] = {}
        self._opened_ledger = False

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> AsyncPayoutClient:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        if self._rt:
            return
        await self.ledger.open()
        for name, setup in self._setups.items():
            self._rt[name] = Lane(setup, self.retry)

    async def close(self) -> None:
        for rt in self._rt.values():
            await rt.aclose()
        self._rt.clear()
        await self.ledger.close()

    def adapter(self, name: str) -> ProviderAdapter:
        try:
            return self._setups[name].adapter
        except KeyError:
            raise ConfigurationError(f"unknown provider {name!r}") from None

    # ------------------------------------------------------------------ public API

    def new_payout(self, request: PayoutRequest, *, provider: str | None = None) -> Payout:
        """The payout object for a request (not yet recorded).

        Built with ``model_construct``: every field is either the already validated
        request or a value made here, so validating again would only cost time.
        """
        now = datetime.now(UTC)
        return Payout.model_construct(
            id=new_payout_id(),
            idempotency_key=request.key(self.key_namespace),
            payload_hash=request.payload_hash(),
            request=request,
            status=PayoutStatus.CREATED,
            provider=provider or self.router.provider_for_request(request),
            provider_ref=None,
            attempts=0,
            failure_reason=None,
            failure_detail=None,
            parent_id=None,
            lineage_depth=0,
            created_at=now,
            updated_at=now,
        )

    async def pay(self, request: PayoutRequest, *, wait: bool = True) -> Payout:
        """Pay one request. Returns the payout in its latest known state.

        Safe to call again with the same request (rerun, duplicate row, second
        channel): the original payout is returned and driven on, never paid twice.
        With ``wait=False`` it returns once the provider has accepted the payout.
        """
        payout = self.new_payout(request)
        key = payout.idempotency_key
        creating = self._creating.get(key)
        if creating is not None:
            # Another caller in this process is recording this payout with its first
            # attempt: wait until its drive is registered, then join it. Otherwise this
            # caller would find a 'submitted' payout nobody here is sending and treat it
            # as a send in flight elsewhere (waiting out its confirmation window).
            await asyncio.shield(creating)
        mine: asyncio.Future[None] | None = None
        if key not in self._creating and key not in self._inflight:
            mine = self._creating[key] = asyncio.get_running_loop().create_future()
        try:
            # A payout that can be sent at once is recorded with its first attempt, in one
            # durable write (the write-ahead of that send). Otherwise the creation is not
            # awaited to disk here: whatever comes next is, and commits are ordered.
            at_once = self._sendable_at_once(payout)
            payout, created = await self.ledger.create_or_get(payout, durable=False, submit=at_once)
        finally:
            if mine is not None:
                del self._creating[key]
                mine.set_result(None)  # waiters wake after _single_flight below registered
        recorded = created and payout.status is PayoutStatus.SUBMITTED
        return await self._single_flight(payout, wait=wait, recorded=recorded)

    def _sendable_at_once(self, payout: Payout) -> bool:
        """Whether the first send needs no check that could stop it (limits, an inquiry)."""
        rt = self._rt.get(payout.provider or "")
        if rt is None:
            return False
        adapter = rt.setup.adapter
        return _static_refusal(payout, adapter) is None and not (
            self.verify_before_pay and adapter.capabilities.inquiry
        )

    async def pay_many(
        self,
        requests: Iterable[PayoutRequest] | AsyncIterable[PayoutRequest],
        *,
        concurrency: int = 64,
        keep_payouts: bool = False,
        on_result: Callable[[int, Payout | BaseException], None] | None = None,
        wait: bool = True,
    ) -> BatchSummary:
        """Pay many requests with at most ``concurrency`` in flight (plus per-provider limits).

        One bad request (validation, conflict) is reported in the summary and never
        stops the others. ``wait=False`` as for :meth:`pay`: a payout the provider
        accepted is not waited for (cash that takes days to be collected).

        Keep ``concurrency`` about twice the providers' own limits (as the defaults
        are): each payout's write-ahead record waits for a disk sync, and the extra
        payouts keep the providers busy meanwhile.
        """
        summary = BatchSummary()
        source = _aiter_enumerate(requests) if isinstance(requests, AsyncIterable) else enumerate(requests)

        async def one(item: tuple[int, PayoutRequest]) -> None:
            idx, req = item
            try:
                payout = await self.pay(req, wait=wait)
            except AsxhPayError as exc:
                summary.errors.append((idx, f"{type(exc).__name__}: {exc}"))
                if on_result:
                    on_result(idx, exc)
                return
            summary.add(payout)
            if keep_payouts:
                summary.payouts.append(payout)
            if on_result:
                on_result(idx, payout)

        await drain(source, one, concurrency=concurrency)
        return summary

    async def submit_batches(self, payouts: Sequence[Payout]) -> list[Payout]:
        """Send recorded payouts in batches, each through its provider's declared batch
        submission (MoMo's batch API); their latest copies, in no particular order.

        Why here: a batch shares everything with a single payout but the request. It is
        grouped within the declared limit (:func:`~asxh_pay.engine.batches.group_within`),
        each payout's attempt is recorded before it leaves, it is sent through the same
        loop (semaphore, rate limit, retry budget, backoff), and each item's result is
        applied as a single answer is (hooks, echoed amounts checked). What a batch left
        ``unknown`` or ``submitted`` is resolved one payout at a time by :meth:`resume`.
        A payout its provider cannot carry fails before sending, as in :meth:`pay`.
        """
        by_provider: dict[str, list[Payout]] = {}
        for p in payouts:
            rt = self._runtime(p.provider)
            if rt.setup.adapter.capabilities.submission(SubmitShape.BATCH) is None:
                raise ConfigurationError(f"provider {rt.name} declares no batch submission")
            by_provider.setdefault(rt.name, []).append(p)
        out: list[Payout] = []
        for name, members in by_provider.items():
            rt = self._rt[name]
            adapter = rt.setup.adapter
            sendable: list[Payout] = []
            for p in members:
                refusal = await self._refusal(p, adapter)
                if refusal is not None:
                    out.append(await self._fail_without_sending(p, *refusal))
                else:
                    sendable.append(p)
            declared = adapter.capabilities.submission(SubmitShape.BATCH)
            assert declared is not None  # checked above
            for chunk in group_within(sendable, declared):
                done = await send_batch(rt, self._applier, chunk, vet=partial(_vet_for, adapter.name))
                out.extend(done.payouts)
                out.extend(done.skipped)
        return out

    async def status(self, payout_id_or_key: str) -> Payout:
        payout = await self.ledger.get(payout_id_or_key) or await self.ledger.get_by_key(payout_id_or_key)
        if payout is None:
            raise AsxhPayError(f"no payout {payout_id_or_key!r}")
        return payout

    async def refresh(self, payout: Payout) -> Payout:
        """Ask the provider once and record what it says."""
        result = await self._query(payout)
        return await self._apply(payout, result, EventSource.POLL)

    async def wait(self, payout_id: str, *, timeout_s: float | None = None) -> Payout:
        """Drive a payout to a terminal state (polling, or woken by a callback)."""
        payout = await self.status(payout_id)
        coro = self._single_flight(payout, wait=True)
        if timeout_s is None:
            return await coro
        try:
            return await asyncio.wait_for(coro, timeout_s)
        except TimeoutError:
            return await self.status(payout_id)

    async def resume(self, *, run_id: str | None = None, concurrency: int = 64) -> BatchSummary:
        """Drive every non-terminal payout to its end by asking providers first.

        Used after a crash or a stop: a payout left ``submitted`` or ``unknown`` may
        have reached the provider, so it is queried, never resubmitted blind.
        """
        summary = BatchSummary()

        async def one(p: Payout) -> None:
            try:
                summary.add(await self._single_flight(p, wait=True))
            except AsxhPayError as exc:
                summary.errors.append((0, f"{p.id}: {type(exc).__name__}: {exc}"))

        await drain(self.iter_unfinished(run_id=run_id), one, concurrency=concurrency)
        return summary

    async def iter_unfinished(self, *, run_id: str | None = None) -> AsyncIterator[Payout]:
        """Every payout ``resume`` drives: not terminal, then failed ones whose cash fallback
        is due. Read from the ledger a page at a time, never as one list (a province's run
        leaves a hundred thousand cash payouts open for days)."""
        async for p in self.ledger.iter_payouts(statuses=_UNFINISHED, run_id=run_id):
            yield p
        # Failed payouts whose fallback was never created (crash between the two) too.
        async for p in self.iter_fallbacks_due(run_id=run_id):
            yield p

    async def fallbacks_due(self, *, run_id: str | None = None) -> list[Payout]:
        """Failed payouts that should have a cash fallback and have none yet.

        A driver makes the fallback the moment it learns of the failure. One is due
        here when nobody was driving (a failure reported by a callback or a single
        refresh) or after a crash between the two. Driving such a payout makes it.
        """
        return [p async for p in self.iter_fallbacks_due(run_id=run_id)]

    async def iter_fallbacks_due(self, *, run_id: str | None = None) -> AsyncIterator[Payout]:
        """:meth:`fallbacks_due`, streamed from the ledger a page at a time."""
        router = self.router
        async for p in self.ledger.iter_payouts(
            statuses=router.fallback_statuses, run_id=run_id, childless=True
        ):
            if router.cash_destination(p) is not None:
                yield p

    async def drive(self, payout: Payout, *, wait: bool = True) -> Payout:
        """Drive one recorded payout to its end, as ``resume`` does for each.

        Why public: workers that claim payouts from a shared ledger hand each one
        here. A payout left ``submitted``/``unknown``/``processing`` is queried first,
        never resubmitted blind; one left ``created`` is sent. With ``wait=False`` it
        returns once the provider has accepted it (a failed payout's cash fallback is
        still created and sent).
        """
        return await self._single_flight(payout, wait=wait)

    async def verify_account(self, request: PayoutRequest) -> InquiryResult:
        """Account/name inquiry through the provider that would pay this request."""
        payout = self.new_payout(request)
        rt = self._runtime(payout.provider)
        adapter = rt.setup.adapter
        if not adapter.capabilities.inquiry:
            raise ConfigurationError(f"provider {adapter.name} offers no account/name inquiry")
        return await self._send_with_retry(
            rt,
            lambda: adapter.build_inquiry(payout),
            lambda r: adapter.parse_inquiry(payout, r),
            status_query=True,
        )

    async def cancel(self, payout_id: str, *, operator: str, note: str = "") -> Payout:
        """Cancel a payout that has not been sent; ask the provider if it has."""
        payout = await self.status(payout_id)
        if payout.status is PayoutStatus.CREATED:
            res = await self.ledger.transition(
                payout,
                PayoutStatus.CANCELLED,
                source=EventSource.OPERATOR,
                reason=FailureReason.CANCELLED_BY_OPERATOR,
                detail=f"{operator}: {note}"[:200],
            )
            return res.payout
        rt = self._runtime(payout.provider)
        adapter = rt.setup.adapter
        if not adapter.capabilities.cancel:
            raise ConfigurationError(f"provider {adapter.name} cannot cancel a sent payout")
        result = await self._send_with_retry(
            rt,
            lambda: adapter.build_cancel(payout),
            lambda r: _vetted(payout, adapter.parse_cancel(payout, r), adapter.name),
        )
        return await self._apply(payout, result, EventSource.OPERATOR)

    async def handle_callback(self, provider: str, request: httpx.Request) -> httpx.Response:
        """Verify and apply a provider callback; returns the acknowledgement to send back.

        Raises :class:`~asxh_pay.errors.WebhookVerificationError` (nothing changed)
        for a forged, stale, malformed or replayed callback, and for one about a
        payout that is not ``provider``'s (code ``foreign_payout``) or names another
        provider reference than the one recorded (code ``reference_mismatch``), or
        another amount (code ``amount_mismatch``). A replay (code ``replayed``: a
        callback id this process already processed) changes nothing: code that calls
        this gets the error, and :func:`asxh_pay.receiver.callback_handler` answers it
        2xx so the provider stops redelivering. A callback naming no payout of the
        ledger is acknowledged and logged.

        Why scoped to ``provider``: the key that verified the callback is that
        provider's; a callback must not move a payout sent through another provider,
        whose key it never held, even if it names that payout's idempotency key.
        """
        adapter = self.adapter(provider)
        event: CallbackEvent = adapter.parse_callback(request)
        try:
            payout = None
            if event.idempotency_key:
                payout = await self.ledger.get_by_key(event.idempotency_key)
                if payout is not None and payout.provider != provider:
                    self._refuse_callback(provider, event, payout, "foreign_payout")
            if payout is None and event.provider_ref:
                payout = await self.ledger.get_by_provider_ref(provider, event.provider_ref)
            if payout is None:
                log.warning("callback %s from %s names no known payout", event.callback_id, provider)
            else:
                if (
                    payout.provider_ref is not None
                    and event.provider_ref is not None
                    and event.provider_ref != payout.provider_ref
                ):
                    self._refuse_callback(provider, event, payout, "reference_mismatch")
                if event.result.amount is not None and event.result.amount != payout.amount:
                    self._refuse_callback(provider, event, payout, "amount_mismatch")
                # Applied before it is remembered: if applying fails, the provider's
                # redelivery must be processed, not dropped as a duplicate. A repeat that
                # does get through changes nothing (the state machine ignores it).
                await self._apply(payout, event.result, EventSource.CALLBACK)
            await self.ledger.remember_callback(provider, event.callback_id)
        except BaseException:
            adapter.forget_callback(event.callback_id)
            raise
        return event.ack

    @staticmethod
    def _refuse_callback(provider: str, event: CallbackEvent, payout: Payout, code: str) -> None:
        """Refuse a verified callback that is not about this provider's payout (logged masked)."""
        log.warning(
            "refused a %s callback %s about payout %s (provider %s, ref %s): %s",
            provider,
            mask_text(event.callback_id),
            payout.id,
            payout.provider,
            mask_text(event.provider_ref or "-"),
            code,
        )
        raise WebhookVerificationError(f"callback refused: {code.replace('_', ' ')}", code=code)

    # ------------------------------------------------------------------ driving

    async def _single_flight(self, payout: Payout, *, wait: bool, recorded: bool = False) -> Payout:
        """One driver per payout in this process; a second caller awaits the first.

        ``recorded``: the ledger already holds this payout's first attempt, written by
        this caller with the payout itself; the request has not left yet.
        """
        key = payout.idempotency_key
        running = self._inflight.get(key)
        if running is not None:
            return await asyncio.shield(running)
        fut: asyncio.Future[Payout] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            result = await self._drive(payout, wait=wait, recorded=recorded)
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved: the caller re-raises it below
            raise
        else:
            fut.set_result(result)
            return result
        finally:
            del self._inflight[key]

    async def _drive(self, payout: Payout, *, wait: bool, recorded: bool = False) -> Payout:
        started = time.monotonic()
        while True:
            status = payout.status
            if status is PayoutStatus.CREATED and payout.parent_id is not None:
                payout = await self._fallback_still_due(payout)
                if payout.status is PayoutStatus.CREATED and self.before_fallback:
                    payout = await self._fallback_cleared(payout)
                if payout.status is not PayoutStatus.CREATED:
                    continue  # stopped (or sent meanwhile by another driver): follow what it is now
            if status is PayoutStatus.CREATED or (recorded and status is PayoutStatus.SUBMITTED):
                payout = await self._submit(payout, recorded=recorded)
                recorded = False
                if not wait and payout.status is PayoutStatus.PROCESSING:
                    return payout
            elif status in (PayoutStatus.SUBMITTED, PayoutStatus.UNKNOWN):
                payout = await self._resolve(payout)
            elif status is PayoutStatus.PROCESSING:
                if not wait:
                    return payout
                polled = await self._poll(payout, started)
                if polled.status is PayoutStatus.PROCESSING:
                    return polled  # deadline reached: left for resume()
                payout = polled
            else:
                return await self._after_terminal(payout, wait=wait)

    async def _after_terminal(self, payout: Payout, *, wait: bool) -> Payout:
        child = await self.fallback_for(payout)
        if child is None:
            return payout
        return await self._single_flight(child, wait=wait)

    async def _fallback_still_due(self, child: Payout) -> Payout:
        """Cancel an unsent fallback whose parent was found delivered (late truth).

        Checked after the fallback was made and before its first send: a late success
        recorded between the two would otherwise miss it (the late-truth path cancels the
        fallbacks it can see; this one catches a fallback made from a stale copy).
        """
        parent = await self.ledger.get(child.parent_id or "")
        if parent is None or parent.status is not PayoutStatus.SUCCEEDED:
            return child
        res = await self.ledger.transition(
            child,
            PayoutStatus.CANCELLED,
            source=EventSource.SYSTEM,
            reason=FailureReason.DUPLICATE,
            detail=f"payout {parent.id} is {parent.status.value}: cash fallback not sent",
            only_from=PayoutStatus.CREATED,
        )
        self._notify(res, EventSource.SYSTEM)
        return res.payout

    async def _fallback_cleared(self, child: Payout) -> Payout:
        """Ask ``before_fallback`` about an unsent fallback; a stop cancels it for good.

        Asked on every drive of a fallback still ``created``, not only where it is made:
        a crash between making a fallback and sending it leaves it for ``resume``, a
        worker or the month close to send, and they must ask too.
        """
        assert self.before_fallback is not None
        parent = await self.ledger.get(child.parent_id or "")
        if parent is None:
            raise LedgerError(f"fallback {child.id} names a parent the ledger does not hold")
        try:
            stop = await self.before_fallback(parent, child)
        except AsxhPayError:
            raise
        except Exception as exc:  # a register that is down: nothing leaves, ask again later
            # Masked: a register's message may quote the person's CCCD.
            raise FallbackCheckFailed(f"fallback {child.id} not sent: {mask_text(_describe(exc))}") from exc
        if stop is None:
            return child
        reason, detail = stop
        res = await self.ledger.transition(
            child,
            PayoutStatus.CANCELLED,
            source=EventSource.SYSTEM,
            reason=reason,
            detail=f"cash fallback stopped before sending: {detail}",
            only_from=PayoutStatus.CREATED,
        )
        self._notify(res, EventSource.SYSTEM)
        return res.payout  # cancelled, or moved on by another driver that sent it meanwhile

    async def fallback_for(self, payout: Payout) -> Payout | None:
        """The cash fallback of a payout that ended badly, recorded but not sent; None if none is due.

        Why public: the payroll asks the population register once more before a fallback
        leaves, and records a stopped one as its own cancelled payout. Made at most once
        per payout (its key derives from the parent's), whoever asks.
        """
        fallback = self.router.cash_destination(payout)
        if fallback is None:
            return None
        existing = await self.ledger.children(payout.id)
        if not existing:
            # A copy read before a late success was recorded must not make a fallback.
            fresh = await self.ledger.get(payout.id)
            if fresh is None or self.router.cash_destination(fresh) is None:
                return None
        if existing:
            return existing[0]
        depth = payout.lineage_depth + 1
        request = payout.request.model_copy(
            update={"destination": fallback, "idempotency_key": None, "cash_fallback": None}
        )
        now = datetime.now(UTC)
        child = Payout(
            id=new_payout_id(),
            idempotency_key=_fallback_key(payout.idempotency_key, depth),
            payload_hash=request.payload_hash(),
            request=request,
            provider=self.router.fallback_provider,
            parent_id=payout.id,
            lineage_depth=depth,
            created_at=now,
            updated_at=now,
        )
        child, _ = await self.ledger.create_or_get(child)
        log.info("payout %s failed (%s): cash fallback %s", payout.id, payout.failure_reason, child.id)
        return child

    async def _submit(self, payout: Payout, *, recorded: bool = False) -> Payout:
        rt = self._runtime(payout.provider)
        adapter = rt.setup.adapter
        if not recorded:  # a recorded attempt passed these checks first (_sendable_at_once)
            refusal = await self._refusal(payout, adapter)
            if refusal is not None:
                return await self._fail_without_sending(payout, *refusal)
        current = payout

        def build() -> httpx.Request:
            return adapter.build_submit(current)

        def parse(response: httpx.Response) -> ProviderResult:
            return _vetted(current, adapter.parse_submit(current, response), adapter.name)

        first_recorded = recorded

        async def before_send() -> None:
            nonlocal current, first_recorded
            if first_recorded:  # written with the payout, durably
                first_recorded = False
                return
            # Write-ahead: the attempt is durable before the request leaves. Recorded only
            # if no other driver recorded one since this copy was read (compare-and-set
            # on the attempt count): two sends of one payout are never in flight at once.
            res = await self.ledger.transition(
                current,
                PayoutStatus.SUBMITTED,
                source=EventSource.SYSTEM,
                provider=adapter.name,
                count_attempt=True,
                expect_attempts=current.attempts,
            )
            current = res.payout
            if not res.recorded:
                # Another driver recorded an attempt meanwhile: it is (or was) in flight.
                raise _NotSendable(current)
            if current.status is not PayoutStatus.SUBMITTED:
                raise _NotSendable(current)  # another driver already moved it on

        rt.setup.retry_budget.deposit()
        try:
            result = await self._send_with_retry(rt, build, parse, before_send=before_send)
        except _NotSendable as stop:
            return stop.payout
        except (OutcomeUnknown, ProviderProtocolError) as exc:
            res = await self.ledger.transition(
                current, PayoutStatus.UNKNOWN, source=EventSource.RESPONSE, detail=_describe(exc)
            )
            return res.payout
        except (TransportError, ProviderError) as exc:
            # Provably not processed, but retries are spent: leave it for resume().
            log.warning("payout %s not sent after retries: %s", current.id, _describe(exc))
            raise
        if result.outcome is ProviderOutcome.NOT_FOUND:
            res = await self.ledger.transition(
                current, PayoutStatus.UNKNOWN, source=EventSource.RESPONSE, detail="submit answered not found"
            )
            return res.payout
        return await self._apply(current, result, EventSource.RESPONSE)

    async def _refusal(self, payout: Payout, adapter: ProviderAdapter) -> tuple[FailureReason, str] | None:
        """Why this payout must fail before any request leaves, or None to send it."""
        refusal = _static_refusal(payout, adapter)
        if refusal is not None:
            return refusal
        if self.verify_before_pay and adapter.capabilities.inquiry:
            inquiry = await self.verify_account(payout.request)
            if not inquiry.accepted:
                reason = inquiry.reason or (
                    FailureReason.NAME_MISMATCH if inquiry.exists else FailureReason.INVALID_ACCOUNT
                )
                return reason, f"inquiry: {inquiry.name_match.value if inquiry.name_match else 'no account'}"
        return None

    async def _fail_without_sending(self, payout: Payout, reason: FailureReason, detail: str) -> Payout:
        res = await self.ledger.transition(
            payout, PayoutStatus.FAILED, source=EventSource.SYSTEM, reason=reason, detail=detail
        )
        return res.payout

    async def _resolve(self, payout: Payout) -> Payout:
        """A payout that may or may not have reached the provider: ask, then decide.

        Why it waits before sending again (issue 13, hazards 1 and 2): a status endpoint
        can answer "not found" for a transfer booked moments ago (a read replica, an
        eventually consistent index), and a provider can book one key twice when two
        requests with it arrive close together. So "not found" is only believed once it
        has been answered :data:`NOT_FOUND_QUERIES` times, spread over the provider's
        confirmation window, the last one after the window closed. The window opens at
        the payout's last recorded change (its last attempt, or the ``unknown`` that
        ended it) and lasts the provider's ``not_found_grace_s``; when the last attempt
        is still ``submitted`` (another process may be sending it right now, slowly) it
        is longer by the send's timeout. The resend then records its attempt
        compare-and-set on the attempt count, so of two drivers only one sends; the
        other finds that attempt and waits out a new window. Same key, same bytes.
        """
        rt = self._runtime(payout.provider)
        fresh = await self.ledger.get(payout.id)
        if fresh is None:
            raise LedgerError(f"payout {payout.id} is not in the ledger")
        payout = fresh
        if payout.status not in (PayoutStatus.SUBMITTED, PayoutStatus.UNKNOWN):
            return payout  # moved on meanwhile: the driver follows what it is now
        grace = self._grace_s(rt)
        in_flight = rt.setup.timeout_s if payout.status is PayoutStatus.SUBMITTED else 0.0
        resend_at = payout.updated_at.timestamp() + in_flight + grace
        step = max(grace / (NOT_FOUND_QUERIES - 1), 0.001)
        deadline = time.monotonic() + self.poll.deadline_s
        seen = 0
        while True:
            result = await self._query(payout)
            if result.outcome is not ProviderOutcome.NOT_FOUND:
                return await self._apply(payout, result, EventSource.POLL)
            seen += 1
            now = time.time()
            if seen >= NOT_FOUND_QUERIES and now >= resend_at:
                latest = await self.ledger.get(payout.id)
                if latest is None:
                    raise LedgerError(f"payout {payout.id} is not in the ledger")
                if latest.status is not payout.status or latest.attempts != payout.attempts:
                    return latest  # another driver sent or settled it meanwhile
                log.info("payout %s still not found %.3gs after its send: sending it again", payout.id, grace)
                return await self._submit(latest)
            if time.monotonic() > deadline:
                return payout  # left for resume(), which asks again
            if now < resend_at:
                wait = min(step, resend_at - now)
            else:
                wait = min(step, max(self.poll.initial_s, 0.001))
            await asyncio.sleep(max(wait, 0.001))

    def _grace_s(self, rt: Lane) -> float:
        """A provider's confirmation window: its declaration, or the operator's longer floor.

        A provider that does not deduplicate by key gets at least
        :data:`NON_DEDUPING_GRACE_S`: a resend it cannot recognise pays again, so "not
        found" must have had longer to become true.
        """
        caps = rt.setup.adapter.capabilities
        floor = (
            self.poll.not_found_grace_s
            if caps.dedupes_by_key
            else max(self.poll.not_found_grace_s, NON_DEDUPING_GRACE_S)
        )
        return max(caps.not_found_grace_s, floor)

    async def _poll(self, payout: Payout, started: float) -> Payout:
        deadline = started + self.poll.deadline_s
        delay = self.poll.initial_s
        event = self._watchers.setdefault(payout.id, asyncio.Event())
        try:
            while True:
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(event.wait(), delay)
                if event.is_set():
                    event.clear()
                    fresh = await self.ledger.get(payout.id)
                    if fresh is not None and fresh.status is not PayoutStatus.PROCESSING:
                        return fresh
                result = await self._query(payout)
                payout = await self._apply(payout, result, EventSource.POLL)
                if payout.status is not PayoutStatus.PROCESSING:
                    return payout
                if time.monotonic() >= deadline:
                    return payout
                delay = min(self.poll.max_s, max(delay, 0.001) * self.poll.multiplier)
        finally:
            self._watchers.pop(payout.id, None)

    async def _query(self, payout: Payout) -> ProviderResult:
        rt = self._runtime(payout.provider)
        adapter = rt.setup.adapter

        return await self._send_with_retry(
            rt,
            lambda: adapter.build_status(payout),
            lambda r: _vetted(payout, adapter.parse_status(payout, r), adapter.name),
            status_query=True,
        )

    async def _apply(self, payout: Payout, result: ProviderResult, source: EventSource) -> Payout:
        if result.outcome is ProviderOutcome.NOT_FOUND:
            return payout
        # Not awaited to disk: what a provider told us it would tell us again after a
        # crash (the payout would be 'submitted' and resolved by a status query).
        done = await self._applier.apply(
            payout,
            OUTCOME_STATUS[result.outcome],
            source=source,
            reason=result.reason,
            detail=result.message or (f"code {result.code}" if result.code else None),
            provider_ref=result.provider_ref,
            durable=False,
        )
        return done[-1].payout

    def _notify(self, res: TransitionResult, source: EventSource) -> None:
        """Wake a poller when a callback moved its payout; tell the hooks."""
        self._applier.notify(res, source)

    def _wake(self, res: TransitionResult, source: EventSource) -> None:
        watcher = self._watchers.get(res.payout.id)
        if watcher is not None and source is EventSource.CALLBACK:
            watcher.set()

    # ------------------------------------------------------------------ sending

    def _runtime(self, name: str | None) -> Lane:
        if name is None or name not in self._rt:
            if not self._rt:
                raise ConfigurationError("client is not open: use 'async with' or await open()")
            raise ConfigurationError(f"unknown provider {name!r}")
        return self._rt[name]

    async def _send_with_retry(
        self,
        rt: Lane,
        build: Callable[[], httpx.Request],
        parse: Callable[[httpx.Response], R],
        *,
        before_send: Callable[[], Awaitable[None]] | None = None,
        status_query: bool = False,
    ) -> R:
        """The shared loop (:meth:`asxh_pay.engine.sending.Lane.send_with_retry`): a status
        query (a read) may be repeated after an unknown outcome; a submit never is: it
        ends ``unknown`` instead and is resolved by asking."""
        return await rt.send_with_retry(build, parse, before_send=before_send, repeatable=status_query)


def _static_refusal(payout: Payout, adapter: ProviderAdapter) -> tuple[FailureReason, str] | None:
    """The checks that need no request: destination supported, amount within limits."""
    caps = adapter.capabilities
    if not adapter.supports(payout):
        return FailureReason.REJECTED_BY_PROVIDER, f"{adapter.name} cannot pay this destination"
    if not caps.min_amount <= payout.amount <= caps.max_amount:
        return (
            FailureReason.LIMIT_EXCEEDED,
            f"amount outside {adapter.name} limits {caps.min_amount}-{caps.max_amount} VND",
        )
    return None


class _NotSendable(Exception):
    """The ledger refused to record an attempt: the payout is past sending (stale copy)."""

    def __init__(self, payout: Payout) -> None:
        super().__init__(payout.id)
        self.payout = payout


def _vet_for(provider: str, payout: Payout, result: ProviderResult) -> ProviderResult:
    return _vetted(payout, result, provider)


def _vetted(payout: Payout, result: ProviderResult, provider: str) -> ProviderResult:
    """``result`` if what the provider echoed back matches what was sent; else a protocol error.

    Why here, once, and not in each adapter: an answer about another amount or another
    payment (a provider's bug, a proxy's mix-up, a dedupe race that booked the key twice)
    must never become a success, whichever adapter parsed it. Adapters report what the
    provider echoed (``amount``, ``provider_ref``); adapters that echo an account compare
    it themselves, since only they know its wire form.
    """
    if result.outcome is ProviderOutcome.NOT_FOUND:
        return result
    if result.amount is not None and result.amount != payout.amount:
        raise ProviderProtocolError(
            f"{provider}: answer about payout {payout.id} carries another amount "
            f"({result.amount} VND, {payout.amount} VND sent)"
        )
    recorded = payout.provider_ref
    if recorded is not None and result.provider_ref is not None and result.provider_ref != recorded:
        raise ProviderProtocolError(
            f"{provider}: answer about payout {payout.id} names another provider reference "
            f"({mask_text(result.provider_ref)}, {mask_text(recorded)} recorded)"
        )
    return result


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _fallback_key(parent_key: str, depth: int) -> str:
    import hashlib

    return "FB" + hashlib.sha256(f"{parent_key}|fallback|{depth}".encode()).hexdigest()[:30]


def _default_router(providers: Sequence[ProviderSetup]) -> Router:
    routes: dict[str, str] = {}
    for setup in providers:
        caps = setup.adapter.capabilities
        for kind in sorted(caps.destinations):
            routes.setdefault(kind, setup.name)
        for wallet in sorted(caps.wallet_providers):
            routes.setdefault(f"wallet:{wallet}", setup.name)
    return Router(routes)


async def _aiter_enumerate(items: AsyncIterable[T]) -> AsyncIterator[tuple[int, T]]:
    i = 0
    async for item in items:
        yield i, item
        i += 1


async def drain(
    source: Iterable[T] | AsyncIterable[T], work: Callable[[T], Awaitable[None]], *, concurrency: int = 64
) -> int:
    """Run ``work`` on every item of ``source`` with at most ``concurrency`` in flight; the count.

    Why not ``gather`` over a list: the source is read as the workers free up, so memory
    holds ``concurrency`` items, not the whole month's (hundreds of thousands of payouts,
    each with its task). ``work`` handles its own errors; one that escapes stops the rest.
    """
    done = 0
    if isinstance(source, AsyncIterable):
        ait = aiter(source)
        lock = asyncio.Lock()

        async def take() -> tuple[T] | None:
            async with lock:  # an async source may suspend mid-item: one reader at a time
                try:
                    return (await anext(ait),)
                except StopAsyncIteration:
                    return None

    else:
        sit = iter(source)

        async def take() -> tuple[T] | None:
            # next() on a plain iterator never suspends, so workers cannot interleave.
            for item in sit:
                return (item,)
            return None

    async def worker() -> None:
        nonlocal done
        while (taken := await take()) is not None:
            await work(taken[0])
            done += 1

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    return done


# ---------------------------------------------------------------------- sync twin


class PayoutClient:
    """Blocking facade over :class:`AsyncPayoutClient` (same rules, same ledger).

    It runs the async client on a private event loop thread, so it is safe to use
    from ordinary scripts and from threads; it is not for use inside a running
    event loop (use the async client there).
    """

    def __init__(self, ledger: Ledger, providers: Sequence[ProviderSetup], **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="asxh-pay-loop", daemon=True)
        self._thread.start()
        self._async = self._call_factory(ledger, providers, kwargs)

    def _call_factory(
        self, ledger: Ledger, providers: Sequence[ProviderSetup], kwargs: Mapping[str, Any]
    ) -> AsyncPayoutClient:
        async def make() -> AsyncPayoutClient:
            client = AsyncPayoutClient(ledger, providers, **kwargs)
            await client.open()
            return client

        return self._run(make())

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def __enter__(self) -> PayoutClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._run(self._async.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def pay(self, request: PayoutRequest, *, wait: bool = True) -> Payout:
        return self._run(self._async.pay(request, wait=wait))

    def pay_many(self, requests: Iterable[PayoutRequest], **kwargs: Any) -> BatchSummary:
        return self._run(self._async.pay_many(requests, **kwargs))

    def status(self, payout_id_or_key: str) -> Payout:
        return self._run(self._async.status(payout_id_or_key))

    def wait(self, payout_id: str, *, timeout_s: float | None = None) -> Payout:
        return self._run(self._async.wait(payout_id, timeout_s=timeout_s))

    def resume(self, **kwargs: Any) -> BatchSummary:
        return self._run(self._async.resume(**kwargs))

    def verify_account(self, request: PayoutRequest) -> InquiryResult:
        return self._run(self._async.verify_account(request))

    def cancel(self, payout_id: str, *, operator: str, note: str = "") -> Payout:
        return self._run(self._async.cancel(payout_id, operator=operator, note=note))

    def handle_callback(self, provider: str, request: httpx.Request) -> httpx.Response:
        return self._run(self._async.handle_callback(provider, request))

    def events(self, payout_id: str) -> list[StatusEvent]:
        return self._run(self._async.ledger.events(payout_id))
