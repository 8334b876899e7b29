"""The payout engine against the generic sandbox: every retry rule and every outcome."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import httpx
import pytest

from asxh_pay.client import AsyncPayoutClient, PayoutClient, ProviderSetup
from asxh_pay.errors import (
    IdempotencyConflict,
    RateLimited,
    RequestNotSent,
    RetryBudgetExhausted,
    WebhookVerificationError,
)
from asxh_pay.ledger import SqliteLedger
from asxh_pay.models import EventSource, Payout
from asxh_pay.providers.generic import GenericProvider
from asxh_pay.retry import RetryBudget, RetryPolicy
from asxh_pay.routing import Router
from asxh_pay.sandbox.base import Fault, FaultPlan
from asxh_pay.sandbox.generic import SANDBOX_URL, GenericSandbox, generic_sandbox_provider
from asxh_pay.sandbox.keys import GENERIC_SANDBOX_SECRET
from asxh_pay.status import FailureReason, PayoutStatus
from tests.conftest import FAST_POLL, FAST_RETRY, cccd_for, generic_setup, make_request

S = PayoutStatus


async def test_pay_succeeds_and_records_every_step(
    client: AsyncPayoutClient, sandbox: GenericSandbox
) -> None:
    payout = await client.pay(make_request(1))
    assert payout.status is S.SUCCEEDED
    assert payout.provider == "generic" and payout.provider_ref
    assert payout.attempts == 1
    events = await client.ledger.events(payout.id)
    assert [(e.to_status, e.source) for e in events] == [
        (S.CREATED, EventSource.SYSTEM),
        (S.SUBMITTED, EventSource.SYSTEM),
        (S.SUCCEEDED, EventSource.RESPONSE),
    ]
    assert list(sandbox.paid()) == [payout.idempotency_key]


async def test_paying_again_returns_the_original(client: AsyncPayoutClient, sandbox: GenericSandbox) -> None:
    first = await client.pay(make_request(1))
    again = await client.pay(make_request(1, source="second list"))
    assert again.id == first.id and again.status is S.SUCCEEDED
    assert sandbox.request_counts["pay"] == 1


async def test_duplicate_rows_in_one_batch_pay_once(
    client: AsyncPayoutClient, sandbox: GenericSandbox
) -> None:
    rows = [make_request(7), make_request(7), make_request(8), make_request(7, source="other commune list")]
    summary = await client.pay_many(rows, concurrency=4, keep_payouts=True)
    assert summary.counts["succeeded"] == 4
    assert len({p.id for p in summary.payouts}) == 2
    assert len(sandbox.paid()) == 2 and sandbox.request_counts["pay"] == 2


async def test_same_key_other_payload_is_a_conflict(
    client: AsyncPayoutClient, sandbox: GenericSandbox
) -> None:
    await client.pay(make_request(1))
    with pytest.raises(IdempotencyConflict):
        await client.pay(make_request(1, amount=2_000_000))
    with pytest.raises(IdempotencyConflict):  # same entitlement, a caller's own key
        await client.pay(make_request(1, idempotency_key="CALLER-KEY-0001"))
    assert len(sandbox.paid()) == 1


async def test_timeout_after_commit_is_resolved_by_a_status_query(
    client: AsyncPayoutClient, sandbox: GenericSandbox
) -> None:
    sandbox.inject("pay", Fault.TIMEOUT_AFTER)
    payout = await client.pay(make_request(1))
    assert payout.status is S.SUCCEEDED
    assert sandbox.request_counts["pay"] == 1  # never sent twice
    assert sandbox.request_counts["status"] >= 1
    statuses = [e.to_status for e in await client.ledger.events(payout.id)]
    assert statuses == [S.CREATED, S.SUBMITTED, S.UNKNOWN, S.SUCCEEDED]


@pytest.mark.parametrize("fault", [Fault.TIMEOUT_BEFORE, Fault.RESET_BEFORE])
async def test_unknown_then_not_found_is_resubmitted_with_the_same_key(
    client: AsyncPayoutClient, sandbox: GenericSandbox, fault: Fault
) -> None:
    sandbox.inject("pay", fault)
    payout = await client.pay(make_request(1))
    assert payout.status is S.SUCCEEDED
    assert sandbox.request_counts["pay"] == 2 and len(sandbox.paid()) == 1
    assert payout.attempts == 2


@pytest.mark.parametrize("fault", [Fault.CONNECT_ERROR, Fault.SERVER_ERROR, Fault.RATE_LIMITED])
async def test_not_processed_requests_are_retried(
    client: AsyncPayoutClient, sandbox: GenericSandbox, fault: Fault
) -> None:
    sandbox.inject("pay", fault, fault)
    payout = await client.pay(make_request(1))
    assert payout.status is S.SUCCEEDED and payout.attempts == 3
    statuses = [e.to_status for e in await client.ledger.events(payout.id)]
    assert S.UNKNOWN not in statuses  # provably not processed: no ambiguity recorded
    assert len(sandbox.paid()) == 1


async def test_retry_after_is_honoured(client: AsyncPayoutClient, sandbox: GenericSandbox) -> None:
    sandbox.faults.retry_after_s = 0.3
    sandbox.inject("pay", Fault.RATE_LIMITED)
    started = time.monotonic()
    payout = await client.pay(make_request(1))
    assert payout.status is S.SUCCEEDED
    assert time.monotonic() - started >= 0.3


async def test_a_500_on_submit_is_ambiguous_not_retried(tmp_path: Path) -> None:
    sandbox = GenericSandbox()
    calls = {"pay": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v1/payouts":
            calls["pay"] += 1
            await sandbox.handle(request)  # the provider commits, then answers 500
            return httpx.Response(500, text="internal error")
        return await sandbox.handle(request)

    setup = ProviderSetup(generic_sandbox_provider(), transport=httpx.MockTransport(handler))
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"), [setup], retry=FAST_RETRY, poll=FAST_POLL
    ) as c:
        payout = await c.pay(make_request(1))
    assert payout.status is S.SUCCEEDED
    assert calls["pay"] == 1 and len(sandbox.paid()) == 1


async def test_business_decline_is_final_with_a_typed_reason(
    client: AsyncPayoutClient, sandbox: GenericSandbox
) -> None:
    payout = await client.pay(make_request(1, account="1234560001"))
    assert payout.status is S.FAILED
    assert payout.failure_reason is FailureReason.INVALID_ACCOUNT
    assert payout.attempts == 1 and sandbox.request_counts["pay"] == 1


async def test_amount_over_the_provider_limit_is_failed_without_sending(tmp_path: Path) -> None:
    class SmallProvider(GenericProvider):
        capabilities = GenericProvider.capabilities.__class__(
            destinations=GenericProvider.capabilities.destinations, max_amount=1_000_000
        )

    sandbox = GenericSandbox()
    setup = ProviderSetup(
        SmallProvider(SANDBOX_URL, secret=GENERIC_SANDBOX_SECRET), transport=sandbox.transport()
    )
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"), [setup], retry=FAST_RETRY, poll=FAST_POLL
    ) as c:
        payout = await c.pay(make_request(1, amount=1_500_000))
    assert payout.status is S.FAILED and payout.failure_reason is FailureReason.LIMIT_EXCEEDED
    assert sandbox.request_counts["pay"] == 0


async def test_provider_limit_decline(tmp_path: Path) -> None:
    sandbox = GenericSandbox(max_amount=1_000_000)
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"), [generic_setup(sandbox)], retry=FAST_RETRY, poll=FAST_POLL
    ) as c:
        payout = await c.pay(make_request(1, amount=1_500_000))
    assert payout.status is S.FAILED and payout.failure_reason is FailureReason.LIMIT_EXCEEDED


async def test_exhausted_retries_leave_the_payout_resumable(tmp_path: Path) -> None:
    sandbox = GenericSandbox()
    sandbox.inject("pay", *[Fault.CONNECT_ERROR] * 3)
    ledger_path = tmp_path / "l.db"
    policy = RetryPolicy(base_delay_s=0.001, max_delay_s=0.002, max_attempts=3)
    async with AsyncPayoutClient(
        SqliteLedger(ledger_path), [generic_setup(sandbox)], retry=policy, poll=FAST_POLL
    ) as c:
        with pytest.raises(RequestNotSent):
            await c.pay(make_request(1))
        stuck = await c.status(make_request(1).key())
        assert stuck.status is S.SUBMITTED and stuck.attempts == 3
    # A 'submitted' payout found by another process may still be in flight there: it is
    # only sent again after that send's timeout and the provider's grace (issue 13).
    async with AsyncPayoutClient(
        SqliteLedger(ledger_path), [generic_setup(sandbox, timeout_s=0.1)], retry=policy, poll=FAST_POLL
    ) as c:
        summary = await c.resume()
    assert summary.counts["succeeded"] == 1
    assert sandbox.request_counts["status"] >= 1  # asked first, never resubmitted blind
    assert len(sandbox.paid()) == 1


async def test_retry_budget_stops_a_retry_storm(tmp_path: Path) -> None:
    sandbox = GenericSandbox()
    sandbox.inject("pay", *[Fault.SERVER_ERROR] * 50)
    setup = ProviderSetup(
        generic_sandbox_provider(),
        transport=sandbox.transport(),
        retry_budget=RetryBudget(ratio=0.0, min_per_s=1.0, capacity=2),
    )
    policy = RetryPolicy(base_delay_s=0.001, max_delay_s=0.001, max_attempts=50, deadline_s=0.5)
    async with AsyncPayoutClient(SqliteLedger(tmp_path / "l.db"), [setup], retry=policy, poll=FAST_POLL) as c:
        with pytest.raises(RetryBudgetExhausted):
            await c.pay(make_request(1))
    assert sandbox.request_counts["pay"] <= 4  # 1 + 2 budgeted retries (+1 refilled), not 50


async def test_rate_limit_per_provider(tmp_path: Path) -> None:
    sandbox = GenericSandbox()
    setup = generic_setup(sandbox, rate_per_s=40.0)
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"), [setup], retry=FAST_RETRY, poll=FAST_POLL
    ) as c:
        started = time.monotonic()
        await c.pay_many((make_request(i) for i in range(80)), concurrency=16)
        elapsed = time.monotonic() - started
    assert elapsed >= (80 - 40) / 40 * 0.9  # burst of 40, then 40/s


async def test_polling_reaches_the_terminal_state(tmp_path: Path) -> None:
    sandbox = GenericSandbox(settle_after_s=0.05)
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"), [generic_setup(sandbox)], retry=FAST_RETRY, poll=FAST_POLL
    ) as c:
        payout = await c.pay(make_request(1))
        events = await c.ledger.events(payout.id)
    assert payout.status is S.SUCCEEDED
    assert [e.to_status for e in events][-2:] == [S.PROCESSING, S.SUCCEEDED]
    assert events[-1].source is EventSource.POLL


async def test_wait_false_returns_once_accepted(tmp_path: Path) -> None:
    sandbox = GenericSandbox(settle_after_s=60)
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"), [generic_setup(sandbox)], retry=FAST_RETRY, poll=FAST_POLL
    ) as c:
        payout = await c.pay(make_request(1), wait=False)
        assert payout.status is S.PROCESSING
        sandbox.clock.advance(61)
        done = await c.wait(payout.id, timeout_s=5)
    assert done.status is S.SUCCEEDED


async def _callback_client(tmp_path: Path, sandbox: GenericSandbox) -> AsyncPayoutClient:
    client = AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"), [generic_setup(sandbox)], retry=FAST_RETRY, poll=FAST_POLL
    )
    await client.open()
    return client


async def _pay_and_settle(client: AsyncPayoutClient, sandbox: GenericSandbox, i: int) -> Payout:
    """Pay request ``i`` without waiting, then let the sandbox settle it (its callback queued)."""
    payout = await client.pay(make_request(i), wait=False)
    sandbox.clock.advance(31)
    sandbox.settle_due()
    return payout


async def test_callbacks_drive_payouts_and_duplicates_are_harmless(tmp_path: Path) -> None:
    sandbox = GenericSandbox(settle_after_s=30, faults=FaultPlan(duplicate_callback=1.0))
    client = await _callback_client(tmp_path, sandbox)
    sandbox.callback_sink = lambda req: client.handle_callback("generic", req)
    try:
        payout = await _pay_and_settle(client, sandbox, 1)
        # The duplicate is byte-identical: refused as a replay, nothing changes.
        await sandbox.deliver_callbacks()
        done = await client.status(payout.id)
        assert done.status is S.SUCCEEDED
        events = await client.ledger.events(payout.id)
        assert events[-1].source is EventSource.CALLBACK
        assert [e.to_status for e in events].count(S.SUCCEEDED) == 1
    finally:
        await client.close()


async def test_a_queued_callback_is_sent_exactly_as_signed_and_let_go_once_sent(tmp_path: Path) -> None:
    """The provider's webhook queue holds callbacks as bytes (a province queues 100,000s):
    what the receiver gets is the request the sandbox built and signed, byte for byte, and a
    delivered callback is no longer held."""
    sandbox = GenericSandbox(settle_after_s=30)
    client = await _callback_client(tmp_path, sandbox)
    received: list[httpx.Request] = []

    async def sink(req: httpx.Request) -> None:
        received.append(req)
        await client.handle_callback("generic", req)

    sandbox.callback_sink = sink
    try:
        payout = await _pay_and_settle(client, sandbox, 1)
        (queued,) = sandbox._pending_callbacks
        built = sandbox.build_callback(sandbox.payments[payout.idempotency_key], "evt_check")
        again = type(queued).of(built).request()
        assert (again.method, again.url, again.content) == (built.method, built.url, built.content)
        assert again.headers.raw == built.headers.raw
        assert await sandbox.deliver_callbacks() == 1 and sandbox._pending_callbacks == []
        assert received[0].content == queued.content
        assert (await client.status(payout.id)).status is S.SUCCEEDED  # its signature verified
    finally:
        await client.close()


async def test_a_reordered_lone_callback_arrives_after_the_next_one(tmp_path: Path) -> None:
    """The reorder fault must happen at its rate whatever the delivery rhythm: a lone
    callback cannot be shuffled, so it is held back behind the next one."""
    sandbox = GenericSandbox(settle_after_s=30, faults=FaultPlan(reorder_callbacks=1.0))
    client = await _callback_client(tmp_path, sandbox)
    order: list[str] = []

    async def sink(req: httpx.Request) -> None:
        order.append(req.content.decode())
        await client.handle_callback("generic", req)

    sandbox.callback_sink = sink
    try:
        first = await _pay_and_settle(client, sandbox, 1)
        assert await sandbox.deliver_callbacks() == 0  # held back
        second = await _pay_and_settle(client, sandbox, 2)
        sandbox.faults.reorder_callbacks = 0.0
        assert await sandbox.deliver_callbacks() == 2
        assert [first.idempotency_key in body for body in order] == [False, True]
        assert second.idempotency_key in order[0]
        assert sandbox.fault_counts["reorder_callbacks"] == 1
        for p in (first, second):
            assert (await client.status(p.id)).status is S.SUCCEEDED
    finally:
        await client.close()


async def test_forged_stale_and_replayed_callbacks_change_nothing(tmp_path: Path) -> None:
    sandbox = GenericSandbox(settle_after_s=30)
    client = await _callback_client(tmp_path, sandbox)
    captured: list[httpx.Request] = []

    async def sink(req: httpx.Request) -> None:
        captured.append(req)

    sandbox.callback_sink = sink
    try:
        payout = await _pay_and_settle(client, sandbox, 1)
        await sandbox.deliver_callbacks()
        good = captured[0]
        forged = httpx.Request(
            "POST", good.url, headers=good.headers, content=good.content.replace(b"succeeded", b"cancelled")
        )
        with pytest.raises(WebhookVerificationError) as err:
            await client.handle_callback("generic", forged)
        assert err.value.code == "bad_signature"
        stale_headers = dict(good.headers)
        stale_headers["X-Timestamp"] = str(int(time.time()) - 3600)
        with pytest.raises(WebhookVerificationError):
            await client.handle_callback(
                "generic", httpx.Request("POST", good.url, headers=stale_headers, content=good.content)
            )
        assert (await client.status(payout.id)).status is S.PROCESSING
        await client.handle_callback("generic", good)
        assert (await client.status(payout.id)).status is S.SUCCEEDED
        with pytest.raises(WebhookVerificationError) as err:
            await client.handle_callback("generic", good)
        assert err.value.code == "replayed"
        assert len(await client.ledger.events(payout.id)) == 4
    finally:
        await client.close()


async def test_late_processing_report_after_success_is_ignored(
    client: AsyncPayoutClient, sandbox: GenericSandbox
) -> None:
    from asxh_pay.providers.base import ProviderOutcome, ProviderResult

    payout = await client.pay(make_request(1))
    again = await client._apply(payout, ProviderResult(ProviderOutcome.ACCEPTED), EventSource.POLL)
    assert again.status is S.SUCCEEDED
    assert len(await client.ledger.events(payout.id)) == 3


async def test_reversal_after_success_is_recorded_as_returned(tmp_path: Path) -> None:
    sandbox = GenericSandbox(faults=FaultPlan(reversal=1.0, reversal_after_s=10))
    client = await _callback_client(tmp_path, sandbox)
    sandbox.callback_sink = lambda req: client.handle_callback("generic", req)
    try:
        payout = await client.pay(make_request(1))
        assert payout.status is S.SUCCEEDED
        await sandbox.deliver_callbacks()  # the settlement callback: a duplicate of what we know
        sandbox.clock.advance(11)
        sandbox.settle_due()
        await sandbox.deliver_callbacks()
        returned = await client.status(payout.id)
        assert returned.status is S.RETURNED
        assert returned.failure_reason is FailureReason.RETURNED_BY_BANK
    finally:
        await client.close()


async def test_failed_electronic_payout_falls_back_to_cash_once(tmp_path: Path) -> None:
    bank_sb, cash_sb = GenericSandbox(), GenericSandbox()
    bank = ProviderSetup(generic_sandbox_provider(name="bank"), transport=bank_sb.transport())
    cash = ProviderSetup(generic_sandbox_provider(name="cash"), transport=cash_sb.transport())
    router = Router({"bank": "bank", "cash_pickup": "cash", "cash_home": "cash"}, fallback_provider="cash")

    async def run() -> list[str]:
        async with AsyncPayoutClient(
            SqliteLedger(tmp_path / "l.db"), [bank, cash], router=router, retry=FAST_RETRY, poll=FAST_POLL
        ) as c:
            payout = await c.pay(make_request(1, account="1234560001", commune="26101"))
            assert payout.status is S.SUCCEEDED and payout.provider == "cash"
            assert payout.request.destination.kind == "cash_pickup"
            parent = await c.ledger.get(payout.parent_id or "")
            assert parent is not None and parent.status is S.FAILED
            return [payout.id, parent.id]

    first = await run()
    assert await run() == first  # a rerun finds both, pays nobody again
    assert len(bank_sb.paid()) == 0 and len(cash_sb.paid()) == 1
    assert bank_sb.request_counts["pay"] == 1 and cash_sb.request_counts["pay"] == 1


async def test_before_fallback_can_stop_the_cash_and_the_ledger_says_why(tmp_path: Path) -> None:
    """A death recorded between a decline and its cash fallback stops the cash, for good."""
    bank_sb, cash_sb = GenericSandbox(), GenericSandbox()
    bank = ProviderSetup(generic_sandbox_provider(name="bank"), transport=bank_sb.transport())
    cash = ProviderSetup(generic_sandbox_provider(name="cash"), transport=cash_sb.transport())
    router = Router({"bank": "bank", "cash_pickup": "cash"}, fallback_provider="cash")
    asked: list[tuple[str | None, str]] = []
    dead = {"001050000001"}

    async def register(parent: Payout, fallback: Payout) -> tuple[FailureReason, str] | None:
        asked.append((parent.id, fallback.id))
        if parent.request.beneficiary.cccd in dead:
            return FailureReason.BENEFICIARY_DECEASED, "deceased on 2026-11-03"
        return None

    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"),
        [bank, cash],
        router=router,
        retry=FAST_RETRY,
        poll=FAST_POLL,
        before_fallback=register,
    ) as c:
        stopped = await c.pay(make_request(1, account="1234560001", commune="26101"))
        alive = await c.pay(make_request(2, account="1234560001", commune="26101"))
        assert stopped.status is S.CANCELLED and stopped.parent_id is not None
        assert stopped.failure_reason is FailureReason.BENEFICIARY_DECEASED
        assert stopped.failure_detail == "cash fallback stopped before sending: deceased on 2026-11-03"
        assert alive.status is S.SUCCEEDED and alive.provider == "cash"
        assert asked == [(stopped.parent_id, stopped.id), (alive.parent_id, alive.id)]
        # A rerun and a resume find the cancelled fallback: nothing is asked or paid again.
        again = await c.pay(make_request(1, account="1234560001", commune="26101"))
        await c.resume()
        assert again.id == stopped.id and again.status is S.CANCELLED and len(asked) == 2
    assert cash_sb.request_counts["pay"] == 1 and len(cash_sb.paid()) == 1


async def test_a_fallback_left_unsent_by_a_crash_is_asked_about_before_resume_sends_it(
    tmp_path: Path,
) -> None:
    bank_sb, cash_sb = GenericSandbox(), GenericSandbox()
    setups = [
        ProviderSetup(generic_sandbox_provider(name="bank"), transport=bank_sb.transport()),
        ProviderSetup(generic_sandbox_provider(name="cash"), transport=cash_sb.transport()),
    ]
    router = Router({"bank": "bank", "cash_pickup": "cash"}, fallback_provider="cash")
    db = tmp_path / "l.db"
    # First process: the bank declines; the fallback is recorded, then the process dies
    # before sending it (played here by a bank-only router, then fallback_for alone).
    bank_only = Router({"bank": "bank", "cash_pickup": "cash"})
    async with AsyncPayoutClient(SqliteLedger(db), setups, router=bank_only, retry=FAST_RETRY) as c:
        parent = await c.pay(make_request(1, account="1234560001", commune="26101"))
    async with AsyncPayoutClient(SqliteLedger(db), setups, router=router, retry=FAST_RETRY) as c:
        child = await c.fallback_for(parent)
    assert parent.status is S.FAILED and child is not None and child.status is S.CREATED

    asked: list[str] = []

    async def register(parent: Payout, fallback: Payout) -> tuple[FailureReason, str] | None:
        asked.append(fallback.id)
        return FailureReason.BENEFICIARY_DECEASED, "deceased on 2026-11-03"

    async with AsyncPayoutClient(
        SqliteLedger(db), setups, router=router, retry=FAST_RETRY, poll=FAST_POLL, before_fallback=register
    ) as c:
        await c.resume()
        stopped = await c.ledger.get(child.id)
    assert asked == [child.id] and stopped is not None and stopped.status is S.CANCELLED
    assert cash_sb.request_counts["pay"] == 0


async def test_a_register_that_is_down_leaves_the_fallback_unsent_and_reported(tmp_path: Path) -> None:
    bank_sb, cash_sb = GenericSandbox(), GenericSandbox()
    setups = [
        ProviderSetup(generic_sandbox_provider(name="bank"), transport=bank_sb.transport()),
        ProviderSetup(generic_sandbox_provider(name="cash"), transport=cash_sb.transport()),
    ]
    router = Router({"bank": "bank", "cash_pickup": "cash"}, fallback_provider="cash")
    up = False

    async def register(parent: Payout, fallback: Payout) -> tuple[FailureReason, str] | None:
        if not up:
            raise ConnectionError(f"population register unreachable for {parent.request.beneficiary.cccd}")
        return None

    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"),
        setups,
        router=router,
        retry=FAST_RETRY,
        poll=FAST_POLL,
        before_fallback=register,
    ) as c:
        summary = await c.pay_many([make_request(1, account="1234560001", commune="26101")])
        assert [m for _, m in summary.errors] and "FallbackCheckFailed" in summary.errors[0][1]
        assert "population register unreachable" in summary.errors[0][1]
        cccd = make_request(1).beneficiary.cccd
        assert cccd not in summary.errors[0][1]  # the CCCD in the register's message is masked
        assert cash_sb.request_counts["pay"] == 0  # no cash without the register's answer
        up = True
        await c.resume()
    assert cash_sb.request_counts["pay"] == 1 and len(cash_sb.paid()) == 1


async def test_hooks_see_every_change(tmp_path: Path, sandbox: GenericSandbox) -> None:
    seen: list[tuple[str, str]] = []
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"),
        [generic_setup(sandbox)],
        retry=FAST_RETRY,
        poll=FAST_POLL,
        hooks=[lambda p, e: seen.append((p.id, e.to_status.value))],
    ) as c:
        payout = await c.pay(make_request(1))
    assert (payout.id, "succeeded") in seen


async def test_a_freed_provider_slot_sends_the_next_request_before_recording(tmp_path: Path) -> None:
    """At a provider's concurrency limit, a slot must not idle while the payout that
    freed it is parsed and recorded: the queued request leaves first."""
    sandbox = GenericSandbox(latency_s=0.01)
    inner = sandbox.transport()
    order: list[str] = []

    class Recording(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            order.append("send " + request.headers["Idempotency-Key"])
            return await inner.handle_async_request(request)

    setup = ProviderSetup(
        generic_sandbox_provider(),
        transport=Recording(),
        concurrency=1,
        retry_budget=RetryBudget(ratio=5.0, min_per_s=10_000, capacity=10_000),
    )
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"),
        [setup],
        retry=FAST_RETRY,
        poll=FAST_POLL,
        hooks=[lambda p, e: order.append(f"recorded {p.idempotency_key} {e.to_status.value}")],
    ) as c:
        summary = await c.pay_many([make_request(1), make_request(2)], concurrency=2, keep_payouts=True)
    assert summary.counts["succeeded"] == 2
    first, second = sorted(summary.payouts, key=lambda p: order.index("send " + p.idempotency_key))
    assert order.index("send " + second.idempotency_key) < order.index(
        f"recorded {first.idempotency_key} succeeded"
    )


async def test_personal_data_never_reaches_the_logs(
    tmp_path: Path, sandbox: GenericSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.inject("pay", Fault.CONNECT_ERROR, Fault.TIMEOUT_AFTER)
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"), [generic_setup(sandbox)], retry=FAST_RETRY, poll=FAST_POLL
    ) as c:
        await c.pay(make_request(1, account="1234560001"))
        logging.getLogger("asxh_pay").warning("paying %s at %s", cccd_for(1), "1234560001")
    text = caplog.text
    for secret in (cccd_for(1), "1234560001", "Nguyễn Văn An"):
        assert secret not in text


def test_sync_client_shares_the_rules(tmp_path: Path) -> None:
    sandbox = GenericSandbox()
    sandbox.inject("pay", Fault.TIMEOUT_AFTER)
    with PayoutClient(
        SqliteLedger(tmp_path / "l.db"), [generic_setup(sandbox)], retry=FAST_RETRY, poll=FAST_POLL
    ) as c:
        payout = c.pay(make_request(1))
        assert payout.status is S.SUCCEEDED
        assert c.pay(make_request(1)).id == payout.id
        assert [e.to_status for e in c.events(payout.id)][-1] is S.SUCCEEDED
    assert sandbox.request_counts["pay"] == 1


async def test_concurrent_callers_of_one_payout_share_one_drive(
    client: AsyncPayoutClient, sandbox: GenericSandbox
) -> None:
    results = await asyncio.gather(*(client.pay(make_request(3)) for _ in range(10)))
    assert len({p.id for p in results}) == 1
    assert sandbox.request_counts["pay"] == 1


def test_a_stale_but_genuinely_signed_response_is_refused() -> None:
    import json as _json

    from asxh_pay.errors import ProviderProtocolError
    from asxh_pay.signing import HmacKey, timestamped_message

    adapter = generic_sandbox_provider()
    body = _json.dumps({"id": "X1", "reference": "AX0000000000", "status": "succeeded"}).encode()
    old = str(int(time.time()) - 3600)
    sig = HmacKey("generic-sandbox-secret").sign(timestamped_message(old, body)).hex()
    response = httpx.Response(200, content=body, headers={"X-Timestamp": old, "X-Signature": sig})
    with pytest.raises(ProviderProtocolError, match="timestamp"):
        adapter._verified_json(response)


async def test_a_stale_copy_never_sends_again(client: AsyncPayoutClient, sandbox: GenericSandbox) -> None:
    """A driver holding an old 'created' copy (a stalled worker) must not send a paid payout."""
    stale = client.new_payout(make_request(1))
    stale, _ = await client.ledger.create_or_get(stale)
    paid = await client.drive(stale)
    assert paid.status is S.SUCCEEDED
    again = await client._submit(stale)  # the stale copy still says 'created'
    assert again.status is S.SUCCEEDED
    assert sandbox.request_counts["pay"] == 1


async def test_a_deceased_return_is_not_paid_in_cash(tmp_path: Path) -> None:
    from asxh_pay.providers.base import ProviderOutcome, ProviderResult

    bank_sb, cash_sb = GenericSandbox(), GenericSandbox()
    bank = ProviderSetup(generic_sandbox_provider(name="bank"), transport=bank_sb.transport())
    cash = ProviderSetup(generic_sandbox_provider(name="cash"), transport=cash_sb.transport())
    router = Router({"bank": "bank", "cash_pickup": "cash"}, fallback_provider="cash")
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"), [bank, cash], router=router, retry=FAST_RETRY, poll=FAST_POLL
    ) as c:
        dead = await c.pay(make_request(1, commune="26101"))
        gone = await c.pay(make_request(2, commune="26101"))
        returned = ProviderResult(ProviderOutcome.RETURNED, reason=FailureReason.BENEFICIARY_DECEASED)
        dead = await c._apply(dead, returned, EventSource.RECONCILIATION)
        closed = ProviderResult(ProviderOutcome.RETURNED, reason=FailureReason.ACCOUNT_CLOSED)
        gone = await c._apply(gone, closed, EventSource.RECONCILIATION)
        await c.resume()
        assert await c.ledger.children(dead.id) == []  # MD07: a person decides, no cash
        assert len(await c.ledger.children(gone.id)) == 1  # account closed: paid in cash
    assert len(cash_sb.paid()) == 1


async def test_a_contradiction_is_reported_per_payout_not_fatal(tmp_path: Path) -> None:
    from asxh_pay.errors import AsxhPayError
    from asxh_pay.status import IllegalTransition

    assert issubclass(IllegalTransition, AsxhPayError)
    bad_key = make_request(3).key()

    class Contradicting(GenericProvider):
        def parse_submit(self, payout, response):  # type: ignore[no-untyped-def]
            if payout.idempotency_key == bad_key:
                raise IllegalTransition(S.FAILED, S.SUCCEEDED)
            return super().parse_submit(payout, response)

    sandbox = GenericSandbox()
    setup = ProviderSetup(
        Contradicting(SANDBOX_URL, secret=GENERIC_SANDBOX_SECRET), transport=sandbox.transport()
    )
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"), [setup], retry=FAST_RETRY, poll=FAST_POLL
    ) as c:
        summary = await c.pay_many([make_request(i) for i in range(6)], concurrency=3)
    assert summary.counts["succeeded"] == 5
    assert len(summary.errors) == 1 and "IllegalTransition" in summary.errors[0][1]


async def test_a_callback_that_failed_to_apply_is_processed_on_redelivery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asxh_pay.errors import LedgerError

    sandbox = GenericSandbox(settle_after_s=30)
    client = await _callback_client(tmp_path, sandbox)
    captured: list[httpx.Request] = []

    async def sink(req: httpx.Request) -> None:
        captured.append(req)

    sandbox.callback_sink = sink
    try:
        payout = await _pay_and_settle(client, sandbox, 1)
        await sandbox.deliver_callbacks()
        real = client.ledger.transition

        async def broken(*args: object, **kwargs: object) -> object:
            raise LedgerError("disk full")

        monkeypatch.setattr(client.ledger, "transition", broken)
        with pytest.raises(LedgerError):
            await client.handle_callback("generic", captured[0])
        monkeypatch.setattr(client.ledger, "transition", real)
        await client.handle_callback("generic", captured[0])  # the provider's retry
        assert (await client.status(payout.id)).status is S.SUCCEEDED
    finally:
        await client.close()


def test_validation_errors_do_not_carry_personal_data() -> None:
    import pydantic

    from asxh_pay.models import Beneficiary

    with pytest.raises(pydantic.ValidationError) as exc:
        Beneficiary(cccd="999080000001", full_name="Nguyễn Văn An")
    text = str(exc.value)
    assert "999080000001" not in text and "Nguyễn" not in text
    with pytest.raises(pydantic.ValidationError) as exc:
        make_request(1, account="12-3456-7899")
    assert "3456" not in str(exc.value)


async def test_the_send_deadline_counts_from_the_first_attempt(tmp_path: Path) -> None:
    sandbox = GenericSandbox()
    sandbox.faults.retry_after_s = 0.4
    sandbox.inject("pay", *[Fault.RATE_LIMITED] * 20)
    policy = RetryPolicy(base_delay_s=0.001, max_delay_s=0.001, max_attempts=20, deadline_s=1.0)
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"), [generic_setup(sandbox)], retry=policy, poll=FAST_POLL
    ) as c:
        started = time.monotonic()
        with pytest.raises(RateLimited):
            await c.pay(make_request(1))
        assert time.monotonic() - started < 1.5
    assert sandbox.request_counts["pay"] <= 4


@pytest.mark.parametrize("url", ["https://api.momo.vn", "https://10.0.0.5/pay", "http://bank.example.com"])
def test_sandbox_credentials_are_refused_outside_a_sandbox(url: str) -> None:
    from asxh_pay.errors import ConfigurationError
    from asxh_pay.sandbox.momo import momo_sandbox_provider
    from asxh_pay.sandbox.viettel_money import viettel_money_sandbox_provider
    from asxh_pay.sandbox.vnpost import vnpost_sandbox_provider

    for factory in (
        generic_sandbox_provider,
        momo_sandbox_provider,
        viettel_money_sandbox_provider,
        vnpost_sandbox_provider,
    ):
        with pytest.raises(ConfigurationError, match="published credentials"):
            factory(url)
    GenericProvider(url, secret="a-real-secret-from-the-provider")  # real credentials: fine
    generic_sandbox_provider("http://127.0.0.1:8080")  # a served sandbox: fine
