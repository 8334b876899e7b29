"""Reaching the test PostgreSQL server: skip only when it is absent AND not required (CI requires it)."""

from __future__ import annotations

import os
import uuid

import pytest

PG_URL = os.environ.get("ASXH_PAY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRED = bool(os.environ.get("ASXH_PAY_REQUIRE_POSTGRES"))


def pg_reachable() -> str | None:
    """None when the server answers, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'asxh_pay[postgres]')"
    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at the test URL: {type(exc).__name__}"
    return None


def require_pg() -> None:
    reason = pg_reachable()
    if reason is None:
        return
    if REQUIRED:
        pytest.fail(f"ASXH_PAY_REQUIRE_POSTGRES is set but {reason}")
    pytest.skip(reason)


def new_schema() -> str:
    return "t_" + uuid.uuid4().hex[:12]


def drop_schema(schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
