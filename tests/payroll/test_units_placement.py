"""Lists in pre-2025 codes are mapped to 2025 communes; split communes are held; the paying
unit is a commune or a province; programmes come from data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from asxh_pay import units
from asxh_pay.payroll.approval import read_payouts
from asxh_pay.payroll.prepare import PrepareError
from asxh_pay.programmes import load_programmes, programmes_of_run
from tests.payroll.conftest import HEADERS, Workspace, row, write_list

OLD_HEADERS = [*HEADERS, "Mã huyện"]


def _old_row(
    i: int, commune: str, district: str = "001", method: str = "Tài khoản ngân hàng"
) -> list[object]:
    return [*row(i, method, **{"Mã xã": commune}), district]


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _communes(prep: object) -> dict[str, tuple[str | None, str | None]]:
    out = {}
    for p in read_payouts(prep.dir / "payouts.jsonl"):  # type: ignore[attr-defined]
        b = p.request.beneficiary
        out[b.cccd] = (b.commune_code, b.province_code)
    return out


def test_old_coded_list_is_mapped_split_held_wrong_rejected(ws: Workspace) -> None:
    lst = write_list(
        ws.data_dir.parent / "ba-dinh-cu.csv",
        [
            _old_row(0, "00013"),  # Phường Quán Thánh (Ba Đình) -> Phường Ba Đình 00004
            _old_row(1, "00001"),  # Phường Phúc Xá -> Phường Hồng Hà 00097
            _old_row(2, "00025"),  # Phường Ngọc Khánh: split over three 2025 wards -> held
            _old_row(3, "00013", district="002"),  # Quán Thánh was not in Hoàn Kiếm -> rejected
            _old_row(4, "99999"),  # no such unit -> rejected
            _old_row(5, "00013", method="Nhận tại điểm chi trả"),  # cash point was the old commune
        ],
        headers=OLD_HEADERS,
    )
    prep = ws.prepare([lst], verify_accounts=False, unit=units.paying_unit(province_code="01"))
    got = _communes(prep)
    assert got["001080000001"] == ("00004", "01")
    assert got["001175000002"] == ("00097", "01")
    assert "001050000003" not in got and "001160000004" not in got and "001045000005" not in got
    cash = next(
        p for p in read_payouts(prep.dir / "payouts.jsonl") if p.request.beneficiary.cccd == "001190000006"
    )
    assert cash.request.destination.payment_point == "00004"  # type: ignore[union-attr]
    bank = next(
        p for p in read_payouts(prep.dir / "payouts.jsonl") if p.request.beneficiary.cccd == "001080000001"
    )
    assert bank.request.cash_fallback is not None and bank.request.cash_fallback.payment_point == "00004"
    # The split commune is held for a person, with the candidates named.
    held = _csv(prep.dir / "held.csv")
    split = [h for h in held if h["Mã lỗi"] == "unit_split"]
    assert (
        len(split) == 1 and "Ngọc Khánh" in split[0]["Chi tiết"]
    )  # the reason in words, the candidates in the detail
    assert "Phường Giảng Võ (00025)" in split[0]["Chi tiết"]
    assert "cán bộ cần xác định đối tượng đang sống ở xã, phường mới nào" in split[0]["Chi tiết"]
    # The same detail in English with lang="en" (the checker's words as they always were).
    prep_en = ws.prepare(
        [lst], verify_accounts=False, unit=units.paying_unit(province_code="01"), lang="en", run_id="en"
    )
    split_en = [h for h in _csv(prep_en.dir / "held.csv") if h["Code"] == "unit_split"]
    assert split_en[0]["Detail"].startswith("unit_split: old commune Phường Ngọc Khánh (00025, Quận Ba Đình)")
    assert "Phường Giảng Võ (00025)" in split_en[0]["Detail"] and "a person must say" in split_en[0]["Detail"]
    rejected = {r["Mã lỗi"] for r in _csv(prep.dir / "rejected.csv")}
    assert {"unit_district_mismatch", "unit_unknown"} <= rejected
    # The preparation report shows the mapping.
    mapping = _csv(prep.dir / "unit-mapping.csv")
    line = next(
        m for m in mapping if m["Mã đơn vị trong danh sách"] == "001/00013" and m["Chuyển đổi"] == "mapped"
    )
    assert line["Mã xã mới"] == "00004" and line["Tên xã mới"] == "Phường Ba Đình" and line["Số dòng"] == "2"
    assert line["Lý do"] == "Phường Quán Thánh cũ (mã 00013, Quận Ba Đình) nay là Phường Ba Đình (00004)"
    assert prep.manifest["units"]["old_coded_files"] == ["ba-dinh-cu.csv"]
    assert prep.manifest["units"]["rows_by_mapping"]["split"] == 1
    assert "vietnamadminunits" in prep.manifest["units"]["conversion"]["conversion"]


def test_same_code_in_a_2025_list_is_the_2025_commune(ws: Workspace) -> None:
    # 00025 is old Phường Ngọc Khánh (split) but also today's Phường Giảng Võ: a list without a
    # district column and with only 2025 codes is read as 2025.
    lst = write_list(ws.data_dir.parent / "giang-vo.csv", [row(0, **{"Mã xã": "00025"})])
    prep = ws.prepare([lst], verify_accounts=False)
    assert _communes(prep)["001080000001"] == ("00025", "01")
    assert prep.manifest["paying_unit"]["code"] == "00025"  # one commune in the lists: its run
    assert prep.manifest["units"]["paying_unit_inferred"] is True
    # The operator can say the lists are in old codes: then 00025 is the split Ngọc Khánh.
    prep2 = ws.prepare([lst], verify_accounts=False, codes="pre2025", run_id="old-codes")
    assert prep2.manifest["counts"]["payouts"] == 0 and prep2.manifest["held_by_code"] == {"unit_split": 1}


def test_list_without_district_column_but_old_only_codes_is_mapped(ws: Workspace) -> None:
    lst = write_list(
        ws.data_dir.parent / "x.csv", [row(0, **{"Mã xã": "00013"}), row(1, **{"Mã xã": "00004"})]
    )
    prep = ws.prepare([lst], verify_accounts=False)
    got = _communes(prep)
    assert got["001080000001"] == ("00004", "01")  # Quán Thánh (old only) -> Ba Đình
    assert got["001175000002"] == ("00004", "01")  # old Trúc Bạch 00004 -> Ba Đình 00004
    assert prep.manifest["units"]["rows_by_mapping"] == {"mapped": 2}


def test_old_coded_list_without_commune_column_is_the_paying_communes(ws: Workspace) -> None:
    headers = [h for h in OLD_HEADERS if h != "Mã xã"]
    rows = [[v for h, v in zip(OLD_HEADERS, _old_row(0, ""), strict=True) if h != "Mã xã"]]
    lst = write_list(ws.data_dir.parent / "x.csv", rows, headers=headers)
    # 00097 is today's Phường Hồng Hà; as an old code it was Tứ Liên (Tây Hồ), split.
    prep = ws.prepare([lst], verify_accounts=False, unit=units.paying_unit(commune_code="00097"))
    assert _communes(prep)["001080000001"] == ("00097", "01")


def test_rows_outside_the_paying_unit_are_rejected(ws: Workspace) -> None:
    lst = write_list(
        ws.data_dir.parent / "x.csv",
        [row(0, **{"Mã xã": "00004"}), row(1, **{"Mã xã": "00097"}), row(2, **{"Mã xã": "02215"})],
    )
    prep = ws.prepare([lst], verify_accounts=False, unit=units.paying_unit(commune_code="00004"))
    assert set(_communes(prep)) == {"001080000001"}
    outside = [r for r in _csv(prep.dir / "rejected.csv") if r["Mã lỗi"] == "unit_outside"]
    assert len(outside) == 2 and "Phường Ba Đình (00004)" in outside[0]["Chi tiết"]
    assert prep.manifest["paying_unit"] == {
        "level": "commune",
        "code": "00004",
        "name": "Phường Ba Đình",
        "province_code": "01",
        "province_name": "Thành phố Hà Nội",
    }


def test_three_programmes_out_of_the_box_with_their_agencies() -> None:
    progs = load_programmes()
    assert progs.codes() == ["BTXH", "HTXH", "NCC"]
    assert progs.agency("NCC") == "Sở Nội vụ" and progs.agency("BTXH") == "Sở Y tế"
    assert (
        progs.agency("HTXH") == "Sở Y tế" and progs.agency("HTXH", "en") == "Provincial Department of Health"
    )
    assert progs.resolve("Trợ cấp hưu trí xã hội") == "HTXH" and progs.resolve("người có công") == "NCC"


def test_social_pension_list_is_paid_and_reported_with_its_agency(ws: Workspace) -> None:
    lst = write_list(
        ws.data_dir.parent / "x.csv", [row(0, **{"Chương trình": "Hưu trí xã hội", "Số tiền": "500.000"})]
    )
    prep = ws.prepare([lst], verify_accounts=False)
    assert prep.manifest["totals"]["programme"] == {"HTXH": {"count": 1, "amount": 500_000}}
    assert prep.manifest["programmes"]["HTXH"]["agency"] == "Sở Y tế"


def test_a_programme_is_added_by_data_without_code(ws: Workspace) -> None:
    lst = write_list(
        ws.data_dir.parent / "x.csv",
        [row(0, **{"Chương trình": "Trợ cấp trẻ mồ côi"}), row(1, **{"Chương trình": "TCMC"})],
    )
    with pytest.raises(PrepareError, match="every row was rejected") as exc:
        ws.prepare([lst], verify_accounts=False, run_id="before")
    assert "programme_unknown" in {code for code, _, _ in exc.value.top_reasons}
    (ws.data_dir / "programmes.json").write_text(
        json.dumps(
            {
                "programmes": [
                    {
                        "code": "TCMC",
                        "name_vi": "Trợ cấp trẻ mồ côi",
                        "agency_vi": "Sở Y tế",
                        "aliases": ["tre mo coi"],
                    }
                ]
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    after = ws.prepare([lst], verify_accounts=False, run_id="after")
    assert after.manifest["totals"]["programme"]["TCMC"]["count"] == 2
    assert after.manifest["programmes"]["TCMC"]["agency"] == "Sở Y tế"
    assert programmes_of_run(after.manifest).agency("TCMC") == "Sở Y tế"  # the reports name it
    assert programmes_of_run(after.manifest).agency("NCC", "en") == "Provincial Department of Home Affairs"
