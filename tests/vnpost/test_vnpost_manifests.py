"""Manifests: cash grouped per commune and payment point into a sealed list VNPost pays from."""

from __future__ import annotations

import pytest
from vnpost_support import HOME, PICKUP, POST_OFFICE, Env, request

from asxh_pay.errors import AuthenticationError, ValidationError
from asxh_pay.providers.vnpost import (
    Manifest,
    ManifestItem,
    ManifestSender,
    PostalState,
    VNPostProvider,
    build_manifests,
)
from asxh_pay.sandbox.vnpost import vnpost_sandbox_provider
from asxh_pay.status import PayoutStatus


async def test_manifests_dispatch_cash_per_commune_and_point(manual_env: Env) -> None:
    env = manual_env
    reqs = [request(PICKUP, i=i) for i in range(3)] + [request(POST_OFFICE, i=3), request(HOME, i=4)]
    summary = await env.client.pay_many(reqs, keep_payouts=True)
    payouts = summary.payouts
    assert summary.counts == {"processing": 5}
    # Registered, but no cash moves before its manifest arrives.
    assert {r.state for r in env.sandbox.postal.values()} == {PostalState.SUBMITTED}

    manifests = build_manifests(payouts)
    assert [(m.point_type, m.payment_point, m.item_count) for m in manifests] == [
        ("commune", "26101", 3),
        ("home", "26101", 1),
        ("post_office", "BC100000", 1),
    ]
    assert build_manifests(reversed(payouts)) == manifests  # same payouts, same manifest numbers
    commune = manifests[0]
    assert commune.total_amount == 3 * 1_500_000

    adapter = env.client.adapter("vnpost")
    assert isinstance(adapter, VNPostProvider)
    async with ManifestSender(adapter, transport=env.sandbox.transport()) as sender:
        status = await sender.submit(commune)
        assert status.state == "dispatched" and status.counts == {"ready_for_pickup": 3}
        again = await sender.submit(commune)  # resent after a lost answer: not dispatched twice
        assert again.items.keys() == status.items.keys()
        assert len(env.sandbox.by_code) == 3
        # The other points' cash has not left.
        others = [k for k, r in env.sandbox.postal.items() if r.manifest_no is None]
        assert len(others) == 2 and all(env.sandbox.postal[k].state is PostalState.SUBMITTED for k in others)

        await env.advance(2)
        first = commune.items[0].partner_ref
        record = env.sandbox.postal[first]
        assert record.pickup_code is not None
        env.sandbox.pickup(record.pickup_code, record.beneficiary_cccd)
        await env.advance(10)  # the window closes: the two others are returned
        closed = await sender.status(commune.manifest_no)
        assert closed.state == "closed"
        assert closed.counts == {"paid": 1, "returned": 2}
        assert closed.paid_amount == 1_500_000
        assert closed.items[first].detail["postal_state"] == "paid"

    statuses = {p.idempotency_key: (await env.client.refresh(p)).status for p in payouts[:3]}
    assert sorted(statuses.values()) == [PayoutStatus.FAILED, PayoutStatus.FAILED, PayoutStatus.SUCCEEDED]
    assert list(env.sandbox.paid()) == [first]


async def test_a_bad_manifest_is_refused_whole(manual_env: Env) -> None:
    env = manual_env
    payouts = (await env.client.pay_many([request(PICKUP, i=i) for i in range(2)], keep_payouts=True)).payouts
    good = build_manifests(payouts)[0]
    adapter = env.client.adapter("vnpost")
    assert isinstance(adapter, VNPostProvider)
    wrong_amount = Manifest(
        good.manifest_no[:-1] + "X",
        good.period,
        good.commune_code,
        good.payment_point,
        good.point_type,
        (good.items[0], ManifestItem(good.items[1].partner_ref, 1, "CASH_PICKUP")),
    )
    async with ManifestSender(adapter, transport=env.sandbox.transport()) as sender:
        with pytest.raises(ValidationError) as refused:
            await sender.submit(wrong_amount)
        assert refused.value.code == "manifest_refused" and "AMOUNT_MISMATCH" in str(refused.value)
        assert {r.state for r in env.sandbox.postal.values()} == {PostalState.SUBMITTED}  # nothing dispatched
        forged = vnpost_sandbox_provider(secret="someone-else")
        async with ManifestSender(forged, transport=env.sandbox.transport()) as bad_sender:
            with pytest.raises(AuthenticationError):  # refused at the signature: never dispatched
                await bad_sender.submit(good)
        assert env.sandbox.manifests == {}
        await sender.submit(good)
    assert len(env.sandbox.manifests) == 1


def test_only_cash_goes_into_a_manifest(env: Env) -> None:
    payout = env.client.new_payout(request({"kind": "postal_account", "account_number": "1234567890"}))
    with pytest.raises(ValidationError) as info:
        build_manifests([payout])
    assert info.value.code == "not_cash"
