"""A paid-twice case (late truth after the cash fallback left) shows in ``status``, in
reconciliation and in the report, with both references (issue 13, hazard 3)."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from typing import Any

import pytest

from asxh_pay.cli import EXIT_OK, main
from asxh_pay.ledger import SqliteLedger
from asxh_pay.models import EventSource
from asxh_pay.status import PayoutStatus
from tests.payroll.conftest import row, write_list
from tests.payroll.test_cli import office_cli


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, dict[str, Any]]:
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)


async def _make_paid_twice(db: Path) -> tuple[str, str]:
    """The ledger as late truth leaves it: a root payout succeeded, its cash fallback too."""
    async with SqliteLedger(db) as ledger:
        root = await anext(aiter(ledger.iter_payouts(statuses=[PayoutStatus.SUCCEEDED])))
        fallback = root.model_copy(
            update={
                "id": root.id + "fb",
                "idempotency_key": "FB" + root.idempotency_key[:28],
                "parent_id": root.id,
                "lineage_depth": 1,
                "status": PayoutStatus.CREATED,
                "provider_ref": None,
            }
        )
        fallback, _ = await ledger.create_or_get(fallback)
        await ledger.transition(
            fallback, PayoutStatus.SUCCEEDED, source=EventSource.RESPONSE, provider_ref="CASH-77"
        )
        return root.id, root.provider_ref or ""


def test_a_paid_twice_case_is_listed_by_status_reconcile_and_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "d")
    office_cli(data, tmp_path / "office.pem", ("lan", "hung"))
    lst = write_list(tmp_path / "xa.csv", [row(i) for i in range(3)])
    assert main(["registry", "seed", str(lst), "--data-dir", data]) == EXIT_OK
    capsys.readouterr()
    _, prep = _json(
        capsys,
        ["prepare", str(lst), "--period", "2026-11", "--operator", "lan", "--data-dir", data, "--json"],
    )
    run_id = prep["run_id"]
    assert main(["approve", run_id, "--operator", "hung", "--data-dir", data]) == EXIT_OK
    assert main(["run", run_id, "--data-dir", data]) == EXIT_OK
    capsys.readouterr()
    root_id, root_ref = asyncio.run(_make_paid_twice(Path(data) / "ledger.db"))

    _, st = _json(capsys, ["status", run_id, "--data-dir", data, "--json"])
    [case] = st["runs"][0]["paid_twice"]
    assert case["payout"] == root_id and case["reference"] == root_ref
    assert case["fallback_reference"] == "CASH-77" and case["fallback_status"] == "succeeded"
    main(["status", run_id, "--data-dir", data])
    assert f"CHI TRẢ TRÙNG: khoản {root_id}" in capsys.readouterr().out  # Vietnamese by default

    code, rc = _json(capsys, ["reconcile", run_id, "--data-dir", data, "--json"])
    assert not rc["ok"] and code != EXIT_OK
    [brk] = [b for b in rc["breaks"] if b["kind"] == "paid_twice"]
    assert (
        brk["payout_id"] == root_id
        and "CASH-77" in brk["provider_state"]
        and root_ref in brk["provider_state"]
    )

    _, rp = _json(capsys, ["report", run_id, "--lang", "en", "--data-dir", data, "--json"])
    path = Path(rp["xlsx"]).parent / "paid-twice.csv"
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert len(rows) == 2 and rows[1][0] == root_id
    assert root_ref in rows[1] and "CASH-77" in rows[1]


async def test_reconciliation_of_statement_files_lists_a_paid_twice_case(tmp_path: Path) -> None:
    from asxh_pay.reconcile import Category, reconcile
    from tests.conftest import make_request

    async with SqliteLedger(tmp_path / "l.db") as ledger:
        from asxh_pay.client import AsyncPayoutClient
        from asxh_pay.sandbox.generic import GenericSandbox
        from tests.conftest import generic_setup

        client = AsyncPayoutClient(ledger, [generic_setup(GenericSandbox())])
        root, _ = await ledger.create_or_get(client.new_payout(make_request(1)))
        root = (
            await ledger.transition(
                root, PayoutStatus.SUCCEEDED, source=EventSource.CALLBACK, provider_ref="BANK-1"
            )
        ).payout
        child = root.model_copy(
            update={
                "id": root.id + "fb",
                "idempotency_key": "FBX" + root.idempotency_key[:20],
                "parent_id": root.id,
                "lineage_depth": 1,
                "provider_ref": None,
                "status": PayoutStatus.CREATED,
            }
        )
        child, _ = await ledger.create_or_get(child)
        await ledger.transition(
            child, PayoutStatus.PROCESSING, source=EventSource.RESPONSE, provider_ref="CASH-1"
        )
        rep = await reconcile(ledger)
    [brk] = rep.breaks(Category.PAID_TWICE)
    assert brk.payout_id == root.id and not brk.explained
    assert brk.entry_refs == "BANK-1;CASH-1" and child.id in brk.detail
