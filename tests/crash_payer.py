"""A payer process for the crash tests: pays N requests against a served sandbox.

Run as ``python tests/crash_payer.py LEDGER URL N``; the test kills it with SIGKILL
at random points and runs it again, as an operator would after a crash.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asxh_pay.client import AsyncPayoutClient, PollPolicy, ProviderSetup
from asxh_pay.ledger import SqliteLedger
from asxh_pay.retry import RetryBudget, RetryPolicy
from asxh_pay.sandbox.generic import generic_sandbox_provider
from tests.conftest import make_request


async def main(ledger: str, url: str, n: int) -> int:
    setup = ProviderSetup(
        generic_sandbox_provider(base_url=url),
        concurrency=32,
        timeout_s=2.0,
        retry_budget=RetryBudget(ratio=5.0, min_per_s=1000, capacity=1000),
    )
    async with AsyncPayoutClient(
        SqliteLedger(ledger),
        [setup],
        retry=RetryPolicy(base_delay_s=0.005, max_delay_s=0.05, max_attempts=40, deadline_s=60),
        poll=PollPolicy(initial_s=0.02, max_s=0.1, deadline_s=60, not_found_grace_s=0.1),
    ) as client:
        await client.resume()
        summary = await client.pay_many((make_request(i) for i in range(n)), concurrency=32)
    print(dict(summary.counts), len(summary.errors), flush=True)
    return 0 if not summary.errors else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
