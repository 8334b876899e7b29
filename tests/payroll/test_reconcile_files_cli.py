"""``asxh-pay reconcile FILE --apply``: a statement acts only on what it returns (issue 13, 5 and 6).

The command is run as an operator would, against a data directory whose ledger
holds payouts of the bank rail and of a wallet; the files are bank files shaped
as attacks or faults.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from asxh_pay.cli import EXIT_ATTENTION, EXIT_OK, main
from asxh_pay.ledger import SqliteLedger
from asxh_pay.payroll.rails import DEBTOR_ACCOUNT
from asxh_pay.status import PayoutStatus
from tests.treasury.statement_kit import Tx, camt054, entry, paid_payout, pain002, write

AMOUNT = 1_500_000


def _seed(data: Path, *specs: tuple[int, str, PayoutStatus]) -> list[tuple[str, str]]:
    """Payouts (index, provider, status) in the data directory's ledger: [(payout id, e2e)]."""

    async def go() -> list[tuple[str, str]]:
        out = []
        async with SqliteLedger(data / "ledger.db") as ledger:
            for i, provider, status in specs:
                p, e2e = await paid_payout(ledger, i, provider=provider, status=status)
                out.append((p.id, e2e))
        return out

    data.mkdir(parents=True, exist_ok=True)
    return asyncio.run(go())


def _status(data: Path, payout_id: str) -> PayoutStatus:
    async def go() -> PayoutStatus:
        async with SqliteLedger(data / "ledger.db") as ledger:
            p = await ledger.get(payout_id)
            assert p is not None
            return p.status

    return asyncio.run(go())


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, dict[str, Any]]:
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)


def test_one_dong_return_on_a_wallet_payout_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    [(wallet, e2e)] = _seed(data, (1, "momo", PayoutStatus.SUCCEEDED))
    f = write(tmp_path, "camt054.xml", camt054([entry([Tx(e2e, 1, rtr="AC04")])], account=DEBTOR_ACCOUNT))
    code, out = _run(capsys, ["reconcile", str(f), "--data-dir", str(data), "--apply", "--json"])
    assert code == EXIT_ATTENTION and out["counts"].get("wrong_rail") == 1
    assert _status(data, wallet) is PayoutStatus.SUCCEEDED  # no cash fallback is released


def test_partial_return_on_a_bank_payout_is_a_break(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    [(pid, e2e)] = _seed(data, (2, "treasury", PayoutStatus.SUCCEEDED))
    f = write(tmp_path, "camt054.xml", camt054([entry([Tx(e2e, AMOUNT - 1, rtr="AC04")])]))
    code, out = _run(capsys, ["reconcile", str(f), "--data-dir", str(data), "--apply", "--json"])
    assert code == EXIT_ATTENTION and out["counts"].get("return_mismatch") == 1
    assert _status(data, pid) is PayoutStatus.SUCCEEDED


def test_exact_return_after_a_long_prologue_is_recognised_and_applied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Recognised by its root element 3 KB into the file; applied on the rail's own account."""
    data = tmp_path / "data"
    [(pid, e2e)] = _seed(data, (3, "treasury", PayoutStatus.SUCCEEDED))
    prologue = "<!-- exported by the bank portal " + "=" * 3000 + " -->"
    f = write(tmp_path, "stmt.xml", camt054([entry([Tx(e2e, AMOUNT, rtr="AC04")])], prologue=prologue))
    code, out = _run(capsys, ["reconcile", str(f), "--data-dir", str(data), "--apply", "--json"])
    assert code == EXIT_OK and out["counts"] == {"late_return": 1}
    assert _status(data, pid) is PayoutStatus.RETURNED
    # The same return booked on another account is refused even with --account naming it wrongly.
    [(other, e2e2)] = _seed(data, (4, "treasury", PayoutStatus.SUCCEEDED))
    g = write(tmp_path, "other.xml", camt054([entry([Tx(e2e2, AMOUNT, rtr="AC04")])], account="1234567890"))
    code, out = _run(capsys, ["reconcile", str(g), "--data-dir", str(data), "--apply", "--json"])
    assert code == EXIT_ATTENTION and out["counts"].get("wrong_rail") == 1
    assert _status(data, other) is PayoutStatus.SUCCEEDED


def test_file_level_rejection_is_not_no_breaks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    _seed(data, (5, "treasury", PayoutStatus.SUBMITTED))
    f = write(tmp_path, "pain002.xml", pain002("KB-REJECTED-1", [], group="RJCT"))
    code, out = _run(capsys, ["reconcile", str(f), "--data-dir", str(data), "--json"])
    assert code == EXIT_ATTENTION and out["counts"].get("file_rejected") == 1 and out["unexplained"] >= 1
