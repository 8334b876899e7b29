"""A full month on the bank rail: 10,000 payouts through the sandbox bank, then reconciliation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from asxh_pay.iso20022 import read_pain002, validate
from asxh_pay.ledger import SqliteLedger
from asxh_pay.providers.treasury import end_to_end_id
from asxh_pay.reconcile import Category, load_files, reconcile
from asxh_pay.status import FailureReason, PayoutStatus
from tests.treasury.conftest import DEBTOR_ACCOUNT, RUN_AT, Keys, make_channel, make_sandbox, treasury_request

N = 10_000


@pytest.mark.slow
async def test_ten_thousand_payouts_full_cycle(tmp_path: Path, keys: Keys) -> None:
    sandbox = make_sandbox(keys, reject_rate=0.02, seed=7)
    async with SqliteLedger(tmp_path / "ledger.db") as ledger:
        channel = make_channel(keys, ledger, sandbox, tmp_path / "store", max_txs_per_file=4000)
        # A few accounts the bank rejects for a known reason, among 10,000 valid requests.
        magic = {10: "12000000000001", 11: "12000000000004", 12: "12000000000006", 13: "12000000000011"}
        payouts = await channel.record(treasury_request(i, account=magic.get(i)) for i in range(N))
        report = await channel.submit(payouts)
        assert report.submitted == N and not report.not_uploaded
        assert len(report.batches) == 3  # 4000 + 4000 + 2000 transfers
        for batch_id in report.batches:
            validate(channel.store.path(batch_id), "pain.001.001.09")
            assert channel.store.get(batch_id).state == "uploaded"
        assert {(await ledger.get(p.id)).status for p in payouts[:50]} == {PayoutStatus.SUBMITTED}  # type: ignore[union-attr]

        # pain.002: partly accepted files, per-transaction rejections with reasons.
        first = await channel.poll()
        assert not first.needs_attention
        statuses = [r for name in first.reports for r in read_pain002(channel.store.inbox_dir / name)]
        assert {getattr(r, "status", None) for r in statuses} >= {"PART", "ACCP", "RJCT"}
        rejected = {e for e, t in sandbox.transfers.items() if t.status == "RJCT"}
        assert 100 < len(rejected) < 400
        assert first.transitions["failed"] == len(rejected)
        assert first.transitions["processing"] == N - len(rejected)
        p10 = await ledger.get(payouts[10].id)
        assert p10 is not None and p10.failure_reason is FailureReason.INVALID_ACCOUNT
        p11 = await ledger.get(payouts[11].id)
        assert p11 is not None and p11.failure_reason is FailureReason.ACCOUNT_CLOSED
        p13 = await ledger.get(payouts[13].id)
        assert p13 is not None and p13.failure_reason is FailureReason.NAME_MISMATCH

        # The bank books the debits on the value date (camt.054, pain.002 ACSC, camt.053).
        sandbox.advance(RUN_AT.date())
        booked = await channel.poll()
        assert not booked.needs_attention, booked
        assert booked.transitions["succeeded"] == N - len(rejected)

        # Two days later a beneficiary's bank sends one transfer back (account closed).
        returned_id = next(p for p in payouts if end_to_end_id(p.idempotency_key) not in rejected)
        sandbox.schedule_return(
            end_to_end_id(returned_id.idempotency_key), "AC04", RUN_AT.date() + timedelta(days=2)
        )
        sandbox.advance(RUN_AT.date() + timedelta(days=3))
        # The return is *not* polled: reconciliation finds it in the statements.
        reports_dir = tmp_path / "reports"
        files = sandbox.write_reports(reports_dir)
        entries, statuses_, names = load_files(files)
        rec = await reconcile(
            ledger,
            entries=entries,
            statuses=statuses_,
            files=names,
            provider="treasury",
            apply=True,
            debtor_accounts=[DEBTOR_ACCOUNT],
        )
        late = rec.breaks(Category.LATE_RETURN)
        assert len(late) == 1 and late[0].explained and late[0].payout_id == returned_id.id
        assert "AC04" in late[0].detail and late[0].files
        assert rec.unexplained == []
        after = await ledger.get(returned_id.id)
        assert after is not None and after.status is PayoutStatus.RETURNED
        assert after.failure_reason is FailureReason.ACCOUNT_CLOSED  # cash fallback may pick it up
        events = await ledger.events(returned_id.id)
        assert events[-1].source.value == "reconciliation"

        # Ledger states agree with the bank's books; nobody was paid twice.
        counts = await ledger.counts()
        assert counts[PayoutStatus.FAILED] == len(rejected)
        assert counts[PayoutStatus.RETURNED] == 1
        assert counts[PayoutStatus.SUCCEEDED] == N - len(rejected) - 1
        assert all(len(d) == 1 for d in sandbox.debits.values())
        assert len(sandbox.debits) == N - len(rejected)

        # A second run sees everything matched and writes the report in all three formats.
        again = await reconcile(ledger, entries=entries, statuses=statuses_, files=names, provider="treasury")
        assert again.unexplained == []
        assert again.counts[Category.MATCHED.value] == N - len(rejected)
        assert again.counts[Category.NOT_PAID.value] == len(rejected)
        for ext in ("csv", "xlsx", "json"):
            again.write(tmp_path / f"reconciliation.{ext}")
            assert (tmp_path / f"reconciliation.{ext}").stat().st_size > 1000
        await channel.aclose()
