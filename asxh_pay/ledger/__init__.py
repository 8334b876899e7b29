"""Durable ledgers: the interface and the stores behind it."""

from __future__ import annotations

from asxh_pay.errors import ConfigurationError, Message
from asxh_pay.ledger.base import ChainReport, Ledger, TransitionResult
from asxh_pay.ledger.sqlite import SqliteLedger

__all__ = ["ChainReport", "Ledger", "SqliteLedger", "TransitionResult", "open_ledger"]


def open_ledger(url: str, *, exclusive: bool = True, read_only: bool = False) -> Ledger:
    """A ledger for a URL: ``sqlite:///path``, a plain path, or ``postgresql://...``.

    The ledger is returned unopened; use ``async with`` or ``await ledger.open()``.
    ``read_only`` (for commands that only look: verify, status, reports, a dry
    reconciliation) never writes, creates or migrates anything: SQLite is opened with
    ``mode=ro``, PostgreSQL in read-only transactions, and a missing ledger or a file
    that is not one raises :class:`~asxh_pay.errors.LedgerNotFound`.
    """
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from asxh_pay.ledger.postgres import PostgresLedger  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise ConfigurationError(Message("pg_extra")) from exc
        ledger: Ledger = PostgresLedger(url, read_only=read_only)
        return ledger
    path = url.removeprefix("sqlite:///").removeprefix("sqlite://")
    return SqliteLedger(path, exclusive=exclusive and not read_only, read_only=read_only)
