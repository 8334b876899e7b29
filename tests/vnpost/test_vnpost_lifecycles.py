"""Each VNPost destination's full life through the client, the ledger and the sandbox."""

from __future__ import annotations

from datetime import date

import pytest
from vnpost_support import (
    AUTHORISED_CCCD,
    BENEFICIARY_CCCD,
    HOME,
    PICKUP,
    POST_OFFICE,
    STRANGER_CCCD,
    Env,
    authorised,
    request,
)

from asxh_pay.errors import WebhookVerificationError
from asxh_pay.models import Payout
from asxh_pay.providers.vnpost import PostalState
from asxh_pay.sandbox.base import FaultPlan
from asxh_pay.sandbox.vnpost import HandoverRefused
from asxh_pay.status import FailureReason, PayoutStatus


async def details(env: Env, payout: Payout) -> list[str]:
    return [e.detail or "" for e in await env.client.ledger.events(payout.id)]


async def test_pickup_inside_the_window_pays_once(env: Env) -> None:
    payout = await env.client.pay(request(PICKUP), wait=False)
    assert payout.status is PayoutStatus.PROCESSING
    key = payout.idempotency_key
    code = env.sandbox.pickup_code(key)
    # The postal sub-state is in the ledger's event detail, the core state stays processing.
    assert any(
        f"postal_state=ready_for_pickup pickup_code_last4={code[-4:]}" in d
        for d in await details(env, payout)
    )
    assert "window=2026-11-02..2026-11-10" in (await details(env, payout))[-1]

    # 1 November: the commune window (days 2-10) is not open yet.
    with pytest.raises(HandoverRefused) as refused:
        env.sandbox.pickup(code, BENEFICIARY_CCCD)
    assert refused.value.code == "OUTSIDE_WINDOW"

    await env.advance(3)  # 4 November
    env.sandbox.pickup(code, BENEFICIARY_CCCD)
    await env.callbacks_now()
    done = await env.client.status(payout.id)
    assert done.status is PayoutStatus.SUCCEEDED
    assert env.sandbox.postal_state(key) is PostalState.PAID
    assert list(env.sandbox.paid()) == [key]
    last = (await details(env, payout))[-1]
    assert "postal_state=paid" in last and "proof_receiver_type=SELF" in last

    # The same code again, the same person again: nothing more is paid.
    with pytest.raises(HandoverRefused) as again:
        env.sandbox.pickup(code, BENEFICIARY_CCCD)
    assert again.value.code == "NOT_PAYABLE"
    assert len(env.sandbox.paid()) == 1


async def test_uncollected_cash_expires_and_is_returned(env: Env) -> None:
    payout = await env.client.pay(request(PICKUP), wait=False)
    code = env.sandbox.pickup_code(payout.idempotency_key)
    await env.advance(9)  # 10 November 08:00: last day, still payable
    assert env.sandbox.postal_state(payout.idempotency_key) is PostalState.READY_FOR_PICKUP
    await env.advance(1)  # 11 November: the window closed at midnight
    assert env.sandbox.postal_state(payout.idempotency_key) is PostalState.RETURNED
    failed = await env.client.refresh(await env.client.status(payout.id))
    assert failed.status is PayoutStatus.FAILED
    assert failed.failure_reason is FailureReason.NOT_COLLECTED
    states = [s for _, s in env.sandbox.postal[payout.idempotency_key].states]
    assert states[-2:] == [PostalState.EXPIRED, PostalState.RETURNED]
    with pytest.raises(HandoverRefused) as late:
        env.sandbox.pickup(code, BENEFICIARY_CCCD)
    assert late.value.code == "NOT_PAYABLE"
    assert env.sandbox.paid() == {}


async def test_post_office_window_is_days_11_to_25(env: Env) -> None:
    payout = await env.client.pay(request(POST_OFFICE), wait=False)
    code = env.sandbox.pickup_code(payout.idempotency_key)
    await env.advance(4)  # 5 November: commune days, not post-office days
    with pytest.raises(HandoverRefused, match="OUTSIDE_WINDOW"):
        env.sandbox.pickup(code, BENEFICIARY_CCCD)
    await env.advance(10)  # 15 November
    env.sandbox.pickup(code, BENEFICIARY_CCCD)
    await env.callbacks_now()
    assert (await env.client.status(payout.id)).status is PayoutStatus.SUCCEEDED


async def test_pickup_by_the_wrong_cccd_is_refused_and_recorded(env: Env) -> None:
    payout = await env.client.pay(request(PICKUP), wait=False)
    key = payout.idempotency_key
    code = env.sandbox.pickup_code(key)
    await env.advance(2)
    with pytest.raises(HandoverRefused) as refused:
        env.sandbox.pickup(code, STRANGER_CCCD)
    assert refused.value.code == "IDENTITY_MISMATCH"
    record = env.sandbox.postal[key]
    assert [r["code"] for r in record.refusals] == ["IDENTITY_MISMATCH"]
    assert record.refusals[0]["presented"] != STRANGER_CCCD  # masked in VNPost's own log
    assert env.sandbox.paid() == {}
    assert (await env.client.refresh(payout)).status is PayoutStatus.PROCESSING
    # The cash still waits for the right person, and is paid once.
    env.sandbox.pickup(code, BENEFICIARY_CCCD)
    assert list(env.sandbox.paid()) == [key]


async def test_refused_pickups_then_expiry_report_the_identity_check(env: Env) -> None:
    payout = await env.client.pay(request(PICKUP), wait=False)
    code = env.sandbox.pickup_code(payout.idempotency_key)
    await env.advance(2)
    with pytest.raises(HandoverRefused):
        env.sandbox.pickup(code, STRANGER_CCCD)
    await env.advance(10)
    failed = await env.client.status(payout.id)
    assert failed.status is PayoutStatus.FAILED
    assert failed.failure_reason is FailureReason.IDENTITY_CHECK_FAILED


async def test_authorised_person_with_valid_authorisation_collects(env: Env) -> None:
    payout = await env.client.pay(request(PICKUP, recipient=authorised()), wait=False)
    code = env.sandbox.pickup_code(payout.idempotency_key)
    await env.advance(2)
    with pytest.raises(HandoverRefused) as no_letter:
        env.sandbox.pickup(code, AUTHORISED_CCCD)  # without the authorisation letter
    assert no_letter.value.code == "AUTHORISATION_INVALID"
    with pytest.raises(HandoverRefused) as wrong_letter:
        env.sandbox.pickup(code, AUTHORISED_CCCD, authorisation_ref="UQ-2026-9999")
    assert wrong_letter.value.code == "AUTHORISATION_INVALID"
    assert env.sandbox.paid() == {}
    env.sandbox.pickup(code, AUTHORISED_CCCD, authorisation_ref="UQ-2026-0042")
    await env.callbacks_now()
    paid = await env.client.status(payout.id)
    assert paid.status is PayoutStatus.SUCCEEDED
    proof = env.sandbox.postal[payout.idempotency_key].proof
    assert (
        proof is not None
        and proof["receiver_type"] == "AUTHORISED"
        and proof["receiver_id_no"] == AUTHORISED_CCCD
    )
    assert "proof_receiver_type=AUTHORISED" in (await details(env, payout))[-1]


async def test_authorisation_that_expires_during_the_window_is_refused(env: Env) -> None:
    # Valid when the window opens (2 Nov), expired by the 6th: the counter refuses it.
    payout = await env.client.pay(
        request(PICKUP, recipient=authorised(valid_until=date(2026, 11, 4))), wait=False
    )
    code = env.sandbox.pickup_code(payout.idempotency_key)
    await env.advance(5)  # 6 November
    with pytest.raises(HandoverRefused) as refused:
        env.sandbox.pickup(code, AUTHORISED_CCCD, authorisation_ref="UQ-2026-0042")
    assert refused.value.code == "AUTHORISATION_EXPIRED"
    assert env.sandbox.paid() == {}
    await env.advance(5)  # window over
    failed = await env.client.status(payout.id)
    assert failed.status is PayoutStatus.FAILED
    assert failed.failure_reason is FailureReason.AUTHORISATION_INVALID


async def test_authorisation_expired_before_the_window_is_rejected_at_submit(env: Env) -> None:
    payout = await env.client.pay(
        request(PICKUP, recipient=authorised(valid_until=date(2026, 10, 31))), wait=False
    )
    assert payout.status is PayoutStatus.FAILED
    assert payout.failure_reason is FailureReason.AUTHORISATION_INVALID
    assert "AUTHORISATION_EXPIRED" in (payout.failure_detail or "")
    assert env.sandbox.payments == {} and env.sandbox.paid() == {}


async def test_home_delivery_after_a_failed_attempt(env: Env) -> None:
    payout = await env.client.pay(request(HOME), wait=False)
    key = payout.idempotency_key
    assert env.sandbox.postal_state(key) is PostalState.OUT_FOR_DELIVERY
    await env.advance(2)
    assert env.sandbox.fail_delivery(key, "NOT_AT_HOME") is PostalState.DELIVERY_ATTEMPT_FAILED
    refreshed = await env.client.refresh(payout)
    assert refreshed.status is PayoutStatus.PROCESSING
    await env.advance(1)
    env.sandbox.deliver(key, cccd=BENEFICIARY_CCCD, proof_ref="OTP-482913", gps="22.6657,106.2579")
    await env.callbacks_now()
    paid = await env.client.status(payout.id)
    assert paid.status is PayoutStatus.SUCCEEDED
    record = env.sandbox.postal[key]
    assert [a["result"] for a in record.attempts] == ["failed", "delivered"]
    assert record.attempts[0]["reason"] == "NOT_AT_HOME"
    assert record.proof is not None and record.proof["gps"] == "22.6657,106.2579"
    last = (await details(env, payout))[-1]
    assert "postal_state=paid" in last and "attempts=2" in last and "proof_ref=OTP-482913" in last
    assert list(env.sandbox.paid()) == [key]


async def test_home_delivery_to_an_authorised_person(env: Env) -> None:
    payout = await env.client.pay(request(HOME, recipient=authorised()), wait=False)
    key = payout.idempotency_key
    await env.advance(2)
    with pytest.raises(HandoverRefused, match="AUTHORISATION_INVALID"):
        env.sandbox.deliver(key, cccd=AUTHORISED_CCCD, proof_ref="SIG-1", post_office_code="BC261010")
    assert env.sandbox.postal_state(key) is PostalState.DELIVERY_ATTEMPT_FAILED  # a failed visit
    env.sandbox.deliver(
        key,
        cccd=AUTHORISED_CCCD,
        authorisation_ref="UQ-2026-0042",
        proof_ref="SIG-2",
        post_office_code="BC261010",
    )
    await env.callbacks_now()
    assert (await env.client.status(payout.id)).status is PayoutStatus.SUCCEEDED
    assert len(env.sandbox.paid()) == 1


async def test_home_delivery_is_returned_after_the_last_attempt(env: Env) -> None:
    payout = await env.client.pay(request(HOME), wait=False)
    key = payout.idempotency_key
    await env.advance(2)
    for reason in ("NOT_AT_HOME", "NOT_AT_HOME"):
        assert env.sandbox.fail_delivery(key, reason) is PostalState.DELIVERY_ATTEMPT_FAILED
        await env.advance(1)
    assert env.sandbox.fail_delivery(key, "ADDRESS_NOT_FOUND") is PostalState.RETURNED
    await env.callbacks_now()
    failed = await env.client.status(payout.id)
    assert failed.status is PayoutStatus.FAILED
    assert failed.failure_reason is FailureReason.DELIVERY_FAILED
    assert "last_attempt_reason=ADDRESS_NOT_FOUND" in (failed.failure_detail or "")
    with pytest.raises(HandoverRefused, match="NOT_PAYABLE"):
        env.sandbox.deliver(key, cccd=BENEFICIARY_CCCD, proof_ref="SIG", gps="1,1")
    assert env.sandbox.paid() == {}


async def test_delivery_without_proof_or_to_the_wrong_person_pays_nothing(env: Env) -> None:
    payout = await env.client.pay(request(HOME), wait=False)
    key = payout.idempotency_key
    await env.advance(2)
    with pytest.raises(HandoverRefused) as no_proof:
        env.sandbox.deliver(key, cccd=BENEFICIARY_CCCD, proof_ref="OTP-1")  # neither GPS nor office
    assert no_proof.value.code == "PROOF_INCOMPLETE"
    with pytest.raises(HandoverRefused) as stranger:
        env.sandbox.deliver(key, cccd=STRANGER_CCCD, proof_ref="OTP-1", gps="1,1")
    assert stranger.value.code == "IDENTITY_MISMATCH"
    assert env.sandbox.paid() == {}
    assert env.sandbox.postal[key].attempts[-1]["reason"] == "IDENTITY_MISMATCH"


async def test_duplicate_callbacks_are_harmless(env: Env) -> None:
    env.sandbox.faults = FaultPlan(duplicate_callback=1.0)  # VNPost sends every callback twice
    payout = await env.client.pay(request(PICKUP), wait=False)
    code = env.sandbox.pickup_code(payout.idempotency_key)
    await env.advance(2)
    env.sandbox.pickup(code, BENEFICIARY_CCCD)
    sent = list(env.sandbox._pending_callbacks)
    assert len(sent) >= 2 and sent[-1].content == sent[-2].content
    await env.callbacks_now()
    assert env.sandbox._pending_callbacks == []  # every copy acknowledged: nothing resent
    assert all(a.status_code == 200 for a in env.callbacks)
    assert any(a.json().get("duplicate") for a in env.callbacks)
    events = await env.client.ledger.events(payout.id)
    assert [e.to_status for e in events].count(PayoutStatus.SUCCEEDED) == 1
    # Resent once more, later: refused as a replay, and the ledger does not move.
    with pytest.raises(WebhookVerificationError) as replay:
        await env.client.handle_callback("vnpost", sent[-1].request())
    assert replay.value.code == "replayed"
    assert await env.client.ledger.events(payout.id) == events
    assert (await env.client.status(payout.id)).status is PayoutStatus.SUCCEEDED
    assert len(env.sandbox.paid()) == 1


async def test_postal_account_credit(env: Env) -> None:
    ok = await env.client.pay(request({"kind": "postal_account", "account_number": "1234567890"}))
    assert ok.status is PayoutStatus.SUCCEEDED
    no_account = await env.client.pay(
        request({"kind": "postal_account", "account_number": "9876540001"}, i=1)
    )
    assert no_account.status is PayoutStatus.FAILED
    assert no_account.failure_reason is FailureReason.NO_ACCOUNT
    assert list(env.sandbox.paid()) == [ok.idempotency_key]


async def test_instruction_after_the_window_is_paid_in_the_next_months_window(env: Env) -> None:
    await env.advance(12)  # 13 November: the commune window of November is over
    payout = await env.client.pay(request(PICKUP), wait=False)
    record = env.sandbox.postal[payout.idempotency_key]
    assert (record.window_from, record.window_to) == (date(2026, 12, 2), date(2026, 12, 10))
    assert "window=2026-12-02..2026-12-10" in (await details(env, payout))[-1]
    await env.advance(20)  # 3 December
    env.sandbox.pickup(env.sandbox.pickup_code(payout.idempotency_key), BENEFICIARY_CCCD)
    await env.callbacks_now()
    assert (await env.client.status(payout.id)).status is PayoutStatus.SUCCEEDED


async def test_rerun_pays_nobody_again(env: Env) -> None:
    reqs = [request(PICKUP, i=i) for i in range(5)]
    await env.client.pay_many(reqs)
    await env.advance(2)
    for key in list(env.sandbox.postal):
        env.sandbox.pickup(env.sandbox.pickup_code(key), env.sandbox.postal[key].beneficiary_cccd)
    await env.callbacks_now()
    summary = await env.client.pay_many(reqs)
    assert summary.counts == {"succeeded": 5}
    assert len(env.sandbox.payments) == 5 and len(env.sandbox.paid()) == 5
    assert env.sandbox.request_counts["pay"] == 5
