"""Matching: the ledger against the statements and status reports, one break per difference.

See :mod:`asxh_pay.reconcile` for the categories and for what a statement may change
(``apply=True``). Matching is by key: a payout's EndToEndId, idempotency key and
provider reference (:func:`default_keys`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

from asxh_pay.engine.applying import Applier
from asxh_pay.iso20022 import status_reason_to_failure
from asxh_pay.ledger.base import Ledger
from asxh_pay.models import EventSource, Payout
from asxh_pay.reconcile.loading import dedupe_entries
from asxh_pay.reconcile.model import (
    STATEMENT_RAIL,
    Break,
    Category,
    ProviderStatus,
    ReconciliationReport,
    StatementEntry,
    mask_account,
)
from asxh_pay.status import FailureReason, IllegalTransition, PayoutStatus

__all__ = ["default_keys", "reconcile"]


def default_keys(payout: Payout) -> list[str]:
    from asxh_pay.providers.treasury import end_to_end_id

    keys = [end_to_end_id(payout.idempotency_key), payout.idempotency_key]
    if payout.provider_ref:
        keys.append(payout.provider_ref)
    return keys


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
    entry_list = dedupe_entries(entries)
    status_list = list(statuses)
    report.entries_read = len(entry_list)
    report.statuses_read = len(status_list)

    # First pass over the ledger: which payouts are in scope, and which payout each key the
    # files name belongs to. Ids and keys only, never the payouts themselves: a province's
    # run is hundreds of thousands of them (the second pass below reads them again).
    wanted = {e.key for e in entry_list if e.key} | {s.key for s in status_list if s.key}
    by_key: dict[str, str] = {}  # a key the files name -> payout id
    in_scope: set[str] = set()
    async for p in ledger.iter_payouts(run_id=run_id):
        for k in keys_of(p):
            if k in wanted:
                by_key.setdefault(k, p.id)
        if p.status is not PayoutStatus.CREATED and (provider is None or p.provider == provider):
            in_scope.add(p.id)
    report.payouts_checked = len(in_scope)
    scope = _Scope(
        statement_rail,
        frozenset(debtor_accounts) if debtor_accounts is not None else None,
        frozenset(in_scope),
    )
    del in_scope
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
        payout_id = by_key.get(e.key)
        if payout_id is None:
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
            debits.setdefault(payout_id, []).append(e)
        elif e.is_return:
            returns.setdefault(payout_id, []).append(e)
        else:
            credits.setdefault(payout_id, []).append(e)

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
        payout_id = by_key.get(s.key) if s.key else None
        if payout_id is None:
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
        reported.setdefault(payout_id, []).append(s)

    # Payouts outside the scope still count when the bank or the provider names them.
    named = set(debits) | set(returns) | set(credits) | set(reported)
    extra_ids = named - scope.payout_ids

    async def checked() -> AsyncIterator[Payout]:
        """Second pass: the payouts in scope as the ledger holds them now, then those named."""
        async for p in ledger.iter_payouts(run_id=run_id):
            if p.id in scope.payout_ids:
                yield p
        for i in sorted(extra_ids):
            named_payout = await ledger.get(i)
            if named_payout is not None:
                yield named_payout

    async for p in checked():
        if p.status is PayoutStatus.SUCCEEDED and p.id in scope.payout_ids:
            report.succeeded_vnd += p.amount
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
            elif not problems:
                _explained(report, include_matched, Category.NOT_PAID, line)
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
        elif not problems:
            _explained(report, include_matched, Category.IN_FLIGHT, line, "accepted, not booked yet")
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
    elif debits or returns:
        _explained(report, include_matched, Category.MATCHED, line)


def _explained(
    report: ReconciliationReport,
    listed: bool,
    category: Category,
    line: Callable[[Category, bool, str], Break],
    detail: str = "",
) -> None:
    """An explained outcome: listed as a line, or only counted (the line is never built)."""
    if listed:
        report.lines.append(line(category, True, detail))
    else:
        report.unlisted[category.value] += 1


async def _advance(
    ledger: Ledger,
    p: Payout,
    target: PayoutStatus,
    reason: FailureReason | None,
    detail: str,
) -> str:
    """A statement's word recorded through the engine's one apply step (issue 15): a return
    implies the success before it, and a booked debit after a failure (late truth, issue 13)
    stops the unsent cash fallback, by the same rules as every other rail."""
    try:
        results = await Applier(ledger).apply(
            p, target, source=EventSource.RECONCILIATION, reason=reason, detail=detail
        )
    except IllegalTransition as exc:
        return f"not applied: {exc}"
    return f"applied: {target.value}" if results[-1].changed else ""


async def _apply_return(ledger: Ledger, p: Payout, ret: StatementEntry) -> str:
    reason = ret.return_reason or FailureReason.RETURNED_BY_BANK
    return await _advance(
        ledger,
        p,
        PayoutStatus.RETURNED,
        reason,
        f"returned {ret.return_code or '-'} ref {ret.ref} in {ret.file}",
    )
