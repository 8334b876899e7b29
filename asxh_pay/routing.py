"""Which provider pays which destination, and where a failed payout goes next.

Why routing is data: a district office decides its rails (Treasury + bank, the
postal service, which wallets) in configuration, not code, and the same payout must
always route the same way so that a rerun finds the payout it already made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from asxh_pay.errors import ConfigurationError
from asxh_pay.models import CASH_KINDS, CashHome, CashPickup, Payout, PayoutRequest
from asxh_pay.status import FailureReason, PayoutStatus

FallbackDestination = Callable[[Payout], CashPickup | CashHome | None]


def default_cash_destination(payout: Payout) -> CashPickup | CashHome | None:
    """The request's own cash fallback, else the commune payment point, else none."""
    req = payout.request
    if req.cash_fallback is not None:
        return req.cash_fallback
    commune = req.beneficiary.commune_code
    if commune:
        return CashPickup(payment_point=commune, point_type="commune")
    return None


@dataclass(frozen=True)
class Router:
    """Destination -> provider name; plus the cash fallback provider.

    ``routes`` keys are a destination kind (``bank``, ``wallet``, ``postal_account``,
    ``cash_pickup``, ``cash_home``) or ``wallet:<provider>`` for one wallet.
    """

    routes: Mapping[str, str]
    fallback_provider: str | None = None
    fallback_destination: FallbackDestination = default_cash_destination
    max_fallbacks: int = 1
    fallback_statuses: Sequence[PayoutStatus] = field(default=(PayoutStatus.FAILED, PayoutStatus.RETURNED))

    def provider_for(self, payout: Payout) -> str:
        return self.provider_for_request(payout.request)

    def provider_for_request(self, request: PayoutRequest) -> str:
        dest = request.destination
        if dest.kind == "wallet":
            specific = self.routes.get(f"wallet:{dest.provider}")
            if specific:
                return specific
        name = self.routes.get(dest.kind)
        if name is None:
            raise ConfigurationError(f"no provider configured for destination {dest.kind!r}")
        return name

    def wants_fallback(self, payout: Payout) -> bool:
        """Whether a payout that ended badly should be paid in cash instead.

        Only electronic destinations fall back, only for reasons about the destination
        (never for a deceased beneficiary or our own lack of funds), and only once.
        """
        if self.fallback_provider is None or payout.lineage_depth >= self.max_fallbacks:
            return False
        if payout.status not in self.fallback_statuses:
            return False
        if payout.request.destination.kind in CASH_KINDS:
            return False
        if payout.status is PayoutStatus.RETURNED and payout.failure_reason is None:
            return True  # returned by the bank, no reason given: the destination failed
        reason = payout.failure_reason or FailureReason.UNKNOWN
        # A return for "beneficiary deceased" (MD07) must not become a cash payment.
        return reason.allows_cash_fallback

    def cash_destination(self, payout: Payout) -> CashPickup | CashHome | None:
        """Where a payout that ended badly is paid in cash; None when it must not or cannot be."""
        return self.fallback_destination(payout) if self.wants_fallback(payout) else None
