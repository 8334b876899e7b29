"""What a reconciliation reads and reports: statement entries, provider statuses, breaks.

Plain data, shared by every rail: the loaders (:mod:`asxh_pay.reconcile.loading`) make
entries and statuses, the matcher (:mod:`asxh_pay.reconcile.matching`) and the payroll's
comparison with the providers' books (:mod:`asxh_pay.payroll.books`) make
:class:`Break` lines, and reports, the console and the CLI show them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from asxh_pay.errors import ValidationError
from asxh_pay.iso20022 import Entry, transaction_outcome
from asxh_pay.status import FailureReason


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
    # Against a provider's books (wallet and postal rails, asxh_pay.payroll.books):
    PAID_BUT_LEDGER_NOT_SENT = "paid_but_ledger_not_sent"
    PAID_BUT_LEDGER_NOT_SUCCEEDED = "paid_but_ledger_not_succeeded"
    LEDGER_SUCCEEDED_NOT_AT_PROVIDER = "ledger_succeeded_not_at_provider"
    STATUS_MISMATCH = "status_mismatch"
    UNKNOWN_TO_LEDGER = "unknown_to_ledger"
    REPORTED_TWICE = "reported_twice"  # a settlement report pays one reference more than once


_OK = frozenset({Category.MATCHED, Category.NOT_PAID, Category.IN_FLIGHT})


#: The rail bank statements belong to (see :mod:`asxh_pay.providers.treasury`).
STATEMENT_RAIL = "treasury"


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(slots=True)
class Break:
    """One line of a reconciliation, whichever rail: a break, or a match when matches are listed.

    Why one type: the bank rail is reconciled three ways against files (its lines carry
    the statement's evidence: files, entry references), the wallet and postal rails
    against their providers' books (their lines carry the provider's word:
    ``report_status``, ``statement_amount``), and the payroll's summary, the console
    and the monthly report show both in one list. ``provider`` is the rail the line is
    about, when known.
    """

    category: Category
    explained: bool = False
    key: str | None = None
    payout_id: str | None = None
    ledger_status: str | None = None
    ledger_amount: int | None = None
    statement_amount: int | None = None  # what the other side booked or paid
    report_status: str | None = None  # what the other side says of the payout
    files: str = ""
    entry_refs: str = ""
    detail: str = ""
    action: str = ""
    provider: str | None = None

    @property
    def kind(self) -> str:
        return self.category.value

    @property
    def provider_state(self) -> str | None:
        """The provider's (or the bank's) word on the payout, as the rail summary calls it."""
        return self.report_status

    @property
    def provider_amount(self) -> int | None:
        return self.statement_amount

    def row(self) -> dict[str, Any]:
        """The line in the three-way report's columns (:data:`COLUMNS`)."""
        data = asdict(self)
        data["category"] = self.category.value
        return {c: data[c] for c in COLUMNS}

    def as_dict(self) -> dict[str, Any]:
        """The line as the payroll's rail summary shows it (``asxh-pay reconcile RUN_ID --json``)."""
        return {
            "kind": self.kind,
            "payout_id": self.payout_id,
            "provider": self.provider,
            "ledger_status": self.ledger_status,
            "provider_state": self.report_status,
            "ledger_amount": self.ledger_amount,
            "provider_amount": self.statement_amount,
        }


#: Columns of the three-way report (CSV, XLSX, JSON lines), in order.
COLUMNS = [
    "category",
    "explained",
    "key",
    "payout_id",
    "ledger_status",
    "ledger_amount",
    "statement_amount",
    "report_status",
    "files",
    "entry_refs",
    "detail",
    "action",
]


@dataclass
class ReconciliationReport:
    lines: list[Break] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    payouts_checked: int = 0
    entries_read: int = 0
    statuses_read: int = 0
    #: Explained lines counted but not listed (``include_matched=False``): a province's
    #: statement matches hundreds of thousands of payouts, and a line for each would be
    #: most of the reconciliation's memory, while the counts must stay whole.
    unlisted: Counter[str] = field(default_factory=Counter)
    #: What the ledger says was paid (succeeded) among the payouts in scope, as checked:
    #: the figure to hold against the statements' debits less returns.
    succeeded_vnd: int = 0

    @property
    def counts(self) -> Counter[str]:
        return Counter(line.category.value for line in self.lines) + self.unlisted

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


def mask_account(account: str | None) -> str:
    """An account number as reports show it: the last 4 digits only."""
    if not account:
        return "-"
    return "*" * max(len(account) - 4, 0) + account[-4:]
