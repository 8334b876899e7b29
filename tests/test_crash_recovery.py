"""Crash recovery: a payer process killed with SIGKILL at random points, then restarted.

The sandbox runs in this test's process and is served over real HTTP, so its books
survive the payer's death; the payer's ledger is a SQLite file. After several kills
and a final run, the two sets of books must agree and nobody may be paid twice.

The second test does it against a provider that is wrong the way real ones are
(issue 13): "not found" for up to 200 ms after booking and a dedupe race of 50 ms at
15% of requests, SIGKILL at 3 random moments each followed by a resume, and a final
run that pays everything again.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from asxh_pay.ledger import SqliteLedger
from asxh_pay.localserver import serve
from asxh_pay.sandbox.base import FaultPlan
from asxh_pay.sandbox.generic import GenericSandbox
from tests.test_reliability import assert_books_agree, assert_exactly_once

ROOT = Path(__file__).resolve().parents[1]
N = 1500


@pytest.mark.slow
async def test_sigkill_at_random_points_then_resume(tmp_path: Path) -> None:
    faults = FaultPlan(server_error=0.05, rate_limited=0.05, timeout_after_commit=0.05, seed=7)
    faults.retry_after_s = 0.01
    sandbox = GenericSandbox(settle_after_s=0.05, faults=faults)
    ledger_path = tmp_path / "ledger.db"
    rng = random.Random(20261123)
    kills = 0
    with serve(sandbox.handle) as server:
        cmd = [sys.executable, str(ROOT / "tests" / "crash_payer.py"), str(ledger_path), server.url, str(N)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for _ in range(4):
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(rng.uniform(0.8, 2.5))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
        final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
        assert final.returncode == 0, final.stdout + final.stderr
    assert kills >= 2, "the payer finished before it could be killed: raise N"

    ledger = SqliteLedger(ledger_path, exclusive=False)
    await ledger.open()
    try:
        payouts = [p async for p in ledger.iter_payouts()]
        report = await ledger.verify_chain()
    finally:
        await ledger.close()
    assert len(payouts) == N
    await assert_books_agree(payouts, sandbox)
    assert report.ok, report.problems[:5]


@pytest.mark.slow
async def test_sigkill_three_times_against_a_provider_that_reads_stale_and_races(tmp_path: Path) -> None:
    faults = FaultPlan(
        server_error=0.05,
        rate_limited=0.05,
        timeout_before_commit=0.05,
        timeout_after_commit=0.05,
        stale_read=0.15,
        stale_read_window_s=0.2,
        dedupe_race=0.15,
        dedupe_race_window_s=0.05,
        seed=13,
    )
    faults.retry_after_s = 0.01
    sandbox = GenericSandbox(settle_after_s=0.05, faults=faults)
    ledger_path = tmp_path / "ledger.db"
    rng = random.Random(20261202)
    kills = 0
    with serve(sandbox.handle) as server:
        cmd = [sys.executable, str(ROOT / "tests" / "crash_payer.py"), str(ledger_path), server.url, str(N)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for _ in range(8):
            if kills == 3:
                break
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(rng.uniform(0.8, 2.5))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
        # Resume after the last kill, then pay the same N again.
        final = subprocess.run([*cmd, "2"], env=env, capture_output=True, text=True, timeout=240)
        assert final.returncode == 0, final.stdout + final.stderr
    assert kills == 3, "the payer finished before it could be killed three times: raise N"

    ledger = SqliteLedger(ledger_path, exclusive=False)
    await ledger.open()
    try:
        payouts = [p async for p in ledger.iter_payouts()]
        report = await ledger.verify_chain()
    finally:
        await ledger.close()
    assert len(payouts) == N and report.ok, report.problems[:5]
    assert_exactly_once(payouts, sandbox)
    assert sandbox.fault_counts["stale_read"] > 0
