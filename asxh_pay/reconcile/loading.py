"""Reading report files for reconciliation: pain.002, camt.053/054 and provider status lists.

A file is recognised by its root element and namespace (never by searching its text),
and becomes :class:`~asxh_pay.reconcile.model.StatementEntry` and
:class:`~asxh_pay.reconcile.model.ProviderStatus` records; nothing here reads the ledger.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

from asxh_pay.errors import ValidationError
from asxh_pay.iso20022 import (
    GroupStatus,
    PaymentInfoStatus,
    TransactionStatus,
    identify,
    read_camt053,
    read_camt054,
    read_pain002,
)
from asxh_pay.reconcile.model import ProviderStatus, StatementEntry

__all__ = ["dedupe_entries", "load_files"]


_KINDS = ("pain.002", "camt.053", "camt.054")


def _detect(path: Path) -> str:
    """The kind of a report file: a status list by its extension, an ISO file by its root.

    The root element's namespace and the message element are read with the hardened
    streaming parser (:func:`asxh_pay.iso20022.safe.identify`), wherever they sit in
    the file, never found by searching the text.
    """
    if path.suffix.lower() in (".json", ".csv"):
        return "status_list"
    info = identify(path)
    if info.message not in _KINDS:
        raise ValidationError(
            f"{path.name}: a {info.version} file; expected a pain.002, camt.053, camt.054 or status list",
            field="files",
        )
    return info.message


def _pain002_statuses(path: Path) -> list[ProviderStatus]:
    """Transaction statuses of a pain.002, plus any file- or block-level verdict without transactions.

    Why keep those: a bank that rejects a whole file (``GrpSts`` ``RJCT``, no
    ``TxInfAndSts``) has paid none of it; dropping the record would report such a
    file as "no breaks".
    """
    out: list[ProviderStatus] = []
    group: GroupStatus | None = None
    blocks: list[tuple[PaymentInfoStatus, int]] = []
    tx_count = 0
    for rec in read_pain002(path):
        if isinstance(rec, GroupStatus):
            group = rec
        elif isinstance(rec, PaymentInfoStatus):
            blocks.append((rec, tx_count))
        elif isinstance(rec, TransactionStatus):
            tx_count += 1
            if rec.original_end_to_end_id:
                out.append(
                    ProviderStatus(
                        path.name,
                        rec.original_end_to_end_id,
                        rec.status,
                        rec.reason_code,
                        amount_minor=rec.original_amount_minor,
                        currency=rec.original_currency,
                        kind="pain.002",
                    )
                )
    for i, (block, first_tx) in enumerate(blocks):
        next_tx = blocks[i + 1][1] if i + 1 < len(blocks) else tx_count
        if block.status and next_tx == first_tx:  # a verdict on the block, no transaction listed
            code = block.reasons[0].code or block.reasons[0].proprietary if block.reasons else None
            out.append(
                ProviderStatus(
                    path.name,
                    block.original_payment_info_id,
                    block.status,
                    code,
                    level="batch",
                    kind="pain.002",
                )
            )
    if group is not None and group.status and tx_count == 0 and not any(b.status for b, _ in blocks):
        code = group.reasons[0].code or group.reasons[0].proprietary if group.reasons else None
        out.append(
            ProviderStatus(
                path.name, group.original_message_id or "?", group.status, code, level="file", kind="pain.002"
            )
        )
    return out


def _status_list(path: Path) -> list[ProviderStatus]:
    """A provider status list: JSON ``[{"reference", "status", "reason_code"}]`` or CSV with those columns."""
    rows: list[dict[str, Any]]
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text("utf-8"))
        if not isinstance(data, list):
            raise ValidationError(f"{path.name}: a status list is a JSON array", field="files")
        rows = [r for r in data if isinstance(r, dict)]
    else:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    out: list[ProviderStatus] = []
    for r in rows:
        ref, status = r.get("reference"), r.get("status")
        if not isinstance(ref, str) or not isinstance(status, str) or not ref or not status:
            raise ValidationError(f"{path.name}: every row needs reference and status", field="files")
        code = r.get("reason_code")
        out.append(ProviderStatus(path.name, ref, status, code if isinstance(code, str) and code else None))
    return out


def dedupe_entries(entries: Iterable[StatementEntry]) -> list[StatementEntry]:
    """The same booking from a camt.054 and a camt.053 counts once (same ref, key, side).

    A bank notifies each debit (camt.054) and states it again in the day's statement
    (camt.053): totals over the files as read count every booking twice."""
    seen: set[tuple[str, str | None, str, bool]] = set()
    out: list[StatementEntry] = []
    for e in entries:
        if e.ref is None:
            out.append(e)
            continue
        k = (e.ref, e.key, e.credit_debit, e.is_return)
        if k not in seen:
            seen.add(k)
            out.append(e)
    return out


def load_files(
    paths: Iterable[str | Path], *, return_codes: Collection[str] = (), unique: bool = False
) -> tuple[list[StatementEntry], list[ProviderStatus], list[str]]:
    """Read report files of any supported kind: (statement entries, statuses, file names).

    ``return_codes``: proprietary bank transaction codes (``BkTxCd/Prtry/Cd``) this
    bank uses for returned payments, in addition to ``RtrInf`` and ISO ``RRTN``.
    ``unique``: each booking once (:func:`dedupe_entries`), kept as the files are read, so
    that a province's day, notified and then stated, is never held twice.
    """
    statuses: list[ProviderStatus] = []
    names: list[str] = []
    codes = frozenset(return_codes)

    def read() -> Iterator[StatementEntry]:
        for raw in paths:
            path = Path(raw)
            kind = _detect(path)
            names.append(path.name)
            if kind == "pain.002":
                statuses.extend(_pain002_statuses(path))
            elif kind == "status_list":
                statuses.extend(_status_list(path))
            else:
                reader = read_camt053 if kind == "camt.053" else read_camt054
                yield from (StatementEntry.from_entry(e, path.name, codes) for e in reader(path))

    entries = dedupe_entries(read()) if unique else list(read())
    return entries, statuses, names
