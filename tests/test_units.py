"""Administrative units since the 2025 reform, and the map from pre-2025 codes."""

from __future__ import annotations

import pytest

from asxh_pay import identity, units


def test_two_tiers_34_provinces_3321_communes_from_the_package() -> None:
    assert len(units.provinces()) == 34
    assert sum(len(units.communes_in(p.code)) for p in units.provinces()) == 3321
    assert units.province("08") == units.Unit("08", "Tuyên Quang", "province", "08")
    assert units.unit_name("02215") == "Phường Minh Xuân"
    assert units.province("02") is None  # Hà Giang merged into Tuyên Quang
    assert "vietnam-provinces 2025" in units.data_version() or "vietnam-provinces 20" in units.data_version()


def test_paying_unit_commune_or_province() -> None:
    c = units.paying_unit(commune_code="02215")
    assert (c.level, c.code, c.province_code, c.province_name) == ("commune", "02215", "08", "Tuyên Quang")
    assert c.covers("02215") and not c.covers("02212")
    p = units.paying_unit(province_code="8")
    assert (p.level, p.code) == ("province", "08")
    assert p.covers("02212") and not p.covers("00004")
    assert units.paying_unit(commune_code="02215", province_code="08") == c


def test_paying_unit_refuses_unknown_old_and_inconsistent_codes() -> None:
    with pytest.raises(units.UnitError, match="pre-2025 code of Xã Kim Phú") as exc:
        units.paying_unit(commune_code="02497")
    assert exc.value.code == "unit_unknown"
    with pytest.raises(units.UnitError, match="pre-2025 code of Tỉnh Hà Giang, now province 08"):
        units.paying_unit(province_code="02")
    with pytest.raises(units.UnitError, match="not in province 01") as exc:
        units.paying_unit(commune_code="02215", province_code="01")
    assert exc.value.code == "unit_mismatch"
    with pytest.raises(units.UnitError, match="--commune CODE or --province CODE"):
        units.paying_unit()


def test_old_commune_with_one_successor_is_mapped() -> None:
    m = units.map_old("00013", "001")  # Phường Quán Thánh, Quận Ba Đình -> Phường Ba Đình
    assert m.status == "mapped" and m.new_code == "00004"
    assert "Quán Thánh" in m.reason() and "Phường Ba Đình (00004)" in m.reason()


def test_old_code_that_is_also_a_new_code_maps_to_its_successor_not_to_itself() -> None:
    # Hà Nội: old Phường Ngọc Khánh (00025) was split; 00025 is now Phường Giảng Võ's code.
    m = units.map_old("00025", "001")
    assert m.status == "split" and m.new_code is None
    assert units.unit_name("00025") == "Phường Giảng Võ"
    # Old Phường Liễu Giai (00008) went to Phường Ngọc Hà, which kept the code 00008.
    assert units.map_old("00008").new_code == "00008"


def test_official_codes_even_where_the_package_carries_draft_ones() -> None:
    # vietnam-provinces 2025.x has Cửa Nam as 73 and gives 226 to Kim Liên; the official
    # codes (its 2026 releases, the conversion data) are 82 and 226 for Văn Miếu - Quốc Tử Giám.
    assert units.unit_name("00082") == "Phường Cửa Nam"
    assert units.unit_name("00226") == "Phường Văn Miếu - Quốc Tử Giám"
    assert units.commune("00073") is None
    # Every successor in the conversion table is a commune of the 2025 structure.
    conv = units._conversion()
    successors = {s for _, _, succ in conv["communes"].values() for s in succ}
    assert len(successors) > 3000 and all(units.commune(s) is not None for s in successors)


def test_split_commune_is_ambiguous_and_never_guessed() -> None:
    m = units.map_old("02497", "070")  # Xã Kim Phú: split between Minh Xuân and Mỹ Lâm
    assert m.status == "split" and m.new_code is None
    assert m.old is not None and set(m.old.successors) == {"02215", "02509"}
    assert "a person must say" in m.reason()


def test_district_mismatch_and_unknown_codes() -> None:
    assert units.map_old("00013", "002").status == "district_mismatch"
    assert "Quận Ba Đình (001)" in units.map_old("00013", "002").reason()
    assert units.map_old("99999").status == "unknown"


def test_conversion_names_its_provenance() -> None:
    prov = units.conversion_provenance()
    assert "vietnamadminunits" in prov["conversion"] and "vietnam-provinces" in prov["codes"]
    assert prov["built_by"] == "tools/build_unit_conversion.py"


def test_cccd_birth_provinces_stay_the_63_old_codes() -> None:
    # 002 (Hà Giang) no longer exists as a province, but it is printed on cards: still valid.
    info = identity.parse_cccd("002080000001")
    assert info.province_code == "002"
