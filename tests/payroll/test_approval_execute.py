"""Maker-checker rules, execution (fallback, register stops, resume), reports and reconciliation."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from asxh_pay.ledger import SqliteLedger
from asxh_pay.payroll.approval import ApprovalError, generate_operator_key, load_approved
from asxh_pay.payroll.books import reconcile_rails
from asxh_pay.payroll.execute import AlreadyStarted, ExecutionResult, execute_run
from asxh_pay.payroll.rails import embedded_rails
from asxh_pay.payroll.reports import collect, write_reports
from asxh_pay.status import FailureReason, PayoutStatus
from tests.payroll.conftest import PEOPLE, Workspace, row, write_list


def _lists(ws: Workspace) -> list[Path]:
    rows = [
        row(0),  # bank
        row(1, "Ví điện tử"),
        row(2, "Tài khoản bưu điện"),
        row(3, **{"Số tài khoản": "0071000000001"}),  # pain.002 RJCT AC01: no such account -> cash
        row(4, "Chi trả tại nhà"),
        row(5, "Nhận tại điểm chi trả"),
        row(6, "Ví điện tử", **{"Số điện thoại": "0912340004"}),  # wallet holder is someone else -> held
    ]
    return [write_list(ws.data_dir.parent / "xa.csv", rows)]


def _execute(ws: Workspace, run_id: str, **kw: Any) -> ExecutionResult:
    return asyncio.run(
        execute_run(
            ws.data_dir,
            run_id,
            ledger_url=ws.ledger_url,
            registry=ws.registry,
            rails=kw.pop("rails", ws.rails),
            **kw,
        )
    )


def _ledger_rows(ws: Workspace, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(ws.data_dir / "ledger.db") as db:
        return db.execute(sql).fetchall()


# --------------------------------------------------------------------------- approval


def test_prepare_freezes_and_holds(ws: Workspace) -> None:
    prep = ws.prepare(_lists(ws))
    assert prep.manifest["counts"]["payouts"] == 6
    assert [h.code for h in prep.held] == ["account_owner_mismatch"]
    lines = (prep.dir / "payouts.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 6 and all(json.loads(line)["request"]["run_id"] == prep.run_id for line in lines)
    assert prep.manifest["totals"]["provider"]["treasury"]["count"] == 2
    assert not (ws.data_dir / "ledger.db").exists()  # preparing pays and records nothing


def test_preparer_cannot_approve_own_run(ws: Workspace) -> None:
    prep = ws.prepare(_lists(ws))
    with pytest.raises(ApprovalError, match="cannot approve"):
        ws.approve(prep.run_id, "maker")
    with pytest.raises(ApprovalError, match="not approved"):
        load_approved(ws.data_dir, prep.run_id)


def test_approver_using_the_preparers_key_is_refused(ws: Workspace) -> None:
    prep = ws.prepare(_lists(ws))
    # "mallory" registers the maker's public key as her own: a file in keys/trusted is no trust...
    trusted = ws.data_dir / "keys" / "trusted"
    (trusted / "mallory.pub.pem").write_bytes((trusted / "maker.pub.pem").read_bytes())
    from asxh_pay.payroll.approval import approve
    from asxh_pay.payroll.roster import RosterError, change, load_operator_public_key

    with pytest.raises(ApprovalError, match="not enrolled in the roster"):
        approve(ws.data_dir, prep.run_id, "mallory", ws.data_dir / "keys" / "maker.pem")
    # ... and the roster enrols no key twice, even when the office signs.
    with pytest.raises(RosterError, match="already trusted for maker"):
        change(
            ws.data_dir,
            "enroll",
            "mallory",
            signed_by="office",
            signer_key_path=ws.data_dir.parent / "office.pem",
            public_key=load_operator_public_key(trusted / "maker.pub.pem"),
        )
    # The same key under the same name again is the preparer's key.
    with pytest.raises(ApprovalError, match="cannot approve"):
        approve(ws.data_dir, prep.run_id, "Maker", ws.data_dir / "keys" / "maker.pem")


def test_edited_run_needs_a_new_approval(ws: Workspace) -> None:
    prep = ws.prepare(_lists(ws))
    ws.approve(prep.run_id)
    load_approved(ws.data_dir, prep.run_id)  # fine as approved
    path = prep.dir / "payouts.jsonl"
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace('"amount":1500000', '"amount":1600000', 1), encoding="utf-8")
    with pytest.raises(ApprovalError, match="edited after preparation"):
        load_approved(ws.data_dir, prep.run_id)
    with pytest.raises(ApprovalError):
        _execute(ws, prep.run_id)
    assert not (ws.data_dir / "ledger.db").exists() or _ledger_rows(ws, "SELECT COUNT(*) FROM payouts") == [
        (0,)
    ]
    # Re-preparing the corrected lists and approving again is the way forward.
    prep2 = ws.prepare(_lists(ws))
    ws.approve(prep2.run_id)
    assert load_approved(ws.data_dir, prep2.run_id).run_hash == prep2.manifest["run_hash"]


def test_edit_with_manifest_rewritten_is_still_refused(ws: Workspace) -> None:
    prep = ws.prepare(_lists(ws))
    ws.approve(prep.run_id)
    lines = (prep.dir / "payouts.jsonl").read_text(encoding="utf-8").splitlines()
    (prep.dir / "payouts.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")  # drop one payout
    from asxh_pay.payroll.approval import read_manifest, read_payouts, run_hash, write_json

    manifest = read_manifest(prep.dir)
    digest, n, total = run_hash(prep.run_id, read_payouts(prep.dir / "payouts.jsonl"))
    manifest.update(run_hash=digest, counts={**manifest["counts"], "payouts": n, "total_vnd": total})
    write_json(prep.dir / "manifest.json", manifest)
    with pytest.raises(ApprovalError, match="changed after it was prepared"):
        load_approved(ws.data_dir, prep.run_id)


@pytest.mark.parametrize("edit", ["change", "invalid", "drop", "add", "swap"])
def test_a_file_edited_after_the_checks_stops_the_stream_at_the_edit(ws: Workspace, edit: str) -> None:
    """The approved payouts are streamed from disk, not held in memory (a province's run):
    every line read while paying must be the line that was hashed when the signatures were
    checked. An edit made between the check and the paying (the window a streamed read
    opens) stops the stream before the edited payout, whatever the edit."""
    prep = ws.prepare(_lists(ws))
    ws.approve(prep.run_id)
    approved = load_approved(ws.data_dir, prep.run_id)
    path = prep.dir / "payouts.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == approved.count >= 3
    if edit == "change":
        lines[1] = lines[1].replace('"amount":', '"amount":1', 1)
    elif edit == "invalid":  # a CCCD of no province: stopped by its digest, never parsed unchecked
        cccd = json.loads(lines[1])["request"]["beneficiary"]["cccd"]
        lines[1] = lines[1].replace(cccd, "999" + cccd[3:])
    elif edit == "drop":
        del lines[-1]
    elif edit == "add":
        lines.append(lines[0])
    else:
        lines[0], lines[1] = lines[1], lines[0]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    handed: list[str] = []
    with pytest.raises(ApprovalError, match="after the run was checked"):
        for p in approved.payouts():
            handed.append(p.key)
    expected_before = {
        "change": 1,
        "invalid": 1,
        "drop": approved.count - 1,
        "add": approved.count,
        "swap": 0,
    }[edit]
    assert len(handed) == expected_before


def test_the_approved_stream_is_the_checked_file(ws: Workspace) -> None:
    prep = ws.prepare(_lists(ws))
    ws.approve(prep.run_id)
    approved = load_approved(ws.data_dir, prep.run_id)
    from asxh_pay.payroll.approval import read_payouts

    keys = [p.key for p in approved.payouts()]
    assert keys == [p.key for p in read_payouts(prep.dir / "payouts.jsonl")]
    assert set(keys) == approved.keys and len(keys) == approved.count


def test_forged_signature_is_refused(ws: Workspace) -> None:
    prep = ws.prepare(_lists(ws))
    ws.approve(prep.run_id)
    approval = json.loads((prep.dir / "approval.json").read_text())
    sig = bytearray(base64.b64decode(approval["signature"]))
    sig[0] ^= 1
    approval["signature"] = base64.b64encode(bytes(sig)).decode()
    (prep.dir / "approval.json").write_text(json.dumps(approval))
    with pytest.raises(ApprovalError, match="does not verify"):
        load_approved(ws.data_dir, prep.run_id)
    # A self-made key under a trusted name's file does not help either: "eve" is not trusted.
    generate_operator_key(ws.data_dir / "elsewhere", "eve")
    approval["operator"] = "eve"
    (prep.dir / "approval.json").write_text(json.dumps(approval))
    with pytest.raises(ApprovalError, match="not enrolled"):
        load_approved(ws.data_dir, prep.run_id)


# --------------------------------------------------------------------------- execution


def test_execution_with_fallback_stops_reports_and_reconciliation(ws: Workspace) -> None:
    prep = ws.prepare(_lists(ws))
    ws.approve(prep.run_id)
    ws.registry.mark_dead(PEOPLE[5][1], date(2026, 11, 2))  # dies after preparation
    res = _execute(ws, prep.run_id)
    assert res.errors == []
    assert len(res.stopped) == 1
    roots = dict(_ledger_rows(ws, "SELECT beneficiary_cccd, status FROM payouts WHERE parent_id IS NULL"))
    assert roots[PEOPLE[5][1]] == "cancelled"
    assert roots[PEOPLE[3][1]] == "failed"
    assert roots[PEOPLE[0][1]] == "succeeded"
    stopped = _ledger_rows(ws, f"SELECT failure_reason FROM payouts WHERE beneficiary_cccd='{PEOPLE[5][1]}'")
    assert stopped == [(FailureReason.BENEFICIARY_DECEASED.value,)]
    children = _ledger_rows(
        ws, "SELECT provider, status, destination_kind FROM payouts WHERE parent_id IS NOT NULL"
    )
    assert children == [("vnpost", "succeeded", "cash_pickup")]
    # The stopped payout never reached a provider.
    paid_keys = {k for s in ws.rails.sandboxes.values() for k in s.paid()}
    stopped_key = _ledger_rows(
        ws, f"SELECT idempotency_key FROM payouts WHERE beneficiary_cccd='{PEOPLE[5][1]}'"
    )
    assert stopped_key[0][0] not in paid_keys
    # Routing: wallet -> viettel_money, postal account/cash -> vnpost, bank -> treasury.
    providers = dict(
        _ledger_rows(
            ws,
            "SELECT destination_kind, provider FROM payouts WHERE parent_id IS NULL AND status='succeeded'",
        )
    )
    assert providers == {
        "bank": "treasury",
        "wallet": "viettel_money",
        "postal_account": "vnpost",
        "cash_home": "vnpost",
    }

    async def check() -> None:
        async with SqliteLedger(ws.data_dir / "ledger.db", exclusive=False) as ledger:
            recon = await reconcile_rails(ledger, ws.rails, prep.run_id)
            assert recon.ok and recon.pending == 0, recon.breaks
            # Each rail's own total is what the ledger says it paid: the bank states every
            # debit twice (camt.054 notice, camt.053 statement) and it is counted once.
            assert recon.provider_totals == recon.ledger_totals, (recon.provider_totals, recon.ledger_totals)
            assert "treasury" in recon.provider_totals
            files = await write_reports(ledger, prep.run_id, ws.data_dir / "rep", manifest=prep.manifest)
            fig = await collect(ledger, prep.run_id)
            outcomes = sorted(e.outcome for e in fig.entitlements)
            assert outcomes == ["paid", "paid", "paid", "paid", "paid_fallback", "stopped"]
            _check_xlsx(ws, files.xlsx)

    asyncio.run(check())
    # Running again without --resume is refused; with it, nothing is paid twice.
    with pytest.raises(AlreadyStarted):
        _execute(ws, prep.run_id)
    before = {n: len(s.payments) for n, s in ws.rails.sandboxes.items()}
    again = _execute(ws, prep.run_id, resume=True)
    assert {n: len(s.payments) for n, s in ws.rails.sandboxes.items()} == before
    assert again.counts == res.counts


def test_a_death_recorded_after_the_bank_declined_stops_the_cash_fallback(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bank declines PEOPLE[3]'s account; the death is recorded after the transfer left
    but before the month close would pay cash: no cash is paid, and the ledger says why."""
    prep = ws.prepare(_lists(ws))
    ws.approve(prep.run_id)
    checks = 0
    original = ws.registry.check_batch

    async def check_batch(cccds: Any) -> Any:
        nonlocal checks
        checks += 1
        answer = await original(cccds)
        if checks == 1:  # the check before the first sends: alive then, dead right after
            ws.registry.mark_dead(PEOPLE[3][1], date(2026, 11, 3))
        return answer

    monkeypatch.setattr(ws.registry, "check_batch", check_batch)
    res = _execute(ws, prep.run_id)
    assert res.errors == []
    assert checks >= 2  # asked again before the fallbacks
    cccd = PEOPLE[3][1]
    rows = _ledger_rows(
        ws,
        f"SELECT parent_id IS NULL, status, failure_reason, destination_kind FROM payouts "
        f"WHERE beneficiary_cccd='{cccd}' ORDER BY parent_id IS NULL DESC",
    )
    assert rows == [
        (1, "failed", FailureReason.INVALID_ACCOUNT.value, "bank"),
        (0, "cancelled", FailureReason.BENEFICIARY_DECEASED.value, "cash_pickup"),
    ]
    assert any(cccd not in masked and "deceased" in why.lower() for _, masked, why in res.stopped)
    fallback_key = _ledger_rows(
        ws, f"SELECT idempotency_key FROM payouts WHERE beneficiary_cccd='{cccd}' AND parent_id IS NOT NULL"
    )[0][0]
    assert fallback_key not in ws.rails.sandboxes["vnpost"].payments  # never sent
    # Everyone else is paid as before, the fallback stays stopped on a resume.
    again = _execute(ws, prep.run_id, resume=True)
    assert again.errors == [] and again.counts == res.counts


def _check_xlsx(ws: Workspace, path: Path) -> None:
    """The produced workbook's figures equal the ledger's, read with SQL independently."""
    wb = load_workbook(path, read_only=True)
    title = {r[0]: r[1] for r in wb["Báo cáo"].iter_rows(values_only=True) if r and len(r) > 1}
    paid_roots = _ledger_rows(
        ws, "SELECT COUNT(*), SUM(amount) FROM payouts WHERE parent_id IS NULL AND status='succeeded'"
    )[0]
    paid_fb = _ledger_rows(
        ws, "SELECT COUNT(*), SUM(amount) FROM payouts WHERE parent_id IS NOT NULL AND status='succeeded'"
    )[0]
    roots = _ledger_rows(ws, "SELECT COUNT(*), SUM(amount) FROM payouts WHERE parent_id IS NULL")[0]
    assert title["Số đối tượng"] == roots[0]
    assert title["Tổng số tiền phải trả"] == roots[1]
    assert title["Đã chi trả"] == paid_roots[0] + paid_fb[0]
    assert title["Số tiền đã chi trả"] == paid_roots[1] + paid_fb[1]
    assert title["Chuyển chi tiền mặt"] == paid_fb[0]
    account = _ledger_rows(
        ws,
        "SELECT COUNT(*) FROM payouts WHERE parent_id IS NULL AND status='succeeded' "
        "AND destination_kind IN ('bank','wallet','postal_account')",
    )[0][0]
    assert title["Chi trả qua tài khoản"] == account
    assert title["Tỷ lệ qua tài khoản (%)"] == round(100 * account / roots[0], 2)
    # Provider sheet: counts and amounts per provider/status equal the ledger's GROUP BY.
    sheet = list(wb["Theo đơn vị chi trả"].iter_rows(values_only=True))
    head = sheet.index(("Đơn vị chi trả", "Chương trình", "Trạng thái", "Số lượt", "Số tiền (đồng)"))
    got = {(r[0], r[1]): (r[3], r[4]) for r in sheet[head + 1 :] if r[2] == "Thành công"}
    want = {
        (p, g): (n, a)
        for p, g, n, a in _ledger_rows(
            ws,
            "SELECT provider, programme, COUNT(*), SUM(amount) FROM payouts WHERE status='succeeded' "
            "GROUP BY provider, programme",
        )
    }
    assert got == want
    # Summary sheet: two tiers since 2025 (no district row), names beside codes, a totals row.
    summary = list(wb["Tổng hợp"].iter_rows(values_only=True))
    head = next(r for r in summary if r and r[0] == "Cấp")
    province = next(r for r in summary if r[0] == "Tỉnh")
    assert province[head.index("Tên đơn vị")] == "Thành phố Hà Nội"
    total = next(r for r in summary if r[0] == "Tổng cộng")
    assert total[head.index("Chương trình")] == "Tất cả"
    assert total[head.index("Số đối tượng")] == roots[0]
    assert total[head.index("Tổng số tiền phải trả")] == roots[1]
    assert not any(r[0] == "Huyện" for r in summary)
    ncc = next(r for r in summary if r[0] == "Tỉnh" and r[head.index("Chương trình")] == "NCC")
    assert ncc[head.index("Cơ quan quản lý")] == "Sở Nội vụ"  # NCC answers to Home Affairs
    wb.close()


def test_report_in_english_and_cash_list(ws: Workspace) -> None:
    prep = ws.prepare(_lists(ws), verify_accounts=False)
    ws.approve(prep.run_id)
    _execute(ws, prep.run_id)

    async def go() -> None:
        async with SqliteLedger(ws.data_dir / "ledger.db", exclusive=False) as ledger:
            files = await write_reports(ledger, prep.run_id, ws.data_dir / "en", lang="en")
            cash = (ws.data_dir / "en" / "cash-list-postal.csv").read_text(encoding="utf-8-sig").splitlines()
            assert cash[0].startswith("Payout id,Commune,Programme,CCCD,Full name")
            # Home delivery, commune pickup, and the fallback of the refused bank account.
            assert len(cash) == 1 + 3
            assert sum(1 for line in cash if line.endswith(",x")) == 1
            assert files.xlsx.name.startswith("monthly-report")

    asyncio.run(go())


def test_without_cash_fallback_failures_are_reported(ws: Workspace) -> None:
    prep = ws.prepare(_lists(ws), verify_accounts=False)
    ws.approve(prep.run_id)
    rails = embedded_rails(ws.data_dir / "nofb", cash_fallback=False)
    try:
        _execute(ws, prep.run_id, rails=rails)
    finally:
        rails.close()
    assert _ledger_rows(ws, "SELECT COUNT(*) FROM payouts WHERE parent_id IS NOT NULL") == [(0,)]
    failed = _ledger_rows(
        ws, "SELECT beneficiary_cccd, failure_reason FROM payouts WHERE status='failed' ORDER BY 1"
    )
    # Unverified (no inquiry): the wallet of someone else is refused at payment (W04), no cash.
    assert sorted(failed) == sorted([(PEOPLE[3][1], "invalid_account"), (PEOPLE[6][1], "name_mismatch")])

    async def go() -> None:
        async with SqliteLedger(ws.data_dir / "ledger.db", exclusive=False) as ledger:
            fig = await collect(ledger, prep.run_id)
            assert sorted(e.outcome for e in fig.entitlements).count("failed") == 2
            await write_reports(ledger, prep.run_id, ws.data_dir / "r2")
        text = (ws.data_dir / "r2" / "that-bai.csv").read_text(encoding="utf-8-sig")
        assert "invalid_account" in text and PEOPLE[3][1] not in text  # masked

    asyncio.run(go())


def test_ledger_payout_outside_the_run_is_refused(ws: Workspace) -> None:
    prep = ws.prepare(_lists(ws), verify_accounts=False)
    ws.approve(prep.run_id)
    _execute(ws, prep.run_id)
    with sqlite3.connect(ws.data_dir / "ledger.db") as db:
        db.execute("UPDATE payouts SET idempotency_key='AXforeign000000000000000000000' WHERE rowid=1")
    with pytest.raises(ApprovalError, match="does not list"):
        _execute(ws, prep.run_id, resume=True)


def test_second_prepare_of_a_paid_month_pays_nobody_again(ws: Workspace) -> None:
    prep = ws.prepare(_lists(ws), verify_accounts=False)
    ws.approve(prep.run_id)
    _execute(ws, prep.run_id)
    again = ws.prepare(_lists(ws), verify_accounts=False)
    assert again.manifest["counts"]["payouts"] == 0
    assert sum(1 for w in again.warnings if w[1] == "already_in_ledger") == 7
    assert PayoutStatus.SUCCEEDED.value == "succeeded"


def test_failed_bank_transfer_and_failed_wallet_are_paid_in_cash_exactly_once(ws: Workspace) -> None:
    """pain.002 RJCT (AC04) and a Viettel decline (W01) each end as one paid VNPost cash payout."""
    rows = [
        row(0, **{"Số tài khoản": "0071000000004"}),  # the bank rejects the transfer: account closed
        row(1, "Ví điện tử", **{"Số điện thoại": "0912340001"}),  # no such wallet: declined
        row(2),  # an ordinary bank transfer in the same file
    ]
    prep = ws.prepare([write_list(ws.data_dir.parent / "xa.csv", rows)], verify_accounts=False)
    ws.approve(prep.run_id)
    res = _execute(ws, prep.run_id)
    assert res.errors == []
    parents = dict(
        _ledger_rows(
            ws,
            "SELECT beneficiary_cccd, failure_reason FROM payouts "
            "WHERE parent_id IS NULL AND status='failed'",
        )
    )
    assert parents == {PEOPLE[0][1]: "account_closed", PEOPLE[1][1]: "invalid_account"}
    children = _ledger_rows(
        ws,
        "SELECT c.beneficiary_cccd, p.provider, c.provider, c.status, c.destination_kind "
        "FROM payouts c JOIN payouts p ON c.parent_id = p.id ORDER BY 1",
    )
    assert sorted(children) == sorted(
        [
            (PEOPLE[0][1], "treasury", "vnpost", "succeeded", "cash_pickup"),
            (PEOPLE[1][1], "viettel_money", "vnpost", "succeeded", "cash_pickup"),
        ]
    )
    # The bank refused it (pain.002 RJCT) and never debited it; VNPost paid the cash once.
    bank = ws.rails.treasury.sandbox if ws.rails.treasury is not None else None
    assert bank is not None
    rejected = [t for t in bank.transfers.values() if t.status == "RJCT"]
    assert [t.reason_code for t in rejected] == ["AC04"] and not bank.debits.get(rejected[0].e2e)
    assert sum(len(v) for v in bank.debits.values()) == 1
    child_keys = [
        k for (k,) in _ledger_rows(ws, "SELECT idempotency_key FROM payouts WHERE parent_id IS NOT NULL")
    ]
    vnpost = ws.rails.sandboxes["vnpost"]
    assert all(vnpost.payments[k].state.value == "succeeded" for k in child_keys)
    # Resuming finds nothing to do: still one cash payout per failed transfer.
    again = _execute(ws, prep.run_id, resume=True)
    assert again.errors == []
    assert _ledger_rows(ws, "SELECT COUNT(*) FROM payouts WHERE parent_id IS NOT NULL") == [(2,)]
    assert len(vnpost.paid()) == 2
