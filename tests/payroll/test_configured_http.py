"""The payroll commands against sandboxes served over HTTP as separate processes, set up only
through a configuration file: prepare's checks, run, the month close and reconcile reach the
configured rails and register, and nothing is built in the process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from asxh_pay.cli import EXIT_ATTENTION, EXIT_OK, main
from asxh_pay.payroll import demo
from asxh_pay.payroll.demo import make_province, seed_registry, write_lists
from asxh_pay.payroll.served_stack import free_port
from tests.payroll.test_cli import office_cli

ROOT = Path(__file__).resolve().parents[2]


def _start(args: list[str], cwd: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "asxh_pay", *args, "--port", str(port), "--lang", "en"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    line = ""
    for _ in range(5):  # "... listening on http://127.0.0.1:PORT ..." after any notes
        line = proc.stdout.readline()
        if "listening" in line or not line:
            break
    if "listening" not in line:
        proc.kill()
        proc.wait()
    assert "listening" in line, line
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, str]]:
    province = make_province(50, communes=2)
    write_lists(province, tmp_path / "lists")
    seed_registry(province, tmp_path / "registry.db").close()
    procs: list[subprocess.Popen[str]] = []
    urls: dict[str, str] = {}
    try:
        for name, args in {
            "momo": ["sandbox", "serve", "momo", "--settle-after-s", "0"],
            "viettel_money": ["sandbox", "serve", "viettel-money", "--settle-after-s", "0"],
            "vnpost": ["sandbox", "serve", "vnpost"],
            "treasury": ["sandbox", "serve", "treasury"],
            "register": ["sandbox", "serve", "register", "--registry-db", str(tmp_path / "registry.db")],
        }.items():
            proc, urls[name] = _start(args, tmp_path)
            procs.append(proc)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, dict[str, Any]]:
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)


def test_the_month_against_served_sandboxes_configured_by_file(
    tmp_path: Path,
    served: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # the treasury sandbox wrote its client key under ./asxh-pay-data
    config = tmp_path / "asxh-pay.toml"
    rails = "\n".join(
        f'[rails.{name}]\nsandbox = true\nbase_url = "{url}"'
        for name, url in served.items()
        if name != "register"
    )
    config.write_text(f'{rails}\n[register]\nsandbox = true\nbase_url = "{served["register"]}"\n', "utf-8")
    monkeypatch.setenv("ASXH_PAY_CONFIG", str(config))  # the commands find it without --config
    data = str(tmp_path / "data")
    office_cli(data, tmp_path / "office.pem", ("lan", "hung"))
    capsys.readouterr()
    code, prep = _json(
        capsys,
        [
            "prepare",
            str(tmp_path / "lists"),
            "--period",
            "2026-11",
            "--operator",
            "lan",
            "--province",
            demo.PROVINCE,
            "--data-dir",
            data,
            "--json",
        ],
    )
    assert code in (EXIT_OK, EXIT_ATTENTION) and prep["payouts"] > 30
    # Nothing embedded: the register and the rails' books were never opened in the data folder.
    assert not (Path(data) / "registry.db").exists() and not (Path(data) / "sandbox").exists()
    run_id = prep["run_id"]
    assert main(["approve", run_id, "--operator", "hung", "--data-dir", data]) == EXIT_OK
    capsys.readouterr()
    code, res = _json(capsys, ["run", run_id, "--data-dir", data, "--json", "--no-progress"])
    assert not (Path(data) / "sandbox").exists()
    counts = res["ledger_counts"]
    assert counts.get("succeeded", 0) > 0, res
    open_ = sum(v for k, v in counts.items() if k not in ("succeeded", "failed", "cancelled", "returned"))
    # Cash at the post office takes its payment window (days of wall time): left open, said so.
    assert res["errors"] in ([], [f"{open_} payouts still open after 4 rounds; resume the run later"])
    # The wallets' payouts are in the served sandboxes' books, one booking per payout.
    wallet_books = {
        name: httpx.get(served[name] + "/_sandbox/books").json()["payments"]
        for name in ("momo", "viettel_money")
    }
    assert sum(len(b) for b in wallet_books.values()) > 0
    code, rc = _json(capsys, ["reconcile", run_id, "--data-dir", data, "--json"])
    assert rc["breaks"] == [], rc
    assert rc["matched"] >= sum(len(b) for b in wallet_books.values())
    assert rc["not_reconciled"] == []
    # Every rail paid someone, the bank through the served bank's ISO 20022 reports.
    assert set(rc["provider_totals"]) == {"treasury", "momo", "viettel_money", "vnpost"}, rc
    assert rc["provider_totals"]["treasury"] > 0
    # Cash at the post office takes its payment window (days of wall time): still open, never broken.
    assert rc["pending"] == sum(
        v for k, v in counts.items() if k not in ("succeeded", "failed", "cancelled", "returned")
    )


def test_demo_served_starts_pays_reconciles_and_stops_its_processes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(["demo", "-n", "120", "--served", "--data-dir", str(tmp_path), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK, out
    assert out["reconciliation"]["ok"] and out["reconciliation"]["breaks"] == 0
    assert "pending" not in out["run"]["outcomes"] and out["run"]["outcomes"]["paid"] > 0
    logs = list(Path(out["data_dir"]).glob("served/logs/*.log"))
    assert {p.stem for p in logs} == {"treasury", "viettel_money", "momo", "vnpost", "register", "serve"}
    config = (Path(out["data_dir"]) / "served" / "asxh-pay.toml").read_text()
    assert "secret" not in config and "token" not in config  # sandboxes' credentials never in the file
    for port in re.findall(r"127\.0\.0\.1:(\d+)", config):  # every process stopped with the demo
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1.0)
