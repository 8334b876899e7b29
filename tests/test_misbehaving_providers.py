"""Exactly-once against providers that are wrong the way real ones are (issue 13).

Each test injects one hazard through the generic sandbox and fails on the code before
the fix: a stale "not found" (1), an idempotency race at the provider, across
processes too (2), late truth (3), a callback about another provider's payout (4),
and an answer about another amount (7).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from asxh_pay.client import AsyncPayoutClient, ProviderSetup
from asxh_pay.errors import ConfigurationError, ProviderProtocolError, WebhookVerificationError
from asxh_pay.ledger.base import Ledger
from asxh_pay.ledger.sqlite import SqliteLedger
from asxh_pay.providers.base import DEFAULT_NOT_FOUND_GRACE_S, Capabilities, with_capabilities
from asxh_pay.providers.generic import GenericProvider
from asxh_pay.receiver import callback_handler
from asxh_pay.retry import RetryBudget
from asxh_pay.routing import Router
from asxh_pay.sandbox.base import Fault, FaultPlan, PaymentState, SandboxPayment
from asxh_pay.sandbox.generic import GenericSandbox, generic_sandbox_provider
from asxh_pay.status import PayoutStatus
from tests.conftest import FAST_POLL, FAST_RETRY, generic_setup, make_request
from tests.ledger.pg import PG_URL, drop_schema, new_schema, require_pg

S = PayoutStatus


# ---------------------------------------------------------------------- 1. stale "not found"


def test_the_confirmation_window_is_seconds_by_default_and_never_zero() -> None:
    assert GenericProvider.capabilities.not_found_grace_s == DEFAULT_NOT_FOUND_GRACE_S >= 5
    with pytest.raises(ConfigurationError):
        Capabilities(destinations=frozenset({"bank"}), not_found_grace_s=0)


async def test_the_window_is_the_providers_and_longer_for_one_that_does_not_dedupe(tmp_path: Path) -> None:
    sandbox = GenericSandbox()
    plain = generic_setup(sandbox, grace_s=0.1)
    blind = generic_setup(sandbox, grace_s=0.1)
    blind.adapter = with_capabilities(generic_sandbox_provider(name="blind"), dedupes_by_key=False)
    async with AsyncPayoutClient(SqliteLedger(tmp_path / "l.db"), [plain, blind]) as client:
        assert client._grace_s(client._rt["generic"]) == 0.1
        assert client._grace_s(client._rt["blind"]) == 30.0


async def test_a_stale_not_found_never_leads_to_a_resend(tmp_path: Path) -> None:
    """The answer to a booked payment is lost, and the status endpoint says "not found"
    for 0.3 s after booking; the provider's dedupe also races. Today's single "not found"
    resent at once and the provider booked the key twice."""
    sandbox = GenericSandbox(
        faults=FaultPlan(stale_read=1.0, stale_read_window_s=0.3, dedupe_race=1.0, dedupe_race_window_s=1.0)
    )
    sandbox.inject("pay", Fault.TIMEOUT_AFTER)
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"),
        [generic_setup(sandbox, grace_s=0.5)],
        retry=FAST_RETRY,
        poll=FAST_POLL,
    ) as client:
        payout = await client.pay(make_request(1))
    assert payout.status is S.SUCCEEDED
    assert sandbox.fault_counts["stale_read"] >= 1
    assert sandbox.request_counts["pay"] == 1  # the status query found it: never resent
    assert len(sandbox.bookings(payout.idempotency_key)) == 1


async def test_not_found_is_confirmed_over_the_window_before_the_same_bytes_are_resent(
    tmp_path: Path,
) -> None:
    """A send that truly never arrived is sent again, with the same key and bytes, only
    after repeated "not found" answers spread over the provider's declared window."""
    sandbox = GenericSandbox()
    sandbox.inject("pay", Fault.TIMEOUT_BEFORE)
    seen: list[bytes] = []
    inner = sandbox.transport()

    async def spy(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v1/payouts":
            seen.append(request.content)
        return await inner.handle_async_request(request)

    setup = generic_setup(sandbox, grace_s=0.4)
    setup.transport = httpx.MockTransport(spy)
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"), [setup], retry=FAST_RETRY, poll=FAST_POLL
    ) as client:
        started = time.monotonic()
        payout = await client.pay(make_request(1))
        elapsed = time.monotonic() - started
    assert payout.status is S.SUCCEEDED
    assert elapsed >= 0.4
    assert sandbox.request_counts["status"] >= 3
    assert len(seen) == 2 and seen[0] == seen[1]
    assert len(sandbox.bookings(payout.idempotency_key)) == 1


# ---------------------------------------------------------------------- 2. races across processes


class _SlowFirstPay(httpx.AsyncBaseTransport):
    """The first pay request takes ``delay_s`` to reach the provider (a slow network)."""

    def __init__(self, sandbox: GenericSandbox, delay_s: float) -> None:
        self.sandbox, self.delay_s, self.pays = sandbox, delay_s, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v1/payouts":
            self.pays += 1
            if self.pays == 1:
                await asyncio.sleep(self.delay_s)
        return await self.sandbox.handle(request)


async def _two_ledgers(store: str, tmp_path: Path) -> AsyncIterator[tuple[Ledger, Ledger]]:
    if store == "sqlite":
        # One store, two clients (each with its own single-flight map, as two processes):
        # two SQLite connections in one event loop would wait on each other's write locks.
        shared = SqliteLedger(tmp_path / "l.db")
        yield shared, shared
        return
    require_pg()
    from asxh_pay.ledger.postgres import PostgresLedger

    schema = new_schema()
    try:
        yield (
            PostgresLedger(PG_URL, schema=schema, max_size=4),
            PostgresLedger(PG_URL, schema=schema, max_size=4),
        )
    finally:
        drop_schema(schema)


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
async def test_a_second_driver_never_sends_while_a_slow_first_send_is_in_flight(
    store: str, tmp_path: Path
) -> None:
    """Process A sends slowly; process B resumes meanwhile and finds the payout
    'submitted' and not found. Today B resent at once: two sends of one key in flight,
    and a provider whose dedupe races booked both."""
    sandbox = GenericSandbox(faults=FaultPlan(dedupe_race=1.0, dedupe_race_window_s=5.0))
    slow = _SlowFirstPay(sandbox, 0.4)

    def setup() -> ProviderSetup:
        adapter = with_capabilities(generic_sandbox_provider(), not_found_grace_s=0.2)
        budget = RetryBudget(ratio=5.0, min_per_s=1000, capacity=1000)
        return ProviderSetup(adapter, transport=slow, timeout_s=0.6, retry_budget=budget)

    gen = _two_ledgers(store, tmp_path)
    first, second = await anext(gen)
    try:
        async with (
            AsyncPayoutClient(first, [setup()], retry=FAST_RETRY, poll=FAST_POLL) as a,
            AsyncPayoutClient(second, [setup()], retry=FAST_RETRY, poll=FAST_POLL) as b,
        ):
            paying = asyncio.create_task(a.pay(make_request(1)))
            while slow.pays == 0:  # A's attempt is recorded, its send on its way, slowly
                await asyncio.sleep(0.01)
            assert not sandbox.payments
            resumed = await b.resume()
            paid = await paying
    finally:
        await gen.aclose()
    assert paid.status is S.SUCCEEDED and resumed.counts["succeeded"] == 1
    assert slow.pays == 1
    assert len(sandbox.bookings(paid.idempotency_key)) == 1


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
async def test_of_two_drivers_resending_at_once_only_one_records_its_attempt(
    store: str, tmp_path: Path
) -> None:
    """The attempt that precedes a resend is compare-and-set on the attempt count."""
    gen = _two_ledgers(store, tmp_path)
    first, second = await anext(gen)
    try:
        async with first, second:
            client = AsyncPayoutClient(first, [generic_setup(GenericSandbox())])
            payout, _ = await first.create_or_get(client.new_payout(make_request(1)))
            copy_a = await first.get(payout.id)
            copy_b = await second.get(payout.id)
            assert copy_a is not None and copy_b is not None
            kw = {"source": _SYSTEM, "count_attempt": True}
            won = await first.transition(copy_a, S.SUBMITTED, expect_attempts=0, **kw)  # type: ignore[arg-type]
            lost = await second.transition(copy_b, S.SUBMITTED, expect_attempts=0, **kw)  # type: ignore[arg-type]
            assert won.recorded and won.payout.attempts == 1
            assert not lost.recorded and lost.payout.attempts == 1
    finally:
        await gen.aclose()


from asxh_pay.models import EventSource  # noqa: E402

_SYSTEM = EventSource.SYSTEM


# ---------------------------------------------------------------------- 3. late truth


def _bank_and_cash(tmp_path: Path) -> tuple[GenericSandbox, GenericSandbox, list[ProviderSetup], Router]:
    bank_sb = GenericSandbox(callback_url="http://127.0.0.1/callbacks/bank")
    cash_sb = GenericSandbox(callback_url="http://127.0.0.1/callbacks/cash")
    setups = [
        ProviderSetup(
            with_capabilities(generic_sandbox_provider(name="bank"), not_found_grace_s=0.05),
            transport=bank_sb.transport(),
        ),
        ProviderSetup(
            with_capabilities(generic_sandbox_provider(name="cash"), not_found_grace_s=0.05),
            transport=cash_sb.transport(),
        ),
    ]
    router = Router({"bank": "bank", "cash_pickup": "cash"}, fallback_provider="cash")
    return bank_sb, cash_sb, setups, router


def _declined(i: int = 1) -> object:
    return make_request(i, account="1234560001", commune="26101")


async def test_late_success_before_the_fallback_left_cancels_it(tmp_path: Path) -> None:
    """The bank said failed, then delivered after all. Today the success raised an
    illegal transition and was dropped; the cash fallback then paid the person again."""
    bank_sb, cash_sb, setups, router = _bank_and_cash(tmp_path)
    bank_only = Router({"bank": "bank", "cash_pickup": "cash"})
    db = tmp_path / "l.db"
    async with AsyncPayoutClient(SqliteLedger(db), setups, router=bank_only, retry=FAST_RETRY) as c:
        parent = await c.pay(_declined())  # type: ignore[arg-type]
    async with AsyncPayoutClient(
        SqliteLedger(db), setups, router=router, retry=FAST_RETRY, poll=FAST_POLL
    ) as c:
        child = await c.fallback_for(parent)
        assert parent.status is S.FAILED and child is not None and child.status is S.CREATED
        bank_sb.succeed_after_failure(parent.idempotency_key)
        found = await c.refresh(parent)
        summary = await c.resume()
        stopped = await c.ledger.get(child.id)
        again = await c.pay(_declined())  # type: ignore[arg-type]
        events = await c.ledger.events(parent.id)
        twice = await c.ledger.paid_twice()
    assert found.status is S.SUCCEEDED and found.failure_reason is None
    assert [e.to_status for e in events][-2:] == [S.FAILED, S.SUCCEEDED]
    assert stopped is not None and stopped.status is S.CANCELLED
    assert again.id == parent.id and again.status is S.SUCCEEDED
    assert cash_sb.request_counts["pay"] == 0 and not summary.errors
    assert twice == []


async def test_late_success_after_the_fallback_left_is_a_paid_twice_case(tmp_path: Path) -> None:
    """The fallback was already paid in cash when the bank's late success arrived by
    callback: recorded (never dropped), and listed with both references for recovery."""
    bank_sb, cash_sb, setups, router = _bank_and_cash(tmp_path)
    callbacks: list[httpx.Request] = []

    async def sink(request: httpx.Request) -> None:
        callbacks.append(request)

    bank_sb.callback_sink = sink
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"), setups, router=router, retry=FAST_RETRY, poll=FAST_POLL
    ) as c:
        child = await c.pay(_declined())  # type: ignore[arg-type]  # the cash fallback's end
        parent = await c.status(_declined().key())  # type: ignore[attr-defined]
        assert parent.status is S.FAILED and child.parent_id == parent.id
        assert child.status is S.SUCCEEDED
        callbacks.clear()
        bank_sb.succeed_after_failure(parent.idempotency_key)
        await bank_sb.deliver_callbacks()
        for cb in callbacks:
            await c.handle_callback("bank", cb)
        twice = await c.ledger.paid_twice()
        again = await c.pay(_declined())  # type: ignore[arg-type]
        await c.resume()
    assert [(t.electronic.id, t.fallback.id) for t in twice] == [(parent.id, child.id)]
    assert twice[0].electronic.status is S.SUCCEEDED
    assert twice[0].references == (bank_sb.payments[parent.idempotency_key].ref, child.provider_ref)
    assert again.id == parent.id and again.status is S.SUCCEEDED
    assert cash_sb.request_counts["pay"] == 1  # nothing more left for that entitlement


# ---------------------------------------------------------------------- 4. callbacks of another provider


async def test_a_callback_cannot_move_another_providers_payout(tmp_path: Path) -> None:
    """A callback verified with the cash provider's key names the bank payout's key.
    Today it was applied; now it is refused (4xx through the receiver), nothing changed."""
    bank_sb, cash_sb, setups, router = _bank_and_cash(tmp_path)
    bank_sb.settle_after_s = 60
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"), setups, router=router, retry=FAST_RETRY, poll=FAST_POLL
    ) as c:
        payout = await c.pay(make_request(1), wait=False)
        assert payout.status is S.PROCESSING
        fake = SandboxPayment(
            key=payout.idempotency_key,
            ref="GEN0000000001",
            amount=payout.amount,
            body_hash="",
            attributes={},
            state=PaymentState.FAILED,
            received_at=0,
            settle_at=0,
            outcome=PaymentState.FAILED,
            reason_code="ACCOUNT_CLOSED",
        )
        before = await c.ledger.events(payout.id)
        with pytest.raises(WebhookVerificationError) as info:
            await c.handle_callback("cash", cash_sb.build_callback(fake, "evt_foreign_1"))
        assert info.value.code == "foreign_payout"
        handler = callback_handler(c, {"/callbacks/cash": "cash", "/callbacks/bank": "bank"})
        answer = await handler(cash_sb.build_callback(fake, "evt_foreign_2"))
        assert answer.status_code == 403
        # Signed by the bank's own key, but about another payment than the one recorded.
        other = dataclasses.replace(fake, ref="GEN9999999999")
        answer = await handler(bank_sb.build_callback(other, "evt_other_ref"))
        assert answer.status_code == 409
        assert await c.ledger.events(payout.id) == before
        assert (await c.status(payout.id)).status is S.PROCESSING


async def test_a_replayed_callback_raises_replayed_and_the_receiver_acknowledges_it(tmp_path: Path) -> None:
    sandbox = GenericSandbox(settle_after_s=60)
    callbacks: list[httpx.Request] = []

    async def sink(request: httpx.Request) -> None:
        callbacks.append(request)

    sandbox.callback_sink = sink
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"), [generic_setup(sandbox)], retry=FAST_RETRY, poll=FAST_POLL
    ) as c:
        payout = await c.pay(make_request(1), wait=False)
        sandbox.clock.advance(61)
        sandbox.settle_due()
        await sandbox.deliver_callbacks()
        await c.handle_callback("generic", callbacks[0])
        with pytest.raises(WebhookVerificationError) as info:
            await c.handle_callback("generic", callbacks[0])
        assert info.value.code == "replayed"
        answer = await callback_handler(c, {"/callbacks/generic": "generic"})(callbacks[0])
        assert answer.status_code == 200
        assert (await c.status(payout.id)).status is S.SUCCEEDED


# ---------------------------------------------------------------------- 7. what a provider echoes


async def test_an_answer_about_another_amount_is_never_a_success(tmp_path: Path) -> None:
    """Every answer says 1,000 VND more than was sent. Today the payout was recorded
    succeeded; now the answer is a protocol error and the payout stays unresolved."""
    sandbox = GenericSandbox(faults=FaultPlan(wrong_amount=1.0))
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"), [generic_setup(sandbox)], retry=FAST_RETRY, poll=FAST_POLL
    ) as c:
        with pytest.raises(ProviderProtocolError, match="another amount"):
            await c.pay(make_request(1))
        payout = await c.status(make_request(1).key())
    assert payout.status is S.UNKNOWN
    assert sandbox.fault_counts["wrong_amount"] >= 2


def test_a_wallet_inquiry_answered_about_another_wallet_is_a_protocol_error() -> None:
    """Item 7, accounts echoed back: Viettel's inquiry names the wallet it answers about; a
    holder's name for another wallet must not confirm this one. Today it was accepted."""
    from datetime import UTC, datetime

    from asxh_pay.models import Payout, PayoutRequest
    from asxh_pay.providers import viettel_money as wire
    from asxh_pay.sandbox.viettel_money import ViettelMoneySandbox, viettel_money_sandbox_provider

    request = PayoutRequest.model_validate(
        {
            **make_request(1).model_dump(mode="json", exclude={"destination"}),
            "destination": {"kind": "wallet", "provider": "viettel_money", "phone": "0912345678"},
        }
    )
    now = datetime.now(UTC)
    payout = Payout(
        id="po_inquiry_1",
        idempotency_key=request.key(),
        payload_hash=request.payload_hash(),
        request=request,
        provider="viettel_money",
        created_at=now,
        updated_at=now,
    )
    adapter, sandbox = viettel_money_sandbox_provider(), ViettelMoneySandbox()

    def answer(msisdn: str) -> httpx.Response:
        data = {"msisdn": msisdn, "customerName": "NGUYEN VAN AN", "kycStatus": "VERIFIED"}
        return sandbox.respond(200, {"code": wire.CODE_OK, "message": "ok", "data": data})

    assert adapter.parse_inquiry(payout, answer("84912345678")).exists
    with pytest.raises(ProviderProtocolError, match="another wallet"):
        adapter.parse_inquiry(payout, answer("84987654321"))
