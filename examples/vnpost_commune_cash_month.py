"""A month of cash payouts for one commune through VNPost, in the in-process sandbox.

Forty beneficiaries of commune 26101 are paid in cash: most collect at the commune payment
point (days 2-10), some at the post office (days 11-25), and those aged 80+, sick or
disabled have the cash delivered at home. The payouts are grouped into sealed manifests
(one per payment point), the sandbox clock is advanced day by day through the windows,
people come (or not) as the seeded simulation decides, postmen fail some visits, and
whatever is not handed over by the window's end is returned. Runs in a few seconds.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from datetime import datetime
from pathlib import Path

import httpx

from asxh_pay.client import AsyncPayoutClient, PollPolicy, ProviderSetup
from asxh_pay.ledger import SqliteLedger
from asxh_pay.models import Beneficiary, PayoutRequest
from asxh_pay.providers.vnpost import VN_TZ, ManifestSender, build_manifests
from asxh_pay.sandbox.base import SandboxClock
from asxh_pay.sandbox.vnpost import CashSimulation, VNPostSandbox, vnpost_sandbox_provider

PERIOD = "2026-11"
DAY = 86_400.0
COMMUNE = "26101"


def requests() -> list[PayoutRequest]:
    out = []
    for i in range(40):
        if i % 5 == 0:
            dest = {
                "kind": "cash_home",
                "address": f"Thôn {i % 7 + 1}, xã Hòa Bình",
                "special_case": "aged 80+",
            }
        elif i % 5 == 1:
            dest = {"kind": "cash_pickup", "payment_point": "BC261000", "point_type": "post_office"}
        else:
            dest = {"kind": "cash_pickup", "payment_point": COMMUNE, "point_type": "commune"}
        out.append(
            PayoutRequest(
                programme="BTXH" if i % 2 else "NCC",
                period=PERIOD,
                beneficiary=Beneficiary(
                    cccd=f"0010{40 + i % 40:02d}{i:06d}", full_name="Nguyễn Văn An", commune_code=COMMUNE
                ),
                destination=dest,
                amount=1_080_000 if i % 2 else 2_055_000,
                source=f"commune list row {i + 1}",
            )
        )
    return out


async def main() -> int:
    clock = SandboxClock(datetime(2026, 11, 1, 7, 0, tzinfo=VN_TZ).timestamp(), frozen=True)
    sandbox = VNPostSandbox(
        clock=clock,
        require_manifest=True,
        simulation=CashSimulation(auto=True, no_show_rate=0.1, delivery_failure_rate=0.3, seed=2026),
    )
    adapter = vnpost_sandbox_provider()
    with tempfile.TemporaryDirectory() as tmp:
        client = AsyncPayoutClient(
            SqliteLedger(Path(tmp) / "ledger.db"),
            [ProviderSetup(adapter, transport=sandbox.transport())],
            poll=PollPolicy(initial_s=0.0, deadline_s=0.0),
        )

        async def on_callback(req: httpx.Request) -> None:
            await client.handle_callback("vnpost", req)

        sandbox.callback_sink = on_callback
        async with client, ManifestSender(adapter, transport=sandbox.transport()) as sender:
            summary = await client.pay_many(requests(), keep_payouts=True)
            print(
                f"registered {sum(summary.counts.values())} cash payouts with VNPost: {dict(summary.counts)}"
            )
            manifests = build_manifests(summary.payouts)
            for manifest in manifests:
                status = await sender.submit(manifest)
                print(
                    f"manifest {manifest.manifest_no} {manifest.point_type:<11} {manifest.payment_point:<9} "
                    f"{manifest.item_count:>3} payouts {manifest.total_amount:>12,} VND -> {status.state}"
                )
            for day in range(2, 28):
                clock.advance(DAY)
                sandbox.settle_due()
                await sandbox.deliver_callbacks()
                if day in (10, 11, 25, 26):
                    counts = await client.ledger.counts()
                    print(
                        f"  day {day:>2}: "
                        + ", ".join(f"{s.value}={n}" for s, n in sorted(counts.items()) if n)
                    )
            for manifest in manifests:
                status = await sender.status(manifest.manifest_no)
                print(
                    f"manifest {manifest.manifest_no} {status.state}: {dict(status.counts)} "
                    f"paid {status.paid_amount:,} VND"
                )
            final = [await client.status(p.id) for p in summary.payouts]
        reasons = Counter(str(p.failure_reason) for p in final if p.failure_reason)
        paid = [p for p in final if p.status.value == "succeeded"]
        print(
            f"paid {len(paid)} of {len(final)} ({sum(p.amount for p in paid):,} VND); "
            f"returned: {dict(reasons)}"
        )
        assert len(sandbox.paid()) == len(paid), "ledger and VNPost books disagree"
        assert all(p.is_terminal for p in final), "a payout was left in between"
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
