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

Every line, of either comparison, is one :class:`asxh_pay.reconcile.Break` (its
``category`` is the kind above, ``report_status``/``statement_amount`` the provider's
word), so reports and the console show all rails alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from asxh_pay.calendar_vn import VN_TZ
from asxh_pay.ledger.base import Ledger
from asxh_pay.reconcile import Break, Category, ReconciliationReport, load_files, reconcile
from asxh_pay.sandbox.base import PaymentState
from asxh_pay.status import PayoutStatus

if TYPE_CHECKING:
    from asxh_pay.payroll.rails import Rails
    from asxh_pay.providers.reports import ReportEntry

__all__ = ["Break", "ReconResult", "reconcile_bank", "reconcile_rails", "reconcile_run"]

_SAME = {
    PayoutStatus.SUCCEEDED: PaymentState.SUCCEEDED,
    PayoutStatus.FAILED: PaymentState.FAILED,
    PayoutStatus.RETURNED: PaymentState.RETURNED,
    PayoutStatus.CANCELLED: PaymentState.CANCELLED,
}


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
        return dict(Counter(b.category.value for b in self.breaks))


def _line(
    category: Category,
    payout_id: str | None,
    provider: str,
    ledger_status: str | None,
    provider_state: str | None,
    ledger_amount: int | None,
    provider_amount: int | None,
) -> Break:
    """A break against a provider's books (never explained: a person looks)."""
    return Break(
        category,
        payout_id=payout_id,
        provider=provider,
        ledger_status=ledger_status,
        report_status=provider_state,
        ledger_amount=ledger_amount,
        statement_amount=provider_amount,
    )


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
                    _line(
                        Category.PAID_BUT_LEDGER_NOT_SENT,
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
                    _line(
                        Category.LEDGER_SUCCEEDED_NOT_AT_PROVIDER,
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
                _line(
                    Category.AMOUNT_MISMATCH,
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
                _line(
                    Category.PAID_BUT_LEDGER_NOT_SUCCEEDED,
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
                _line(
                    Category.STATUS_MISMATCH,
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
                    _line(
                        Category.UNKNOWN_TO_LEDGER,
                        None,
                        provider,
                        None,
                        entry.state.value,
                        None,
                        entry.amount,
                    )
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

    res = ReconResult()
    if rails.treasury is None:
        return None, res
    paths = rails.treasury.reports()
    # Each booking once: the bank notifies a debit and states it again, and the totals below
    # would count it twice (a province's day is also not held twice).
    entries, statuses, names = load_files(paths, unique=True)
    report = await reconcile(
        ledger,
        entries=entries,
        statuses=statuses,
        files=names,
        provider=TREASURY,
        run_id=run_id,
        include_matched=False,  # counted, not listed: a province's bank day is 100,000s of lines
        debtor_accounts=[rails.treasury.adapter.config.debtor.account],
    )
    res.checked = report.payouts_checked
    # Explained outcomes, listed (an applied late return) or only counted (matched, in flight).
    explained = Counter(line.category.value for line in report.lines if line.explained) + report.unlisted
    for category, n in explained.items():
        if _BANK_OK.get(category) == "pending":
            res.pending += n
        else:
            res.matched += n
    res.breaks = [replace(line, provider=TREASURY) for line in report.lines if not line.explained]
    debits = sum(e.amount or 0 for e in entries if e.credit_debit == "DBIT" and e.key)
    returns = sum(e.amount or 0 for e in entries if e.is_return)
    res.provider_totals = {TREASURY: debits - returns} if entries else {}
    res.ledger_totals = {TREASURY: report.succeeded_vnd} if report.payouts_checked else {}
    return report, res


def _index_reports(
    reports: Mapping[str, Sequence[ReportEntry]],
) -> tuple[dict[str, dict[str, BookEntry]], list[Break]]:
    """Each provider's report by key, and the payments a report lists as paid twice."""
    indexed: dict[str, dict[str, BookEntry]] = {}
    twice: list[Break] = []
    for name, entries in reports.items():
        book: dict[str, BookEntry] = {}
        for e in entries:
            earlier = book.get(e.key)
            if earlier is not None and PaymentState.SUCCEEDED in (earlier.state, e.state):
                twice.append(_line(Category.REPORTED_TWICE, None, name, None, e.state.value, None, e.amount))
            book[e.key] = e
        indexed[name] = book
    return indexed, twice


async def reconcile_rails(ledger: Ledger, rails: Rails, run_id: str | None) -> ReconResult:
    """One summary: the bank rail three ways from its ISO 20022 reports, every wallet and
    postal rail against its provider's settlement report (never against a sandbox's books:
    the sandboxes publish reports like the providers)."""
    from asxh_pay.payroll.rails import TREASURY

    start = date(2000, 1, 1)
    if run_id is not None:
        # The run's first payout: payouts come in id order and ids are time-ordered
        # (``new_payout_id``), so one row, not the whole run read and parsed for a minimum.
        async for p in ledger.iter_payouts(run_id=run_id, batch_size=1):
            start = p.created_at.astimezone(VN_TZ).date() - timedelta(days=1)
            break
    # The end is ahead of today: a sandbox's clock may run ahead through a cash window.
    end = datetime.now(VN_TZ).date() + timedelta(days=120)
    reports, failures = await rails.provider_reports(start, end)
    skip = ((TREASURY,) if rails.treasury is not None else ()) + tuple(failures)
    indexed, twice = _index_reports(reports)
    books = await reconcile_run(ledger, indexed, run_id, skip_providers=skip)
    del reports, indexed  # the bank's statements come next: a province's books are not kept for it
    books.breaks.extend(twice)
    books.not_reconciled = [f"{name}: {why}" for name, why in sorted(failures.items())]
    _, bank = await reconcile_bank(ledger, rails, run_id)
    books.checked += bank.checked
    books.matched += bank.matched
    books.pending += bank.pending
    books.breaks.extend(bank.breaks)
    books.provider_totals.update(bank.provider_totals)
    books.ledger_totals.update(bank.ledger_totals)
    # Late truth after the cash fallback left (issue 13): both references, to recover one.
    # Listed once, with both references (the bank's three-way lines carry neither).
    books.breaks = [b for b in books.breaks if b.category is not Category.PAID_TWICE]
    for case in await ledger.paid_twice(run_id=run_id):
        paid, cash = case.electronic, case.fallback
        books.breaks.append(
            _line(
                Category.PAID_TWICE,
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
