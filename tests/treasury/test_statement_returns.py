"""A statement return acts only on what it returns (issue 13, items 5 and 6).

Each test feeds reconciliation a bank file shaped as an attack or a bank fault and
checks that nothing it cannot prove reaches the ledger: the payout keeps its
status (so no cash fallback is released) and a break names the reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from asxh_pay.ledger import SqliteLedger
from asxh_pay.providers.treasury import end_to_end_id
from asxh_pay.reconcile import Category, ReconciliationReport, load_files, reconcile
from asxh_pay.status import PayoutStatus
from asxh_pay.treasury_channel import PollReport
from tests.treasury.conftest import (
    DEBTOR_ACCOUNT,
    RUN_AT,
    Keys,
    make_channel,
    make_sandbox,
    treasury_request,
)
from tests.treasury.statement_kit import Tx, camt054, entry, paid_payout, pain002, write

AMOUNT = 1_500_000


async def _run(
    ledger: SqliteLedger, files: list[Path], *, apply: bool = True, **kw: object
) -> ReconciliationReport:
    return_codes = kw.pop("return_codes", ())
    entries, statuses, names = load_files(files, return_codes=return_codes)  # type: ignore[arg-type]
    kw.setdefault("debtor_accounts", [DEBTOR_ACCOUNT])
    return await reconcile(
        ledger,
        entries=entries,
        statuses=statuses,
        files=names,
        apply=apply,
        **kw,  # type: ignore[arg-type]
    )


async def _status(ledger: SqliteLedger, payout_id: str) -> PayoutStatus:
    p = await ledger.get(payout_id)
    assert p is not None
    return p.status


async def test_one_dong_return_on_a_wallet_payout_is_not_applied(
    tmp_path: Path, ledger: SqliteLedger
) -> None:
    wallet, e2e = await paid_payout(ledger, 1, provider="momo")
    f = write(tmp_path, "ntf.xml", camt054([entry([Tx(e2e, 1, rtr="AC04")])]))
    rep = await _run(ledger, [f])
    assert await _status(ledger, wallet.id) is PayoutStatus.SUCCEEDED  # no cash fallback released
    assert rep.breaks(Category.LATE_RETURN) == []
    (b,) = rep.breaks(Category.WRONG_RAIL)
    assert not b.explained and b.payout_id == wallet.id and "momo" in b.detail
    # A full-amount return on a wallet payout is no better: the statement is not of its rail.
    f2 = write(tmp_path, "ntf2.xml", camt054([entry([Tx(e2e, AMOUNT, rtr="AC04")])]))
    await _run(ledger, [f2])
    assert await _status(ledger, wallet.id) is PayoutStatus.SUCCEEDED


@pytest.mark.parametrize(
    "returned,why",
    [
        (0, "zero"),
        (1, "partial"),
        (AMOUNT - 1, "partial"),
        (AMOUNT + 1, "more than"),
        (2 * AMOUNT, "more than"),
    ],
)
async def test_return_of_another_amount_is_a_break_never_applied(
    tmp_path: Path, ledger: SqliteLedger, returned: int, why: str
) -> None:
    p, e2e = await paid_payout(ledger, 2)
    f = write(tmp_path, "ntf.xml", camt054([entry([Tx(e2e, returned, rtr="AC04")])]))
    rep = await _run(ledger, [f], provider="treasury")
    assert await _status(ledger, p.id) is PayoutStatus.SUCCEEDED
    (b,) = rep.breaks(Category.RETURN_MISMATCH)
    assert why in b.detail and b.statement_amount == returned and not b.explained
    assert rep.breaks(Category.LATE_RETURN) == []


async def test_exact_return_on_the_rail_and_account_is_applied(tmp_path: Path, ledger: SqliteLedger) -> None:
    p, e2e = await paid_payout(ledger, 3)
    f = write(tmp_path, "ntf.xml", camt054([entry([Tx(e2e, AMOUNT, rtr="AC04")])]))
    rep = await _run(ledger, [f], provider="treasury")
    assert await _status(ledger, p.id) is PayoutStatus.RETURNED
    assert [b.category for b in rep.lines if b.payout_id == p.id] == [Category.LATE_RETURN]
    assert rep.unexplained == []


async def test_return_on_another_account_or_without_the_account_is_not_applied(
    tmp_path: Path, ledger: SqliteLedger
) -> None:
    p, e2e = await paid_payout(ledger, 4)
    other = write(
        tmp_path, "other.xml", camt054([entry([Tx(e2e, AMOUNT, rtr="AC04")])], account="9999000011112222")
    )
    rep = await _run(ledger, [other])
    assert await _status(ledger, p.id) is PayoutStatus.SUCCEEDED
    (b,) = rep.breaks(Category.WRONG_RAIL)
    assert "2222" in b.detail and "9999000011112222" not in b.detail  # the account is masked
    # Without the rail's debtor account the statement's cannot be checked: nothing is applied.
    mine = write(tmp_path, "mine.xml", camt054([entry([Tx(e2e, AMOUNT, rtr="AC04")])]))
    rep = await _run(ledger, [mine], debtor_accounts=None)
    assert await _status(ledger, p.id) is PayoutStatus.SUCCEEDED
    (late,) = rep.breaks(Category.LATE_RETURN)
    assert not late.explained and "--account" in late.action


async def test_return_outside_the_provider_scope_is_not_applied(tmp_path: Path, ledger: SqliteLedger) -> None:
    p, e2e = await paid_payout(ledger, 5)
    f = write(tmp_path, "ntf.xml", camt054([entry([Tx(e2e, AMOUNT, rtr="AC04")])]))
    rep = await _run(ledger, [f], provider="momo")
    assert await _status(ledger, p.id) is PayoutStatus.SUCCEEDED
    (late,) = rep.breaks(Category.LATE_RETURN)
    assert not late.explained and "scope" in late.action


async def test_pending_return_is_not_applied(tmp_path: Path, ledger: SqliteLedger) -> None:
    p, e2e = await paid_payout(ledger, 6)
    f = write(tmp_path, "ntf.xml", camt054([entry([Tx(e2e, AMOUNT, rtr="AC04")], status="PDNG")]))
    await _run(ledger, [f])
    assert await _status(ledger, p.id) is PayoutStatus.SUCCEEDED


async def test_two_returns_for_one_payout_are_a_break(tmp_path: Path, ledger: SqliteLedger) -> None:
    p, e2e = await paid_payout(ledger, 7)
    f = write(
        tmp_path,
        "ntf.xml",
        camt054(
            [
                entry([Tx(e2e, AMOUNT, ref="R-1", rtr="AC04")], ref="N-1"),
                entry([Tx(e2e, AMOUNT, ref="R-2", rtr="AC04")], ref="N-2"),
            ]
        ),
    )
    rep = await _run(ledger, [f])
    assert await _status(ledger, p.id) is PayoutStatus.SUCCEEDED
    (b,) = rep.breaks(Category.RETURN_MISMATCH)
    assert "2 returns" in b.detail and b.entry_refs == "R-1;R-2"


async def test_batch_return_without_per_transaction_amounts_is_not_applied(
    tmp_path: Path, ledger: SqliteLedger
) -> None:
    """One credit of 1,500,000 naming two payouts of 1,500,000 cannot have returned both."""
    p1, e1 = await paid_payout(ledger, 8)
    p2, e2 = await paid_payout(ledger, 9)
    f = write(
        tmp_path,
        "ntf.xml",
        camt054(
            [entry([Tx(e1, None, ref="A", rtr="AC04"), Tx(e2, None, ref="B", rtr="AC04")], amount=AMOUNT)]
        ),
    )
    rep = await _run(ledger, [f])
    assert {await _status(ledger, p1.id), await _status(ledger, p2.id)} == {PayoutStatus.SUCCEEDED}
    assert len(rep.breaks(Category.RETURN_MISMATCH)) == 2
    # The sole transaction of an entry may take the entry's amount as its own.
    p3, e3 = await paid_payout(ledger, 10)
    f3 = write(tmp_path, "one.xml", camt054([entry([Tx(e3, None, rtr="AC04")], amount=AMOUNT)]))
    await _run(ledger, [f3])
    assert await _status(ledger, p3.id) is PayoutStatus.RETURNED


async def test_credit_carrying_our_end_to_end_id_is_not_a_return(
    tmp_path: Path, ledger: SqliteLedger
) -> None:
    """Only RtrInf or a return bank transaction code makes a credit a return."""
    p, e2e = await paid_payout(ledger, 11)
    received = entry([Tx(e2e, AMOUNT)], code="PMNT/RCDT/ESCT")
    f = write(tmp_path, "ntf.xml", camt054([received]))
    rep = await _run(ledger, [f])
    assert await _status(ledger, p.id) is PayoutStatus.SUCCEEDED
    (b,) = rep.breaks(Category.UNEXPLAINED_CREDIT)
    assert not b.explained and "does not call it a return" in b.detail
    # A funding credit whose sender's EndToEndId we never issued is no break at all.
    funding = write(
        tmp_path, "funding.xml", camt054([entry([Tx("MOF-TOPUP-2026-11", 900_000_000)], code=None)])
    )
    assert all(b.key != "MOF-TOPUP-2026-11" for b in (await _run(ledger, [funding])).lines)


async def test_return_recognised_by_its_bank_transaction_code(tmp_path: Path, ledger: SqliteLedger) -> None:
    p, e2e = await paid_payout(ledger, 12)
    # RRTN on the transaction, no RtrInf: a return.
    f = write(tmp_path, "ntf.xml", camt054([entry([Tx(e2e, AMOUNT, code="PMNT/ICDT/RRTN")], code=None)]))
    await _run(ledger, [f])
    assert await _status(ledger, p.id) is PayoutStatus.RETURNED
    # A proprietary code is a return only when the caller says the bank uses it so.
    q, e2e_q = await paid_payout(ledger, 13)
    g = write(tmp_path, "prtry.xml", camt054([entry([Tx(e2e_q, AMOUNT)], code=None, prtry="HOANTRA")]))
    rep = await _run(ledger, [g])
    assert await _status(ledger, q.id) is PayoutStatus.SUCCEEDED and rep.breaks(Category.UNEXPLAINED_CREDIT)
    await _run(ledger, [g], return_codes=["HOANTRA"])
    assert await _status(ledger, q.id) is PayoutStatus.RETURNED


async def test_transaction_indicator_decides_the_direction(tmp_path: Path, ledger: SqliteLedger) -> None:
    """A credit entry whose transaction is itself a debit is not a return of that transfer."""
    p, e2e = await paid_payout(ledger, 14, status=PayoutStatus.SUBMITTED)
    mixed = entry([Tx(e2e, AMOUNT, cdi="DBIT")], cdi="CRDT", code="PMNT/ICDT/RRTN")
    f = write(tmp_path, "ntf.xml", camt054([mixed]))
    rep = await _run(ledger, [f])
    assert rep.breaks(Category.LATE_RETURN) == [] and rep.breaks(Category.RETURN_MISMATCH) == []
    # It is read as the debit it says it is: the transfer was booked.
    assert await _status(ledger, p.id) is PayoutStatus.SUCCEEDED


async def test_pain002_original_amount_checked_against_the_ledger(
    tmp_path: Path, ledger: SqliteLedger
) -> None:
    p, e2e = await paid_payout(ledger, 15, status=PayoutStatus.SUBMITTED)
    f = write(tmp_path, "sts.xml", pain002("KB-1", [(e2e, "RJCT", AMOUNT + 500_000)]))
    rep = await _run(ledger, [f])
    assert await _status(ledger, p.id) is PayoutStatus.SUBMITTED  # a rejection of another transfer
    (b,) = rep.breaks(Category.AMOUNT_MISMATCH)
    assert str(AMOUNT + 500_000) in b.detail and b.report_status == "RJCT"
    ok = write(tmp_path, "sts-ok.xml", pain002("KB-1", [(e2e, "RJCT", AMOUNT)]))
    await _run(ledger, [ok])
    assert await _status(ledger, p.id) is PayoutStatus.FAILED


async def test_pain002_rejection_of_a_wallet_payout_is_not_applied(
    tmp_path: Path, ledger: SqliteLedger
) -> None:
    p, e2e = await paid_payout(ledger, 16, provider="momo", status=PayoutStatus.SUBMITTED)
    f = write(tmp_path, "sts.xml", pain002("KB-1", [(e2e, "RJCT", None)]))
    rep = await _run(ledger, [f])
    assert await _status(ledger, p.id) is PayoutStatus.SUBMITTED
    (b,) = rep.breaks(Category.LEDGER_BEHIND)
    assert not b.explained and "momo" in b.action


async def test_file_level_rejection_is_a_break(tmp_path: Path, ledger: SqliteLedger) -> None:
    await paid_payout(ledger, 17, status=PayoutStatus.SUBMITTED)
    f = write(tmp_path, "rjct.xml", pain002("KB-REJECTED-1", [], group="RJCT"))
    rep = await _run(ledger, [f], apply=False)
    (b,) = rep.breaks(Category.FILE_REJECTED)
    assert b.key == "KB-REJECTED-1" and b.report_status == "RJCT FF01" and not b.explained
    assert rep.unexplained


# --- the channel's poll applies statements too: the same rules -------------------------------------


async def test_channel_applies_only_exact_returns_on_its_account(tmp_path: Path, keys: Keys) -> None:
    sandbox = make_sandbox(keys)
    async with SqliteLedger(tmp_path / "ledger.db") as ledger:
        channel = make_channel(keys, ledger, sandbox, tmp_path / "store")
        payouts = await channel.record(treasury_request(i) for i in range(5))
        await channel.submit(payouts)
        sandbox.advance(RUN_AT.date())
        await channel.poll()
        e2es = [end_to_end_id(p.idempotency_key) for p in payouts]
        assert {await _status(ledger, p.id) for p in payouts} == {PayoutStatus.SUCCEEDED}
        attacks = camt054(
            [
                entry([Tx(e2es[0], 1, ref="R0", rtr="AC04")], ref="N0"),  # 1 VND "return"
                entry([Tx(e2es[1], AMOUNT, ref="R1")], ref="N1", code="PMNT/RCDT/ESCT"),  # not a return
                entry([Tx(e2es[2], AMOUNT + 1, ref="R2", rtr="AC04")], ref="N2"),  # over-amount
            ]
        )
        elsewhere = camt054([entry([Tx(e2es[3], AMOUNT, rtr="AC04")])], account="9999000011112222")
        report = PollReport()
        await channel.apply_report(attacks, "camt.054", "attack.xml", report)
        await channel.apply_report(elsewhere, "camt.054", "elsewhere.xml", report)
        assert {c[1] for c in report.contradictions} == {p.id for p in payouts[:4]}
        assert report.needs_attention and not report.transitions
        assert {await _status(ledger, p.id) for p in payouts} == {PayoutStatus.SUCCEEDED}
        assert all("9999000011112222" not in c[2] for c in report.contradictions)
        # The real thing: the full amount, marked as a return, on the channel's account.
        good = PollReport()
        real = camt054([entry([Tx(e2es[4], AMOUNT, rtr="AC04")])])
        await channel.apply_report(real, "camt.054", "real.xml", good)
        assert good.transitions["returned"] == 1 and not good.contradictions
        assert await _status(ledger, payouts[4].id) is PayoutStatus.RETURNED
        await channel.aclose()


async def test_channel_ignores_a_pain002_about_another_amount(tmp_path: Path, keys: Keys) -> None:
    sandbox = make_sandbox(keys)
    async with SqliteLedger(tmp_path / "ledger.db") as ledger:
        channel = make_channel(keys, ledger, sandbox, tmp_path / "store")
        payouts = await channel.record(treasury_request(i) for i in range(2))
        sub = await channel.submit(payouts)
        msg_id = sub.batches[0]
        e2es = [end_to_end_id(p.idempotency_key) for p in payouts]
        report = PollReport()
        forged = pain002(msg_id, [(e2es[0], "RJCT", AMOUNT - 1), (e2es[1], "RJCT", AMOUNT)])
        await channel.apply_report(forged, "pain.002", "sts.xml", report)
        assert [c[1] for c in report.contradictions] == [payouts[0].id]
        assert await _status(ledger, payouts[0].id) is PayoutStatus.SUBMITTED
        assert await _status(ledger, payouts[1].id) is PayoutStatus.FAILED
        await channel.aclose()
