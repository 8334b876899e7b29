"""Four worker processes, one PostgreSQL ledger, one faulty provider, one worker SIGKILLed.

The claim proven here is the first invariant at scale: every payout is paid exactly
once and none is left behind, even though a worker dies holding leases on payouts
in every state, and the provider times out after booking some payments (so those
payouts can only be finished by asking, never by resending blind).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from asxh_pay.payroll.served_stack import free_port
from tests.ledger.pg import PG_URL

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

N = int(os.environ.get("ASXH_PAY_SCALEOUT_N", "20000"))
WORKERS = 4
ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "asxh_pay", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _pg_count(schema: str, where: str) -> int:
    import psycopg

    with psycopg.connect(PG_URL, options=f"-c search_path={schema}") as conn:
        row = conn.execute(f"SELECT count(*) FROM payouts WHERE {where}").fetchone()
        return int(row[0]) if row else 0


def test_four_workers_one_killed_pay_everything_exactly_once(pg_schema: str, tmp_path: Path) -> None:
    port = free_port()
    sandbox = subprocess.Popen(
        _cli(
            "sandbox",
            "serve",
            "generic",
            "--port",
            str(port),
            "--settle-after-s",
            "0",
            "--faults",
            "0.01",
            "--hang-s",
            "1.5",
            "--seed",
            "11",
            "--lang",
            "en",
        ),
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "sandbox.err").open("wb"),
        env=_env(),
        cwd=ROOT,
    )
    workers: list[subprocess.Popen[bytes]] = []
    try:
        assert sandbox.stdout is not None
        assert b"listening" in sandbox.stdout.readline()
        ledger = ["--ledger", PG_URL, "--schema", pg_schema]
        subprocess.run(_cli("db", "upgrade", *ledger), check=True, env=_env(), cwd=ROOT, capture_output=True)
        loaded = subprocess.run(
            _cli("enqueue", *ledger, "--run-id", "R1", "--synthetic", str(N), "--json"),
            check=True,
            env=_env(),
            cwd=ROOT,
            capture_output=True,
        )
        assert json.loads(loaded.stdout)["created"] == N

        for i in range(WORKERS):
            workers.append(
                subprocess.Popen(
                    _cli(
                        "worker",
                        *ledger,
                        "--run-id",
                        "R1",
                        "--worker-id",
                        f"w{i}",
                        "--provider-url",
                        f"http://127.0.0.1:{port}",
                        "--provider-timeout-s",
                        "1",
                        # The served sandbox reads its own writes: a short confirmation window.
                        "--provider-not-found-grace-s",
                        "0.5",
                        "--concurrency",
                        "24",
                        "--batch-size",
                        "48",
                        "--lease-s",
                        "3",
                        "--retry-base-s",
                        "0.05",
                    ),
                    stdout=(tmp_path / f"w{i}.out").open("wb"),
                    stderr=(tmp_path / f"w{i}.err").open("wb"),
                    env=_env(),
                    cwd=ROOT,
                )
            )
        # Kill one worker midway, while it holds leases on payouts in flight.
        deadline = time.monotonic() + 120
        while _pg_count(pg_schema, "status IN ('succeeded', 'failed')") < N // 4:
            assert time.monotonic() < deadline, "workers made no progress"
            time.sleep(0.2)
        held = _pg_count(pg_schema, "lease_owner = 'w0' AND lease_expires_at > now()")
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        assert held > 0, "the killed worker held no lease: the test would prove nothing"
        for w in workers[1:]:
            assert w.wait(timeout=240) == 0, (tmp_path / "w1.err").read_text()[-2000:]

        books = httpx.get(f"http://127.0.0.1:{port}/_sandbox/books", timeout=10).json()
    finally:
        for proc in [*workers, sandbox]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()

    asyncio.run(_check_against_books(pg_schema, books["payments"]))
    faults = books["fault_counts"]
    # The faults really happened, including the ones that only a status query can settle.
    assert faults.get("hang_after_commit", 0) > 0 and faults.get("error_after_commit", 0) > 0
    assert faults.get("server_error", 0) > 0 and faults.get("rate_limited", 0) > 0
    stats = [json.loads((tmp_path / f"w{i}.out").read_text().splitlines()[-1]) for i in range(1, WORKERS)]
    assert sum(s["claimed"] for s in stats) > 0


async def _check_against_books(schema: str, payments: dict[str, dict[str, object]]) -> None:
    from asxh_pay.ledger.postgres import PostgresLedger

    async with PostgresLedger(PG_URL, schema=schema) as ledger:
        counts = await ledger.counts("R1")
        assert sum(counts.values()) == N
        assert await ledger.unfinished() == 0, counts
        seen: set[str] = set()
        states: Counter[str] = Counter()
        async for p in ledger.iter_payouts(batch_size=5000):
            entry = payments.get(p.idempotency_key)
            assert entry is not None, f"{p.id} is {p.status} in the ledger but the provider never booked it"
            assert entry["state"] == p.status.value, (p.id, p.status, entry)
            assert entry["amount"] == p.amount
            seen.add(p.idempotency_key)
            states[p.status.value] += 1
        # Nothing booked that the ledger does not know; one booking per entitlement.
        assert set(payments) == seen
        assert len({e["entitlement"] for e in payments.values()}) == len(payments)
        assert states["succeeded"] > 0.9 * N
        report = await ledger.verify_chain()
        assert report.ok, report.problems[:5]
