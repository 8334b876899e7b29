"""A small demonstration batch on the embedded defaults (SQLite ledger, in-process sandbox).

Why it exists before the full payroll: it shows the engine end to end (faults, retries,
unknown outcomes resolved by status queries, cash fallback) on one laptop in seconds.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from pathlib import Path

from asxh_pay.client import AsyncPayoutClient, BatchSummary, PollPolicy, ProviderSetup
from asxh_pay.ledger import SqliteLedger
from asxh_pay.models import Beneficiary, PayoutRequest
from asxh_pay.providers.generic import GenericProvider
from asxh_pay.retry import RetryBudget, RetryPolicy
from asxh_pay.routing import Router
from asxh_pay.sandbox.base import FaultPlan
from asxh_pay.sandbox.generic import GenericSandbox

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quang"]
GIVEN = ["An", "Bình", "Châu", "Dũng", "Hà", "Hải", "Hòa", "Lan", "Linh", "Mai", "Nam", "Phúc", "Sơn", "Tâm"]


def synthetic_requests(n: int, *, period: str = "2026-11", seed: int = 7) -> Iterator[PayoutRequest]:
    rng = random.Random(seed)
    for i in range(n):
        yob = rng.randint(1930, 1999)
        cccd = f"004{(0 if rng.random() < 0.5 else 1)}{yob % 100:02d}{i:06d}"
        name = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        account = f"{rng.randint(10, 99)}{i:08d}"
        if i % 50 == 7:
            account = account[:-4] + "0001"  # an account the bank will refuse -> cash fallback
        yield PayoutRequest(
            programme="NCC" if i % 3 else "BTXH",
            period=period,
            beneficiary=Beneficiary(cccd=cccd, full_name=name, commune_code=f"{26101 + i % 5}"),
            destination={"kind": "bank", "bank_bin": "970405", "account_number": account},
            amount=rng.choice([500_000, 750_000, 1_080_000, 1_500_000, 2_055_000]),
            source=f"demo row {i + 1}",
        )


async def run_demo(n: int = 2000, data_dir: Path = Path("asxh-pay-data")) -> BatchSummary:
    bank_sandbox = GenericSandbox(faults=FaultPlan.every_kind(0.05, seed=1))
    cash_sandbox = GenericSandbox()
    bank = ProviderSetup(
        GenericProvider(name="bank"),
        transport=bank_sandbox.transport(),
        concurrency=64,
        retry_budget=RetryBudget(ratio=1.0, min_per_s=200),
    )
    cash = ProviderSetup(GenericProvider(name="cash"), transport=cash_sandbox.transport(), concurrency=16)
    router = Router({"bank": "bank", "cash_pickup": "cash", "cash_home": "cash"}, fallback_provider="cash")
    data_dir.mkdir(parents=True, exist_ok=True)
    ledger = SqliteLedger(data_dir / "demo-ledger.db")
    async with AsyncPayoutClient(
        ledger,
        [bank, cash],
        router=router,
        poll=PollPolicy(initial_s=0.0),
        retry=RetryPolicy(base_delay_s=0.005, max_delay_s=0.05, max_attempts=20),
    ) as client:
        return await client.pay_many(synthetic_requests(n), concurrency=64)


def main(n: int = 2000) -> int:
    started = time.perf_counter()
    summary = asyncio.run(run_demo(n))
    elapsed = time.perf_counter() - started
    print(f"demo batch: {n} payout requests in {elapsed:.1f}s")
    for status, count in sorted(summary.counts.items()):
        print(f"  {status:<10} {count:>7}  {summary.amount_by_status[status]:>15,} VND")
    print(f"  errors     {len(summary.errors):>7}")
    return 0 if not summary.errors else 1
