"""Pay 1,000 beneficiaries into Viettel Money wallets, with polling *and* signed callbacks.

The Viettel Money sandbox runs in-process; its callbacks travel over real HTTP to a small
webhook receiver on 127.0.0.1 (``asxh_pay.localserver.serve``) that hands them to
``client.handle_callback``. Forged, stale or replayed callbacks would be refused there.
``python examples/wallet_thousand_with_callbacks.py``
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx

from asxh_pay.client import AsyncPayoutClient, PollPolicy, ProviderSetup
from asxh_pay.errors import WebhookVerificationError
from asxh_pay.ledger import SqliteLedger
from asxh_pay.localserver import serve
from asxh_pay.models import Beneficiary, PayoutRequest
from asxh_pay.retry import RetryBudget
from asxh_pay.sandbox.viettel_money import ViettelMoneySandbox, viettel_money_sandbox_provider

N = 1000
NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Hữu Châu", "Phạm Đức Dũng", "Hoàng Thị Hà", "Đặng Minh Hải"]


def requests(n: int) -> Iterator[PayoutRequest]:
    rng = random.Random(4)
    for i in range(n):
        yob = rng.randint(1930, 1999)
        phone = f"0961{i:04d}99"
        if i % 100 == 1:
            phone = phone[:-4] + "0001"  # no wallet: declined, typed reason
        yield PayoutRequest(
            programme="BTXH",
            period="2026-11",
            beneficiary=Beneficiary(
                cccd=f"004{rng.randint(0, 1)}{yob % 100:02d}{i:06d}", full_name=rng.choice(NAMES)
            ),
            destination={"kind": "wallet", "provider": "viettel_money", "phone": phone},
            amount=rng.choice([500_000, 750_000, 1_080_000, 1_500_000]),
        )


async def main() -> int:
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    received: Counter[str] = Counter()
    client_ref: list[AsyncPayoutClient] = []

    def webhook(request: httpx.Request) -> httpx.Response:
        """Runs on the receiver's thread; the ledger work runs on the client's loop."""
        future = asyncio.run_coroutine_threadsafe(
            client_ref[0].handle_callback("viettel_money", request), loop
        )
        try:
            ack = future.result(timeout=10)
        except WebhookVerificationError as exc:
            received[f"refused:{exc.code}"] += 1
            return httpx.Response(400, json={"code": exc.code})
        received["applied"] += 1
        return ack

    with tempfile.TemporaryDirectory() as tmp, serve(webhook) as receiver:
        http = httpx.AsyncClient(trust_env=False)

        in_flight: set[asyncio.Task[None]] = set()
        senders = asyncio.Semaphore(8)  # a few parallel webhook workers, as providers run

        async def send(request: httpx.Request) -> None:
            for attempt in range(5):  # a provider redelivers until acknowledged
                try:
                    async with senders:
                        response = await http.send(request)
                    if response.status_code < 500:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1 * 2**attempt)

        async def deliver(request: httpx.Request) -> None:
            # Callbacks go out in parallel, as a provider's webhook workers send them.
            task = asyncio.create_task(send(request))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)

        sandbox = ViettelMoneySandbox(
            settle_after_s=0.5, callback_sink=deliver, callback_url=f"{receiver.url}/callbacks/viettel_money"
        )
        setup = ProviderSetup(
            viettel_money_sandbox_provider(),
            transport=sandbox.transport(),
            concurrency=200,
            retry_budget=RetryBudget(ratio=1.0, min_per_s=500),
        )
        stop = asyncio.Event()
        background = asyncio.create_task(sandbox.run(interval_s=0.05, stop=stop))
        ledger = SqliteLedger(Path(tmp) / "ledger.db", synchronous="NORMAL")
        async with AsyncPayoutClient(ledger, [setup], poll=PollPolicy(initial_s=1.5, max_s=2.0)) as client:
            client_ref.append(client)
            summary = await client.pay_many(requests(N), concurrency=250)
            stop.set()
            await background
            await sandbox.deliver_callbacks()
            await asyncio.gather(*in_flight)
        await http.aclose()

    paid = sandbox.paid()
    print(f"{N} payouts in {time.perf_counter() - started:.1f}s")
    for status, count in sorted(summary.counts.items()):
        print(f"  {status:<10} {count:>5}  {summary.amount_by_status[status]:>15,} VND")
    paid_vnd = sum(p.amount for p in paid.values())
    print(f"  callbacks: {dict(received)}; sandbox paid {len(paid)} wallets, {paid_vnd:,} VND")
    ok = (
        not summary.errors
        and summary.counts["succeeded"] == len(paid)
        and summary.amount_by_status["succeeded"] == sum(p.amount for p in paid.values())
        and received["applied"] > 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
