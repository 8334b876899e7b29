"""Pay one beneficiary into a MoMo wallet, checking the wallet holder's name first.

Runs against the in-process MoMo sandbox (no network): ``python examples/wallet_single_payout.py``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from asxh_pay.client import AsyncPayoutClient, PollPolicy, ProviderSetup
from asxh_pay.ledger import SqliteLedger
from asxh_pay.masking import mask_phone
from asxh_pay.models import Beneficiary, PayoutRequest
from asxh_pay.sandbox.momo import MomoSandbox, momo_sandbox_provider


async def main() -> int:
    sandbox = MomoSandbox(settle_after_s=0.5)  # the wallet is credited half a second later
    request = PayoutRequest(
        programme="NCC",
        period="2026-11",
        beneficiary=Beneficiary(cccd="001090012345", full_name="Nguyễn Văn An"),
        destination={"kind": "wallet", "provider": "momo", "phone": "090 123 4567"},
        amount=2_055_000,
    )
    with tempfile.TemporaryDirectory() as tmp:
        ledger = SqliteLedger(Path(tmp) / "ledger.db")
        setup = ProviderSetup(momo_sandbox_provider(), transport=sandbox.transport())
        async with AsyncPayoutClient(ledger, [setup], poll=PollPolicy(initial_s=0.2, max_s=0.5)) as client:
            check = await client.verify_account(request)
            print(
                f"wallet {mask_phone(request.destination.phone)}: exists={check.exists} "  # type: ignore[union-attr]
                f"name match={check.name_match.value if check.name_match else '-'}"
            )
            if not check.accepted:
                print("name check failed: not paid, refer to the commune officer")
                return 1
            payout = await client.pay(request)
            print(payout)
            for event in await client.ledger.events(payout.id):
                print(f"  {event.seq:>2} {event.to_status.value:<10} from {event.source.value}")
            again = await client.pay(request)  # a rerun returns the same payout, pays nothing
            assert again.id == payout.id and len(sandbox.paid()) == 1
            return 0 if payout.status.value == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
