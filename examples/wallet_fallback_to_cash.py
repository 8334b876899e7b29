"""A wallet payout that fails falls back to VNPost cash, and is paid exactly once.

The wallet rail here is the generic sandbox (until the wallet adapters land): a phone
number ending 0001 is an invalid wallet. The failed payout gets a cash child payout at
the beneficiary's commune payment point (core fallback: parent_id, lineage_depth, derived
key); the beneficiary collects it with their CCCD on day 3 of the commune window. Then
the whole batch is run again: nobody is paid twice.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import datetime
from pathlib import Path

from asxh_pay.client import AsyncPayoutClient, PollPolicy, ProviderSetup
from asxh_pay.ledger import SqliteLedger
from asxh_pay.masking import mask_cccd
from asxh_pay.models import Beneficiary, PayoutRequest
from asxh_pay.providers.vnpost import VN_TZ
from asxh_pay.routing import Router
from asxh_pay.sandbox.base import SandboxClock
from asxh_pay.sandbox.generic import GenericSandbox, generic_sandbox_provider
from asxh_pay.sandbox.vnpost import VNPostSandbox, vnpost_sandbox_provider

PERIOD = "2026-11"


def batch() -> list[PayoutRequest]:
    people = [
        ("001045012345", "Nguyễn Văn An", "0912340001"),
        ("001052012346", "Trần Thị Bình", "0912345678"),
    ]
    return [
        PayoutRequest(
            programme="NCC",
            period=PERIOD,
            beneficiary=Beneficiary(cccd=cccd, full_name=name, commune_code="26101"),
            destination={"kind": "wallet", "provider": "momo", "phone": phone},
            amount=2_055_000,
        )
        for cccd, name, phone in people
    ]


async def main() -> int:
    clock = SandboxClock(datetime(2026, 11, 1, 8, 0, tzinfo=VN_TZ).timestamp(), frozen=True)
    wallet, vnpost = GenericSandbox(), VNPostSandbox(clock=clock)
    router = Router(
        {"wallet": "wallet", "cash_pickup": "vnpost", "cash_home": "vnpost"}, fallback_provider="vnpost"
    )
    with tempfile.TemporaryDirectory() as tmp:
        client = AsyncPayoutClient(
            SqliteLedger(Path(tmp) / "ledger.db"),
            [
                ProviderSetup(generic_sandbox_provider(name="wallet"), transport=wallet.transport()),
                ProviderSetup(vnpost_sandbox_provider(), transport=vnpost.transport()),
            ],
            router=router,
            poll=PollPolicy(initial_s=0.0, deadline_s=0.0),
        )
        async with client:
            first = await client.pay_many(batch(), keep_payouts=True)
            for p in first.payouts:
                parent = await client.status(p.parent_id) if p.parent_id else None
                how = (
                    f"wallet failed ({parent.failure_reason}), cash child {p.id} via {p.provider}"
                    if parent
                    else f"paid by {p.provider}"
                )
                print(f"{mask_cccd(p.request.beneficiary.cccd)}: {p.status.value:<10} {how}")
            cash = next(p for p in first.payouts if p.parent_id)

            clock.advance(2 * 86_400)  # 3 November: the commune window is open
            vnpost.pickup(vnpost.pickup_code(cash.idempotency_key), cash.request.beneficiary.cccd)
            cash = await client.refresh(cash)
            print(
                f"{mask_cccd(cash.request.beneficiary.cccd)}: collected at the commune point "
                f"-> {cash.status.value}"
            )

            again = await client.pay_many(batch())
            print(f"batch run again: {dict(again.counts)}")
        paid = len(wallet.paid()) + len(vnpost.paid())
        print(f"payments made: wallet {len(wallet.paid())}, VNPost cash {len(vnpost.paid())} (total {paid})")
        assert paid == 2 and len(vnpost.payments) == 1 and wallet.request_counts["pay"] == 2
        assert cash.status.value == "succeeded"
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
