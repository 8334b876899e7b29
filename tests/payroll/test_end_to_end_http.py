"""The month end to end over real HTTP: every sandbox, the register and ``asxh-pay serve`` as separate
processes on 127.0.0.1, wired only by a configuration file and environment variables; prepare,
approve, run, reconcile and report a province's month of 2,000 beneficiaries on every rail, the
providers' callbacks received by ``serve``, the providers' reports showing 0 breaks."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from asxh_pay.cli import EXIT_ATTENTION, EXIT_OK, main
from asxh_pay.payroll import demo
from asxh_pay.payroll.demo import make_province, seed_registry, write_lists
from asxh_pay.payroll.served_stack import served_stack
from tests.ledger.pg import PG_URL, drop_schema, new_schema, require_pg
from tests.payroll.test_cli import office_cli

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

FINAL = {"succeeded", "failed", "cancelled", "returned"}


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, dict[str, Any]]:
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)


def test_a_province_month_over_http_with_every_party_in_its_own_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    require_pg()
    import psycopg
    from psycopg import sql

    schema = new_schema()
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    sep = "&" if "?" in PG_URL else "?"
    ledger_url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    province = make_province(2_100, communes=2)
    write_lists(province, tmp_path / "lists")
    seed_registry(province, tmp_path / "registry.db").close()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASXH_PAY_LEDGER_URL", ledger_url)  # the ledger from the environment only
    try:
        with served_stack(tmp_path / "stack", registry_db=tmp_path / "registry.db") as stack:
            monkeypatch.setenv("ASXH_PAY_CONFIG", str(stack.config))
            data = str(tmp_path / "data")
            office_cli(data, tmp_path / "office.pem", ("lan", "hung"))
            capsys.readouterr()
            assert main(["config", "check"]) == EXIT_OK
            capsys.readouterr()
            argv = ["prepare", str(tmp_path / "lists"), "--period", "2026-11", "--operator", "lan"]
            code, prep = _json(capsys, [*argv, "--province", demo.PROVINCE, "--data-dir", data, "--json"])
            assert code in (EXIT_OK, EXIT_ATTENTION) and prep["payouts"] >= 2_000, json.dumps(prep)[:3000]
            run_id = prep["run_id"]
            assert main(["approve", run_id, "--operator", "hung", "--data-dir", data]) == EXIT_OK
            capsys.readouterr()
            _, res = _json(capsys, ["run", run_id, "--data-dir", data, "--json", "--no-progress"])
            assert res["ledger_counts"].get("succeeded", 0) > 1_000, res
            # The post office's month passes in the served sandbox; its callbacks reach serve.
            assert stack.pass_cash_window() > 0
            deadline = time.monotonic() + 120
            while True:
                _, st = _json(capsys, ["status", run_id, "--data-dir", data, "--json"])
                counts = st["runs"][0]["ledger"]
                if set(counts) <= FINAL or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert set(counts) <= FINAL, counts
            code, rc = _json(capsys, ["reconcile", run_id, "--data-dir", data, "--json"])
            assert rc["breaks"] == [] and rc["pending"] == 0 and rc["not_reconciled"] == [], rc
            assert code == EXIT_OK
            assert set(rc["provider_totals"]) == {"treasury", "viettel_money", "momo", "vnpost"}
            assert all(v > 0 for v in rc["provider_totals"].values()), rc["provider_totals"]
            code, rp = _json(capsys, ["report", run_id, "--data-dir", data, "--json"])
            assert code == EXIT_OK and Path(rp["xlsx"]).exists()
            metrics = httpx.get(stack.urls["serve"] + "/metrics").text
            # Callbacks arrived over HTTP and were accepted: the wallets' and the post office's.
            for rail in ("momo", "viettel_money", "vnpost"):
                assert f'asxh_pay_callbacks_total{{rail="{rail}",result="2xx"}}' in metrics, rail
    finally:
        drop_schema(schema)
