"""The ledger's rules as pure functions: what a write records, decided once for every store."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

import asxh_pay.ledger.postgres
import asxh_pay.ledger.sqlite
from asxh_pay.errors import LeaseLost
from asxh_pay.ledger.rules import Fence, Head, check_lease, creation, decide, event_hash
from asxh_pay.models import EventSource
from asxh_pay.status import FailureReason, IllegalTransition, PayoutStatus
from tests.ledger.test_ledger_contract import payout, request

S = PayoutStatus
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def head(status: PayoutStatus = S.SUBMITTED, attempts: int = 1) -> Head:
    return Head(status, 2, "a" * 64, "generic", None, attempts)


@pytest.mark.parametrize(
    ("status", "kw"),
    [
        (S.SUCCEEDED, {"count_attempt": True}),  # finished: a stale copy must not send
        (S.SUBMITTED, {"count_attempt": True, "expect_attempts": 2}),  # another driver resent it
        (S.SUBMITTED, {"only_from": S.CREATED}),  # another driver just sent it
    ],
)
def test_a_refused_compare_and_set_writes_nothing(status: PayoutStatus, kw: dict[str, object]) -> None:
    step = decide("po_1", head(status), S.SUBMITTED, source=EventSource.SYSTEM, now=NOW, **kw)  # type: ignore[arg-type]
    assert step is None


def test_a_counted_attempt_writes_an_event_even_without_a_status_change() -> None:
    step = decide(
        "po_1", head(), S.SUBMITTED, source=EventSource.SYSTEM, now=NOW, count_attempt=True, expect_attempts=1
    )
    assert step is not None and not step.changed
    assert (step.to_status, step.seq, step.attempts, step.prev_hash) == (S.SUBMITTED, 3, 2, "a" * 64)


def test_the_step_is_chained_by_the_one_event_hash() -> None:
    step = decide(
        "po_1", head(), S.FAILED, source=EventSource.POLL, now=NOW, reason=FailureReason.INVALID_ACCOUNT
    )
    assert step is not None
    assert step.hash == event_hash(
        payout_id="po_1",
        seq=3,
        at=NOW,
        from_status=S.SUBMITTED,
        to_status=S.FAILED,
        source=EventSource.POLL,
        reason=FailureReason.INVALID_ACCOUNT,
        detail=None,
        provider="generic",
        provider_ref=None,
        prev_hash="a" * 64,
    )
    assert step.event_row(step.at_text)[11] == step.hash and step.head.last_hash == step.hash


def test_late_truth_clears_the_failure_and_a_contradiction_raises() -> None:
    failed = Head(S.FAILED, 4, "b" * 64, "generic", "REF1", 1)
    step = decide("po_1", failed, S.SUCCEEDED, source=EventSource.POLL, now=NOW)
    assert step is not None and step.changed
    assert (step.failure_reason, step.failure_detail) == (None, None)
    with pytest.raises(IllegalTransition):
        decide("po_1", head(S.SUCCEEDED), S.FAILED, source=EventSource.POLL, now=NOW)


def test_the_detail_is_masked_before_it_is_cut() -> None:
    detail = "tai khoan 0123456789012 bi khoa " + "x" * 600
    step = decide(
        "po_1",
        head(),
        S.FAILED,
        source=EventSource.POLL,
        now=NOW,
        reason=FailureReason.ACCOUNT_BLOCKED,
        detail=detail,
    )
    assert step is not None and step.detail is not None
    assert "0123456789012" not in step.detail and len(step.detail) == 500
    assert step.failure_detail == step.detail and step.failure_reason is FailureReason.ACCOUNT_BLOCKED


def test_creation_with_submit_records_the_first_attempt() -> None:
    p = payout(request(1))
    plain, sent = creation(p), creation(p, submit=True)
    assert plain.head.status is S.CREATED and plain.head.attempts == 0 and len(plain.events) == 1
    assert sent.head.status is S.SUBMITTED and sent.head.attempts == 1
    assert sent.events[0] == plain.events[0] and sent.events[1][3] == plain.head.last_hash
    assert [row[1] for row in sent.event_rows(p, "at")] == [1, 2]


def test_a_live_lease_of_another_worker_refuses_the_send() -> None:
    check_lease("po_1", Fence("A", 30), "A", True)
    check_lease("po_1", Fence("A", 30), "B", False)  # expired: taken
    with pytest.raises(LeaseLost):
        check_lease("po_1", Fence("A", 30), "B", True)


@pytest.mark.parametrize("store", [asxh_pay.ledger.sqlite, asxh_pay.ledger.postgres])
def test_the_stores_keep_no_copy_of_the_rules(store: object) -> None:
    """A store asks the rules; one that planned, hashed or checked 'sendable' itself
    could keep a different audit trail from the other store."""
    tree = ast.parse(Path(str(getattr(store, "__file__", ""))).read_text())
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert not names & {"plan_transition", "event_hash", "SENDABLE", "LEASE_OWNER"}
