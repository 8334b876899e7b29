"""A PostgreSQL ledger URL's own ``options`` are kept (a schema chosen in the URL is used)."""

from __future__ import annotations

from asxh_pay.ledger import open_ledger
from tests.ledger.pg import PG_URL, drop_schema, new_schema, require_pg


async def test_the_schema_named_in_the_url_options_holds_the_ledger() -> None:
    require_pg()
    import psycopg
    from psycopg import sql

    schema = new_schema()
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    sep = "&" if "?" in PG_URL else "?"
    try:
        async with open_ledger(f"{PG_URL}{sep}options=-csearch_path%3D{schema}") as ledger:
            assert await ledger.counts() == {}
        with psycopg.connect(PG_URL) as conn:
            tables = conn.execute(
                "SELECT table_schema FROM information_schema.tables WHERE table_name = 'payouts'"
            ).fetchall()
        assert (schema,) in tables
    finally:
        drop_schema(schema)
