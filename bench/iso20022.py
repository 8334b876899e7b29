"""Benchmark of the ISO 20022 writer and readers.

Why subprocesses: peak memory (``ru_maxrss``) is a high-water mark for a whole
process, so each measurement runs alone in a fresh interpreter and reports its
own peak. The parent prints progress lines and, as its LAST line, one JSON
object: ``write_1m_s``, ``write_1m_peak_mb``, ``read_1m_s``, ``read_1m_peak_mb``,
``ours_100k_s``, ``sepaxml_100k_s``, ``speedup_vs_sepaxml``.

Usage: ``python bench/iso20022.py [--quick]`` (``--quick``: 20k/10k for smoke runs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Đặng", "Bùi", "Đỗ", "Võ", "Vũ"]
GIVEN = ["Văn An", "Thị Bình", "Đức Cường", "Ngọc Dung", "Hữu Đạt", "Thu Hằng", "Quốc Khánh"]
BINS = ["970405", "970418", "970436", "970415", "970422", "999888"]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _rows(n: int) -> Iterator[tuple[str, str, int, str, str, str]]:
    for i in range(n):
        name = f"{SURNAMES[i % len(SURNAMES)]} {GIVEN[i % len(GIVEN)]}"
        yield (
            f"E2E{i:010d}",
            f"I{i:010d}",
            500_000 + (i % 1000) * 1000,
            name,
            f"{10_000_000 + i}",
            BINS[i % len(BINS)],
        )


def child_ours(n: int, out: str, prebuilt: bool = False) -> dict[str, float]:
    """Write ``n`` transfers; ``prebuilt`` holds the input rows in memory first (comparison runs)."""
    from asxh_pay.iso20022 import CreditTransfer, Party, PaymentBatch, write_pain001

    rows = list(_rows(n)) if prebuilt else None

    def factory() -> Iterator[CreditTransfer]:
        for e2e, instr, amount, name, acct, bank_bin in rows if rows is not None else _rows(n):
            yield CreditTransfer(
                e2e, instr, amount, name, acct, bank_bin, remittance="Tro cap xa hoi T1 2025"
            )

    start = time.perf_counter()
    summary = write_pain001(
        out,
        message_id="BENCH-1",
        created_at=datetime(2025, 1, 2, 8, 0),
        initiating_party="Kho bạc Nhà nước",
        batches=[
            PaymentBatch(
                "BENCH-P1", Party("Kho bạc Nhà nước", "3711000123456", "970418"), date(2025, 1, 5), factory
            )
        ],
    )
    elapsed = time.perf_counter() - start
    assert summary.nb_of_txs == n
    return {"seconds": elapsed, "peak_mb": _peak_mb()}


def child_sepaxml(n: int, out: str) -> dict[str, float]:
    from sepaxml import SepaTransfer  # type: ignore[import-untyped]

    config = {
        "name": "Kho bạc Nhà nước",
        "IBAN": "3711000123456",
        "BIC": "BFTVVNVX",
        "batch": True,
        "currency": "VND",
    }
    rows = list(_rows(n))  # the same input as child_ours(prebuilt=True), outside the timer
    start = time.perf_counter()
    sepa = SepaTransfer(config, clean=True)
    for e2e, _instr, amount, name, acct, _bin in rows:
        sepa.add_payment(
            {
                "name": name,
                "IBAN": acct,
                "BIC": "BFTVVNVX",
                "amount": amount,
                "execution_date": date(2025, 1, 5),
                "description": "Tro cap xa hoi T1 2025",
                "endtoend_id": e2e,
            }
        )
    data = sepa.export(validate=False)
    Path(out).write_bytes(data)
    elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "peak_mb": _peak_mb()}


def generate_camt054(n: int, path: str) -> None:
    """Write a camt.054.001.08 with ``n`` entries (one TxDtls each) without building a tree."""
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>'
        "<GrpHdr><MsgId>BENCH-054</MsgId><CreDtTm>2025-01-06T17:00:00+07:00</CreDtTm></GrpHdr>"
        "<Ntfctn><Id>BENCH-054-1</Id><CreDtTm>2025-01-06T17:00:00+07:00</CreDtTm>"
        "<Acct><Id><Othr><Id>3711000123456</Id></Othr></Id></Acct>\n"
    )
    entry = (
        '<Ntry><Amt Ccy="VND">{amt}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
        "<BookgDt><Dt>2025-01-06</Dt></BookgDt><ValDt><Dt>2025-01-06</Dt></ValDt>"
        "<AcctSvcrRef>R{i:010d}</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd>"
        "<SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs>"
        "<InstrId>I{i:010d}</InstrId><EndToEndId>E2E{i:010d}</EndToEndId></Refs>"
        '<Amt Ccy="VND">{amt}</Amt><CdtDbtInd>DBIT</CdtDbtInd></TxDtls></NtryDtls></Ntry>\n'
    )
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(head)
        chunk: list[str] = []
        for i in range(n):
            chunk.append(entry.format(i=i, amt=500_000 + (i % 1000) * 1000))
            if len(chunk) == 10_000:
                fh.write("".join(chunk))
                chunk.clear()
        fh.write("".join(chunk))
        fh.write("</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>\n")


def child_read(n: int, path: str) -> dict[str, float]:
    from asxh_pay.iso20022 import read_camt054

    start = time.perf_counter()
    count = 0
    total = 0
    for entry in read_camt054(path, max_bytes=2 * 1024**3):
        count += 1
        total += entry.tx_amount_vnd or 0
    elapsed = time.perf_counter() - start
    assert count == n, (count, n)
    return {"seconds": elapsed, "peak_mb": _peak_mb()}


def child_ours_cmp(n: int, out: str) -> dict[str, float]:
    return child_ours(n, out, prebuilt=True)


CHILDREN = {"ours": child_ours, "ours_cmp": child_ours_cmp, "sepaxml": child_sepaxml, "read": child_read}


def run_child(kind: str, n: int, path: str) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(n), path], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20k write/read, 10k comparison")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "N", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, n, path = args.child
        print(json.dumps(CHILDREN[kind](int(n), path)))
        return

    big = 20_000 if args.quick else 1_000_000
    cmp_n = 10_000 if args.quick else 100_000
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="asxh-bench-") as tmp:
        out = os.path.join(tmp, "pain001.xml")
        print(f"writing {big:,} transfers (pain.001.001.09) ...", flush=True)
        r = run_child("ours", big, out)
        results["write_1m_s"] = round(r["seconds"], 3)
        results["write_1m_peak_mb"] = round(r["peak_mb"], 1)
        print(
            f"  {r['seconds']:.2f} s, peak {r['peak_mb']:.1f} MB, file {os.path.getsize(out) / 1e6:.0f} MB",
            flush=True,
        )
        os.remove(out)

        camt = os.path.join(tmp, "camt054.xml")
        print(f"generating a camt.054 with {big:,} entries ...", flush=True)
        generate_camt054(big, camt)
        print(f"reading it ({os.path.getsize(camt) / 1e6:.0f} MB) ...", flush=True)
        r = run_child("read", big, camt)
        results["read_1m_s"] = round(r["seconds"], 3)
        results["read_1m_peak_mb"] = round(r["peak_mb"], 1)
        print(f"  {r['seconds']:.2f} s, peak {r['peak_mb']:.1f} MB", flush=True)
        os.remove(camt)

        print(f"the same {cmp_n:,} transfers by asxh_pay and by sepaxml ...", flush=True)
        r = run_child("ours_cmp", cmp_n, out)
        results["ours_100k_s"] = round(r["seconds"], 3)
        print(f"  asxh_pay {r['seconds']:.2f} s (peak {r['peak_mb']:.1f} MB)", flush=True)
        r = run_child("sepaxml", cmp_n, os.path.join(tmp, "sepa.xml"))
        results["sepaxml_100k_s"] = round(r["seconds"], 3)
        print(f"  sepaxml  {r['seconds']:.2f} s (peak {r['peak_mb']:.1f} MB)", flush=True)
    results["speedup_vs_sepaxml"] = round(results["sepaxml_100k_s"] / results["ours_100k_s"], 2)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
