"""Why a payout did not reach the beneficiary: the library's one vocabulary of failure.

Why a module of its own: the state machine (:mod:`asxh_pay.status`, which re-exports
it) and the errors (:mod:`asxh_pay.errors`, whose provider errors carry a reason) both
need it, and neither may import the other back (the package has no import cycles).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["FailureReason"]


class FailureReason(StrEnum):
    """Why a payout did not reach the beneficiary, in the library's own words.

    Every provider's codes (MoMo result codes, ISO 20022 status reasons, postal
    outcomes) map onto these, so reports and fallback rules are written once.
    """

    INVALID_ACCOUNT = "invalid_account"
    ACCOUNT_CLOSED = "account_closed"
    ACCOUNT_BLOCKED = "account_blocked"
    NAME_MISMATCH = "name_mismatch"
    RECEIVER_NOT_VERIFIED = "receiver_not_verified"
    NO_ACCOUNT = "no_account"
    LIMIT_EXCEEDED = "limit_exceeded"
    AMOUNT_INVALID = "amount_invalid"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    DUPLICATE = "duplicate"
    REJECTED_BY_PROVIDER = "rejected_by_provider"
    REGULATORY = "regulatory"
    BENEFICIARY_DECEASED = "beneficiary_deceased"
    NOT_COLLECTED = "not_collected"
    DELIVERY_FAILED = "delivery_failed"
    IDENTITY_CHECK_FAILED = "identity_check_failed"
    AUTHORISATION_INVALID = "authorisation_invalid"
    RETURNED_BY_BANK = "returned_by_bank"
    CANCELLED_BY_OPERATOR = "cancelled_by_operator"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    TECHNICAL = "technical"
    UNKNOWN = "unknown"

    @property
    def allows_cash_fallback(self) -> bool:
        """Whether paying the same entitlement in cash is the right next step.

        A fallback is for payouts whose electronic *destination* is the problem.
        Problems with the entitlement itself (deceased, regulatory) or with our own
        funding (insufficient funds) must not be papered over by paying cash.
        """
        return self in _CASH_FALLBACK_REASONS


_CASH_FALLBACK_REASONS = frozenset(
    {
        FailureReason.INVALID_ACCOUNT,
        FailureReason.ACCOUNT_CLOSED,
        FailureReason.ACCOUNT_BLOCKED,
        FailureReason.RECEIVER_NOT_VERIFIED,
        FailureReason.NO_ACCOUNT,
        FailureReason.LIMIT_EXCEEDED,
        FailureReason.RETURNED_BY_BANK,
        FailureReason.REJECTED_BY_PROVIDER,
    }
)
