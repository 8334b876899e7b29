"""A bank transfer returned, then paid in cash, is one payment: not a paid-twice case."""

from __future__ import annotations

from asxh_pay.ledger.base import Ledger
from asxh_pay.models import EventSource
from asxh_pay.status import PayoutStatus as S
from tests.ledger.test_ledger_contract import created, payout, request


async def test_a_returned_transfer_and_its_cash_fallback_are_not_paid_twice(ledger: Ledger) -> None:
    parent = await created(ledger, 7)
    for target in (S.SUBMITTED, S.SUCCEEDED, S.RETURNED):
        current = await ledger.get(parent.id)
        assert current is not None
        await ledger.transition(
            current, target, source=EventSource.RESPONSE, count_attempt=target is S.SUBMITTED
        )
    fb = payout(request(7), key="FB-returned-7", parent_id=parent.id, depth=1)
    child, _ = await ledger.create_or_get(fb)
    await ledger.transition(child, S.SUCCEEDED, source=EventSource.RESPONSE, provider_ref="CASH-1")
    assert await ledger.paid_twice() == []  # the money came back from the bank: one payment
