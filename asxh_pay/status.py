"""The payout state machine: states, legal transitions and typed failure reasons.

Why a hand-written table rather than a library: the rules are the audit trail's
contract. Keeping them in one small table means an auditor can read every legal
move of public money on one screen, and every component (client, polling,
callbacks, reconciliation, PostgreSQL workers) asks the same function.

Late, duplicate and out-of-order updates are *harmless*: `plan_transition`
returns ``None`` (nothing to do) for a repeat of the current state or for an
update that would move a payout backwards (say a delayed "processing" poll
arriving after a "succeeded" callback), and raises only for a contradiction
that must be looked at by a person (succeeded then failed from the same source).

Late truth (every transition, in one place)::

    created    -> submitted | unknown | processing | succeeded | failed | cancelled
    submitted  -> processing | unknown | succeeded | failed | cancelled
    unknown    -> submitted | processing | succeeded | failed | cancelled
    processing -> succeeded | failed | cancelled
    succeeded  -> returned                      (the bank or wallet gave the money back)
    failed     -> succeeded                     LATE TRUTH: the provider delivered after all
    cancelled  -> succeeded                     LATE TRUTH: the provider delivered after all
    returned   -> (nothing)

Why ``failed -> succeeded`` is legal: a provider can report money delivered after the
ledger recorded the payout failed (a status or callback after a failure decided on a
timeout, a provider that corrects itself). Refusing that news would leave the ledger
saying "failed" while the person was paid, and the cash fallback would pay them again.
Evidence of money delivered is never dropped; what the engine does with it
(:meth:`asxh_pay.client.AsyncPayoutClient` ``_apply``):

* the payout's cash fallback has not left: it is cancelled (compare-and-set on
  ``created``) and the payout is recorded ``succeeded``;
* it has left: the payout is recorded ``succeeded`` all the same, and the pair is a
  "paid twice" case (:meth:`asxh_pay.ledger.base.Ledger.paid_twice`) shown by
  reconciliation, the payroll report and ``asxh-pay status`` for recovery;
* either way no further payment of the entitlement can leave: a ``succeeded`` payout
  wants no fallback, and a fallback is made at most once per payout.

``succeeded -> failed`` stays a contradiction (a person looks), and so does anything
moving a ``returned`` payout.
"""

from __future__ import annotations

from enum import StrEnum

from asxh_pay.errors import AsxhPayError

# Defined beside the errors that carry it (asxh_pay.reasons); part of this module's
# vocabulary as before.
from asxh_pay.reasons import FailureReason as FailureReason


class PayoutStatus(StrEnum):
    CREATED = "created"
    SUBMITTED = "submitted"
    PROCESSING = "processing"
    UNKNOWN = "unknown"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    RETURNED = "returned"

    @property
    def is_terminal(self) -> bool:
        """Terminal for the payout engine: nothing more is sent for it.

        ``succeeded`` is terminal even though a bank may later return the money
        (``returned``); that arrives from reconciliation, not from the engine.
        """
        return self in _TERMINAL

    @property
    def is_final(self) -> bool:
        """No further transition is possible at all (``failed`` and ``cancelled`` may still
        learn of a late success: see the module docstring)."""
        return self in _FINAL


_TERMINAL = frozenset(
    {PayoutStatus.SUCCEEDED, PayoutStatus.FAILED, PayoutStatus.CANCELLED, PayoutStatus.RETURNED}
)
_FINAL = frozenset({PayoutStatus.RETURNED})

# Ordering used to recognise stale updates: a report that would move a payout to an
# earlier rank than it already has is late news and is ignored.
_RANK: dict[PayoutStatus, int] = {
    PayoutStatus.CREATED: 0,
    PayoutStatus.SUBMITTED: 1,
    PayoutStatus.UNKNOWN: 1,
    PayoutStatus.PROCESSING: 2,
    PayoutStatus.SUCCEEDED: 3,
    PayoutStatus.FAILED: 3,
    PayoutStatus.CANCELLED: 3,
    PayoutStatus.RETURNED: 4,
}

S = PayoutStatus
LEGAL_TRANSITIONS: dict[PayoutStatus, frozenset[PayoutStatus]] = {
    S.CREATED: frozenset({S.SUBMITTED, S.UNKNOWN, S.PROCESSING, S.SUCCEEDED, S.FAILED, S.CANCELLED}),
    S.SUBMITTED: frozenset({S.PROCESSING, S.UNKNOWN, S.SUCCEEDED, S.FAILED, S.CANCELLED}),
    S.UNKNOWN: frozenset({S.SUBMITTED, S.PROCESSING, S.SUCCEEDED, S.FAILED, S.CANCELLED}),
    S.PROCESSING: frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLED}),
    S.SUCCEEDED: frozenset({S.RETURNED}),
    S.FAILED: frozenset({S.SUCCEEDED}),  # late truth
    S.CANCELLED: frozenset({S.SUCCEEDED}),  # late truth
    S.RETURNED: frozenset(),
}


#: The transitions that carry late truth: money delivered after the ledger said otherwise.
LATE_TRUTH: frozenset[tuple[PayoutStatus, PayoutStatus]] = frozenset(
    {(S.FAILED, S.SUCCEEDED), (S.CANCELLED, S.SUCCEEDED)}
)


def is_late_truth(current: PayoutStatus, target: PayoutStatus) -> bool:
    """Whether moving ``current`` to ``target`` records a payment the ledger had given up on."""
    return (current, target) in LATE_TRUTH


class IllegalTransition(AsxhPayError, ValueError):
    """A move the state machine forbids; never applied to the ledger.

    An ``AsxhPayError`` so that batch callers (``pay_many``, ``resume``) report it for a
    person, per payout, instead of one contradiction stopping a whole run.
    """

    def __init__(self, current: PayoutStatus, target: PayoutStatus) -> None:
        super().__init__(f"illegal payout transition {current.value} -> {target.value}")
        self.current = current
        self.target = target


def plan_transition(current: PayoutStatus, target: PayoutStatus) -> PayoutStatus | None:
    """Decide what an incoming status report means for a payout in ``current``.

    Returns the status to move to, or ``None`` when the report is a duplicate or
    stale (nothing to record). Raises :class:`IllegalTransition` for a real
    contradiction, e.g. ``succeeded`` -> ``failed``, which must never be applied
    silently because it would hide a double payment or a lost one. ``failed`` ->
    ``succeeded`` is late truth and is applied (see :data:`LATE_TRUTH`).
    """
    if target == current:
        return None
    if target in LEGAL_TRANSITIONS[current]:
        return target
    # Stale news: an earlier stage reported after a later one was recorded.
    if _RANK[target] < _RANK[current]:
        return None
    if current.is_terminal and target in (S.UNKNOWN, S.SUBMITTED, S.PROCESSING):
        return None
    raise IllegalTransition(current, target)
