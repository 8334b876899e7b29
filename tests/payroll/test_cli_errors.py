"""Every CLI error is clear, uses the README's exit codes, and never ends in a traceback.

Also: read-only commands never write (a wrong ledger path is an error, not a new ledger).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from asxh_pay.cli import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, main
from asxh_pay.payroll.demo import make_province, seed_registry, write_lists
from tests.payroll.conftest import Workspace, row, write_list
from tests.payroll.test_cli import office_cli

ROOT = Path(__file__).resolve().parents[2]


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ended:
        code = main(argv)
        raise SystemExit(code)
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out
    return int(ended.value.code or 0), out.out, out.err


def _ws_paid(ws: Workspace) -> str:
    prep = ws.prepare([write_list(ws.data_dir.parent / "xa.csv", [row(i) for i in range(3)])])
    ws.approve(prep.run_id)
    assert main(["run", prep.run_id, "--data-dir", str(ws.data_dir), "--no-progress"]) == EXIT_OK
    return prep.run_id


@pytest.mark.parametrize(
    "argv",
    [
        ["registry", "mark-dead", "001080000001", "--on", "2026-13-45"],
        ["demo", "--period", "11/2026"],
        ["run", "R1", "--concurrency", "-1"],
        ["run", "R1", "--concurrency", "many"],
    ],
)
def test_bad_input_is_exit_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    english = ("expected YYYY-MM", "at least 1", "whole number")
    code, out, err = _run(capsys, [*argv, "--data-dir", str(tmp_path)])
    assert code == EXIT_USAGE and ": lỗi: " in err  # Vietnamese by default
    assert any(s in err for s in ("cần dạng YYYY-MM", "phải từ 1 trở lên", "không phải số nguyên")), err
    assert not any(s in err for s in english)
    code, out, err = _run(capsys, [*argv, "--data-dir", str(tmp_path), "--lang", "en"])
    assert code == EXIT_USAGE and ": error: " in err and any(s in err for s in english), err
    code, out, _ = _run(capsys, [*argv, "--data-dir", str(tmp_path), "--json"])
    refusal = json.loads(out)
    assert code == EXIT_USAGE and refusal["ok"] is False and refusal["exit_code"] == EXIT_USAGE
    assert any(s in refusal["error"] for s in english)  # scripts read stable English
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_unknown_run_id_suggests_the_known_runs(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    run_id = _ws_paid(ws)
    typo = run_id[:-1] + ("0" if run_id[-1] != "0" else "1")
    for command in (
        ["run", typo],
        ["approve", typo, "--operator", "checker"],
        ["status", typo],
        ["report", typo],
        ["reconcile", typo],
    ):
        code, out, err = _run(capsys, [*command, "--data-dir", str(ws.data_dir)])
        assert code == EXIT_USAGE and f"có phải là đợt chi {run_id}?" in err, (command, err)
        assert err.startswith(f"Lỗi: Không có đợt chi '{typo}'"), err
        code, out, err = _run(capsys, [*command, "--data-dir", str(ws.data_dir), "--lang", "en"])
        assert code == EXIT_USAGE and f"did you mean {run_id}" in err, (command, err)
    code, _, err = _run(capsys, ["run", "nothing-like-it", "--data-dir", str(ws.data_dir)])
    assert code == EXIT_USAGE and f"các đợt chi đã có (mới nhất ở cuối): {run_id}" in err
    code, out, _ = _run(capsys, ["run", "nothing-like-it", "--data-dir", str(ws.data_dir), "--json"])
    refusal = json.loads(out)
    assert code == EXIT_USAGE and run_id in refusal["error"] and "known runs" in refusal["error"]
    assert refusal["message_key"] == "unknown_run_known"


def test_missing_operator_key_names_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lst = write_list(tmp_path / "xa.csv", [row(0)])
    data = str(tmp_path / "d")
    prepare = ["prepare", str(lst), "--period", "2026-11", "--operator", "lan", "--data-dir", data]
    code, _, err = _run(capsys, prepare)
    assert code == EXIT_USAGE and "asxh-pay keys generate" in err
    assert err.startswith("Lỗi: Cán bộ 'lan' chưa có khóa bí mật tại ") and "tạo khóa bằng lệnh" in err
    code, _, err = _run(capsys, [*prepare, "--lang", "en"])
    assert code == EXIT_USAGE and err.startswith("error: operator 'lan' has no private key at ")
    assert "make one with: asxh-pay keys generate --operator lan" in err
    assert not (tmp_path / "d" / "runs").exists()  # refused before any run was written
    code, out, _ = _run(capsys, ["approve", "R1", "--operator", "lan", "--data-dir", data, "--json"])
    assert code == EXIT_USAGE and json.loads(out)["ok"] is False


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_read_only_commands_never_write(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    run_id = _ws_paid(ws)
    db = ws.data_dir / "ledger.db"
    before = _digest(db)
    url = f"sqlite:///{db}"
    for argv in (
        ["ledger", "verify", "--ledger", url],
        ["status", "--data-dir", str(ws.data_dir)],
        ["report", run_id, "--data-dir", str(ws.data_dir), "--out", str(ws.data_dir.parent / "r")],
        ["reconcile", run_id, "--data-dir", str(ws.data_dir)],
    ):
        code, _, err = _run(capsys, argv)
        assert code == EXIT_OK, (argv, err)
    assert _digest(db) == before

    # A wrong path: exit 2, no ledger created and never reported "OK".
    wrong = ws.data_dir.parent / "typo" / "ledger.db"
    for argv in (
        ["ledger", "verify", "--ledger", f"sqlite:///{wrong}"],
        ["status", "--data-dir", str(ws.data_dir), "--ledger", str(wrong)],
        ["report", run_id, "--data-dir", str(ws.data_dir), "--ledger", str(wrong)],
        ["reconcile", run_id, "--data-dir", str(ws.data_dir), "--ledger", str(wrong)],
    ):
        code, out, err = _run(capsys, argv)
        assert code == EXIT_USAGE and "Không có sổ cái tại" in err and "TOÀN VẸN" not in out, (argv, out, err)
        code, out, err = _run(capsys, [*argv, "--lang", "en"])
        assert code == EXIT_USAGE and "no ledger at" in err and "OK" not in out, (argv, out, err)
    assert not wrong.parent.exists()

    # A file that is not a ledger: a clear message, no traceback.
    not_ledger = ["ledger", "verify", "--ledger", str(ws.data_dir / "registry.db")]
    code, out, _ = _run(capsys, [*not_ledger, "--json"])
    assert code == EXIT_USAGE and "not an asxh-pay ledger" in json.loads(out)["error"]
    code, _, err = _run(capsys, not_ledger)
    assert code == EXIT_USAGE and "là cơ sở dữ liệu SQLite nhưng không phải sổ cái asxh-pay" in err


def test_broken_pipe_ends_quietly(ws: Workspace) -> None:
    run_id = _ws_paid(ws)
    for i in range(500):  # enough runs that the status output overflows a pipe nobody reads
        shutil.copytree(ws.data_dir / "runs" / run_id, ws.data_dir / "runs" / f"r{i:03d}")
    cmd = f"{sys.executable} -m asxh_pay status --data-dir {ws.data_dir} --json | head -c 10"
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {cmd}"], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert len(done.stdout) == 10


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM payouts WHERE status = 'succeeded'").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_ctrl_c_during_run_ends_quietly_with_exit_4(tmp_path: Path) -> None:
    data = tmp_path / "d"
    district = make_province(300, seed=5)
    files = write_lists(district, tmp_path / "lists")
    seed_registry(district, data / "registry.db").close()
    office_cli(str(data), tmp_path / "office.pem", ("lan", "hung"))
    prep: list[Any] = ["prepare", *map(str, files), "--period", "2026-11", "--operator", "lan"]
    main([*prep, "--data-dir", str(data), "--no-account-check", "--run-id", "ctrl-c"])
    assert main(["approve", "ctrl-c", "--operator", "hung", "--data-dir", str(data)]) == EXIT_OK
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "asxh_pay", "run", "ctrl-c", "--data-dir", str(data), "--concurrency", "2"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while _count(data / "ledger.db") < 10 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert b"Traceback" not in err and b"--resume" in err, err.decode()
