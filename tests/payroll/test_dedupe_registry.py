"""De-duplication cases and the population-register checks."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from asxh_pay.payroll.dedupe import dedupe
from asxh_pay.payroll.lists import ListDefaults, import_lists
from asxh_pay.payroll.registry import (
    PersonRecord,
    SandboxPopulationRegistry,
    is_rotation,
    names_match,
    verify_rows,
)
from asxh_pay.status import FailureReason
from tests.payroll.conftest import PEOPLE, row, seed, write_list

D = ListDefaults(period="2026-11")


def _rows(tmp_path: Path, *lists: list[list[object]]) -> list:  # type: ignore[type-arg]
    files = [write_list(tmp_path / f"l{i}.csv", rows) for i, rows in enumerate(lists)]
    result = import_lists(files, D)
    assert result.rejected == []
    return result.rows


def test_same_row_twice_in_one_list_is_one_payout_and_a_warning(tmp_path: Path) -> None:
    res = dedupe(_rows(tmp_path, [row(0), row(0), row(1)]))
    assert [r.request.beneficiary.cccd for r in res.unique] == [PEOPLE[0][1], PEOPLE[1][1]]
    assert len(res.duplicates) == 1 and "same list" in res.duplicates[0].reason
    assert res.held == []


def test_same_beneficiary_in_two_lists_is_one_payout(tmp_path: Path) -> None:
    ascii_name = row(0, **{"Họ và tên": "NGUYEN VAN AN"})  # the other list has no diacritics
    res = dedupe(_rows(tmp_path, [row(0)], [ascii_name]))
    assert len(res.unique) == 1 and res.unique[0].file == "l0.csv"
    assert "another list" in res.duplicates[0].reason


def test_other_programme_or_period_is_not_a_duplicate(tmp_path: Path) -> None:
    rows = _rows(tmp_path, [row(0), row(0, **{"Chương trình": "BTXH"})])
    assert len(dedupe(rows).unique) == 2


def test_different_amounts_hold_both_rows(tmp_path: Path) -> None:
    res = dedupe(_rows(tmp_path, [row(0), row(1)], [row(0, **{"Số tiền": "2.000.000"})]))
    assert [r.request.beneficiary.cccd for r in res.unique] == [PEOPLE[1][1]]
    assert [h.row.where for h in res.held] == ["l0.csv:4", "l1.csv:4"]
    assert all(h.code == "duplicate_conflict" and "different amounts" in h.reason for h in res.held)


def test_different_accounts_hold_both_rows(tmp_path: Path) -> None:
    res = dedupe(_rows(tmp_path, [row(0), row(0, **{"Số tài khoản": "0071999999999"})]))
    assert res.unique == [] and len(res.held) == 2
    assert "different accounts" in res.held[0].reason


def test_beneficiary_who_receives_for_others_is_allowed_and_shown(tmp_path: Path) -> None:
    carer = PEOPLE[1]
    rows = _rows(
        tmp_path,
        [
            row(1),
            row(
                0,
                **{
                    "Người nhận thay": carer[0],
                    "CCCD người nhận thay": carer[1],
                    "Quan hệ": "con",
                    "Giấy ủy quyền": "UQ-1",
                },
            ),
            row(
                2,
                **{
                    "Người nhận thay": carer[0],
                    "CCCD người nhận thay": carer[1],
                    "Quan hệ": "con",
                    "Giấy ủy quyền": "UQ-2",
                },
            ),
        ],
    )
    res = dedupe(rows)
    assert len(res.unique) == 3 and res.held == []
    assert len(res.roles) == 1 and res.roles[0].cccd == carer[1]
    assert res.roles[0].receives_for == ("l0.csv:5", "l0.csv:6")


# --------------------------------------------------------------------------- names


def test_name_rule() -> None:
    assert names_match("Nguyễn Văn An", "NGUYEN VAN AN")[0]
    assert names_match("Nguyễn Văn An", "nguyễn  văn  an")[0]
    assert names_match("Nguyễn Văn An", "VAN AN NGUYEN", birth_date_confirmed=True)[0]  # rotation
    assert not names_match("Nguyễn Văn An", "VAN AN NGUYEN", birth_date_confirmed=False)[0]
    assert not names_match("Nguyễn Văn An", "Nguyễn An Văn")[0]  # not a rotation: held
    assert not names_match("Nguyễn Văn An", "Nguyễn Văn Anh")[0]  # near
    assert not names_match("Nguyễn Văn An", "Trần Thị Bình")[0]
    assert is_rotation("Lê Thị Hoa", "THI HOA LE") and is_rotation("Lê Thị Hoa", "Hoa Lê Thị")


# --------------------------------------------------------------------------- register


def _registry(changes: dict[str, PersonRecord | None]) -> SandboxPopulationRegistry:
    reg = SandboxPopulationRegistry(":memory:")
    seed(reg)
    for cccd, rec in changes.items():
        if rec is None:
            reg._db.execute("DELETE FROM people WHERE cccd=?", (cccd,))
        else:
            reg.add([rec])
    return reg


def _verify(tmp_path: Path, rows: list[list[object]], reg: SandboxPopulationRegistry) -> tuple[list, list]:  # type: ignore[type-arg]
    return asyncio.run(verify_rows(_rows(tmp_path, rows), reg))


def test_register_accepts_matching_people(tmp_path: Path) -> None:
    ok, held = _verify(tmp_path, [row(0), row(1)], _registry({}))
    assert len(ok) == 2 and held == []


def test_register_mismatches_hold_with_reason(tmp_path: Path) -> None:
    _, c, b = PEOPLE[0]
    reg = _registry(
        {
            PEOPLE[0][1]: PersonRecord(c, "Nguyễn Văn Anh", b),  # near: held
            PEOPLE[1][1]: None,  # not in the register
            PEOPLE[2][1]: PersonRecord(PEOPLE[2][1], PEOPLE[2][0], PEOPLE[2][2], died_on=date(2026, 10, 1)),
            PEOPLE[3][1]: PersonRecord(PEOPLE[3][1], PEOPLE[3][0], date(1960, 8, 4)),  # other birth date
            PEOPLE[4][1]: PersonRecord(
                PEOPLE[4][1], "VAN EM HOANG", PEOPLE[4][2]
            ),  # rotation + same DOB: fine
            PEOPLE[5][1]: PersonRecord(
                PEOPLE[5][1], "Đỗ Phương Thị", PEOPLE[5][2]
            ),  # reordered, not rotation
        }
    )
    ok, held = _verify(tmp_path, [row(i) for i in range(6)], reg)
    assert [r.request.beneficiary.cccd for r in ok] == [PEOPLE[4][1]]
    codes = {h.row.request.beneficiary.cccd: h.code for h in held}
    assert codes == {
        PEOPLE[0][1]: "beneficiary_name_mismatch",
        PEOPLE[1][1]: "beneficiary_not_found",
        PEOPLE[2][1]: "beneficiary_deceased",
        PEOPLE[3][1]: "beneficiary_birth_date_mismatch",
        PEOPLE[5][1]: "beneficiary_name_mismatch",
    }
    deceased = next(h for h in held if h.code == "beneficiary_deceased")
    assert deceased.reason.startswith(FailureReason.BENEFICIARY_DECEASED.value)


def test_recipient_checks(tmp_path: Path) -> None:
    carer = PEOPLE[7]
    base = {
        "Người nhận thay": carer[0],
        "CCCD người nhận thay": carer[1],
        "Quan hệ": "con",
        "Giấy ủy quyền": "UQ",
    }
    reg = _registry({carer[1]: PersonRecord(carer[1], carer[0], carer[2], died_on=date(2026, 9, 1))})
    ok, held = _verify(tmp_path, [row(0, **base)], reg)
    assert ok == [] and held[0].code == "recipient_deceased"
    ok, held = _verify(tmp_path, [row(0, **{**base, "Người nhận thay": "Bùi Thị Hồng"})], _registry({}))
    assert held[0].code == "recipient_name_mismatch"


def test_entitlement_stop_and_check_batch() -> None:
    reg = _registry({})
    reg.mark_dead(PEOPLE[0][1], date(2026, 11, 2))
    reg.stop_entitlement(PEOPLE[1][1], "NCC", "moved away")
    stops = asyncio.run(reg.check_batch([p[1] for p in PEOPLE] + ["001099999999"]))
    assert stops[PEOPLE[0][1]][0].reason is FailureReason.BENEFICIARY_DECEASED
    assert stops[PEOPLE[1][1]][0].applies_to("NCC") and not stops[PEOPLE[1][1]][0].applies_to("BTXH")
    assert stops["001099999999"][0].reason is FailureReason.IDENTITY_CHECK_FAILED
    assert set(stops) == {PEOPLE[0][1], PEOPLE[1][1], "001099999999"}


def test_spilled_dedupe_decides_as_the_in_memory_one(tmp_path: Path) -> None:
    """Issue 14.6: big lists are de-duplicated from a temp file, by the same rules."""
    from asxh_pay.payroll.dedupe import dedupe_spilled
    from asxh_pay.payroll.lists import SpilledImport

    carer = PEOPLE[1]
    receives = {
        "Người nhận thay": carer[0],
        "CCCD người nhận thay": carer[1],
        "Quan hệ": "con",
        "Giấy ủy quyền": "UQ-1",
    }
    lists = [
        [row(3), row(0), row(1), row(0), row(2, **{"Số tiền": "2.000.000"}), row(4, **receives)],
        [row(2), row(0, **{"Họ và tên": "NGUYEN VAN AN"}), row(5), row(1)],
    ]
    files = [write_list(tmp_path / f"l{i}.csv", rows) for i, rows in enumerate(lists)]
    expected = dedupe(import_lists(files, D).rows)

    def summary(res: object) -> tuple[object, ...]:
        return (
            [r.where for r in res.unique],  # type: ignore[attr-defined]
            [(d.kept.where, d.dropped.where, d.reason) for d in res.duplicates],  # type: ignore[attr-defined]
            [(h.row.where, h.code, h.reason) for h in res.held],  # type: ignore[attr-defined]
            [(n.cccd, n.own_rows, n.receives_for) for n in res.roles],  # type: ignore[attr-defined]
        )

    with SpilledImport(tmp_path / "spill") as spill:
        spill.add_all(files, D)
        assert spill.row_count == 10 and not spill.rejected
        got = dedupe_spilled(spill)
        assert summary(got) == summary(expected)
        assert len(expected.unique) == 5 and expected.duplicates and expected.held and expected.roles
        assert len(got.unique) == 5 and got.unique[-1].where == expected.unique[-1].where
        assert [r.request for r in got.unique] == [r.request for r in expected.unique]
    assert list((tmp_path / "spill").iterdir()) == []  # the temp file is gone
