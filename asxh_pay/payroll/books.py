"""Compare the ledger with the providers' own books and report every break.

This is the payroll's interim reconciliation: for the embedded rails it reads the
sandboxes' persisted books (what each provider says it paid). The full ISO 20022
three-way reconciliation (ledger / provider reports / bank statements) is
``asxh_pay.reconcile``; ``asxh-pay reconcile`` calls :func:`reconcile_run` through one
function in :mod:`asxh_pay.payroll.commands` (``_reconciler``), so switching is one line.

Breaks, from worst to mildest:

* ``paid_but_ledger_not_succeeded``: the provider paid, the ledger says failed/cancelled
  (a second payment could follow: investigate before any resend);
* ``ledger_succeeded_not_at_provider`` / ``status_mismatch``: the ledger says paid, the
  provider does not;
* ``amount_mismatch``: both know the payment, with different amounts;
* ``unknown_to_ledger``: the provider holds a payment the ledger never recorded;
* ``pending``: not yet final in the ledger (not a break: resume the run).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from asxh_pay.ledger.base import Ledger
from asxh_pay.sandbox.base import PaymentState, SandboxPayment
from asxh_pay.status import PayoutStatus

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

    @property
    def ok(self) -> bool:
        return not self.breaks

    def by_kind(self) -> dict[str, int]:
        return dict(Counter(b.kind for b in self.breaks))


async def reconcile_run(
    ledger: Ledger, books: Mapping[str, Mapping[str, SandboxPayment]], run_id: str | None = None
) -> ReconResult:
    """Compare every payout of ``run_id`` (all runs if None) with the books it was sent to."""
    res = ReconResult()
    seen: set[tuple[str, str]] = set()
    ledger_totals: Counter[str] = Counter()
    async for p in ledger.iter_payouts(run_id=run_id):
        res.checked += 1
        provider = p.provider or "-"
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
