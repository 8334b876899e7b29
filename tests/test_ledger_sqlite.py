"""SQLite-specific ledger behaviour: append-only history, tamper evidence, one payer per file."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from asxh_pay.cli import main
from asxh_pay.client import AsyncPayoutClient
from asxh_pay.errors import LedgerError
from asxh_pay.ledger import SqliteLedger
from asxh_pay.sandbox.generic import GenericSandbox
from tests.conftest import FAST_POLL, FAST_RETRY, generic_setup, make_request

FIRST = "payout_id=(SELECT min(payout_id) FROM events)"


async def _paid_ledger(path: Path, n: int = 5) -> None:
    async with AsyncPayoutClient(
        SqliteLedger(path), [generic_setup(GenericSandbox())], retry=FAST_RETRY, poll=FAST_POLL
    ) as client:
        await client.pay_many(make_request(i) for i in range(n))


async def test_events_cannot_be_edited_or_deleted(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    await _paid_ledger(path)
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE events SET to_status='failed'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM events")


@pytest.mark.parametrize(
    "tamper",
    [
        # someone with write access edits the amount in the request of one payout
        "UPDATE payouts SET request_json=replace(request_json, '1500000', '9500000') WHERE rowid=2",
        # or drops the guard and rewrites history
        "DROP TRIGGER events_no_update; UPDATE events SET to_status='failed' WHERE seq=3 AND " + FIRST,
        "DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq=3 AND " + FIRST,
        # or changes a status without an event
        "UPDATE payouts SET status='failed' WHERE rowid=4",
    ],
)
def test_ledger_verify_detects_tampering(
    tmp_path: Path, tamper: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "l.db"
    asyncio.run(_paid_ledger(path))
    assert main(["ledger", "verify", "--ledger", f"sqlite:///{path}"]) == 0
    assert "Sổ cái TOÀN VẸN: đã kiểm tra 5 khoản chi, 15 sự kiện" in capsys.readouterr().out
    db = sqlite3.connect(path)
    db.executescript(tamper)
    db.commit()
    db.close()
    assert main(["ledger", "verify", "--ledger", f"sqlite:///{path}", "--json"]) == 1
    assert '"ok": false' in capsys.readouterr().out


async def test_one_payer_per_ledger_file(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    first = SqliteLedger(path)
    await first.open()
    try:
        with pytest.raises(LedgerError, match="in use by another process"):
            await SqliteLedger(path).open()
        reader = SqliteLedger(path, exclusive=False)  # reports and verify may read alongside
        await reader.open()
        await reader.close()
    finally:
        await first.close()
    second = SqliteLedger(path)  # the lock goes with the process or the close
    await second.open()
    await second.close()


async def test_reopening_applies_no_migration_twice(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    for _ in range(2):
        ledger = SqliteLedger(path)
        await ledger.open()
        await ledger.close()
    versions = sqlite3.connect(path).execute("SELECT version FROM schema_migrations").fetchall()
    assert versions == [(1,), (2,)]  # 2: the event outbox


async def test_the_wal_is_checkpointed_in_large_steps(tmp_path: Path) -> None:
    """A checkpoint runs inside a COMMIT that every ledger call waits for: at 1,000 pages
    (SQLite's default) a province's month checkpointed scattered pages every few commits."""
    from asxh_pay.ledger.sqlite import WAL_AUTOCHECKPOINT_PAGES

    async with SqliteLedger(tmp_path / "l.db") as ledger:
        pages = ledger._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    assert pages == WAL_AUTOCHECKPOINT_PAGES == 10_000
