"""Compare the ledger with what the providers and the bank say, and report every break.

Two comparisons, one summary (:func:`reconcile_rails`):

* the bank rail, three ways (:mod:`asxh_pay.reconcile`): the ledger against the
  pain.002 status reports and the camt.054/camt.053 bookings fetched from the bank
  (kept in the batch store), only the payouts of that rail being expected on the
  statement;
* the wallet and postal rails against the providers' settlement reports
  (:mod:`asxh_pay.providers.reports`: downloaded through each rail's adapter, or given as
  files), :func:`reconcile_run`. Never against a sandbox's books: the sandboxes publish
  reports like the providers do.

Breaks, from worst to mildest:

* ``paid_but_ledger_not_succeeded``: the provider paid, the ledger says failed/cancelled
  (a second payment could follow: investigate before any resend);
* ``ledger_succeeded_not_at_provider`` / ``status_mismatch``: the ledger says paid, the
  provider does not;
* ``amount_mismatch``: both know the payment, with different amounts;
* ``unknown_to_ledger``: the provider holds a payment the ledger never recorded;
* ``reported_twice``: the report shows one of our references paid more than once;
* ``pending``: not yet final in the ledger (not a break: resume the run).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from asxh_pay.calendar_vn import VN_TZ
from asxh_pay.ledger.base import Ledger
from asxh_pay.sandbox.base import PaymentState
from asxh_pay.status import PayoutStatus

if TYPE_CHECKING:
    from asxh_pay.payroll.rails import Rails
    from asxh_pay.reconcile import ReconciliationReport

_SAME = {
    PayoutStatus.SUCCEEDED: PaymentState.SUCCEEDED,
    PayoutStatus.FAILED: PaymentState.FAILED,
    PayoutStatus.RETURNED: PaymentState.RETURNED,
    PayoutStatus.CANCELLED: PaymentState.CANCELLED,
}


@dataclass(frozen=True)
class Break:
    kind: str
    payout_id: str | None
    provider: str
    ledger_status: str | None
    provider_state: str | None
    ledger_amount: int | None
    provider_amount: int | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ReconResult:
    checked: int = 0
    matched: int = 0
    pending: int = 0
    breaks: list[Break] = field(default_factory=list)
    provider_totals: dict[str, int] = field(default_factory=dict)  # paid per provider (books)
    ledger_totals: dict[str, int] = field(default_factory=dict)  # succeeded per provider (ledger)
    #: Rails left out: no provider report to compare with (see docs: provider reports).
    not_reconciled: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks

    def by_kind(self) -> dict[str, int]:
        return dict(Counter(b.kind for b in self.breaks))


class BookEntry(Protocol):
    """What reconciliation needs of a provider's line: a report entry or a sandbox's book entry."""

    @property
    def state(self) -> PaymentState: ...

    @property
    def amount(self) -> int: ...


async def reconcile_run(
    ledger: Ledger,
    books: Mapping[str, Mapping[str, BookEntry]],
    run_id: str | None = None,
    *,
    skip_providers: Collection[str] = (),
) -> ReconResult:
    """Compare every payout of ``run_id`` (all runs if None) with the books it was sent to.

    Payouts of ``skip_providers`` are left to another comparison (the bank's statements).
    """
    res = ReconResult()
    seen: set[tuple[str, str]] = set()
    ledger_totals: Counter[str] = Counter()
    async for p in ledger.iter_payouts(run_id=run_id):
        provider = p.provider or "-"
        if provider in skip_providers:
            continue
        res.checked += 1
        book = books.get(provider, {})
        entry = book.get(p.idempotency_key)
        seen.add((provider, p.idempotency_key))
        if p.status is PayoutStatus.SUCCEEDED:
            ledger_totals[provider] += p.amount
        if not p.status.is_terminal:
            res.pending += 1
            if (
                entry is not None
                and entry.state is PaymentState.SUCCEEDED
                and p.status is PayoutStatus.CREATED
            ):
                res.breaks.append(
                    Break(
                        "paid_but_ledger_not_sent",
                        p.id,
                        provider,
                        p.status.value,
                        entry.state.value,
                        p.amount,
                        entry.amount,
                    )
                )
            continue
        if entry is None:
            if p.status is PayoutStatus.SUCCEEDED:
                res.breaks.append(
                    Break(
                        "ledger_succeeded_not_at_provider",
                        p.id,
                        provider,
                        p.status.value,
                        None,
                        p.amount,
                        None,
                    )
                )
            else:
                res.matched += 1  # failed/cancelled before it reached the provider
            continue
        if entry.amount != p.amount:
            res.breaks.append(
                Break(
                    "amount_mismatch",
                    p.id,
                    provider,
                    p.status.value,
                    entry.state.value,
                    p.amount,
                    entry.amount,
                )
            )
            continue
        if entry.state is PaymentState.SUCCEEDED and p.status is not PayoutStatus.SUCCEEDED:
            res.breaks.append(
                Break(
                    "paid_but_ledger_not_succeeded",
                    p.id,
                    provider,
                    p.status.value,
                    entry.state.value,
                    p.amount,
                    entry.amount,
                )
            )
        elif _SAME.get(p.status) is not entry.state and entry.state is not PaymentState.PROCESSING:
            res.breaks.append(
                Break(
                    "status_mismatch",
                    p.id,
                    provider,
                    p.status.value,
                    entry.state.value,
                    p.amount,
                    entry.amount,
                )
            )
        elif entry.state is PaymentState.PROCESSING:
            res.pending += 1
        else:
            res.matched += 1
    provider_totals: Counter[str] = Counter()
    for provider, book in books.items():
        for key, entry in book.items():
            if entry.state is PaymentState.SUCCEEDED:
                provider_totals[provider] += entry.amount
            if (provider, key) not in seen and (run_id is None or await ledger.get_by_key(key) is None):
                res.breaks.append(
                    Break("unknown_to_ledger", None, provider, None, entry.state.value, None, entry.amount)
                )
    res.provider_totals = dict(provider_totals)
    res.ledger_totals = dict(ledger_totals)
    return res


_BANK_OK = {"matched": "matched", "not_paid": "matched", "in_flight": "pending"}


async def reconcile_bank(
    ledger: Ledger, rails: Rails, run_id: str | None
) -> tuple[ReconciliationReport | None, ReconResult]:
    """The bank rail three ways, from the reports the channel fetched (none: nothing to say)."""
    from asxh_pay.payroll.rails import TREASURY
    from asxh_pay.reconcile import load_files, reconcile

    res = ReconResult()
    if rails.treasury is None:
        return None, res
    paths = rails.treasury.reports()
    entries, statuses, names = load_files(paths)
    report = await reconcile(
        ledger,
        entries=entries,
        statuses=statuses,
        files=names,
        provider=TREASURY,
        run_id=run_id,
        debtor_accounts=[rails.treasury.adapter.config.debtor.account],
    )
    res.checked = report.payouts_checked
    for line in report.lines:
        if line.explained:
            if _BANK_OK.get(line.category.value) == "pending":
                res.pending += 1
            else:
                res.matched += 1
            continue
        res.breaks.append(
            Break(
                line.category.value,
                line.payout_id,
                TREASURY,
                line.ledger_status,
                line.report_status,
                line.ledger_amount,
                line.statement_amount,
            )
        )
    debits = sum(e.amount or 0 for e in entries if e.credit_debit == "DBIT" and e.key)
    returns = sum(e.amount or 0 for e in entries if e.is_return)
    res.provider_totals = {TREASURY: debits - returns} if entries else {}
    return report, res


async def reconcile_rails(ledger: Ledger, rails: Rails, run_id: str | None) -> ReconResult:
    """One summary: the bank rail three ways from its ISO 20022 reports, every wallet and
    postal rail against its provider's settlement report (never against a sandbox's books:
    the sandboxes publish reports like the providers)."""
    from asxh_pay.payroll.rails import TREASURY

    start = date(2000, 1, 1)
    if run_id is not None:
        first = [p.created_at async for p in ledger.iter_payouts(run_id=run_id)]
        if first:
            start = min(first).astimezone(VN_TZ).date() - timedelta(days=1)
    # The end is ahead of today: a sandbox's clock may run ahead through a cash window.
    end = datetime.now(VN_TZ).date() + timedelta(days=120)
    reports, failures = await rails.provider_reports(start, end)
    skip = ((TREASURY,) if rails.treasury is not None else ()) + tuple(failures)
    indexed: dict[str, dict[str, BookEntry]] = {}
    twice: list[Break] = []
    for name, entries in reports.items():
        book: dict[str, BookEntry] = {}
        for e in entries:
            earlier = book.get(e.key)
            if earlier is not None and PaymentState.SUCCEEDED in (earlier.state, e.state):
                twice.append(Break("reported_twice", None, name, None, e.state.value, None, e.amount))
            book[e.key] = e
        indexed[name] = book
    books = await reconcile_run(ledger, indexed, run_id, skip_providers=skip)
    books.breaks.extend(twice)
    books.not_reconciled = [f"{name}: {why}" for name, why in sorted(failures.items())]
    _, bank = await reconcile_bank(ledger, rails, run_id)
    books.checked += bank.checked
    books.matched += bank.matched
    books.pending += bank.pending
    books.breaks.extend(bank.breaks)
    books.provider_totals.update(bank.provider_totals)
    # Late truth after the cash fallback left (issue 13): both references, to recover one.
    # Listed once, with both references (the bank's three-way lines carry neither).
    books.breaks = [b for b in books.breaks if b.kind != "paid_twice"]
    for case in await ledger.paid_twice(run_id=run_id):
        paid, cash = case.electronic, case.fallback
        books.breaks.append(
            Break(
                "paid_twice",
                paid.id,
                paid.provider or "-",
                paid.status.value,
                f"ref {paid.provider_ref or '-'}; cash fallback {cash.id} {cash.status.value} "
                f"ref {cash.provider_ref or '-'}",
                paid.amount,
                paid.amount + cash.amount,
            )
        )
    return books
