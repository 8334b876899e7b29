"""A payer process for the crash tests: pays N requests against a served sandbox.

Run as ``python tests/crash_payer.py LEDGER URL N [ROUNDS]``; the test kills it with
SIGKILL at random points and runs it again, as an operator would after a crash. Each run
resumes first, then pays the N requests ROUNDS times (default 1: paying them again is a
rerun, which must pay nobody twice).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asxh_pay.client import AsyncPayoutClient, PollPolicy, ProviderSetup
from asxh_pay.ledger import SqliteLedger
from asxh_pay.providers.base import with_capabilities
from asxh_pay.retry import RetryBudget, RetryPolicy
from asxh_pay.sandbox.generic import generic_sandbox_provider
from tests.conftest import make_request

#: The confirmation window the test's provider declares: longer than the sandbox's stale
#: reads and dedupe races (200 ms, 50 ms), short so a resume after a kill is quick.
GRACE_S = 0.3


async def main(ledger: str, url: str, n: int, rounds: int = 1) -> int:
    setup = ProviderSetup(
        with_capabilities(generic_sandbox_provider(base_url=url), not_found_grace_s=GRACE_S),
        concurrency=32,
        timeout_s=2.0,
        retry_budget=RetryBudget(ratio=5.0, min_per_s=1000, capacity=1000),
    )
    async with AsyncPayoutClient(
        SqliteLedger(ledger),
        [setup],
        retry=RetryPolicy(base_delay_s=0.005, max_delay_s=0.05, max_attempts=40, deadline_s=60),
        poll=PollPolicy(initial_s=0.02, max_s=0.1, deadline_s=60),
    ) as client:
        await client.resume()
        errors = 0
        for _ in range(rounds):
            summary = await client.pay_many((make_request(i) for i in range(n)), concurrency=32)
            errors += len(summary.errors)
            print(dict(summary.counts), len(summary.errors), flush=True)
    return 0 if not errors else 1


if __name__ == "__main__":
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), rounds)))
