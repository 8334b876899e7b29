"""Reconciliation reads the providers' settlement reports, downloaded or given as files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from asxh_pay.cli import EXIT_ATTENTION, EXIT_OK, EXIT_USAGE, main
from asxh_pay.errors import ProviderProtocolError
from asxh_pay.providers.reports import ReportEntry, detect, parse_report, render_report
from asxh_pay.sandbox.base import PaymentState
from asxh_pay.sandbox.viettel_money import ViettelMoneySandbox
from tests.payroll.conftest import row, write_list
from tests.payroll.test_cli import office_cli

ENTRIES = [
    ReportEntry("k1", "T1", 1_500_000, PaymentState.SUCCEEDED, "2026-11-02T08:00:00+07:00"),
    ReportEntry("k2", "T2", 500_000, PaymentState.RETURNED, "2026-11-02T08:01:00+07:00"),
    ReportEntry("k3", "T3", 700_000, PaymentState.PROCESSING, "2026-11-02T08:02:00+07:00"),
]


@pytest.mark.parametrize("provider", ["momo", "viettel_money", "vnpost"])
def test_each_providers_report_shape_round_trips_and_is_recognised(provider: str) -> None:
    content = render_report(provider, ENTRIES, partner_code="P1")
    assert detect(content) == provider
    assert parse_report(provider, content) == ENTRIES


def test_a_report_with_a_fractional_amount_or_an_unknown_status_is_refused() -> None:
    good = render_report("momo", ENTRIES).decode()
    with pytest.raises(ProviderProtocolError, match="whole VND"):
        parse_report("momo", good.replace("1500000", "1500000.5").encode())
    with pytest.raises(ProviderProtocolError, match="unknown status"):
        parse_report("momo", good.replace("SUCCESS", "MAYBE").encode())
    with pytest.raises(ProviderProtocolError, match="header"):
        parse_report("vnpost", good.encode())
    assert detect(b"STT,Ho ten\n1,x\n") is None


async def test_the_sandbox_publishes_its_books_as_the_providers_report() -> None:
    sandbox = ViettelMoneySandbox()
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url="https://vtm.sandbox.invalid"
    ) as http:
        empty = await http.get("/reports/settlement", params={"from": "2026-01-01", "to": "2026-01-02"})
    assert parse_report("viettel_money", empty.content) == []


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, dict[str, Any]]:
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)


def test_reconcile_compares_the_ledger_with_the_reports_not_the_books(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "d")
    office_cli(data, tmp_path / "office.pem", ("lan", "hung"))
    lst = write_list(tmp_path / "xa.csv", [row(i, "Ví điện tử") for i in range(4)])
    assert main(["registry", "seed", str(lst), "--data-dir", data]) == EXIT_OK
    capsys.readouterr()
    _, prep = _json(
        capsys,
        ["prepare", str(lst), "--period", "2026-11", "--operator", "lan", "--data-dir", data, "--json"],
    )
    run_id = prep["run_id"]
    assert main(["approve", run_id, "--operator", "hung", "--data-dir", data]) == EXIT_OK
    capsys.readouterr()
    code, res = _json(capsys, ["run", run_id, "--data-dir", data, "--json"])
    assert code == EXIT_OK and res["outcomes"] == {"paid": 4}
    # Downloaded: the embedded Viettel Money sandbox publishes its report; all four match.
    code, rc = _json(capsys, ["reconcile", run_id, "--data-dir", data, "--json"])
    assert code == EXIT_OK and rc["matched"] == 4 and rc["breaks"] == [] and rc["not_reconciled"] == []
    # Given as a file: the provider's report says something else than its own books.
    from asxh_pay.payroll.rails import embedded_rails

    rails = embedded_rails(Path(data))
    book = rails.books()["viettel_money"]
    rails.close()
    keys = sorted(book)
    lines = [ReportEntry(k, book[k].ref, book[k].amount, PaymentState.SUCCEEDED) for k in keys[1:]]
    lines.append(ReportEntry(keys[1], "again", book[keys[1]].amount, PaymentState.SUCCEEDED))  # paid twice
    lines.append(ReportEntry("never-sent-by-us", "X", 9_000, PaymentState.SUCCEEDED))
    report = tmp_path / "viettel_20261130.json"
    report.write_bytes(render_report("viettel_money", lines))
    code, rc = _json(capsys, ["reconcile", run_id, str(report), "--data-dir", data, "--json"])
    assert code == EXIT_ATTENTION
    kinds = sorted(b["kind"] for b in rc["breaks"])
    assert kinds == ["ledger_succeeded_not_at_provider", "reported_twice", "unknown_to_ledger"], rc
    # A damaged report is bad input, not a reconciliation.
    report.write_text('{"transactions": [{"orderId": "k", "amount": "1,5", "status": "SUCCESS"}]}')
    assert main(["reconcile", run_id, str(report), "--data-dir", data]) == EXIT_USAGE


async def test_the_reports_are_asked_from_the_day_before_the_runs_first_payout(tmp_path: Path) -> None:
    """The window starts at the run's first payout (read as one row, not the whole run)."""
    from datetime import UTC, date, datetime

    from asxh_pay.ledger import SqliteLedger
    from asxh_pay.models import Payout, PayoutRequest, new_payout_id
    from asxh_pay.payroll.books import reconcile_rails
    from tests.conftest import make_request

    asked: list[tuple[date, date]] = []

    class Rails:
        treasury = None

        async def provider_reports(self, start: date, end: date) -> tuple[dict[str, Any], dict[str, str]]:
            asked.append((start, end))
            return {}, {}

    async def record(ledger: SqliteLedger, request: PayoutRequest, at: datetime, payout_id: str) -> None:
        payout = Payout(
            id=payout_id,
            idempotency_key=request.key(),
            payload_hash=request.payload_hash(),
            request=request,
            created_at=at,
            updated_at=at,
        )
        await ledger.create_or_get(payout)

    async with SqliteLedger(tmp_path / "ledger.db") as ledger:
        for i, day in enumerate((3, 9, 20)):  # created in id order, as a run creates them
            at = datetime(2026, 10, day, 3, tzinfo=UTC)
            await record(ledger, make_request(i, run_id="R1"), at, new_payout_id())
        # Another run's payout, earlier, is not counted.
        await record(ledger, make_request(9, run_id="R0"), datetime(2026, 1, 1, tzinfo=UTC), "po_0")
        await reconcile_rails(ledger, Rails(), "R1")  # type: ignore[arg-type]
        await reconcile_rails(ledger, Rails(), "R-none")  # type: ignore[arg-type]
    assert asked[0][0] == date(2026, 10, 2)  # 3 October 10:00 in Vietnam, less a day
    assert asked[1][0] == date(2000, 1, 1)  # a run with no payout: from the beginning
