"""Versioned SQL migrations, shipped as files next to this module.

Why plain numbered SQL files: an auditor or a DBA can read exactly what the schema
is, and both stores apply them the same way (``asxh-pay db upgrade``; SQLite does
it automatically on open).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(dialect: str) -> list[Migration]:
    """Every migration for ``dialect`` ("sqlite" or "postgresql"), in version order."""
    folder = resources.files("asxh_pay.ledger") / "migrations" / dialect
    found: list[Migration] = []
    for entry in folder.iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions for {dialect}: {versions}")
    return found
