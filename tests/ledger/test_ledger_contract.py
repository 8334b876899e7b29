"""The Ledger contract, run against every store (SQLite and PostgreSQL).

Each test states a rule the payout engine relies on; both stores must keep it the
same way, so the engine behaves the same on a laptop and on a province's cluster.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from asxh_pay.errors import IdempotencyConflict
from asxh_pay.ledger.base import Fence, Ledger
from asxh_pay.ledger.sqlite import SqliteLedger
from asxh_pay.models import Beneficiary, CashPickup, EventSource, Payout, PayoutRequest
from asxh_pay.status import FailureReason, IllegalTransition, PayoutStatus
from tests.ledger.pg import PG_URL

S = PayoutStatus
_SEQ = iter(range(1, 10**9))


def request(
    i: int = 1, *, amount: int = 1_080_000, run_id: str | None = "R1", account: str | None = None
) -> PayoutRequest:
    return PayoutRequest(
        programme="NCC",
        period="2026-11",
        beneficiary=Beneficiary(cccd=f"0010850{i:05d}", full_name="Nguyễn Văn An", commune_code="26101"),
        destination={"kind": "bank", "bank_bin": "970405", "account_number": account or f"1234{i:06d}"},
        amount=amount,
        run_id=run_id,
    )


def payout(
    req: PayoutRequest, *, key: str | None = None, parent_id: str | None = None, depth: int = 0
) -> Payout:
    now = datetime.now(UTC)
    return Payout(
        id=f"po_{next(_SEQ):012d}",
        idempotency_key=key or req.key(),
        payload_hash=req.payload_hash(),
        request=req,
        provider="generic",
        parent_id=parent_id,
        lineage_depth=depth,
        created_at=now,
        updated_at=now,
    )


async def created(ledger: Ledger, i: int = 1, **kw: object) -> Payout:
    p, new = await ledger.create_or_get(payout(request(i, **kw)))  # type: ignore[arg-type]
    assert new
    return p


def raw_sql(ledger: Ledger, statement: str, params: tuple[object, ...] = ()) -> None:
    """Write around the ledger API, as an attacker with database access would."""
    if isinstance(ledger, SqliteLedger):
        conn = ledger._db
        if conn.in_transaction:
            conn.execute("COMMIT")
        conn.execute(statement.replace("%s", "?"), params)
        return
    import psycopg

    schema = ledger.schema  # type: ignore[attr-defined]
    with psycopg.connect(PG_URL, autocommit=True, options=f"-c search_path={schema}") as conn:
        conn.execute(statement, params)  # type: ignore[arg-type]


def drop_append_only_guard(ledger: Ledger) -> None:
    if isinstance(ledger, SqliteLedger):
        raw_sql(ledger, "DROP TRIGGER events_no_update")
    else:
        raw_sql(ledger, "ALTER TABLE events DISABLE TRIGGER events_append_only")


# ---------------------------------------------------------------------- create_or_get


async def test_new_payout_is_recorded_with_its_first_event(ledger: Ledger) -> None:
    p, new = await ledger.create_or_get(payout(request()))
    assert new and p.status is S.CREATED
    stored = await ledger.get(p.id)
    assert stored is not None and stored.request == p.request and stored.amount == 1_080_000
    assert (await ledger.get_by_key(p.idempotency_key)) is not None
    events = await ledger.events(p.id)
    assert [(e.seq, e.from_status, e.to_status) for e in events] == [(1, None, S.CREATED)]


async def test_same_payload_again_returns_the_original(ledger: Ledger) -> None:
    first = await created(ledger)
    again, new = await ledger.create_or_get(payout(request()))  # new id, same key and payload
    assert not new and again.id == first.id
    assert sum((await ledger.counts()).values()) == 1


async def test_same_key_other_payload_is_a_conflict_and_records_nothing(ledger: Ledger) -> None:
    first = await created(ledger)
    with pytest.raises(IdempotencyConflict) as err:
        await ledger.create_or_get(payout(request(amount=2_000_000)))
    assert first.id in str(err.value)
    stored = await ledger.get(first.id)
    assert stored is not None and stored.amount == 1_080_000
    assert sum((await ledger.counts()).values()) == 1


async def test_second_root_payout_for_an_entitlement_under_another_key_is_refused(ledger: Ledger) -> None:
    first = await created(ledger)
    other = payout(request(amount=2_000_000), key="CUSTOMKEY-0001")
    with pytest.raises(IdempotencyConflict) as err:
        await ledger.create_or_get(other)
    assert first.id in str(err.value)
    assert await ledger.get(other.id) is None


async def test_cash_fallback_child_of_the_same_entitlement_is_allowed(ledger: Ledger) -> None:
    parent = await created(ledger)
    req = parent.request.model_copy(update={"destination": CashPickup(payment_point="26101")})
    child, new = await ledger.create_or_get(payout(req, key="FBchild000001", parent_id=parent.id, depth=1))
    assert new and child.parent_id == parent.id
    assert [c.id for c in await ledger.children(parent.id)] == [child.id]
    assert await ledger.children(child.id) == []


async def test_childless_lists_the_payouts_no_fallback_was_made_for(ledger: Ledger) -> None:
    with_child, without = await created(ledger, 1), await created(ledger, 2)
    req = with_child.request.model_copy(update={"destination": CashPickup(payment_point="26101")})
    child, _ = await ledger.create_or_get(payout(req, key="FBchild000002", parent_id=with_child.id, depth=1))
    for p in (with_child, without):
        p = (await ledger.transition(p, S.SUBMITTED, source=EventSource.SYSTEM)).payout
        await ledger.transition(
            p, S.FAILED, source=EventSource.RESPONSE, reason=FailureReason.INVALID_ACCOUNT
        )
    failed = [p.id async for p in ledger.iter_payouts(statuses=[S.FAILED])]
    orphans = [p.id async for p in ledger.iter_payouts(statuses=[S.FAILED], childless=True)]
    assert failed == [with_child.id, without.id]
    assert orphans == [without.id]
    assert [p.id async for p in ledger.iter_payouts(childless=True, run_id="R1")] == [without.id, child.id]


# ---------------------------------------------------------------------- transitions


async def test_legal_transition_is_recorded_and_chained(ledger: Ledger) -> None:
    p = await created(ledger)
    res = await ledger.transition(p, S.SUBMITTED, source=EventSource.SYSTEM, provider="generic")
    assert res.changed and res.payout.status is S.SUBMITTED and res.event is not None
    res2 = await ledger.transition(res.payout, S.SUCCEEDED, source=EventSource.RESPONSE, provider_ref="REF1")
    assert res2.changed and res2.payout.provider_ref == "REF1"
    events = await ledger.events(p.id)
    assert [e.to_status for e in events] == [S.CREATED, S.SUBMITTED, S.SUCCEEDED]
    assert events[2].prev_hash == events[1].hash
    stored = await ledger.get(p.id)
    assert stored is not None and stored.status is S.SUCCEEDED and stored.provider_ref == "REF1"
    assert await ledger.get_by_provider_ref("generic", "REF1") is not None


async def test_duplicate_report_is_a_no_op(ledger: Ledger) -> None:
    p = await created(ledger)
    done = (await ledger.transition(p, S.SUCCEEDED, source=EventSource.RESPONSE)).payout
    res = await ledger.transition(done, S.SUCCEEDED, source=EventSource.CALLBACK)
    assert not res.changed and res.event is None and res.payout.status is S.SUCCEEDED
    assert len(await ledger.events(p.id)) == 2


async def test_stale_report_on_an_old_snapshot_is_a_no_op(ledger: Ledger) -> None:
    p = await created(ledger)
    await ledger.transition(p, S.PROCESSING, source=EventSource.RESPONSE)
    await ledger.transition(p, S.SUCCEEDED, source=EventSource.CALLBACK)
    # A late "processing" poll holding the stale snapshot: the store re-reads and ignores it.
    res = await ledger.transition(p, S.PROCESSING, source=EventSource.POLL)
    assert not res.changed and res.payout.status is S.SUCCEEDED
    assert len(await ledger.events(p.id)) == 3


async def test_illegal_transition_raises_and_writes_nothing(ledger: Ledger) -> None:
    # failed -> succeeded is late truth and legal since issue 13; succeeded -> failed is not.
    p = await created(ledger)
    paid = await ledger.transition(p, S.SUCCEEDED, source=EventSource.RESPONSE, provider_ref="REF1")
    assert paid.payout.status is S.SUCCEEDED
    with pytest.raises(IllegalTransition):
        await ledger.transition(
            paid.payout,
            S.FAILED,
            source=EventSource.CALLBACK,
            reason=FailureReason.INVALID_ACCOUNT,
            detail="no such account",
        )
    stored = await ledger.get(p.id)
    assert stored is not None and stored.status is S.SUCCEEDED
    assert len(await ledger.events(p.id)) == 2
    assert (await ledger.verify_chain()).ok


async def test_late_truth_is_recorded_and_paid_twice_is_listed(ledger: Ledger) -> None:
    """A failed payout found delivered is recorded succeeded (reason cleared); with a
    fallback that left, the pair is a paid-twice case on both stores (issue 13)."""
    p = await created(ledger)
    failed = await ledger.transition(
        p, S.FAILED, source=EventSource.RESPONSE, reason=FailureReason.INVALID_ACCOUNT
    )
    child = p.model_copy(
        update={
            "id": p.id + "fb",
            "idempotency_key": "FB" + p.idempotency_key[:20],
            "parent_id": p.id,
            "lineage_depth": 1,
        }
    )
    child, _ = await ledger.create_or_get(child)
    assert await ledger.paid_twice() == []
    sent = await ledger.transition(child, S.SUCCEEDED, source=EventSource.RESPONSE, provider_ref="CASH1")
    late = await ledger.transition(
        failed.payout, S.SUCCEEDED, source=EventSource.CALLBACK, provider_ref="BANK1"
    )
    assert late.changed and late.from_status is S.FAILED
    assert late.payout.status is S.SUCCEEDED and late.payout.failure_reason is None
    [case] = await ledger.paid_twice()
    assert (case.electronic.id, case.fallback.id) == (p.id, sent.payout.id)
    assert case.references == ("BANK1", "CASH1")
    assert (await ledger.verify_chain()).ok


async def test_only_from_moves_only_from_that_status(ledger: Ledger) -> None:
    """Stopping an unsent payout must not cancel one that another driver just sent."""
    p = await created(ledger)
    sent = (await ledger.transition(p, S.SUBMITTED, source=EventSource.SYSTEM, count_attempt=True)).payout
    res = await ledger.transition(p, S.CANCELLED, source=EventSource.SYSTEM, only_from=S.CREATED)
    assert not res.changed and res.payout.status is S.SUBMITTED
    assert [e.to_status for e in await ledger.events(p.id)] == [S.CREATED, S.SUBMITTED]
    unsent = await created(ledger, 2)
    res = await ledger.transition(unsent, S.CANCELLED, source=EventSource.SYSTEM, only_from=S.CREATED)
    assert res.changed and res.payout.status is S.CANCELLED and sent.attempts == 1


async def test_count_attempt_records_each_send_even_without_a_status_change(ledger: Ledger) -> None:
    p = await created(ledger)
    r1 = await ledger.transition(p, S.SUBMITTED, source=EventSource.SYSTEM, count_attempt=True)
    r2 = await ledger.transition(r1.payout, S.SUBMITTED, source=EventSource.SYSTEM, count_attempt=True)
    assert r1.changed and not r2.changed and r2.event is not None
    stored = await ledger.get(p.id)
    assert stored is not None and stored.attempts == 2 and stored.status is S.SUBMITTED
    assert len(await ledger.events(p.id)) == 3
    assert (await ledger.verify_chain()).ok


# ---------------------------------------------------------------------- the hash chain


async def test_chain_verifies_on_an_honest_ledger(ledger: Ledger) -> None:
    for i in range(3):
        p = await created(ledger, i)
        await ledger.transition(p, S.SUCCEEDED, source=EventSource.RESPONSE)
    report = await ledger.verify_chain()
    assert report.ok and report.payouts_checked == 3 and report.events_checked == 6


async def test_events_refuse_edits_at_the_database_level(ledger: Ledger) -> None:
    p = await created(ledger)
    with pytest.raises(Exception, match="append-only"):
        raw_sql(ledger, "UPDATE events SET detail = 'x' WHERE payout_id = %s", (p.id,))
    with pytest.raises(Exception, match="append-only"):
        raw_sql(ledger, "DELETE FROM events WHERE payout_id = %s", (p.id,))


async def test_chain_detects_an_edited_event(ledger: Ledger) -> None:
    p = await created(ledger)
    await ledger.transition(p, S.FAILED, source=EventSource.RESPONSE, reason=FailureReason.ACCOUNT_CLOSED)
    drop_append_only_guard(ledger)
    raw_sql(ledger, "UPDATE events SET to_status = 'succeeded' WHERE payout_id = %s AND seq = 2", (p.id,))
    report = await ledger.verify_chain()
    assert not report.ok and any("altered" in prob for prob in report.problems)


async def test_chain_detects_an_edited_payout_row(ledger: Ledger) -> None:
    p = await created(ledger)
    await created(ledger, 2)
    # Redirect the money: change the amount in the stored request.
    raw_sql(
        ledger,
        "UPDATE payouts SET request_json = replace(request_json, '1080000', '9080000') WHERE id = %s",
        (p.id,),
    )
    report = await ledger.verify_chain()
    assert not report.ok and len(report.problems) == 1 and p.id in report.problems[0]


async def test_chain_detects_a_status_changed_around_the_history(ledger: Ledger) -> None:
    p = await created(ledger)
    raw_sql(ledger, "UPDATE payouts SET status = 'succeeded' WHERE id = %s", (p.id,))
    report = await ledger.verify_chain()
    assert not report.ok and "not the last recorded event" in report.problems[0]


# ---------------------------------------------------------------------- callbacks, listing, counts


async def test_remember_callback_detects_replays(ledger: Ledger) -> None:
    assert await ledger.remember_callback("generic", "evt_1")
    assert not await ledger.remember_callback("generic", "evt_1")
    assert await ledger.remember_callback("other", "evt_1")


async def test_iter_payouts_filters_and_pages_in_id_order(ledger: Ledger) -> None:
    ids = []
    for i in range(7):
        p = await created(ledger, i, run_id="R1" if i < 5 else "R2")
        ids.append(p.id)
        if i % 2:
            await ledger.transition(p, S.SUCCEEDED, source=EventSource.RESPONSE)
    everything = [p.id async for p in ledger.iter_payouts(batch_size=2)]
    assert everything == sorted(ids)
    run1 = [p.id async for p in ledger.iter_payouts(run_id="R1", batch_size=2)]
    assert run1 == ids[:5]
    open_r1 = [p.id async for p in ledger.iter_payouts(statuses=[S.CREATED], run_id="R1", batch_size=1)]
    assert open_r1 == [ids[0], ids[2], ids[4]]
    assert [p async for p in ledger.iter_payouts(statuses=[S.RETURNED])] == []


async def test_counts_by_status_and_run(ledger: Ledger) -> None:
    for i in range(4):
        p = await created(ledger, i, run_id="R1" if i < 3 else "R2")
        if i == 0:
            await ledger.transition(p, S.SUCCEEDED, source=EventSource.RESPONSE)
    assert await ledger.counts() == {S.CREATED: 3, S.SUCCEEDED: 1}
    assert await ledger.counts("R1") == {S.CREATED: 2, S.SUCCEEDED: 1}
    assert await ledger.counts("nope") == {}


async def test_concurrent_creates_of_one_entitlement_record_one_payout(ledger: Ledger) -> None:
    import asyncio

    results = await asyncio.gather(
        *(ledger.create_or_get(payout(request())) for _ in range(10)), return_exceptions=True
    )
    ids = {r[0].id for r in results if isinstance(r, tuple)}
    assert len(ids) == 1
    assert sum(1 for r in results if isinstance(r, tuple) and r[1]) == 1
    assert sum((await ledger.counts()).values()) == 1


async def test_writes_under_a_fence_nobody_else_holds_are_recorded(ledger: Ledger) -> None:
    """Fencing is part of the interface: every store takes a fence (SQLite holds it by its
    file lock, PostgreSQL takes the free lease), through ``fence=`` or the fenced view."""
    p = await created(ledger)
    fenced = ledger.fenced(Fence("worker-1", 60))
    sent = await fenced.transition(p, S.SUBMITTED, source=EventSource.SYSTEM, count_attempt=True)
    assert sent.changed and sent.payout.attempts == 1
    again = await ledger.transition(
        sent.payout, S.SUBMITTED, source=EventSource.SYSTEM, count_attempt=True, fence=Fence("worker-1", 60)
    )
    assert again.payout.attempts == 2
    child, new = await fenced.create_or_get(payout(request(1), key="FB" + "2" * 30, parent_id=p.id, depth=1))
    assert new and [c.id for c in await fenced.children(p.id)] == [child.id]
