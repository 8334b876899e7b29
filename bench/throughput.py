"""End-to-end payout throughput of the engine, against a baseline measured in the same run.

Three figures (last line: one JSON object):

* ``payouts_per_s``: N payouts through ``AsyncPayoutClient.pay_many`` with the durable
  SQLite ledger (WAL, synchronous=FULL) and the in-process generic sandbox at zero
  latency, each submitted and driven to a terminal state.
* ``baseline_payouts_per_s``: the same round trips (signed POST to the same sandbox,
  JSON parse, one insert and one update per payout in SQLite, committed in groups)
  done by a bare loop of httpx + sqlite3 with no library: the ceiling of what plain
  Python reaches here for that work. ``vs_baseline`` = ours / baseline.
* ``efficiency``: achieved rate / min(rate limit, concurrency / latency) against a
  sandbox with a fixed latency per request (latency-bound, not CPU-bound).

Usage: ``python bench/throughput.py [--n 100000] [--latency-ms 50 --latency-concurrency 50 --latency-n 5000]``
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import sqlite3
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
from asxh_pay.providers.generic import GenericProvider
from asxh_pay.sandbox.generic import GenericSandbox

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
            GenericProvider(), transport=sandbox.transport(), concurrency=concurrency, rate_per_s=rate
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
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--latency-concurrency", type=int, default=50)
    parser.add_argument("--latency-n", type=int, default=5_000)
    args = parser.parse_args()

    baseline = asyncio.run(run_baseline(args.n))
    print(f"baseline (bare httpx + sqlite3): {baseline:,.0f} payouts/s", flush=True)
    ours = asyncio.run(run_ours(args.n, args.concurrency))
    print(f"asxh_pay, zero latency, durable ledger: {ours:,.0f} payouts/s", flush=True)
    latency = args.latency_ms / 1000
    ceiling = args.latency_concurrency / latency
    achieved = asyncio.run(
        run_ours(
            args.latency_n,
            args.latency_concurrency,
            latency_s=latency,
            in_flight=2 * args.latency_concurrency,
        )
    )
    print(
        f"latency-bound: {achieved:,.0f} payouts/s of a ceiling of {ceiling:,.0f} "
        f"({args.latency_concurrency} in flight x {args.latency_ms:g} ms)",
        flush=True,
    )
    print(
        json.dumps(
            {
                "n": args.n,
                "payouts_per_s": round(ours, 1),
                "baseline_payouts_per_s": round(baseline, 1),
                "vs_baseline": round(ours / baseline, 3),
                "latency_ms": args.latency_ms,
                "latency_concurrency": args.latency_concurrency,
                "latency_bound_per_s": round(achieved, 1),
                "efficiency": round(achieved / ceiling, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
