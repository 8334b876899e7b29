"""Reconciliation breaks: each injected bank mistake is reported as its own break, with evidence."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from asxh_pay.cli import main
from asxh_pay.ledger import SqliteLedger
from asxh_pay.models import EventSource
from asxh_pay.providers.treasury import end_to_end_id
from asxh_pay.reconcile import Category, ProviderStatus, dedupe_entries, load_files, reconcile
from asxh_pay.status import FailureReason, PayoutStatus
from tests.treasury.conftest import DEBTOR_ACCOUNT, RUN_AT, Keys, make_channel, make_sandbox, treasury_request


async def _paid_month(
    tmp_path: Path, keys: Keys, n: int = 40, *, inject: bool = True
) -> tuple[object, list[str], list[Path]]:
    """n payouts through the sandbox with bank mistakes injected; returns (sandbox, e2es, files)."""
    sandbox = make_sandbox(keys)
    if not inject:
        async with SqliteLedger(tmp_path / "ledger.db") as ledger:
            channel = make_channel(keys, ledger, sandbox, tmp_path / "store")
            await channel.submit(await channel.record(treasury_request(i) for i in range(n)))
            sandbox.advance(RUN_AT.date())
            await channel.poll()
            await channel.aclose()
        return sandbox, [], sandbox.write_reports(tmp_path / "reports")
    async with SqliteLedger(tmp_path / "ledger.db") as ledger:
        channel = make_channel(keys, ledger, sandbox, tmp_path / "store")
        # Payout 4's account is rejected (AC01), yet the bank books it anyway.
        payouts = await channel.record(
            treasury_request(i, account="12000000000001" if i == 4 else None) for i in range(n)
        )
        e2es = [end_to_end_id(p.idempotency_key) for p in payouts]
        sandbox.double_debit.add(e2es[1])  # the bank debits one transfer twice
        sandbox.skip_booking.add(e2es[2])  # ...forgets to book another
        sandbox.amount_delta[e2es[3]] = 500_000  # ...books a wrong amount
        sandbox.force_booking.add(e2es[4])
        sandbox.stray_debits.append(("AXFOREIGN0000000000000000000001", 2_000_000))
        await channel.submit(payouts)
        await channel.poll()
        p4 = await ledger.get(payouts[4].id)
        assert p4 is not None and p4.status is PayoutStatus.FAILED
        sandbox.advance(RUN_AT.date())
        polled = await channel.poll()
        # poll() never applies a contradiction or an unknown transfer: it reports them
        # (a debit of another amount than sent proves nothing). The debit booked for a
        # rejected transfer is late truth (issue 13): recorded, never dropped.
        assert {c[1] for c in polled.contradictions} == {payouts[3].id}
        assert "AXFOREIGN0000000000000000000001" in {r for _f, r in polled.unknown_refs}
        assert (await ledger.get(payouts[4].id)).status is PayoutStatus.SUCCEEDED  # type: ignore[union-attr]
        await channel.aclose()
    files = sandbox.write_reports(tmp_path / "reports")
    return sandbox, e2es, files


async def test_injected_breaks_are_each_reported_with_evidence(tmp_path: Path, keys: Keys) -> None:
    _sandbox, e2es, files = await _paid_month(tmp_path, keys)
    entries, statuses, names = load_files(files)
    statuses.append(ProviderStatus("status-list.json", "AXNEVERSENT00000000000000000001", "succeeded"))
    async with SqliteLedger(tmp_path / "ledger.db") as ledger:
        rep = await reconcile(ledger, entries=entries, statuses=statuses, files=names, provider="treasury")
    by_cat = {c: rep.breaks(c) for c in Category}

    dup = by_cat[Category.DUPLICATE_DEBIT]
    assert [b.key for b in dup] == [e2es[1]]
    assert dup[0].statement_amount == 2 * dup[0].ledger_amount  # type: ignore[operator]
    assert dup[0].entry_refs.count(";") == 1 and "camt05" in dup[0].files

    missing = by_cat[Category.MISSING_ON_STATEMENT]
    assert [b.key for b in missing] == [e2es[2]] and missing[0].ledger_status == "succeeded"

    mism = by_cat[Category.AMOUNT_MISMATCH]
    assert [b.key for b in mism] == [e2es[3]]
    assert mism[0].statement_amount == mism[0].ledger_amount + 500_000  # type: ignore[operator]
    assert "instructed" in mism[0].detail

    # The rejected transfer the bank booked anyway was recorded succeeded when polled
    # (late truth, issue 13): ledger and statement agree on it now.
    assert not by_cat[Category.STATUS_DISAGREEMENT]

    unknown = by_cat[Category.UNKNOWN_ON_STATEMENT]
    assert [b.key for b in unknown] == ["AXFOREIGN0000000000000000000001"] and unknown[0].entry_refs

    assert [b.key for b in by_cat[Category.UNKNOWN_REPORT]] == ["AXNEVERSENT00000000000000000001"]
    assert {b.category for b in rep.unexplained} == {
        Category.DUPLICATE_DEBIT,
        Category.MISSING_ON_STATEMENT,
        Category.AMOUNT_MISMATCH,
        Category.UNKNOWN_ON_STATEMENT,
        Category.UNKNOWN_REPORT,
    }
    assert len(by_cat[Category.MATCHED]) == 40 - 3


async def test_breaks_only_lists_no_explained_line_and_keeps_every_count(tmp_path: Path, keys: Keys) -> None:
    """include_matched=False (a province's month, ``--breaks-only``): the same breaks and the
    same counts, without a line per matched payout (a line each is most of the memory)."""
    _sandbox, _e2es, files = await _paid_month(tmp_path, keys)
    entries, statuses, names = load_files(files)
    async with SqliteLedger(tmp_path / "ledger.db") as ledger:
        full = await reconcile(ledger, entries=entries, statuses=statuses, files=names, provider="treasury")
        lean = await reconcile(
            ledger,
            entries=entries,
            statuses=statuses,
            files=names,
            provider="treasury",
            include_matched=False,
        )
    assert lean.counts == full.counts and lean.counts["matched"] == 40 - 3
    assert lean.summary() == full.summary()
    assert [line.row() for line in lean.lines] == [line.row() for line in full.lines if not line.explained]
    assert lean.unexplained == full.unexplained and not any(line.explained for line in lean.lines)


async def test_a_booking_notified_and_then_stated_is_read_once(tmp_path: Path, keys: Keys) -> None:
    """The bank notifies each debit (camt.054) and states it again (camt.053): read with
    ``unique=True`` each booking is kept once, as the files are read."""
    _sandbox, _e2es, files = await _paid_month(tmp_path, keys, inject=False)
    every, _, _ = load_files(files)
    once, _statuses, _names = load_files(files, unique=True)
    assert len(once) < len(every) and once == dedupe_entries(every)
    assert len({(e.ref, e.key, e.credit_debit, e.is_return) for e in once}) == len(once)
    assert sum(e.amount or 0 for e in once if e.credit_debit == "DBIT") == 40 * treasury_request(0).amount


def test_reconcile_command_exit_codes_and_reports(tmp_path: Path, keys: Keys) -> None:
    _sandbox, e2es, files = asyncio.run(_paid_month(tmp_path, keys))
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    out_json, out_csv, out_xlsx = tmp_path / "r.json", tmp_path / "r.csv", tmp_path / "r.xlsx"
    args = ["reconcile", "--ledger", url, "--provider", "treasury", "--out", str(out_json)]
    code = main([*args, "--out", str(out_csv), "--out", str(out_xlsx), *map(str, files)])
    assert code == 1  # unexplained breaks
    data = json.loads(out_json.read_text())
    assert data["summary"]["counts"]["duplicate_debit"] == 1
    assert e2es[1] in out_csv.read_text()
    from openpyxl import load_workbook

    wb = load_workbook(out_xlsx, read_only=True)
    assert {"summary", "lines"} <= set(wb.sheetnames)
    # A month without bank mistakes: nothing unexplained, exit 0.
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    _s, _e, clean = asyncio.run(_paid_month(clean_dir, keys, inject=False))
    clean_url = f"sqlite:///{clean_dir / 'ledger.db'}"
    assert main(["reconcile", "--ledger", clean_url, "--provider", "treasury", *map(str, clean)]) == 0
    assert main(["reconcile", "--ledger", clean_url, "--out", str(tmp_path / "r.txt"), *map(str, clean)]) == 2


async def test_late_return_without_apply_is_unexplained_then_applied(tmp_path: Path, keys: Keys) -> None:
    sandbox = make_sandbox(keys)
    async with SqliteLedger(tmp_path / "ledger.db") as ledger:
        channel = make_channel(keys, ledger, sandbox, tmp_path / "store")
        payouts = await channel.record(treasury_request(i) for i in range(5))
        await channel.submit(payouts)
        sandbox.advance(RUN_AT.date())
        await channel.poll()
        e2e = end_to_end_id(payouts[0].idempotency_key)
        sandbox.schedule_return(e2e, "MD07", RUN_AT.date() + timedelta(days=1))
        sandbox.advance(RUN_AT.date() + timedelta(days=1))
        entries, statuses, names = load_files(sandbox.write_reports(tmp_path / "r"))
        dry = await reconcile(ledger, entries=entries, statuses=statuses, files=names)
        assert [b.category for b in dry.unexplained] == [Category.LATE_RETURN]
        assert (await ledger.get(payouts[0].id)).status is PayoutStatus.SUCCEEDED  # type: ignore[union-attr]
        done = await reconcile(
            ledger,
            entries=entries,
            statuses=statuses,
            files=names,
            apply=True,
            debtor_accounts=[DEBTOR_ACCOUNT],
        )
        assert done.unexplained == []
        p = await ledger.get(payouts[0].id)
        assert p is not None and p.status is PayoutStatus.RETURNED
        assert p.failure_reason is FailureReason.BENEFICIARY_DECEASED  # MD07: no cash fallback
        assert (await ledger.events(p.id))[-1].source is EventSource.RECONCILIATION
        await channel.aclose()
