"""Time the whole demo month (lists -> prepare -> approve -> pay -> reconcile -> reports).

Usage::

    python bench/payroll_demo.py [N] [--province-size M] [--skip-demo]

* the demo run: ``N`` beneficiaries (default 20,000) over the demo province's six communes;
* with ``--province-size M`` (e.g. 300000): a province paying centrally for all its communes
  in one run, the scale a province reaches after the 2025 reform.

Each run prints one JSON line: wall time, time per beneficiary, payouts per second of the
paying phase, the peak memory (maximum resident set size) of the process that ran the month,
and whether it reconciled. The province line also compares its time per beneficiary with the
demo line's, when both ran. Targets: demo under 60 s; province peak under 1.5 GB and time per
beneficiary no worse than the demo's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PEAK_TARGET_MB = 1536
DEMO_TARGET_S = 60.0


def run_month(n: int, *, communes: int | None, label: str) -> dict[str, Any]:
    """One ``asxh-pay demo`` in a child process; its own peak RSS from ``wait4``."""
    root = Path(__file__).resolve().parents[1]
    cmd = [sys.executable, "-m", "asxh_pay", "demo", "-n", str(n), "--json"]
    if communes is not None:
        cmd += ["--communes", str(communes)]
    with (
        tempfile.TemporaryDirectory() as tmp,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        started = time.perf_counter()
        proc = subprocess.Popen([*cmd, "--data-dir", tmp], cwd=root, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    if proc.returncode not in (0, 1):
        print(stderr[-4000:], file=sys.stderr)
    data = json.loads(stdout) if stdout.strip().startswith("{") else {}
    prepared = data.get("prepared", {})
    run = data.get("run", {})
    payouts = int(prepared.get("payouts", 0))
    run_s = float(run.get("elapsed_s") or 0.0)
    recon = data.get("reconciliation", {})
    return {
        "scale": label,
        "beneficiaries": n,
        "communes": len(data.get("communes", [])),
        "payouts": payouts,
        "wall_s": round(wall, 2),
        "ms_per_beneficiary": round(1000.0 * wall / n, 3),
        "run_s": run_s,
        "payouts_per_s": round(payouts / run_s, 1) if run_s else None,
        # ru_maxrss is in KiB on Linux.
        "peak_rss_mb": round(usage.ru_maxrss / 1024.0, 1),
        "reconciliation_ok": bool(recon.get("ok")),
        "breaks": recon.get("breaks"),
        "exit_code": proc.returncode,
        # Where the time and the memory go: seconds per phase and the peak reached by its end.
        "phases": {p["phase"]: [p["s"], p["peak_rss_mb"]] for p in data.get("phases", [])},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("n", nargs="?", type=int, default=20_000, help="demo beneficiaries (default: 20000)")
    ap.add_argument(
        "--province-size",
        type=int,
        default=None,
        metavar="M",
        help="also run a province paying centrally for M beneficiaries over all its communes (e.g. 300000)",
    )
    ap.add_argument("--skip-demo", action="store_true", help="run only the province-scale month")
    args = ap.parse_args(argv)
    ok = True
    demo: dict[str, Any] | None = None
    if not args.skip_demo:
        demo = run_month(args.n, communes=None, label="demo")
        demo["target_s"] = DEMO_TARGET_S
        demo["within_target"] = demo["wall_s"] < DEMO_TARGET_S
        print(json.dumps(demo), flush=True)
        ok = ok and demo["exit_code"] == 0 and demo["reconciliation_ok"]
    if args.province_size:
        prov = run_month(args.province_size, communes=0, label="province")
        prov["target_peak_mb"] = PEAK_TARGET_MB
        prov["peak_within_target"] = prov["peak_rss_mb"] < PEAK_TARGET_MB
        if demo is not None:
            ratio = prov["ms_per_beneficiary"] / demo["ms_per_beneficiary"]
            prov["per_beneficiary_vs_demo"] = round(ratio, 3)
        print(json.dumps(prov), flush=True)
        ok = ok and prov["exit_code"] == 0 and prov["reconciliation_ok"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
