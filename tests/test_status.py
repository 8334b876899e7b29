"""The state machine: every legal move, every refused one, and harmless late news."""

from __future__ import annotations

import itertools

import pytest

from asxh_pay.status import (
    LEGAL_TRANSITIONS,
    FailureReason,
    IllegalTransition,
    PayoutStatus,
    plan_transition,
)

S = PayoutStatus


@pytest.mark.parametrize(
    ("current", "target"),
    [(c, t) for c, targets in LEGAL_TRANSITIONS.items() for t in targets],
)
def test_every_legal_transition_is_applied(current: PayoutStatus, target: PayoutStatus) -> None:
    assert plan_transition(current, target) is target


@pytest.mark.parametrize("status", list(S))
def test_repeating_the_current_status_is_a_no_op(status: PayoutStatus) -> None:
    assert plan_transition(status, status) is None


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.SUCCEEDED, S.PROCESSING),  # a slow poll arriving after the success callback
        (S.SUCCEEDED, S.SUBMITTED),
        (S.SUCCEEDED, S.UNKNOWN),
        (S.FAILED, S.PROCESSING),
        (S.PROCESSING, S.SUBMITTED),
        (S.RETURNED, S.SUCCEEDED),
        (S.CANCELLED, S.UNKNOWN),
    ],
)
def test_stale_updates_are_ignored(current: PayoutStatus, target: PayoutStatus) -> None:
    assert plan_transition(current, target) is None


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.SUCCEEDED, S.FAILED),  # would hide a payment after declaring it made
        (S.SUCCEEDED, S.CANCELLED),
        (S.FAILED, S.RETURNED),
        (S.CREATED, S.RETURNED),
        (S.PROCESSING, S.RETURNED),
        (S.CANCELLED, S.FAILED),
    ],
)
def test_contradictions_are_refused(current: PayoutStatus, target: PayoutStatus) -> None:
    with pytest.raises(IllegalTransition) as err:
        plan_transition(current, target)
    assert err.value.current is current and err.value.target is target


def test_every_pair_is_decided_one_way_or_another() -> None:
    """No pair falls through: applied, ignored, or refused."""
    for current, target in itertools.product(S, S):
        try:
            result = plan_transition(current, target)
        except IllegalTransition:
            continue
        assert result in (None, target)


def test_terminal_and_final_states() -> None:
    assert {s for s in S if s.is_terminal} == {S.SUCCEEDED, S.FAILED, S.CANCELLED, S.RETURNED}
    assert {s for s in S if s.is_final} == {S.RETURNED}
    for status in S:
        if status.is_final:
            assert not LEGAL_TRANSITIONS[status]


def test_cash_fallback_only_for_destination_problems() -> None:
    assert FailureReason.INVALID_ACCOUNT.allows_cash_fallback
    assert FailureReason.RETURNED_BY_BANK.allows_cash_fallback
    assert FailureReason.NO_ACCOUNT.allows_cash_fallback
    assert not FailureReason.BENEFICIARY_DECEASED.allows_cash_fallback
    assert not FailureReason.INSUFFICIENT_FUNDS.allows_cash_fallback
    assert not FailureReason.NAME_MISMATCH.allows_cash_fallback


@pytest.mark.parametrize("current", [S.FAILED, S.CANCELLED])
def test_late_truth_of_a_delivery_is_applied_not_refused(current: PayoutStatus) -> None:
    """Money delivered after the ledger gave up on the payout is recorded, never dropped
    (issue 13, hazard 3): refusing it would leave the cash fallback to pay again."""
    from asxh_pay.status import LATE_TRUTH, is_late_truth

    assert plan_transition(current, S.SUCCEEDED) is S.SUCCEEDED
    assert is_late_truth(current, S.SUCCEEDED)
    assert not is_late_truth(S.PROCESSING, S.SUCCEEDED)
    assert set(LATE_TRUTH) == {(S.FAILED, S.SUCCEEDED), (S.CANCELLED, S.SUCCEEDED)}
