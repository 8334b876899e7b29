"""The ``asxh-pay`` payroll commands: exit codes, --json, the demo, and resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from asxh_pay import units
from asxh_pay.cli import EXIT_ATTENTION, EXIT_OK, EXIT_REFUSED, EXIT_USAGE, main
from asxh_pay.payroll import demo
from asxh_pay.payroll.demo import make_province, seed_registry, write_lists
from asxh_pay.providers.treasury import end_to_end_id
from asxh_pay.sandbox.base import PaymentState
from asxh_pay.status import FailureReason
from tests.payroll.conftest import row, write_list

ROOT = Path(__file__).resolve().parents[2]


def office_cli(data: str, office_key: Path, operators: Sequence[str]) -> None:
    """Set up an office through the CLI: the office key, then each operator generated and enrolled."""
    assert main(["keys", "init-office", "--out", str(office_key), "--data-dir", data]) == EXIT_OK
    for op in operators:
        assert main(["keys", "generate", "--operator", op, "--data-dir", data]) == EXIT_OK
        enroll = ["keys", "enroll", "--operator", op, "--public-key", f"{data}/keys/{op}.pub.pem"]
        assert (
            main([*enroll, "--signed-by", "office", "--key", str(office_key), "--data-dir", data]) == EXIT_OK
        )


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, dict[str, Any]]:
    code = main(argv)
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip().startswith("{") else {"text": out}


def test_prepare_approve_run_status_report_reconcile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "d")
    office_cli(data, tmp_path / "office.pem", ("lan", "hung"))
    lst = write_list(tmp_path / "xa.csv", [row(i) for i in range(4)] + [row(4, **{"Số tiền": "1,5"})])
    assert main(["registry", "seed", str(lst), "--data-dir", data]) == EXIT_OK
    capsys.readouterr()
    code, prep = _json(
        capsys,
        ["prepare", str(lst), "--period", "2026-11", "--operator", "lan", "--data-dir", data, "--json"],
    )
    assert code == EXIT_ATTENTION  # one row rejected: needs a person
    assert (
        prep["payouts"] == 4
        and prep["rows_rejected"] == 1
        and prep["rejected_by_code"] == {"amount_fractional": 1}
    )
    run_id = prep["run_id"]
    assert main(["approve", run_id, "--operator", "lan", "--data-dir", data]) == EXIT_REFUSED
    assert main(["run", run_id, "--data-dir", data]) == EXIT_REFUSED  # not approved
    assert "Bị từ chối" in capsys.readouterr().out  # Vietnamese by default
    assert main(["approve", run_id, "--operator", "hung", "--data-dir", data]) == EXIT_OK
    capsys.readouterr()
    code, res = _json(capsys, ["run", run_id, "--data-dir", data, "--json"])
    assert code == EXIT_OK and res["outcomes"] == {"paid": 4} and res["ledger_counts"] == {"succeeded": 4}
    code, st = _json(capsys, ["status", "--data-dir", data, "--json"])
    assert st["runs"][0]["state"] == "paid"
    code, rc = _json(capsys, ["reconcile", run_id, "--data-dir", data, "--json"])
    assert code == EXIT_OK and rc["ok"] and rc["matched"] == 4
    code, rp = _json(capsys, ["report", run_id, "--lang", "en", "--data-dir", data, "--json"])
    assert code == EXIT_OK and Path(rp["xlsx"]).exists() and "anchor" not in rp
    # Signing the run's history: only with the signer's own trusted key; it then verifies.
    hung_key = str(Path(data) / "keys" / "hung.pem")
    sign_as_lan = ["report", run_id, "--data-dir", data, "--sign-as", "lan", "--key", hung_key]
    assert main(sign_as_lan) == EXIT_REFUSED
    assert "không phải khóa được tin cậy của cán bộ lan" in capsys.readouterr().out
    assert main([*sign_as_lan, "--lang", "en"]) == EXIT_REFUSED
    assert "not the trusted key of operator lan" in capsys.readouterr().out
    code, rp = _json(capsys, ["report", run_id, "--data-dir", data, "--sign-as", "hung", "--json"])
    assert code == EXIT_OK and rp["anchor"]["payouts"] == 4
    ledger_url = f"sqlite:///{Path(data) / 'ledger.db'}"
    trusted = str(Path(data) / "keys" / "trusted" / "hung.pub.pem")
    verify = [
        "ledger",
        "verify",
        "--ledger",
        ledger_url,
        "--anchor",
        rp["anchor"]["path"],
        "--public-key",
        trusted,
    ]
    assert main(verify) == EXIT_OK
    # A death recorded now does not change a paid run; bad usage is exit 2.
    assert main(["registry", "mark-dead", "001099999999", "--data-dir", data]) == EXIT_USAGE
    assert (
        main(
            [
                "prepare",
                str(tmp_path / "missing.csv"),
                "--period",
                "2026-11",
                "--operator",
                "lan",
                "--data-dir",
                data,
            ]
        )
        == EXIT_USAGE
    )


def test_help_is_readable() -> None:
    for cmd in ("prepare", "approve", "run", "report", "demo"):
        proc = subprocess.run(
            [sys.executable, "-m", "asxh_pay", cmd, "--help"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=30,
        )
        assert proc.returncode == 0 and "--data-dir" in proc.stdout


def test_demo_small_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(2):  # a second demo starts a fresh folder and works the same
        code, out = _json(capsys, ["demo", "-n", "400", "--data-dir", str(tmp_path), "--json"])
        assert code == EXIT_OK
        assert out["reconciliation"]["ok"] and out["run"]["outcomes"].get("pending", 0) == 0
        prepared = out["prepared"]
        o = out["run"]["outcomes"]
        assert sum(o.values()) == prepared["payouts"]
        assert prepared["rows_rejected"] > 0 and prepared["duplicates_merged"] >= 0
        assert out["anchor"]["payouts"] == sum(out["run"]["ledger_counts"].values())
        # A 2026 month of a province paying centrally for several communes, three programmes,
        # one list in pre-2025 codes mapped (its split commune held), reconciling with 0 breaks.
        assert out["paying_unit"]["level"] == "province" and out["paying_unit"]["code"] == "08"
        assert len(out["communes"]) == 6
        assert all(units.commune(c).province_code == "08" for c in out["communes"])  # type: ignore[union-attr]
        assert out["programmes"] == ["BTXH", "HTXH", "NCC"]
        assert out["old_coded_files"] == ["02512-NCC-ma-cu.csv"]
        assert out["unit_mapping"]["mapped"] > 0 and out["unit_mapping"]["split"] >= 1
        assert prepared["held"] >= out["unit_mapping"]["split"]
        assert out["reconciliation"]["breaks"] == 0
    assert len(list((tmp_path / "demo").iterdir())) == 2


def test_demo_with_bank_returns_reconciles_without_breaks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 800 beneficiaries: a few bank transfers come back and are paid in cash. A returned
    # transfer's money came back, so its cash fallback is not a paid-twice break.
    code, out = _json(capsys, ["demo", "-n", "800", "--data-dir", str(tmp_path), "--json"])
    assert out["run"]["ledger_counts"].get("returned", 0) > 0
    assert out["reconciliation"]["ok"] and out["reconciliation"]["breaks"] == 0 and code == EXIT_OK


def test_demo_province_structure(tmp_path: Path) -> None:
    p = make_province(800, seed=5)
    communes = {c for c, _ in p.rows}
    assert communes == {c for c, _ in demo.COMMUNES} and len(communes) == 6
    assert {units.commune(c).province_code for c in communes} == {demo.PROVINCE}  # type: ignore[union-attr]
    assert all(name for _, name in demo.COMMUNES)  # named from the 2025 unit data
    assert {g for _, g in p.rows} == {"NCC", "BTXH", "HTXH"}
    assert p.old_coded_rows > 0 and p.split_rows >= 1
    old = p.rows[demo.OLD_LIST]
    assert {r[6] for r in old} <= {*demo.OLD_COMMUNES, demo.OLD_SPLIT_COMMUNE, demo.OLD_LIST[0]}
    assert any(r[6] == demo.OLD_SPLIT_COMMUNE for r in old)
    files = write_lists(p, tmp_path / "lists")
    old_file = next(f for f in files if f.name == "02512-NCC-ma-cu.csv")
    header = old_file.read_text(encoding="utf-8-sig").splitlines()[2]
    assert "Mã huyện" in header
    assert all(units.old_commune(c) is not None for c in demo.OLD_COMMUNES)
    assert {units.map_old(c, demo.OLD_DISTRICT).new_code for c in demo.OLD_COMMUNES} == {"02512"}
    assert units.map_old(demo.OLD_SPLIT_COMMUNE, demo.OLD_DISTRICT).status == "split"


def _count_succeeded(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM payouts WHERE status='succeeded'").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_sigkill_during_run_then_resume_pays_everyone_exactly_once(tmp_path: Path) -> None:
    data = tmp_path / "d"
    district = make_province(600, seed=11)
    files = write_lists(district, tmp_path / "lists")
    seed_registry(district, data / "registry.db").close()
    office_cli(str(data), tmp_path / "office.pem", ("lan", "hung"))
    main(
        [
            "prepare",
            *map(str, files),
            "--period",
            "2026-11",
            "--operator",
            "lan",
            "--data-dir",
            str(data),
            "--no-account-check",
            "--run-id",
            "kill-test",
        ]
    )
    assert main(["approve", "kill-test", "--operator", "hung", "--data-dir", str(data)]) == EXIT_OK
    total = json.loads((data / "runs" / "kill-test" / "manifest.json").read_text())["counts"]["payouts"]

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "asxh_pay",
        "run",
        "kill-test",
        "--data-dir",
        str(data),
        "--concurrency",
        "2",
        "--no-progress",
    ]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while _count_succeeded(data / "ledger.db") < 40 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    done_before = _count_succeeded(data / "ledger.db")
    assert 40 <= done_before < total

    again = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == EXIT_REFUSED and "--resume" in again.stdout  # must say it is a resume
    resumed = subprocess.run(
        [*cmd, "--resume", "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert resumed.returncode in (EXIT_OK, EXIT_ATTENTION), resumed.stderr
    out = json.loads(resumed.stdout)
    assert out["outcomes"].get("pending", 0) == 0 and out["errors"] == []

    # The providers' books (persisted by the sandboxes): every entitlement paid exactly once.
    with sqlite3.connect(data / "ledger.db") as db:
        ledger = db.execute(
            "SELECT idempotency_key, provider, status, parent_id, "
            "(SELECT COUNT(*) FROM payouts c WHERE c.parent_id = p.id), failure_reason FROM payouts p"
        ).fetchall()
    paid_keys: dict[str, int] = {}
    for book in (data / "sandbox").glob("*.db"):
        with sqlite3.connect(book) as db:
            for key, state in db.execute("SELECT key, state FROM payments"):
                if state == PaymentState.SUCCEEDED.value:
                    paid_keys[key] = paid_keys.get(key, 0) + 1
    # The bank's books (the Treasury sandbox's SQLite books): one debit per EndToEndId at most.
    with sqlite3.connect(data / "sandbox" / "treasury.sqlite") as db:
        bookings = db.execute("SELECT e2e, credit_debit FROM bookings").fetchall()
    debits = Counter(e2e for e2e, cd in bookings if cd == "DBIT")
    returned = {e2e for e2e, cd in bookings if cd == "CRDT"}
    assert debits and all(n == 1 for n in debits.values())
    for e2e in debits:
        if e2e not in returned:
            paid_keys[e2e] = paid_keys.get(e2e, 0) + 1
    assert all(n == 1 for n in paid_keys.values())

    def book_key(key: str, provider: str) -> str:
        return end_to_end_id(key) if provider == "treasury" else key

    roots = [r for r in ledger if r[3] is None]
    assert len(roots) == total
    assert {r[1] for r in roots} >= {"treasury", "viettel_money", "momo", "vnpost"}
    for key, provider, status, _parent, n_children, reason in roots:
        if status == "succeeded":
            assert book_key(key, provider) in paid_keys
        elif status == "cancelled":
            assert book_key(key, provider) not in paid_keys
        else:  # failed electronically -> exactly one cash fallback when the destination was the problem
            wants_cash = status == "returned" or FailureReason(reason).allows_cash_fallback
            assert n_children == (1 if wants_cash else 0), (provider, status, reason)
            assert book_key(key, provider) not in paid_keys
    succeeded = [r for r in ledger if r[2] == "succeeded"]
    assert {book_key(r[0], r[1]) for r in succeeded} == set(paid_keys)
    rc = subprocess.run(
        [sys.executable, "-m", "asxh_pay", "reconcile", "kill-test", "--data-dir", str(data), "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(rc.stdout)["ok"], rc.stdout
