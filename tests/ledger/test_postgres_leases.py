"""PostgreSQL-only behaviour: leases, fencing, and migrations run by many workers at once."""

from __future__ import annotations

import asyncio

import pytest

from asxh_pay.ledger.postgres import LEASE_OWNER, Fence, LeaseLost, PostgresLedger
from asxh_pay.models import EventSource, Payout
from asxh_pay.status import PayoutStatus as S
from tests.ledger.pg import PG_URL
from tests.ledger.test_ledger_contract import payout, request

pytestmark = pytest.mark.postgres


async def _filled(schema: str, n: int) -> PostgresLedger:
    ledger = PostgresLedger(PG_URL, schema=schema, max_size=4)
    await ledger.open()
    results = await ledger.create_many([payout(request(i)) for i in range(n)])
    assert all(isinstance(r, tuple) and r[1] for r in results)
    return ledger


async def test_concurrent_claims_are_disjoint_and_leases_expire(pg_schema: str) -> None:
    a = await _filled(pg_schema, 30)
    b = PostgresLedger(PG_URL, schema=pg_schema, max_size=4)
    await b.open()
    try:
        got_a, got_b = await asyncio.gather(a.claim_batch("A", 20, 0.5), b.claim_batch("B", 20, 0.5))
        ids_a, ids_b = {p.id for p in got_a}, {p.id for p in got_b}
        assert not ids_a & ids_b and len(ids_a | ids_b) == 30
        assert await a.claim_batch("C", 50, 5) == []  # everything is leased
        assert await a.renew("A", sorted(ids_a), 30) == ids_a
        await asyncio.sleep(0.7)  # B's leases expire; A renewed
        taken = {p.id for p in await a.claim_batch("C", 50, 5)}
        assert taken == ids_b
        assert await b.renew("B", sorted(ids_b), 5) == set()  # B learns it lost them
    finally:
        await b.close()
        await a.close()


async def test_release_hands_back_and_can_defer(pg_schema: str) -> None:
    ledger = await _filled(pg_schema, 4)
    try:
        got = await ledger.claim_batch("A", 4, 60)
        assert await ledger.release("B", [p.id for p in got]) == 0  # not B's to release
        assert await ledger.release("A", [got[0].id]) == 1
        assert await ledger.release("A", [got[1].id], retry_after_s=60) == 1
        again = await ledger.claim_batch("B", 4, 60)
        assert [p.id for p in again] == [got[0].id]
        assert await ledger.unfinished() == 4
    finally:
        await ledger.close()


async def test_a_worker_that_lost_its_lease_cannot_send(pg_schema: str) -> None:
    ledger = await _filled(pg_schema, 1)
    try:
        (p,) = await ledger.claim_batch("A", 1, 0.2)
        await asyncio.sleep(0.3)
        assert [q.id for q in await ledger.claim_batch("B", 1, 60)] == [p.id]

        async def send_as(owner: str) -> None:
            LEASE_OWNER.set(Fence(owner, 60))
            await ledger.transition(p, S.SUBMITTED, source=EventSource.SYSTEM, count_attempt=True)

        with pytest.raises(LeaseLost):
            await send_as("A")
        stored = await ledger.get(p.id)
        assert stored is not None and stored.attempts == 0 and stored.status is S.CREATED
        await send_as("B")
        stored = await ledger.get(p.id)
        assert stored is not None and stored.attempts == 1
    finally:
        await ledger.close()


async def test_many_workers_migrating_at_once_apply_each_migration_once(pg_schema: str) -> None:
    ledgers = [PostgresLedger(PG_URL, schema=pg_schema, max_size=1) for _ in range(4)]
    await asyncio.gather(*(lg.open() for lg in ledgers))
    try:
        async with ledgers[0].pool.connection() as conn:
            rows = await (await conn.execute("SELECT version FROM schema_migrations ORDER BY 1")).fetchall()
        assert [r[0] for r in rows] == [1, 2, 3]  # 3: the event outbox
    finally:
        await asyncio.gather(*(lg.close() for lg in ledgers))


async def test_out_of_date_schema_is_refused_without_auto_migrate(pg_schema: str) -> None:
    from asxh_pay.errors import LedgerError

    with pytest.raises(LedgerError, match="db upgrade"):
        await PostgresLedger(PG_URL, schema=pg_schema, auto_migrate=False).open()


async def test_unreachable_server_is_a_clear_ledger_error() -> None:
    from asxh_pay.errors import LedgerError

    ledger = PostgresLedger("postgresql://nobody:secret@127.0.0.1:1/none")
    with pytest.raises(LedgerError) as err:
        await ledger.open()
    assert "secret" not in str(err.value) and "secret" not in repr(ledger)


async def test_renewing_a_payout_renews_its_cash_fallback(pg_schema: str) -> None:
    """A worker drives a failed payout's cash fallback in the same task: its lease must last too."""
    ledger = await _filled(pg_schema, 1)
    try:
        (parent,) = await ledger.claim_batch("A", 1, 0.3)
        child, _ = await ledger.create_or_get(
            payout(request(0), key="FB" + "0" * 30, parent_id=parent.id, depth=1)
        )

        async def send_child() -> None:
            LEASE_OWNER.set(Fence("A", 0.3))
            await ledger.transition(child, S.SUBMITTED, source=EventSource.SYSTEM, count_attempt=True)

        await send_child()
        assert await ledger.renew("A", [parent.id], 30) == {parent.id, child.id}
        await asyncio.sleep(0.5)  # past the first lease: still A's, renewed with its parent
        assert await ledger.claim_batch("B", 5, 60) == []
    finally:
        await ledger.close()


async def test_a_fallback_made_by_a_worker_starts_leased_to_it(pg_schema: str) -> None:
    """Between its creation and its first send, no other worker may claim a fallback:
    it would then be driven twice (fenced, but as a spurious error)."""
    ledger = await _filled(pg_schema, 1)
    try:
        (parent,) = await ledger.claim_batch("A", 1, 60)

        async def make_child_as_a() -> Payout:
            LEASE_OWNER.set(Fence("A", 60))
            child, new = await ledger.create_or_get(
                payout(request(0), key="FB" + "1" * 30, parent_id=parent.id, depth=1)
            )
            assert new
            return child

        child = await asyncio.create_task(make_child_as_a())
        assert await ledger.claim_batch("B", 5, 60) == []  # A's, not claimable
        assert await ledger.renew("A", [parent.id], 60) == {parent.id, child.id}
        # Made outside any worker (enqueue, the single-process engine): no lease.
        free, _ = await ledger.create_or_get(payout(request(1)))
        assert [p.id for p in await ledger.claim_batch("B", 5, 60)] == [free.id]
    finally:
        await ledger.close()
