"""The one apply step: a provider's word about a payout, recorded in the ledger, with hooks.

Why one place (issue 15): the rule "a return implies the payment succeeded first" and
the rule "a late success stops the cash fallback" were written once in the per-payout
client and again in the bank channel, and bank transitions skipped the client's
hooks. Every rail now records its results here: the per-payout client (responses,
status queries, callbacks), the bank file path (pain.002, camt.054/053), MoMo batch
answers and VNPost manifest results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from asxh_pay.ledger.base import Ledger, TransitionResult, stop_fallbacks_after_late_truth
from asxh_pay.masking import get_logger
from asxh_pay.models import EventSource, Payout, StatusEvent
from asxh_pay.providers.base import ProviderOutcome
from asxh_pay.status import FailureReason, PayoutStatus

__all__ = ["OUTCOME_STATUS", "Applier", "Hook"]

log = get_logger("asxh_pay")

Hook = Callable[[Payout, StatusEvent], None]
"""Told about every recorded change of a payout, whichever rail or path made it."""

#: Statuses the ledger gives up on a payout in; "succeeded" after one of them is late truth.
GAVE_UP = (PayoutStatus.FAILED, PayoutStatus.CANCELLED)

OUTCOME_STATUS = {
    ProviderOutcome.ACCEPTED: PayoutStatus.PROCESSING,
    ProviderOutcome.SUCCEEDED: PayoutStatus.SUCCEEDED,
    ProviderOutcome.FAILED: PayoutStatus.FAILED,
    ProviderOutcome.CANCELLED: PayoutStatus.CANCELLED,
    ProviderOutcome.RETURNED: PayoutStatus.RETURNED,
}


class Applier:
    """Records transitions through the ledger's state machine and tells the hooks.

    ``on_change`` is the owner's own listener (the client wakes a poller waiting on a
    payout a callback moved); hooks are the caller's (audit, metrics, notifications).
    A failing hook is logged and never stops a payment.
    """

    def __init__(
        self,
        ledger: Ledger,
        hooks: Sequence[Hook] = (),
        *,
        on_change: Callable[[TransitionResult, EventSource], None] | None = None,
    ) -> None:
        self.ledger = ledger
        # The owner's list itself when it gives one: hooks it adds later are told too.
        self.hooks = hooks if isinstance(hooks, list) else list(hooks)
        self.on_change = on_change

    async def apply(
        self,
        payout: Payout,
        target: PayoutStatus,
        *,
        source: EventSource,
        reason: FailureReason | None = None,
        detail: str | None = None,
        provider_ref: str | None = None,
        durable: bool = True,
    ) -> list[TransitionResult]:
        """Move ``payout`` to ``target``; the results of every transition recorded.

        A return of a payout not yet known ``succeeded`` records the implied success
        first. A success after the ledger gave up (late truth) stops the payout's unsent
        cash fallback. :class:`~asxh_pay.status.IllegalTransition` propagates: what a
        contradiction means is the caller's to report.
        """
        if target in (PayoutStatus.FAILED, PayoutStatus.RETURNED) and reason is None:
            reason = (
                FailureReason.RETURNED_BY_BANK if target is PayoutStatus.RETURNED else FailureReason.UNKNOWN
            )
        out: list[TransitionResult] = []
        if target is PayoutStatus.RETURNED and payout.status is not PayoutStatus.SUCCEEDED:
            # A return implies the payment succeeded first, even if we never heard of it.
            # No fallback is stopped here: the money came back, the return wants it.
            first = await self.ledger.transition(
                payout,
                PayoutStatus.SUCCEEDED,
                source=source,
                detail="success implied by a later return",
                provider_ref=provider_ref,
            )
            payout = first.payout
            self.notify(first, source)
            out.append(first)
        res = await self.ledger.transition(
            payout,
            target,
            source=source,
            reason=reason,
            detail=detail,
            provider_ref=provider_ref,
            durable=durable,
        )
        self.notify(res, source)
        out.append(res)
        if target is PayoutStatus.SUCCEEDED and res.changed and res.from_status in GAVE_UP:
            for stop in await stop_fallbacks_after_late_truth(self.ledger, res):
                self.notify(stop, EventSource.SYSTEM)
        return out

    def notify(self, res: TransitionResult, source: EventSource) -> None:
        if not res.changed:
            return
        if self.on_change is not None:
            self.on_change(res, source)
        if not self.hooks:
            return
        event = res.event
        if event is None:
            return
        for hook in self.hooks:
            try:
                hook(res.payout, event)
            except Exception:  # a broken audit hook must not stop payments
                log.exception("payout hook failed")
