"""Import a 1,000,000-row commune list in bounded memory (issue 14.6).

Generates a CSV list under the importer's size limit (64 MiB: name, CCCD, date of birth,
account, bank, amount; a bank account, a wallet or cash per row, and 1% repeated rows
for the de-duplication to find), then imports it the way ``prepare`` does: every row
validated into a payout request and written to a temporary SQLite file
(:class:`~asxh_pay.payroll.lists.SpilledImport`), then de-duplicated there
(:func:`~asxh_pay.payroll.dedupe.dedupe_spilled`) and the unique rows read back once.

The import runs in a child process so that its peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is the importer's alone, not the
generator's. The last printed line is one JSON object: ``rows``, ``seconds``,
``rows_per_s``, ``peak_rss_mb`` (target: under 500 MB), and the import's counts.

Usage: ``python bench/import_list.py [--rows 1000000] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đỗ", "Bùi", "Hồ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh"]
GIVEN = ["An", "Bình", "Cường", "Dung", "Em", "Giang", "Hoa", "Lan", "Mai", "Nam", "Phúc", "Tâm"]
BANKS = ["VCB", "BIDV", "CTG", "Agribank"]
PROVINCES = ["001", "002", "004", "008", "010", "022", "030", "038", "040", "079"]


def write_big_list(path: Path, rows: int, *, seed: int = 14) -> Path:
    """A commune-style CSV list of ``rows`` data rows (about 60 bytes a row)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("Họ và tên,Số CCCD,Ngày sinh,Số tài khoản,Ngân hàng,Số tiền\r\n")
        for i in range(rows):
            if i % 100 == 99:  # a repeated row: the same payout, paid once
                i -= 1
            r = random.Random(seed * 1_000_003 + i)
            year = 1930 + r.randrange(70)
            female = r.random() < 0.5
            cccd = f"{PROVINCES[i % 10]}{int(female)}{year % 100:02d}{i // 10:06d}"
            middle = "Thị" if female else MIDDLE[r.randrange(5)]
            name = f"{FAMILY[r.randrange(10)]} {middle} {GIVEN[r.randrange(12)]}"
            kind = r.random()
            if kind < 0.7:
                account, bank = f"{r.randrange(10**12):012d}", BANKS[r.randrange(4)]
            elif kind < 0.9:
                account, bank = f"09{r.randrange(10**8):08d}", ""  # a wallet phone, no bank: cash
            else:
                account, bank = "", ""
            birth = f"{1 + r.randrange(28):02d}/{1 + r.randrange(12):02d}/{year}"
            f.write(f"{name},{cccd},{birth},{account},{bank},{500_000 + 1000 * r.randrange(2000)}\r\n")
    return path


def child(path: Path, workdir: Path) -> dict[str, object]:
    """Import ``path`` as prepare does; returns the counts and this process's peak memory."""
    from asxh_pay.payroll.dedupe import dedupe_spilled
    from asxh_pay.payroll.lists import ListDefaults, SpilledImport

    defaults = ListDefaults(programme="NCC", period="2026-11", commune_code="00004")
    started = time.perf_counter()
    with SpilledImport(workdir) as spill:
        spill.add(path, defaults)
        imported = time.perf_counter() - started
        deduped = dedupe_spilled(spill)
        unique = sum(1 for _ in deduped.unique)
        seconds = time.perf_counter() - started
        out = {
            "rows_read": sum(f.rows_read for f in spill.files),
            "rejected_rows": spill.rejected_rows,
            "unique": unique,
            "duplicates_merged": len(deduped.duplicates),
            "import_s": round(imported, 1),
            "seconds": round(seconds, 1),
        }
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, default=None, help="write the list here and keep it")
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.child.parent)))
        return 0
    with tempfile.TemporaryDirectory(prefix="asxh-bench-") as tmp:
        where = args.keep or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        path = where / "danh_sach_1m.csv"
        t = time.perf_counter()
        write_big_list(path, args.rows)
        size_mb = path.stat().st_size / 2**20
        print(
            f"generated {args.rows} rows ({size_mb:.1f} MiB) in {time.perf_counter() - t:.1f} s", flush=True
        )
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(path)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        got = json.loads(done.stdout.strip().splitlines()[-1])
    result = {
        "bench": "import_list",
        "rows": args.rows,
        "file_mib": round(size_mb, 1),
        "rows_per_s": round(args.rows / got["seconds"]),
        **got,
        "target_peak_rss_mb": 500,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
