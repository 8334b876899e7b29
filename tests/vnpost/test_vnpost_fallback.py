"""A payout that fails electronically is paid in cash by VNPost, exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from vnpost_support import BENEFICIARY_CCCD, DAY, PERIOD, START, beneficiary

from asxh_pay.client import AsyncPayoutClient, PollPolicy, ProviderSetup
from asxh_pay.ledger import SqliteLedger
from asxh_pay.models import PayoutRequest
from asxh_pay.retry import RetryPolicy
from asxh_pay.routing import Router
from asxh_pay.sandbox.base import FaultPlan, SandboxClock
from asxh_pay.sandbox.generic import GenericSandbox, generic_sandbox_provider
from asxh_pay.sandbox.vnpost import VNPostSandbox, vnpost_sandbox_provider
from asxh_pay.status import FailureReason, PayoutStatus


@dataclass
class Rails:
    wallet: GenericSandbox
    vnpost: VNPostSandbox
    clock: SandboxClock
    path: Path

    def client(self) -> AsyncPayoutClient:
        router = Router(
            {"wallet": "wallet", "cash_pickup": "vnpost", "cash_home": "vnpost", "postal_account": "vnpost"},
            fallback_provider="vnpost",
        )
        return AsyncPayoutClient(
            SqliteLedger(self.path),
            [
                ProviderSetup(generic_sandbox_provider(name="wallet"), transport=self.wallet.transport()),
                ProviderSetup(vnpost_sandbox_provider(), transport=self.vnpost.transport()),
            ],
            router=router,
            poll=PollPolicy(initial_s=0.0, deadline_s=0.0),
            retry=RetryPolicy(base_delay_s=0.001, max_delay_s=0.01, max_attempts=10),
        )

    def paid_total(self) -> int:
        return len(self.wallet.paid()) + len(self.vnpost.paid())


@pytest.fixture
def rails(tmp_path: Path) -> Rails:
    clock = SandboxClock(START, frozen=True)
    return Rails(GenericSandbox(), VNPostSandbox(clock=clock), clock, tmp_path / "ledger.db")


def wallet_request(i: int, phone: str) -> PayoutRequest:
    return PayoutRequest(
        programme="NCC",
        period=PERIOD,
        beneficiary=beneficiary(i),
        destination={"kind": "wallet", "provider": "momo", "phone": phone},
        amount=2_055_000,
    )


async def collect_all(rails: Rails) -> None:
    rails.clock.advance(2 * DAY)
    for record in rails.vnpost.postal.values():
        if record.pickup_code:
            rails.vnpost.pickup(record.pickup_code, record.beneficiary_cccd)


async def test_failed_wallet_transfer_is_paid_in_cash_exactly_once(rails: Rails) -> None:
    reqs = [wallet_request(0, "0912340001"), wallet_request(1, "0912345678")]
    async with rails.client() as client:
        child = await client.pay(reqs[0], wait=False)
        ok = await client.pay(reqs[1])
        assert ok.status is PayoutStatus.SUCCEEDED
        # The wallet refused (INVALID_ACCOUNT): the cash child at the commune point replaces it.
        assert child.provider == "vnpost" and child.parent_id is not None and child.lineage_depth == 1
        assert child.request.destination.kind == "cash_pickup"
        assert child.idempotency_key != reqs[0].key()
        parent = await client.status(child.parent_id)
        assert parent.status is PayoutStatus.FAILED and parent.failure_reason is FailureReason.INVALID_ACCOUNT
        assert child.status is PayoutStatus.PROCESSING

        await collect_all(rails)
        done = await client.refresh(child)
        assert done.status is PayoutStatus.SUCCEEDED
        assert rails.vnpost.postal[child.idempotency_key].beneficiary_cccd == BENEFICIARY_CCCD

        # The whole batch again, and a resume: nobody is paid again, on either rail.
        pay_requests = (rails.wallet.request_counts["pay"], rails.vnpost.request_counts["pay"])
        summary = await client.pay_many(reqs, keep_payouts=True)
        assert summary.counts == {"succeeded": 2}
        assert {p.id for p in summary.payouts} == {ok.id, child.id}
        await client.resume()
        assert (rails.wallet.request_counts["pay"], rails.vnpost.request_counts["pay"]) == pay_requests
        assert len(await client.ledger.children(parent.id)) == 1

    assert list(rails.wallet.paid()) == [ok.idempotency_key]
    assert list(rails.vnpost.paid()) == [child.idempotency_key]
    assert rails.paid_total() == 2
    assert sum(p.amount for p in rails.vnpost.paid().values()) == 2_055_000

    # A restart on the same ledger (another run of the batch) pays nobody either.
    async with rails.client() as client:
        again = await client.pay_many(reqs)
        assert again.counts == {"succeeded": 2}
    assert rails.paid_total() == 2 and len(rails.vnpost.payments) == 1


async def test_fallback_survives_a_crash_between_failure_and_child(rails: Rails) -> None:
    """The parent failed and the process stopped before the cash child existed: resume makes it, once."""
    req = wallet_request(0, "0912340001")
    async with rails.client() as client:
        client.router = Router({"wallet": "wallet"})  # as if the fallback step never ran
        failed = await client.pay(req)
        assert failed.status is PayoutStatus.FAILED and not await client.ledger.children(failed.id)
    async with rails.client() as client:
        await client.resume()
        await client.resume()
        children = await client.ledger.children(failed.id)
        assert len(children) == 1 and children[0].provider == "vnpost"
    assert len(rails.vnpost.payments) == 1


async def test_a_returned_wallet_payment_falls_back_to_cash(tmp_path: Path) -> None:
    clock = SandboxClock(START, frozen=True)
    rails = Rails(
        GenericSandbox(faults=FaultPlan(reversal=1.0)), VNPostSandbox(clock=clock), clock, tmp_path / "l.db"
    )
    req = wallet_request(0, "0912345678")
    async with rails.client() as client:
        paid = await client.pay(req)
        assert paid.status is PayoutStatus.SUCCEEDED
        rails.wallet.settle_due()  # the wallet reverses it (money came back)
        returned = await client.refresh(paid)
        assert returned.status is PayoutStatus.RETURNED
        await client.resume()
        children = await client.ledger.children(paid.id)
        assert len(children) == 1 and children[0].status is PayoutStatus.PROCESSING
        await collect_all(rails)
        assert (await client.refresh(children[0])).status is PayoutStatus.SUCCEEDED
    assert rails.wallet.paid() == {} and len(rails.vnpost.paid()) == 1


async def test_a_closed_postal_account_falls_back_to_cash_at_the_commune_point(rails: Rails) -> None:
    """VNPost is both rails here: its account credit fails (closed), its cash pays."""
    async with rails.client() as client:
        child = await client.pay(
            PayoutRequest(
                programme="NCC",
                period=PERIOD,
                beneficiary=beneficiary(0),
                destination={"kind": "postal_account", "account_number": "1234560002"},
                amount=1_000_000,
            )
        )
        # ACCOUNT_CLOSED allows a fallback; the child goes to the commune point in cash.
        assert child.request.destination.kind == "cash_pickup" and child.lineage_depth == 1
    assert len(rails.vnpost.payments) == 2 and rails.vnpost.paid() == {}


async def test_fallback_callbacks_reach_the_child(rails: Rails) -> None:
    async with rails.client() as client:
        acks: list[httpx.Response] = []

        async def sink(req: httpx.Request) -> None:
            acks.append(await client.handle_callback("vnpost", req))

        rails.vnpost.callback_sink = sink
        child = await client.pay(wallet_request(0, "0912340001"), wait=False)
        await collect_all(rails)
        await rails.vnpost.deliver_callbacks()
        assert (await client.status(child.id)).status is PayoutStatus.SUCCEEDED
        assert acks and all(a.status_code == 200 for a in acks)
