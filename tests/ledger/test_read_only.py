"""A ledger opened for reading never writes, creates or migrates anything."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from asxh_pay.errors import LedgerError, LedgerNotFound, ValidationError
from asxh_pay.ledger import open_ledger
from asxh_pay.ledger.sqlite import SqliteLedger
from tests.ledger.pg import PG_URL, drop_schema, new_schema, require_pg
from tests.ledger.test_ledger_contract import created, payout, request


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_missing_sqlite_ledger_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "ledger.db"
    with pytest.raises(LedgerNotFound, match="no ledger at") as err:
        async with open_ledger(f"sqlite:///{path}", read_only=True):
            pass
    assert isinstance(err.value, ValidationError)  # bad input: exit 2
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize(
    "content", [b"STT,Ho va ten\n1,An\n", b"", b"\x00" * 4096], ids=["csv", "empty", "zeros"]
)
async def test_a_file_that_is_not_a_ledger(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(content)
    with pytest.raises(LedgerNotFound, match="not an asxh-pay ledger"):
        async with open_ledger(str(path), read_only=True):
            pass
    assert path.read_bytes() == content


async def test_another_sqlite_database_is_not_a_ledger(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    before = _digest(path)
    with pytest.raises(LedgerNotFound, match="SQLite database but not an asxh-pay ledger"):
        async with open_ledger(str(path), read_only=True):
            pass
    assert _digest(path) == before


async def test_sqlite_read_only_reads_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    async with SqliteLedger(path) as ledger:
        await created(ledger, 1)
    before = _digest(path)
    async with open_ledger(str(path), read_only=True) as ro:
        assert (await ro.verify_chain()).payouts_checked == 1
        with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only"):
            await ro.create_or_get(payout(request(2)))
    assert _digest(path) == before


async def test_postgres_read_only_creates_nothing_and_writes_nothing() -> None:
    require_pg()
    import psycopg

    from asxh_pay.ledger.postgres import PostgresLedger

    schema = new_schema()
    try:
        with pytest.raises(LedgerNotFound, match="no asxh-pay ledger"):
            async with PostgresLedger(PG_URL, schema=schema, read_only=True):
                pass
        with psycopg.connect(PG_URL) as conn:
            found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        assert found is None  # not even the schema was created
        async with PostgresLedger(PG_URL, schema=schema, max_size=2) as rw:
            await created(rw, 1)
        async with PostgresLedger(PG_URL, schema=schema, max_size=2, read_only=True) as ro:
            assert (await ro.verify_chain()).payouts_checked == 1
            with pytest.raises((LedgerError, psycopg.errors.ReadOnlySqlTransaction)):
                await ro.create_or_get(payout(request(2)))
        async with PostgresLedger(PG_URL, schema=schema, max_size=2) as rw:
            assert (await rw.verify_chain()).payouts_checked == 1
    finally:
        drop_schema(schema)
