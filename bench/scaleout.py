"""Payouts per second with 1, 2 and 4 worker processes on one PostgreSQL ledger.

The provider is a sandbox served over HTTP in its own process with a fixed latency
per request, so one worker is bound by how many payouts it keeps in flight
(``--concurrency``), not by the CPU: the figure shows what adding workers (on this
or other machines) buys. Throughput is measured from the ledger's own timestamps over
the window in which every worker was sending, so process start-up and the tail
where workers run out of work are not counted.

Usage: python bench/scaleout.py [--latency-ms 50] [--concurrency 2] [--per-worker 250]
Last line: one JSON object with workers_1_per_s, workers_2_per_s, workers_4_per_s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from asxh_pay.payroll.served_stack import free_port

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("ASXH_PAY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "asxh_pay", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def run(workers: int, n: int, port: int, concurrency: int) -> float:
    import psycopg

    schema = "bench_" + uuid.uuid4().hex[:10]
    ledger = ["--ledger", PG_URL, "--schema", schema]
    try:
        subprocess.run(_cli("db", "upgrade", *ledger), check=True, env=_env(), capture_output=True)
        subprocess.run(
            _cli("enqueue", *ledger, "--run-id", "B", "--synthetic", str(n), "--period", "2026-10"),
            check=True,
            env=_env(),
            capture_output=True,
        )
        procs = [
            subprocess.Popen(
                _cli(
                    "worker",
                    *ledger,
                    "--run-id",
                    "B",
                    "--worker-id",
                    f"bench{i}",
                    "--provider-url",
                    f"http://127.0.0.1:{port}",
                    "--concurrency",
                    str(concurrency),
                    "--batch-size",
                    str(concurrency * 2),
                ),
                env=_env(),
                stdout=subprocess.DEVNULL,
            )
            for i in range(workers)
        ]
        for p in procs:
            if p.wait(timeout=600) != 0:
                raise SystemExit(f"a worker failed (exit {p.returncode})")
        with psycopg.connect(PG_URL, options=f"-c search_path={schema}") as conn:
            finished = conn.execute(
                "SELECT count(*) FROM payouts WHERE status IN ('succeeded', 'failed')"
            ).fetchone()
            # Steady state only: from the moment the last worker started sending to the
            # moment the first one ran out of work (finished payouts keep their lease
            # owner, so each event can be attributed to a worker).
            row = conn.execute(
                "WITH per AS (SELECT p.lease_owner AS w, "
                "min(e.at) FILTER (WHERE e.to_status = 'submitted') AS a, "
                "max(e.at) AS b FROM events e JOIN payouts p ON p.id = e.payout_id GROUP BY p.lease_owner), "
                "win AS (SELECT max(a) AS lo, min(b) AS hi FROM per) "
                "SELECT count(*), extract(epoch FROM (SELECT hi - lo FROM win)) FROM events, win "
                "WHERE to_status IN ('succeeded', 'failed') AND at BETWEEN win.lo AND win.hi"
            ).fetchone()
        assert row is not None and finished is not None
        if int(finished[0]) != n:
            raise SystemExit(f"only {finished[0]} of {n} payouts finished")
        done, span = int(row[0]), float(row[1])
        return done / span
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--concurrency", type=int, default=2, help="payouts in flight per worker")
    ap.add_argument("--per-worker", type=int, default=250, help="payouts per worker in each run")
    args = ap.parse_args()
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
            "--latency-ms",
            str(args.latency_ms),
        ),
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert sandbox.stdout is not None and b"listening" in sandbox.stdout.readline()
        figures: dict[str, float | int] = {
            "latency_ms": args.latency_ms,
            "concurrency_per_worker": args.concurrency,
            "cpus": os.cpu_count() or 0,
        }
        for w in (1, 2, 4):
            started = time.perf_counter()
            rate = run(w, args.per_worker * w, port, args.concurrency)
            figures[f"workers_{w}_per_s"] = round(rate, 1)
            print(
                f"{w} worker(s): {rate:7.1f} payouts/s ({time.perf_counter() - started:.1f}s wall)",
                flush=True,
            )
        figures["speedup_4_vs_1"] = round(
            float(figures["workers_4_per_s"]) / float(figures["workers_1_per_s"]), 2
        )
    finally:
        sandbox.terminate()
        sandbox.wait()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
