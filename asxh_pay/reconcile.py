"""Three-way reconciliation: what we instructed, what the provider says, what the bank booked.

Why three ways: the ledger (what was instructed and what we believe happened), the
provider's status reports (pain.002, or a provider's status list) and the bank
statement (camt.053/054 entries on the paying account) are written by three
different systems. Any two can agree while the third shows the problem: a payout
the provider reported ``ACSC`` that never left the account, a debit booked twice
for one EndToEndId (paid twice, *trung linh*), a transfer returned days after we
recorded it as paid. Every difference is a *break* with its evidence (file names,
entry references, amounts, statuses), so a person can act on it.

Matching is by key: for each payout its EndToEndId (derived from the idempotency
key, see :func:`asxh_pay.providers.treasury.end_to_end_id`), its idempotency key
and its provider reference; any rail whose reports carry one of these reconciles
here. The same booking seen in an intraday camt.054 and in the end-of-day camt.053
is counted once (same account-servicer reference); two *different* references
debiting one EndToEndId are a double payment.

Categories (``explained`` ones need no person):

=====================  =========  ==================================================
category               explained  meaning
=====================  =========  ==================================================
matched                yes        ledger, reports and statement agree
not_paid               yes        ledger failed/cancelled and nothing was booked
in_flight              yes        accepted, not booked yet, nothing contradicts
ledger_behind          if applied booked (or rejected) but the ledger lagged: applied
late_return            if applied a return after ``succeeded``: applied as ``returned``
                                  (source ``reconciliation``), so the cash fallback
                                  can pick it up
missing_on_statement   no         ledger says paid or returned, statement shows nothing
unknown_on_statement   no         a debit or return the ledger does not know
duplicate_debit        no         two or more debits for one payout: paid twice
amount_mismatch        no         booked (or pain.002 original) amount differs from the
                                  instructed amount
status_disagreement    no         e.g. ledger failed but the bank booked the debit
unknown_report         no         a status report about a transfer we never instructed
return_mismatch        no         a return of another amount than was sent (partial,
                                  zero, over), of unknown amount, or several returns
wrong_rail             no         a debit or return naming a payout of another rail, or
                                  booked on an account that is not the rail's debtor
                                  account
unexplained_credit     no         a credit naming a payout that the statement does not
                                  call a return (no ``RtrInf``, no return code)
file_rejected          no         a pain.002 rejecting a whole file or payment block
                                  without transaction details: none of it was paid
=====================  =========  ==================================================

What a statement may change (``apply=True``). The bank statement belongs to one
rail (``statement_rail``, the bank/Treasury rail) and one debtor account
(``debtor_accounts``). A booking acts on a payout only when all hold: the payout
was sent on that rail; it is inside the run/provider scope given; the entry is
booked (``BOOK``) on one of those debtor accounts; and its amount is the amount
sent, exactly. Entries not booked (``PDNG``, ``INFO``) are not matched at all. A
return is a credit the statement marks as a return (``RtrInf``, an ``RRTN`` bank
transaction code, or a proprietary code the caller lists in ``return_codes``),
never a credit that merely carries an EndToEndId. Everything else is a break for
a person and changes nothing: a 1 VND "return" on a wallet payout must not
release a full cash payment. A bank pain.002 likewise changes only payouts of
that rail, and nothing outside the scope given.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from asxh_pay.errors import ValidationError
from asxh_pay.iso20022 import (
    Entry,
    GroupStatus,
    Iso20022Error,
    PaymentInfoStatus,
    TransactionStatus,
    identify,
    read_camt053,
    read_camt054,
    read_pain002,
    status_reason_to_failure,
    transaction_outcome,
)
from asxh_pay.ledger.base import Ledger, stop_fallbacks_after_late_truth
from asxh_pay.models import EventSource, Payout
from asxh_pay.status import FailureReason, IllegalTransition, PayoutStatus

__all__ = [
    "Break",
    "Category",
    "ProviderStatus",
    "ReconciliationReport",
    "StatementEntry",
    "load_files",
    "reconcile",
    "reconcile_files_command",
]


class Category(StrEnum):
    MATCHED = "matched"
    NOT_PAID = "not_paid"
    IN_FLIGHT = "in_flight"
    LEDGER_BEHIND = "ledger_behind"
    LATE_RETURN = "late_return"
    MISSING_ON_STATEMENT = "missing_on_statement"
    UNKNOWN_ON_STATEMENT = "unknown_on_statement"
    DUPLICATE_DEBIT = "duplicate_debit"
    AMOUNT_MISMATCH = "amount_mismatch"
    STATUS_DISAGREEMENT = "status_disagreement"
    UNKNOWN_REPORT = "unknown_report"
    RETURN_MISMATCH = "return_mismatch"
    WRONG_RAIL = "wrong_rail"
    UNEXPLAINED_CREDIT = "unexplained_credit"
    FILE_REJECTED = "file_rejected"
    PAID_TWICE = "paid_twice"  # delivered late after its cash fallback left (issue 13)


_OK = frozenset({Category.MATCHED, Category.NOT_PAID, Category.IN_FLIGHT})


#: The rail bank statements belong to (see :mod:`asxh_pay.providers.treasury`).
STATEMENT_RAIL = "treasury"


@dataclass(frozen=True)
class StatementEntry:
    """One booking on the paying account, with the file it came from.

    ``amount`` is the transaction's VND amount: its own, or its entry's when it is
    the entry's only transaction; ``None`` when neither is known in VND (a batch
    entry whose transactions state no amount, a foreign currency). ``credit_debit``
    is the transaction's own indicator. ``account`` is the statement's account.
    """

    file: str
    ref: str | None
    key: str | None
    amount: int | None
    credit_debit: str
    is_return: bool
    return_code: str | None
    return_reason: FailureReason | None
    booking_date: str | None
    account: str | None = None
    status: str | None = None
    reversal: bool = False

    @classmethod
    def from_entry(cls, entry: Entry, file: str, return_codes: Collection[str] = ()) -> StatementEntry:
        if entry.tx_amount_minor is not None:
            amount = entry.tx_amount_vnd
        elif entry.tx_index is None or entry.only_tx:
            amount = entry.amount_vnd
        else:
            amount = None
        is_return = entry.is_return
        if not is_return and entry.credit_debit == "CRDT" and return_codes:
            prtry = entry.tx_bank_tx_proprietary or entry.bank_tx_proprietary
            is_return = prtry is not None and prtry in return_codes
        when = entry.booking_datetime or entry.booking_date
        return cls(
            file=file,
            ref=entry.tx_account_servicer_ref or entry.account_servicer_ref or entry.entry_reference,
            key=entry.end_to_end_id,
            amount=amount,
            credit_debit=entry.credit_debit,
            is_return=is_return,
            return_code=entry.return_reason_code,
            return_reason=entry.return_reason,
            booking_date=when.isoformat() if when else None,
            account=entry.account,
            status=entry.status,
            reversal=entry.reversal,
        )

    @property
    def booked(self) -> bool:
        return self.status is None or self.status.upper() == "BOOK"


@dataclass(frozen=True)
class ProviderStatus:
    """One status the provider reported for one transfer (a pain.002 line, a status list row).

    ``status`` is an ISO 20022 status code (``ACSC``, ``RJCT``...) or one of the
    library's words (``succeeded``, ``failed``, ``processing``, ``returned``).
    ``level`` is ``"transaction"``, or ``"file"``/``"batch"`` for a pain.002
    verdict on a whole file or payment block that lists no transactions (``key``
    is then the original MsgId or PmtInfId). ``amount_minor``/``currency`` are the
    original amount the report echoes (pain.002 ``OrgnlTxRef/Amt``), if any.
    ``kind`` is ``"pain.002"`` for a bank status report (it speaks for the bank
    rail only) or ``"status_list"``.
    """

    file: str
    key: str
    status: str
    reason_code: str | None = None
    level: str = "transaction"
    amount_minor: int | None = None
    currency: str | None = None
    kind: str = "status_list"

    @property
    def outcome(self) -> str:
        word = self.status.strip().lower()
        if word in ("succeeded", "failed", "processing", "returned", "cancelled"):
            return "failed" if word == "cancelled" else word
        return transaction_outcome(self.status)

    def amount_differs(self, amount: int) -> bool:
        """Does the report echo an original amount other than ``amount`` VND?"""
        return self.currency is not None and (self.currency != "VND" or self.amount_minor != amount)


@dataclass
class Break:
    """One line of the report (a break, or a match when matches are listed)."""

    category: Category
    explained: bool
    key: str | None
    payout_id: str | None = None
    ledger_status: str | None = None
    ledger_amount: int | None = None
    statement_amount: int | None = None
    report_status: str | None = None
    files: str = ""
    entry_refs: str = ""
    detail: str = ""
    action: str = ""

    def row(self) -> dict[str, Any]:
        data = asdict(self)
        data["category"] = self.category.value
        return data


COLUMNS = list(Break.__dataclass_fields__)


@dataclass
class ReconciliationReport:
    lines: list[Break] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    payouts_checked: int = 0
    entries_read: int = 0
    statuses_read: int = 0

    @property
    def counts(self) -> Counter[str]:
        return Counter(line.category.value for line in self.lines)

    @property
    def unexplained(self) -> list[Break]:
        return [line for line in self.lines if not line.explained]

    def breaks(self, category: Category) -> list[Break]:
        return [line for line in self.lines if line.category is category]

    def summary(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "payouts_checked": self.payouts_checked,
            "entries_read": self.entries_read,
            "statuses_read": self.statuses_read,
            "counts": dict(sorted(self.counts.items())),
            "unexplained": len(self.unexplained),
        }

    def to_json(self, path: str | Path) -> None:
        body = {"summary": self.summary(), "lines": [line.row() for line in self.lines]}
        Path(path).write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")

    def to_csv(self, path: str | Path) -> None:
        from asxh_pay.cells import write_csv_file

        # Every field neutralised: a file name or detail from a bank report must not run as a formula.
        rows = ([line.row()[c] for c in COLUMNS] for line in self.lines)
        write_csv_file(Path(path), COLUMNS, rows, encoding="utf-8")

    def to_xlsx(self, path: str | Path) -> None:
        from openpyxl import Workbook

        from asxh_pay.cells import xlsx_row

        wb = Workbook(write_only=True)
        summary = wb.create_sheet("summary")
        s = self.summary()
        for k in ("payouts_checked", "entries_read", "statuses_read", "unexplained"):
            summary.append(xlsx_row(summary, [k, s[k]]))
        for k, v in s["counts"].items():
            summary.append(xlsx_row(summary, [k, v]))
        summary.append(xlsx_row(summary, ["files", ", ".join(self.files)]))
        sheet = wb.create_sheet("lines")
        sheet.append(xlsx_row(sheet, COLUMNS))
        for line in self.lines:
            row = line.row()
            sheet.append(xlsx_row(sheet, [row[c] for c in COLUMNS]))
        wb.save(str(path))

    def write(self, path: str | Path) -> None:
        """Write by extension: ``.csv``, ``.xlsx`` or ``.json``."""
        suffix = Path(path).suffix.lower()
        writers: dict[str, Callable[[str | Path], None]] = {
            ".csv": self.to_csv,
            ".xlsx": self.to_xlsx,
            ".json": self.to_json,
        }
        if suffix not in writers:
            raise ValidationError("report must end in .csv, .xlsx or .json", field="out")
        writers[suffix](path)


# ---------------------------------------------------------------------- loading files


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


def load_files(
    paths: Iterable[str | Path], *, return_codes: Collection[str] = ()
) -> tuple[list[StatementEntry], list[ProviderStatus], list[str]]:
    """Read report files of any supported kind: (statement entries, statuses, file names).

    ``return_codes``: proprietary bank transaction codes (``BkTxCd/Prtry/Cd``) this
    bank uses for returned payments, in addition to ``RtrInf`` and ISO ``RRTN``.
    """
    entries: list[StatementEntry] = []
    statuses: list[ProviderStatus] = []
    names: list[str] = []
    codes = frozenset(return_codes)
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
            entries.extend(StatementEntry.from_entry(e, path.name, codes) for e in reader(path))
    return entries, statuses, names


# ---------------------------------------------------------------------- matching


def default_keys(payout: Payout) -> list[str]:
    from asxh_pay.providers.treasury import end_to_end_id

    keys = [end_to_end_id(payout.idempotency_key), payout.idempotency_key]
    if payout.provider_ref:
        keys.append(payout.provider_ref)
    return keys


def _dedupe(entries: Iterable[StatementEntry]) -> list[StatementEntry]:
    """The same booking from a camt.054 and a camt.053 counts once (same ref, key, side)."""
    seen: dict[tuple[str, str | None, str, bool], StatementEntry] = {}
    out: list[StatementEntry] = []
    for e in entries:
        if e.ref is None:
            out.append(e)
            continue
        k = (e.ref, e.key, e.credit_debit, e.is_return)
        if k not in seen:
            seen[k] = e
            out.append(e)
    return out


def _join(values: Iterable[str | None]) -> str:
    return ";".join(sorted({v for v in values if v}))


_FINAL_FAILED = (PayoutStatus.FAILED, PayoutStatus.CANCELLED)
_IN_FLIGHT = (PayoutStatus.SUBMITTED, PayoutStatus.PROCESSING, PayoutStatus.UNKNOWN)


@dataclass(frozen=True)
class _Scope:
    """What the statements may act on: their rail, its debtor accounts, the payouts in scope."""

    rail: str
    accounts: frozenset[str] | None
    payout_ids: frozenset[str]

    def wrong_rail(self, p: Payout, e: StatementEntry) -> str | None:
        """Why entry ``e`` cannot be about payout ``p`` at all (a break), or None."""
        if p.provider != self.rail:
            return f"payout was sent on {p.provider or 'no rail'}; the statement is of the {self.rail} rail"
        if self.accounts is not None and e.account not in self.accounts:
            return f"booked on account {mask_account(e.account)}, not on the rail's debtor account"
        return None

    def cannot_apply(self, p: Payout) -> str | None:
        """Why nothing from the statements may be applied to ``p`` (None: it may)."""
        if p.id not in self.payout_ids:
            return "payout is outside the run/provider scope given"
        if self.accounts is None:
            return "the rail's debtor account was not given (--account), so the statement's is unchecked"
        return None


def mask_account(account: str | None) -> str:
    """An account number as reports show it: the last 4 digits only."""
    if not account:
        return "-"
    return "*" * max(len(account) - 4, 0) + account[-4:]


async def reconcile(
    ledger: Ledger,
    *,
    entries: Iterable[StatementEntry] = (),
    statuses: Iterable[ProviderStatus] = (),
    files: Sequence[str] = (),
    provider: str | None = None,
    run_id: str | None = None,
    apply: bool = False,
    include_matched: bool = True,
    keys_of: Callable[[Payout], list[str]] = default_keys,
    statement_rail: str = STATEMENT_RAIL,
    debtor_accounts: Collection[str] | None = None,
) -> ReconciliationReport:
    """Compare ledger, status reports and statement entries; return every break.

    ``provider``/``run_id`` limit which payouts are expected on the statement (a
    wallet payout is not missing from the bank's statement). With ``apply=True``
    the ledger is brought up to what the bank proves (a booked debit ->
    ``succeeded``; a return -> ``returned``; a rejection -> ``failed``), recorded
    with ``EventSource.RECONCILIATION``; contradictions are never applied.

    A statement entry acts only on payouts of ``statement_rail`` that are in scope,
    when it is booked on one of ``debtor_accounts`` for exactly the amount sent
    (see the module docstring). Without ``debtor_accounts`` nothing from the
    statements is applied: the account a statement belongs to cannot be checked.
    """
    report = ReconciliationReport(files=list(files))
    entry_list = _dedupe(entries)
    status_list = list(statuses)
    report.entries_read = len(entry_list)
    report.statuses_read = len(status_list)

    by_key: dict[str, Payout] = {}
    by_id: dict[str, Payout] = {}
    in_scope: list[Payout] = []
    async for p in ledger.iter_payouts(run_id=run_id):
        by_id[p.id] = p
        for k in keys_of(p):
            by_key.setdefault(k, p)
        if p.status is not PayoutStatus.CREATED and (provider is None or p.provider == provider):
            in_scope.append(p)
    report.payouts_checked = len(in_scope)
    scope = _Scope(
        statement_rail,
        frozenset(debtor_accounts) if debtor_accounts is not None else None,
        frozenset(p.id for p in in_scope),
    )
    unknown_where = f"run {run_id}" if run_id else "the ledger"

    debits: dict[str, list[StatementEntry]] = {}
    returns: dict[str, list[StatementEntry]] = {}
    credits: dict[str, list[StatementEntry]] = {}
    for e in entry_list:
        if not e.booked:
            continue  # pending or information only: nothing has moved yet
        if e.key is None:
            if e.credit_debit == "DBIT":
                report.lines.append(
                    Break(
                        Category.UNKNOWN_ON_STATEMENT,
                        False,
                        None,
                        statement_amount=e.amount,
                        files=e.file,
                        entry_refs=e.ref or "",
                        detail="debit without EndToEndId",
                    )
                )
            continue  # credits without a reference: funding, interest
        payout = by_key.get(e.key)
        if payout is None:
            if e.credit_debit == "CRDT" and not e.is_return:
                continue  # an incoming credit with its sender's EndToEndId: funding, not ours
            report.lines.append(
                Break(
                    Category.UNKNOWN_ON_STATEMENT,
                    False,
                    e.key,
                    statement_amount=e.amount,
                    files=e.file,
                    entry_refs=e.ref or "",
                    detail=f"return for a transfer {unknown_where} does not know"
                    if e.is_return
                    else f"debit for a transfer {unknown_where} does not know",
                )
            )
            continue
        if e.credit_debit == "DBIT":
            debits.setdefault(payout.id, []).append(e)
        elif e.is_return:
            returns.setdefault(payout.id, []).append(e)
        else:
            credits.setdefault(payout.id, []).append(e)

    reported: dict[str, list[ProviderStatus]] = {}
    for s in status_list:
        if s.level != "transaction":
            if s.outcome == "failed":
                what = "file" if s.level == "file" else "payment block"
                report.lines.append(
                    Break(
                        Category.FILE_REJECTED,
                        False,
                        s.key,
                        report_status=f"{s.status}{' ' + s.reason_code if s.reason_code else ''}",
                        files=s.file,
                        detail=f"the bank rejected the whole {what} {s.key} without transaction details:"
                        " none of its transfers was paid",
                        action="check that the ledger shows its payouts failed (poll applies it)",
                    )
                )
            continue
        payout = by_key.get(s.key)
        if payout is None:
            report.lines.append(
                Break(
                    Category.UNKNOWN_REPORT,
                    False,
                    s.key,
                    report_status=s.status,
                    files=s.file,
                    detail=f"status for a transfer {unknown_where} does not know",
                )
            )
            continue
        reported.setdefault(payout.id, []).append(s)

    # Payouts outside the scope still count when the bank or the provider names them.
    named = set(debits) | set(returns) | set(credits) | set(reported)
    extra_ids = named - scope.payout_ids
    for p in [*in_scope, *(by_id[i] for i in sorted(extra_ids))]:
        await _check(
            ledger,
            p,
            debits.get(p.id, []),
            returns.get(p.id, []),
            credits.get(p.id, []),
            reported.get(p.id, []),
            keys_of(p)[0],
            apply,
            include_matched,
            report,
            scope,
        )
    # Late truth after the cash fallback left (issue 13): one entitlement paid twice.
    for case in await ledger.paid_twice(run_id=run_id):
        if provider is None or provider in (case.electronic.provider, case.fallback.provider):
            paid, cash = case.electronic, case.fallback
            report.lines.append(
                Break(
                    Category.PAID_TWICE,
                    False,
                    keys_of(paid)[0],
                    payout_id=paid.id,
                    ledger_status=paid.status.value,
                    ledger_amount=paid.amount,
                    entry_refs=_join([paid.provider_ref or "-", cash.provider_ref or "-"]),
                    detail=f"delivered after its cash fallback {cash.id} ({cash.status.value}) left",
                    action="recover one of the two payments",
                )
            )
    return report


def _reported_outcome(statuses: list[ProviderStatus]) -> tuple[str | None, ProviderStatus | None]:
    """The strongest thing the provider said: a duplicate refusal (AM05) is ignored."""
    best: tuple[str | None, ProviderStatus | None] = (None, None)
    rank = {"processing": 0, "failed": 1, "succeeded": 2, "returned": 3}
    for s in statuses:
        out = s.outcome
        if out == "failed" and status_reason_to_failure(s.reason_code) is FailureReason.DUPLICATE:
            continue
        if best[0] is None or rank[out] > rank[best[0]]:
            best = (out, s)
    return best


def _status_cannot_apply(p: Payout, s: ProviderStatus, scope: _Scope) -> str | None:
    """Why a reported status may not change ``p``: a bank's pain.002 speaks for the bank rail
    only, and nothing outside the run/provider scope is changed."""
    if s.kind == "pain.002" and p.provider != scope.rail:
        return f"payout was sent on {p.provider or 'no rail'}; a pain.002 is of the {scope.rail} rail"
    if p.id not in scope.payout_ids:
        return "payout is outside the run/provider scope given"
    return None


def _return_problem(p: Payout, returns: list[StatementEntry]) -> str | None:
    """Why these returns do not give back exactly what was sent (None: they do)."""
    if len(returns) > 1:
        total = sum(r.amount or 0 for r in returns)
        return f"{len(returns)} returns ({total} VND in all) for one payout of {p.amount} VND"
    amount = returns[0].amount
    if amount is None:
        return f"returned amount not stated for this transfer in VND; {p.amount} VND were sent"
    if amount == 0:
        return f"zero return; {p.amount} VND were sent"
    if amount < p.amount:
        return f"partial return of {amount} VND; {p.amount} VND were sent"
    if amount > p.amount:
        return f"return of {amount} VND is more than the {p.amount} VND sent"
    return None


async def _check(
    ledger: Ledger,
    p: Payout,
    debits: list[StatementEntry],
    returns: list[StatementEntry],
    credits: list[StatementEntry],
    statuses: list[ProviderStatus],
    key: str,
    apply: bool,
    include_matched: bool,
    report: ReconciliationReport,
    scope: _Scope,
) -> None:
    files = _join([e.file for e in (*debits, *returns, *credits)] + [s.file for s in statuses])
    refs = _join(e.ref for e in (*debits, *returns, *credits))
    problems: list[Break] = []

    def evidence(
        category: Category, e: StatementEntry | None, detail: str, s: ProviderStatus | None = None
    ) -> Break:
        return Break(
            category,
            False,
            key,
            p.id,
            p.status.value,
            p.amount,
            e.amount if e is not None else None,
            s.status if s is not None else None,
            e.file if e is not None else (s.file if s is not None else ""),
            (e.ref or "") if e is not None else "",
            detail,
            "review: not applied",
        )

    # Bookings that cannot be about this payout, credits nobody called a return, and
    # reports about a transfer of another amount: breaks, and no evidence for the rest.
    kept_debits: list[StatementEntry] = []
    kept_returns: list[StatementEntry] = []
    for e in debits:
        why = scope.wrong_rail(p, e)
        if why:
            problems.append(evidence(Category.WRONG_RAIL, e, f"debit {e.ref or '-'}: {why}"))
        else:
            kept_debits.append(e)
    for e in returns:
        why = scope.wrong_rail(p, e)
        if why:
            problems.append(evidence(Category.WRONG_RAIL, e, f"return {e.ref or '-'}: {why}"))
        else:
            kept_returns.append(e)
    debits, returns = kept_debits, kept_returns
    for e in credits:
        problems.append(
            evidence(
                Category.UNEXPLAINED_CREDIT,
                e,
                f"credit {e.ref or '-'} of {e.amount} VND names this payout but the statement does not "
                "call it a return (no RtrInf, no return code)",
            )
        )
    kept_statuses: list[ProviderStatus] = []
    for s in statuses:
        if s.amount_differs(p.amount):
            problems.append(
                evidence(
                    Category.AMOUNT_MISMATCH,
                    None,
                    f"{s.file} reports {s.status} for a transfer of {s.amount_minor} {s.currency}; "
                    f"{p.amount} VND were instructed",
                    s,
                )
            )
        else:
            kept_statuses.append(s)
    statuses = kept_statuses
    if returns:
        bad = _return_problem(p, returns)
        if bad is not None:
            e = returns[0]
            line_ = evidence(Category.RETURN_MISMATCH, e, bad)
            line_.entry_refs = _join(r.ref for r in returns)
            line_.statement_amount = sum(r.amount or 0 for r in returns)
            problems.append(line_)
            returns = []

    said, said_rec = _reported_outcome(statuses)
    booked = sum(e.amount or 0 for e in debits) if debits else None
    blocked = scope.cannot_apply(p)

    def line(category: Category, explained: bool, detail: str = "", action: str = "") -> Break:
        return Break(
            category,
            explained,
            key,
            p.id,
            p.status.value,
            p.amount,
            booked,
            f"{said_rec.status}{' ' + said_rec.reason_code if said_rec.reason_code else ''}"
            if said_rec
            else None,
            files,
            refs,
            detail,
            action,
        )

    def not_applied(hint: str) -> str:
        return f"not applied: {blocked}" if apply and blocked else hint

    if len(debits) > 1:
        problems.append(
            line(Category.DUPLICATE_DEBIT, False, f"{len(debits)} debits for one payout: paid twice")
        )
    debit_ok = len(debits) == 1
    for e in debits:
        if e.amount != p.amount:
            debit_ok = False
            problems.append(
                line(
                    Category.AMOUNT_MISMATCH,
                    False,
                    f"booked {e.amount} VND (ref {e.ref}) but instructed {p.amount} VND",
                )
            )
    status = p.status
    if returns:
        ret = returns[0]
        if status is PayoutStatus.RETURNED:
            pass
        elif status is PayoutStatus.SUCCEEDED or status in _IN_FLIGHT:
            action = ""
            if apply and blocked is None:
                action = await _apply_return(ledger, p, ret)
            problems.append(
                line(
                    Category.LATE_RETURN,
                    bool(action),
                    f"returned {ret.return_code or '-'} on {ret.booking_date or '?'} (ref {ret.ref})",
                    action or not_applied("apply as returned (run with --apply)"),
                )
            )
        else:
            problems.append(
                line(
                    Category.STATUS_DISAGREEMENT,
                    False,
                    f"ledger {status.value} but the bank booked a return (ref {ret.ref})",
                )
            )
    elif debits:
        if status is PayoutStatus.SUCCEEDED:
            pass
        elif status in _IN_FLIGHT:
            action = (
                await _advance(ledger, p, PayoutStatus.SUCCEEDED, None, f"booked debit ref {refs}")
                if apply and blocked is None and debit_ok
                else ""
            )
            problems.append(
                line(
                    Category.LEDGER_BEHIND,
                    bool(action),
                    "debit booked, ledger not yet succeeded",
                    action
                    or (
                        not_applied("apply as succeeded (run with --apply)")
                        if debit_ok
                        else "not applied: the debit does not match the instruction"
                    ),
                )
            )
        elif status is PayoutStatus.RETURNED:
            problems.append(
                line(
                    Category.MISSING_ON_STATEMENT,
                    False,
                    "ledger says returned but no return credit is on the statements",
                )
            )
        else:
            problems.append(
                line(
                    Category.STATUS_DISAGREEMENT,
                    False,
                    f"ledger {status.value} but the bank booked the debit: check for a second payment",
                )
            )
    else:
        if status in (PayoutStatus.SUCCEEDED, PayoutStatus.RETURNED):
            problems.append(
                line(
                    Category.MISSING_ON_STATEMENT,
                    False,
                    f"ledger {status.value} but no debit is on the statements",
                )
            )
        elif status in _FINAL_FAILED:
            if said in ("succeeded", "returned"):
                problems.append(
                    line(
                        Category.STATUS_DISAGREEMENT,
                        False,
                        f"ledger {status.value} but the provider reported {said}",
                    )
                )
            elif include_matched and not problems:
                report.lines.append(line(Category.NOT_PAID, True))
        elif said == "failed" and said_rec is not None:
            action = ""
            refused = _status_cannot_apply(p, said_rec, scope)
            if apply and refused is None:
                reason = status_reason_to_failure(said_rec.reason_code)
                action = await _advance(
                    ledger,
                    p,
                    PayoutStatus.FAILED,
                    reason,
                    f"rejected {said_rec.reason_code or ''} in {said_rec.file}",
                )
            problems.append(
                line(
                    Category.LEDGER_BEHIND,
                    bool(action),
                    "provider rejected it, ledger lagged",
                    action
                    or (
                        f"not applied: {refused}"
                        if apply and refused
                        else "apply as failed (run with --apply)"
                    ),
                )
            )
        elif include_matched and not problems:
            report.lines.append(line(Category.IN_FLIGHT, True, "accepted, not booked yet"))
    if said == "failed" and debits and not returns and status is PayoutStatus.SUCCEEDED:
        problems.append(
            line(
                Category.STATUS_DISAGREEMENT,
                False,
                f"provider rejected it ({said_rec.reason_code if said_rec else '-'}) "
                "but the bank booked the debit",
            )
        )
    if problems:
        report.lines.extend(problems)
    elif include_matched and (debits or returns):
        report.lines.append(line(Category.MATCHED, True))


async def _advance(
    ledger: Ledger,
    p: Payout,
    target: PayoutStatus,
    reason: FailureReason | None,
    detail: str,
    *,
    stop_fallbacks: bool = True,
) -> str:
    try:
        res = await ledger.transition(
            p, target, source=EventSource.RECONCILIATION, reason=reason, detail=detail
        )
    except IllegalTransition as exc:
        return f"not applied: {exc}"
    if stop_fallbacks:  # a booked debit after a failure is late truth (issue 13)
        await stop_fallbacks_after_late_truth(ledger, res)
    return f"applied: {target.value}" if res.changed else ""


async def _apply_return(ledger: Ledger, p: Payout, ret: StatementEntry) -> str:
    if p.status is not PayoutStatus.SUCCEEDED:
        first = await _advance(
            ledger, p, PayoutStatus.SUCCEEDED, None, "success implied by a later return", stop_fallbacks=False
        )
        if first.startswith("not applied"):
            return ""
        fresh = await ledger.get(p.id)
        p = fresh or p
    reason = ret.return_reason or FailureReason.RETURNED_BY_BANK
    return await _advance(
        ledger,
        p,
        PayoutStatus.RETURNED,
        reason,
        f"returned {ret.return_code or '-'} ref {ret.ref} in {ret.file}",
    )


# ---------------------------------------------------------------------- command line


def add_file_options(p: argparse.ArgumentParser) -> None:
    """Options of ``asxh-pay reconcile`` when it is given report files (see payroll.commands)."""
    p.add_argument("--provider", help="only payouts of this provider are expected on the statements")
    p.add_argument(
        "--apply",
        action="store_true",
        help="record what the bank proves (late returns, lagging statuses) in the ledger",
    )
    p.add_argument(
        "--account",
        action="append",
        default=None,
        metavar="ACCOUNT",
        help="the bank rail's debtor account; bookings on other accounts are breaks, and nothing "
        "from the statements is applied without it (may be repeated)",
    )
    p.add_argument(
        "--return-code",
        action="append",
        default=[],
        metavar="CODE",
        help="a proprietary bank transaction code (BkTxCd/Prtry/Cd) your bank uses for returned "
        "payments, besides RtrInf and the ISO RRTN sub-family (may be repeated)",
    )
    p.add_argument(
        "--out",
        action="append",
        default=[],
        metavar="PATH",
        help="write the report (.csv, .xlsx or .json); may be repeated",
    )
    p.add_argument("--breaks-only", action="store_true", help="leave matched lines out of the report")


def reconcile_files_command(args: argparse.Namespace) -> int:
    """``asxh-pay reconcile [RUN_ID] FILE...``: three-way against report files; exit 1 on breaks."""
    from asxh_pay.cli import EXIT_ATTENTION, EXIT_OK, emit
    from asxh_pay.ledger import open_ledger

    for out in args.out:
        if Path(out).suffix.lower() not in (".csv", ".xlsx", ".json"):
            raise ValidationError(f"--out {out}: use .csv, .xlsx or .json", field="out")
    try:
        entries, statuses, names = load_files(args.files, return_codes=args.return_code)
    except (OSError, Iso20022Error) as exc:
        raise ValidationError(f"cannot read report files: {exc}", field="files") from None

    async def run() -> ReconciliationReport:
        async with open_ledger(args.ledger, exclusive=args.apply, read_only=not args.apply) as ledger:
            return await reconcile(
                ledger,
                entries=entries,
                statuses=statuses,
                files=names,
                provider=args.provider,
                run_id=args.run_id,
                apply=args.apply,
                include_matched=not args.breaks_only,
                debtor_accounts=args.account,
            )

    report = asyncio.run(run())
    for out in args.out:
        report.write(out)
    summary = report.summary()
    from asxh_pay import vocab
    from asxh_pay.vocab import phrase

    lang = getattr(args, "lang", "vi")
    text_lines = [
        phrase(
            "recon_files",
            lang,
            payouts=report.payouts_checked,
            files=len(names),
            entries=report.entries_read,
            statuses=report.statuses_read,
        ),
        *(f"  {vocab.term(vocab.BREAKS, k, lang)} ({k}): {v}" for k, v in summary["counts"].items()),
        phrase("recon_unexplained", lang, n=summary["unexplained"]),
    ]
    for b in report.unexplained[:20]:
        text_lines.append(f"  - {b.category.value} {b.key or '-'} {b.detail} [{b.files}]")
    emit(args, summary, "\n".join(text_lines))
    return EXIT_ATTENTION if report.unexplained else EXIT_OK
