"""Time the whole demo month (lists -> prepare -> approve -> pay -> reconcile -> reports).

Usage: python bench/payroll_demo.py [N]   (default 20000 beneficiaries)
The last line printed is one JSON object of figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "asxh_pay", "demo", "-n", str(n), "--data-dir", tmp, "--json"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
    out = json.loads(proc.stdout)
    figures = {
        "beneficiaries": n,
        "payouts": out["prepared"]["payouts"],
        "wall_s": round(wall, 2),
        "run_s": out["run"]["elapsed_s"],
        "payouts_per_s": round(out["prepared"]["payouts"] / out["run"]["elapsed_s"], 1),
        "reconciliation_ok": out["reconciliation"]["ok"],
        "exit_code": proc.returncode,
    }
    print(json.dumps(figures))
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
