"""Workers make the cash fallbacks nobody made: a failure learnt by a callback, or a
crash between recording a failure and recording its fallback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest

from asxh_pay.client import ProviderSetup
from asxh_pay.ledger.postgres import PostgresLedger
from asxh_pay.models import EventSource, Payout
from asxh_pay.retry import RetryBudget
from asxh_pay.routing import Router
from asxh_pay.sandbox.generic import GenericSandbox, generic_sandbox_provider
from asxh_pay.status import FailureReason
from asxh_pay.status import PayoutStatus as S
from asxh_pay.worker import WorkerStats, run_worker
from tests.conftest import FAST_POLL, FAST_RETRY
from tests.ledger.pg import PG_URL
from tests.ledger.test_ledger_contract import payout, request

pytestmark = pytest.mark.postgres

ROUTER = Router(routes={"bank": "generic", "cash_pickup": "cash"}, fallback_provider="cash")


def setups(bank: GenericSandbox, cash: GenericSandbox) -> list[ProviderSetup]:
    budget = RetryBudget(ratio=5.0, min_per_s=10_000, capacity=10_000)
    return [
        ProviderSetup(generic_sandbox_provider(), transport=bank.transport(), retry_budget=budget),
        ProviderSetup(generic_sandbox_provider(name="cash"), transport=cash.transport(), retry_budget=budget),
    ]


async def work(
    bank: GenericSandbox, cash: GenericSandbox, schema: str, name: str, **options: Any
) -> WorkerStats:
    """One worker on run R1 until nothing is left, with short leases and fast retries."""
    return await run_worker(
        PG_URL,
        setups(bank, cash),
        ROUTER,
        worker_id=name,
        run_id="R1",
        schema=schema,
        lease_s=5,
        idle_poll_s=0.05,
        retry=FAST_RETRY,
        poll=FAST_POLL,
        **options,
    )


async def _failed(ledger: PostgresLedger, i: int, reason: FailureReason) -> Payout:
    """A payout the bank declined, recorded as a crashed worker would leave it: no fallback."""
    p, _ = await ledger.create_or_get(payout(request(i)))
    p = (await ledger.transition(p, S.SUBMITTED, source=EventSource.SYSTEM, count_attempt=True)).payout
    return (await ledger.transition(p, S.FAILED, source=EventSource.CALLBACK, reason=reason)).payout


async def test_idle_workers_make_each_missing_fallback_once(pg_schema: str) -> None:
    bank, cash = GenericSandbox(), GenericSandbox()
    ledger = PostgresLedger(PG_URL, schema=pg_schema, max_size=4)
    await ledger.open()
    try:
        declined = await _failed(ledger, 1, FailureReason.INVALID_ACCOUNT)
        deceased = await _failed(ledger, 2, FailureReason.BENEFICIARY_DECEASED)
        pending, _ = await ledger.create_or_get(payout(request(4)))  # 0003 would be a blocked account

        def worker(name: str) -> Awaitable[WorkerStats]:
            return work(bank, cash, pg_schema, name)

        stats = await asyncio.wait_for(asyncio.gather(worker("A"), worker("B")), 60)
        assert sum(s.fallbacks_resumed for s in stats) == 1
        assert sum(s.errors for s in stats) == 0
        children = await ledger.children(declined.id)
        assert len(children) == 1 and children[0].status is S.SUCCEEDED
        assert children[0].request.destination.kind == "cash_pickup"
        assert await ledger.children(deceased.id) == []  # a death is not paid in cash
        assert (await ledger.get(pending.id)).status is S.SUCCEEDED  # type: ignore[union-attr]
        assert len(cash.paid()) == 1 and cash.request_counts["pay"] == 1
        assert len(bank.paid()) == 1

        again = await asyncio.wait_for(worker("C"), 60)
        assert again.fallbacks_resumed == 0 and again.claimed == 0
        assert cash.request_counts["pay"] == 1
    finally:
        await ledger.close()


async def test_a_worker_asks_before_fallback_and_records_a_stop(pg_schema: str) -> None:
    """The register check of the payroll reaches the workers: a stopped fallback never leaves."""
    bank, cash = GenericSandbox(), GenericSandbox()
    ledger = PostgresLedger(PG_URL, schema=pg_schema, max_size=4)
    await ledger.open()
    asked: list[str] = []

    async def register(parent: Payout, fallback: Payout) -> tuple[FailureReason, str] | None:
        asked.append(parent.id)
        return FailureReason.BENEFICIARY_DECEASED, "deceased on 2026-11-03"

    try:
        declined = await _failed(ledger, 1, FailureReason.ACCOUNT_CLOSED)
        stats = await asyncio.wait_for(work(bank, cash, pg_schema, "A", before_fallback=register), 60)
        assert stats.errors == 0 and asked == [declined.id]
        (child,) = await ledger.children(declined.id)
        assert child.status is S.CANCELLED and child.failure_reason is FailureReason.BENEFICIARY_DECEASED
        assert cash.request_counts["pay"] == 0
    finally:
        await ledger.close()
