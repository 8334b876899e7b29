"""A ledger per test, on each store; PostgreSQL tests each get a fresh schema, dropped afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from asxh_pay.ledger.base import Ledger
from asxh_pay.ledger.sqlite import SqliteLedger
from tests.ledger.pg import PG_URL, drop_schema, new_schema, require_pg


@pytest.fixture
def pg_schema() -> Iterator[str]:
    require_pg()
    schema = new_schema()
    try:
        yield schema
    finally:
        drop_schema(schema)


@pytest.fixture(params=["sqlite", "postgres"])
async def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Ledger]:
    store: Ledger
    if request.param == "sqlite":
        store = SqliteLedger(tmp_path / "ledger.db")
        schema = None
    else:
        require_pg()
        from asxh_pay.ledger.postgres import PostgresLedger

        schema = new_schema()
        store = PostgresLedger(PG_URL, schema=schema, max_size=4)
    await store.open()
    try:
        yield store
    finally:
        await store.close()
        if schema is not None:
            drop_schema(schema)
