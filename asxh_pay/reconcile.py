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
amount_mismatch        no         booked amount differs from the instructed amount
status_disagreement    no         e.g. ledger failed but the bank booked the debit
unknown_report         no         a status report about a transfer we never instructed
=====================  =========  ==================================================
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
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
    read_camt053,
    read_camt054,
    read_pain002,
    status_reason_to_failure,
    transaction_outcome,
)
from asxh_pay.ledger.base import Ledger
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


_OK = frozenset({Category.MATCHED, Category.NOT_PAID, Category.IN_FLIGHT})


@dataclass(frozen=True)
class StatementEntry:
    """One booking on the paying account, with the file it came from."""

    file: str
    ref: str | None
    key: str | None
    amount: int | None
    credit_debit: str
    is_return: bool
    return_code: str | None
    return_reason: FailureReason | None
    booking_date: str | None

    @classmethod
    def from_entry(cls, entry: Entry, file: str) -> StatementEntry:
        amount = entry.tx_amount_vnd if entry.tx_amount_vnd is not None else entry.amount_vnd
        return cls(
            file=file,
            ref=entry.tx_account_servicer_ref or entry.account_servicer_ref or entry.entry_reference,
            key=entry.end_to_end_id,
            amount=amount,
            credit_debit=entry.credit_debit,
            is_return=entry.is_return or (entry.credit_debit == "CRDT" and entry.end_to_end_id is not None),
            return_code=entry.return_reason_code,
            return_reason=entry.return_reason,
            booking_date=entry.booking_date.isoformat() if entry.booking_date else None,
        )


@dataclass(frozen=True)
class ProviderStatus:
    """One status the provider reported for one transfer (a pain.002 line, a status list row).

    ``status`` is an ISO 20022 status code (``ACSC``, ``RJCT``...) or one of the
    library's words (``succeeded``, ``failed``, ``processing``, ``returned``).
    """

    file: str
    key: str
    status: str
    reason_code: str | None = None

    @property
    def outcome(self) -> str:
        word = self.status.strip().lower()
        if word in ("succeeded", "failed", "processing", "returned", "cancelled"):
            return "failed" if word == "cancelled" else word
        return transaction_outcome(self.status)


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
        with Path(path).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            for line in self.lines:
                writer.writerow(line.row())

    def to_xlsx(self, path: str | Path) -> None:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        summary = wb.create_sheet("summary")
        s = self.summary()
        for k in ("payouts_checked", "entries_read", "statuses_read", "unexplained"):
            summary.append([k, s[k]])
        for k, v in s["counts"].items():
            summary.append([k, v])
        summary.append(["files", ", ".join(self.files)])
        sheet = wb.create_sheet("lines")
        sheet.append(COLUMNS)
        for line in self.lines:
            row = line.row()
            sheet.append([row[c] for c in COLUMNS])
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


def _detect(path: Path) -> str:
    head = path.read_bytes()[:2048]
    for kind in ("pain.002", "camt.053", "camt.054"):
        if f"xsd:{kind}".encode() in head:
            return kind
    if path.suffix.lower() in (".json", ".csv"):
        return "status_list"
    raise ValidationError(f"{path.name}: not a pain.002, camt.053, camt.054 or status list", field="files")


def _pain002_statuses(path: Path) -> list[ProviderStatus]:
    """Transaction statuses of a pain.002; block- or group-level statuses without
    transactions cannot be tied to transfers here and are left to the channel."""
    out: list[ProviderStatus] = []
    for rec in read_pain002(path):
        if isinstance(rec, GroupStatus | PaymentInfoStatus):
            continue
        if rec.original_end_to_end_id:
            out.append(ProviderStatus(path.name, rec.original_end_to_end_id, rec.status, rec.reason_code))
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


def load_files(paths: Iterable[str | Path]) -> tuple[list[StatementEntry], list[ProviderStatus], list[str]]:
    """Read report files of any supported kind: (statement entries, statuses, file names)."""
    entries: list[StatementEntry] = []
    statuses: list[ProviderStatus] = []
    names: list[str] = []
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
            entries.extend(StatementEntry.from_entry(e, path.name) for e in reader(path))
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
) -> ReconciliationReport:
    """Compare ledger, status reports and statement entries; return every break.

    ``provider``/``run_id`` limit which payouts are expected on the statement (a
    wallet payout is not missing from the bank's statement). With ``apply=True``
    the ledger is brought up to what the bank proves (a booked debit ->
    ``succeeded``; a return -> ``returned``; a rejection -> ``failed``), recorded
    with ``EventSource.RECONCILIATION``; contradictions are never applied.
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

    debits: dict[str, list[StatementEntry]] = {}
    returns: dict[str, list[StatementEntry]] = {}
    for e in entry_list:
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
            report.lines.append(
                Break(
                    Category.UNKNOWN_ON_STATEMENT,
                    False,
                    e.key,
                    statement_amount=e.amount,
                    files=e.file,
                    entry_refs=e.ref or "",
                    detail="return for a transfer the ledger does not know"
                    if e.is_return
                    else "debit for a transfer the ledger does not know",
                )
            )
            continue
        (returns if e.is_return else debits).setdefault(payout.id, []).append(e)

    reported: dict[str, list[ProviderStatus]] = {}
    for s in status_list:
        payout = by_key.get(s.key)
        if payout is None:
            report.lines.append(
                Break(
                    Category.UNKNOWN_REPORT,
                    False,
                    s.key,
                    report_status=s.status,
                    files=s.file,
                    detail="status for a transfer the ledger does not know",
                )
            )
            continue
        reported.setdefault(payout.id, []).append(s)

    # Payouts outside the scope still count when the bank or the provider names them.
    scope_ids = {p.id for p in in_scope}
    extra_ids = (set(debits) | set(returns) | set(reported)) - scope_ids
    for p in [*in_scope, *(by_id[i] for i in sorted(extra_ids))]:
        await _check(
            ledger,
            p,
            debits.get(p.id, []),
            returns.get(p.id, []),
            reported.get(p.id, []),
            keys_of(p)[0],
            apply,
            include_matched,
            report,
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


async def _check(
    ledger: Ledger,
    p: Payout,
    debits: list[StatementEntry],
    returns: list[StatementEntry],
    statuses: list[ProviderStatus],
    key: str,
    apply: bool,
    include_matched: bool,
    report: ReconciliationReport,
) -> None:
    said, said_rec = _reported_outcome(statuses)
    files = _join([e.file for e in (*debits, *returns)] + [s.file for s in statuses])
    refs = _join(e.ref for e in (*debits, *returns))
    booked = sum(e.amount or 0 for e in debits) if debits else None

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

    problems: list[Break] = []
    if len(debits) > 1:
        problems.append(
            line(Category.DUPLICATE_DEBIT, False, f"{len(debits)} debits for one payout: paid twice")
        )
    for e in debits:
        if e.amount != p.amount:
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
            if apply:
                action = await _apply_return(ledger, p, ret)
            problems.append(
                line(
                    Category.LATE_RETURN,
                    bool(action),
                    f"returned {ret.return_code or '-'} on {ret.booking_date or '?'} (ref {ret.ref})",
                    action or "apply as returned (run with --apply)",
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
                if apply
                else ""
            )
            problems.append(
                line(
                    Category.LEDGER_BEHIND,
                    bool(action),
                    "debit booked, ledger not yet succeeded",
                    action or "apply as succeeded (run with --apply)",
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
            elif include_matched:
                report.lines.append(line(Category.NOT_PAID, True))
        elif said == "failed" and said_rec is not None:
            action = ""
            if apply:
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
                    action or "apply as failed (run with --apply)",
                )
            )
        elif include_matched:
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
    ledger: Ledger, p: Payout, target: PayoutStatus, reason: FailureReason | None, detail: str
) -> str:
    try:
        res = await ledger.transition(
            p, target, source=EventSource.RECONCILIATION, reason=reason, detail=detail
        )
    except IllegalTransition as exc:
        return f"not applied: {exc}"
    return f"applied: {target.value}" if res.changed else ""


async def _apply_return(ledger: Ledger, p: Payout, ret: StatementEntry) -> str:
    if p.status is not PayoutStatus.SUCCEEDED:
        first = await _advance(ledger, p, PayoutStatus.SUCCEEDED, None, "success implied by a later return")
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
        entries, statuses, names = load_files(args.files)
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
            )

    report = asyncio.run(run())
    for out in args.out:
        report.write(out)
    summary = report.summary()
    text_lines = [
        f"reconciled {report.payouts_checked} payouts against {len(names)} files "
        f"({report.entries_read} entries, {report.statuses_read} statuses)",
        *(f"  {k}: {v}" for k, v in summary["counts"].items()),
        f"unexplained breaks: {summary['unexplained']}",
    ]
    for b in report.unexplained[:20]:
        text_lines.append(f"  - {b.category.value} {b.key or '-'} {b.detail} [{b.files}]")
    emit(args, summary, "\n".join(text_lines))
    return EXIT_ATTENTION if report.unexplained else EXIT_OK
