"""End-to-end payout throughput of the engine, against a baseline measured in the same run.

Three figures (last line: one JSON object):

* ``payouts_per_s``: N payouts through ``AsyncPayoutClient.pay_many`` with the durable
  SQLite ledger (WAL, synchronous=FULL) and the in-process generic sandbox at zero
  latency, each submitted and driven to a terminal state.
* ``baseline_payouts_per_s``: the same round trips (signed POST to the same sandbox,
  JSON parse, one insert and one update per payout in SQLite, committed in groups)
  done by a bare loop of httpx + sqlite3 with no library: the ceiling of what plain
  Python reaches here for that work. ``vs_baseline`` = ours / baseline. These
  machines drift by 10-20% within minutes, so the runs alternate (baseline, ours,
  baseline, ours, baseline): each run of ours is compared with the mean of the
  baseline runs on either side, and the figures given are medians over the rounds.
* ``efficiency``: achieved rate / min(rate limit, concurrency / latency) against a
  sandbox with a fixed latency per request. The run must be latency-bound, not
  CPU-bound: by default the concurrency is chosen so that the ceiling is half the
  zero-latency rate measured above on this machine (``latency_load`` 0.5), since a
  fixed concurrency would be latency-bound on a fast machine and CPU-bound on a slow
  one. ``efficiency_by_load`` gives the same figure at a quarter, half and three
  quarters of that rate, to show how the hand-off between requests holds up as the
  CPU fills (at full load the figure measures the CPU, not the engine).

Usage: ``python bench/throughput.py [--n 100000] [--rounds 2]``
``[--latency-ms 50] [--latency-concurrency C] [--latency-s 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asxh_pay.client import AsyncPayoutClient, PollPolicy, ProviderSetup
from asxh_pay.ledger import SqliteLedger
from asxh_pay.models import Beneficiary, PayoutRequest
from asxh_pay.sandbox.generic import GenericSandbox, generic_sandbox_provider

SECRET = b"generic-sandbox-secret"


def requests(n: int) -> Iterator[PayoutRequest]:
    for i in range(n):
        yield PayoutRequest(
            programme="BTXH",
            period="2026-11",
            beneficiary=Beneficiary(cccd=f"0010{50 + i % 40}{i:06d}"[:12], full_name="Nguyễn Thị Lan"),
            destination={"kind": "bank", "bank_bin": "970405", "account_number": f"12{i:08d}"},
            amount=1_500_000,
        )


def raw_rows(n: int) -> Iterator[tuple[str, dict[str, object]]]:
    """The same payouts as plain dicts for the baseline (no validation, no models)."""
    for i in range(n):
        key = f"BL{i:030d}"
        yield (
            key,
            {
                "reference": key,
                "amount": 1_500_000,
                "currency": "VND",
                "destination": {"kind": "bank", "bank_bin": "970405", "account_number": f"12{i:08d}"},
                "recipient": {"name": "Nguyễn Thị Lan", "id": f"0010{50 + i % 40}{i:06d}"[:12]},
                "purpose": "BTXH 2026-11",
            },
        )


async def run_ours(
    n: int, concurrency: int, latency_s: float = 0.0, rate: float | None = None, in_flight: int | None = None
) -> float:
    """``concurrency`` is the provider's limit on requests in flight; ``in_flight`` the payouts
    being driven at once (more than the provider's slots, so ledger commits overlap HTTP)."""
    sandbox = GenericSandbox(latency_s=latency_s)
    with tempfile.TemporaryDirectory() as tmp:
        setup = ProviderSetup(
            generic_sandbox_provider(),
            transport=sandbox.transport(),
            concurrency=concurrency,
            rate_per_s=rate,
        )
        client = AsyncPayoutClient(
            SqliteLedger(Path(tmp) / "ledger.db"), [setup], poll=PollPolicy(initial_s=0.0)
        )
        async with client:
            started = time.perf_counter()
            summary = await client.pay_many(requests(n), concurrency=in_flight or concurrency)
            elapsed = time.perf_counter() - started
        if summary.counts.get("succeeded", 0) + summary.counts.get("failed", 0) != n:
            raise SystemExit(f"not every payout reached a terminal state: {summary.counts}")
    return n / elapsed


async def run_baseline(n: int) -> float:
    """A bare loop: sign, POST, parse, write ahead and record in SQLite; no library."""
    sandbox = GenericSandbox()
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "bare.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE p (key TEXT PRIMARY KEY, body TEXT, status TEXT, ref TEXT)")
        async with httpx.AsyncClient(
            transport=sandbox.transport(), base_url="https://generic.sandbox.invalid"
        ) as http:
            started = time.perf_counter()
            batch = 200
            rows = list(raw_rows(n))
            for start in range(0, n, batch):
                chunk = rows[start : start + batch]
                db.execute("BEGIN")
                for key, body in chunk:
                    db.execute("INSERT INTO p VALUES (?, ?, 'submitted', NULL)", (key, json.dumps(body)))
                db.execute("COMMIT")  # write-ahead, as the library does
                db.execute("BEGIN")
                for key, body in chunk:
                    raw = json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
                    ts = str(int(time.time()))
                    sig = hmac.new(SECRET, ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
                    resp = await http.post(
                        "/v1/payouts",
                        content=raw,
                        headers={"Idempotency-Key": key, "X-Timestamp": ts, "X-Signature": sig},
                    )
                    data = json.loads(resp.content)
                    db.execute("UPDATE p SET status=?, ref=? WHERE key=?", (data["status"], data["id"], key))
                db.execute("COMMIT")
            elapsed = time.perf_counter() - started
        db.close()
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2, help="runs of ours, each between two baselines")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument(
        "--latency-concurrency", type=int, default=None, help="default: ceiling at half the zero-latency rate"
    )
    parser.add_argument("--latency-s", type=float, default=5.0, help="length of each latency-bound run")
    args = parser.parse_args()

    # Twice as many payouts in flight as the provider takes at once, as the library's
    # defaults do (pay_many 64, ProviderSetup 32): while one group of write-ahead
    # records syncs to disk, the next group is on the wire.
    baselines = [asyncio.run(run_baseline(args.n))]
    print(f"baseline (bare httpx + sqlite3): {baselines[-1]:,.0f} payouts/s", flush=True)
    runs: list[float] = []
    ratios: list[float] = []
    for _ in range(args.rounds):
        runs.append(asyncio.run(run_ours(args.n, args.concurrency, in_flight=2 * args.concurrency)))
        print(f"asxh_pay, zero latency, durable ledger: {runs[-1]:,.0f} payouts/s", flush=True)
        baselines.append(asyncio.run(run_baseline(args.n)))
        print(f"baseline (bare httpx + sqlite3): {baselines[-1]:,.0f} payouts/s", flush=True)
        ratios.append(runs[-1] / ((baselines[-2] + baselines[-1]) / 2))
    ours = statistics.median(runs)
    baseline = statistics.median(baselines)

    latency = args.latency_ms / 1000

    def latency_bound(concurrency: int) -> tuple[float, float]:
        ceiling = concurrency / latency
        n = max(500, int(ceiling * args.latency_s))
        achieved = asyncio.run(run_ours(n, concurrency, latency_s=latency, in_flight=2 * concurrency))
        print(
            f"latency-bound: {achieved:,.0f} payouts/s of a ceiling of {ceiling:,.0f} "
            f"({concurrency} in flight x {args.latency_ms:g} ms, load {ceiling / ours:.2f})",
            flush=True,
        )
        return achieved, achieved / ceiling

    by_load: dict[str, float] = {}
    latency_runs: dict[int, tuple[float, float]] = {}
    for load in (0.25, 0.5, 0.75):
        c = max(1, round(ours * load * latency))
        latency_runs[c] = latency_bound(c)
        by_load[f"{load:g}"] = round(latency_runs[c][1], 3)
    concurrency = args.latency_concurrency or max(1, round(ours * 0.5 * latency))
    achieved, efficiency = latency_runs.get(concurrency) or latency_bound(concurrency)
    print(
        json.dumps(
            {
                "n": args.n,
                "payouts_per_s": round(ours, 1),
                "baseline_payouts_per_s": round(baseline, 1),
                "vs_baseline": round(statistics.median(ratios), 3),
                "runs": [round(r, 1) for r in runs],
                "baselines": [round(b, 1) for b in baselines],
                "ratios": [round(r, 3) for r in ratios],
                "latency_ms": args.latency_ms,
                "latency_concurrency": concurrency,
                "latency_load": round(concurrency / latency / ours, 3),
                "latency_bound_per_s": round(achieved, 1),
                "efficiency": round(efficiency, 3),
                "efficiency_by_load": by_load,
            }
        )
    )


if __name__ == "__main__":
    main()
