"""The sandbox bank's books on disk: a restart sees the same bank, and nothing is booked twice."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from asxh_pay.ledger import SqliteLedger
from asxh_pay.providers.treasury import end_to_end_id
from tests.treasury.conftest import RUN_AT, Keys, make_channel, make_sandbox, treasury_request


async def test_the_books_survive_a_restart_incrementally(tmp_path: Path, keys: Keys) -> None:
    book = tmp_path / "treasury.sqlite"
    bank = make_sandbox(keys, book=book, seed=3, return_rate=0.0)
    async with SqliteLedger(tmp_path / "ledger.db") as ledger:
        channel = make_channel(keys, ledger, bank, tmp_path / "store", max_txs_per_file=40)
        payouts = await channel.record(treasury_request(i) for i in range(100))
        report = await channel.submit(payouts)
        assert report.submitted == 100 and len(report.batches) == 3
        bank.advance(RUN_AT.date())
        await channel.poll()
        e2e = end_to_end_id(payouts[0].idempotency_key)
        bank.schedule_return(e2e, "AC04", bank.calendar.add_business_days(RUN_AT.date(), 1))
        bank.advance(bank.calendar.add_business_days(RUN_AT.date(), 2))
        published = [(r.id, r.type, r.content) for r in bank.reports]
        assert {t for _, t, _ in published} >= {"pain.002", "camt.054", "camt.053"}
        # Saved reports leave memory; they are read back from the books when asked for.
        assert all(r._content is None for r in bank.reports)
        bank.close()

        again = make_sandbox(keys, book=book, seed=99)
        assert again.business_date == bank.business_date and again.balance == bank.balance
        assert set(again.transfers) == set(bank.transfers)
        assert again.transfers[e2e].returned_on is not None and again.transfers[e2e].return_code == "AC04"
        assert [(r.id, r.type, r.content) for r in again.reports] == published
        assert {k: len(v) for k, v in again.debits.items()} == {k: len(v) for k, v in bank.debits.items()}
        # The same file again, after the restart: the original answer, nothing booked twice.
        channel2 = make_channel(keys, ledger, again, tmp_path / "store", max_txs_per_file=40)
        await channel2.resume()
        again.advance(again.business_date)
        assert all(len(v) == 1 for v in again.debits.values()) and len(again.debits) == 100
        again.close()

    # One row per booking, written once: the books grow with the month, not with each save.
    with sqlite3.connect(book) as db:
        rows = db.execute("SELECT credit_debit, COUNT(*) FROM bookings GROUP BY credit_debit").fetchall()
    assert dict(rows) == {"DBIT": 100, "CRDT": 1}


async def test_a_big_day_is_notified_in_batches_and_every_debit_applied(tmp_path: Path, keys: Keys) -> None:
    """camt.054 notifications carry at most ``notification_max_entries`` bookings each (a
    province's day would otherwise be one 100 MB message); the channel applies them all."""
    bank = make_sandbox(keys, notification_max_entries=30)
    async with SqliteLedger(tmp_path / "ledger.db") as ledger:
        channel = make_channel(keys, ledger, bank, tmp_path / "store", max_txs_per_file=500)
        payouts = await channel.record(treasury_request(i) for i in range(100))
        await channel.submit(payouts)
        await channel.poll()
        bank.advance(RUN_AT.date())
        polled = await channel.poll()
        notes = [r for r in bank.reports if r.type == "camt.054"]
        assert [r.content.count(b"<Ntry>") for r in notes] == [30, 30, 30, 10]
        assert polled.transitions["succeeded"] == 100
        statements = [r for r in bank.reports if r.type == "camt.053"]
        assert len(statements) == 1 and statements[0].content.count(b"<Ntry>") == 100
