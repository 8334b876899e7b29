"""Tests for asxh_pay.identity and asxh_pay.banks."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asxh_pay.banks import BANKS, Bank, bank_by_bin, normalize_account_number, resolve_bank
from asxh_pay.errors import ValidationError
from asxh_pay.identity import (
    PROVINCES,
    CccdInfo,
    NameMatch,
    ascii_text,
    bank_holder_name,
    carrier_of,
    check_cccd_birth_date,
    fold,
    match_names,
    narrative,
    normalize_cccd,
    normalize_name,
    normalize_phone,
    parse_cccd,
)

# The reference facts live next to the main checkout; ASXH_SHARED_DATA overrides (e.g. from a worktree).
SHARED_DATA = Path(os.environ.get("ASXH_SHARED_DATA") or Path(__file__).parents[1].parent / "shared" / "data")
TODAY = date(2025, 6, 1)


def code_of(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return exc.value.code


# --------------------------------------------------------------------------- CCCD


@pytest.mark.parametrize(
    ("value", "province", "gender", "century", "year"),
    [
        ("001203012345", "Hà Nội", "male", 2000, 2003),
        ("079185000001", "TP. Hồ Chí Minh", "female", 1900, 1985),
        ("038060123456", "Thanh Hóa", "male", 1900, 1960),
        ("096312000000", "Cà Mau", "female", 2000, 2012),
        ("004 199 876 543", "Cao Bằng", "female", 1900, 1999),
        ("066000000000", "Đắk Lắk", "male", 1900, 1900),
    ],
)
def test_parse_cccd_valid(value: str, province: str, gender: str, century: int, year: int) -> None:
    info = parse_cccd(value, today=TODAY)
    assert info == CccdInfo(value.replace(" ", "")[:3], province, gender, century, year)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("g", "century", "gender"),
    [
        ("4", 2100, "male"),
        ("5", 2100, "female"),
        ("6", 2200, "male"),
        ("7", 2200, "female"),
        ("8", 2300, "male"),
        ("9", 2300, "female"),
    ],
)
def test_parse_cccd_future_centuries(g: str, century: int, gender: str) -> None:
    value = f"001{g}05123456"
    info = parse_cccd(value, today=date(2399, 12, 31))
    assert (info.birth_year_min, info.birth_year, info.gender) == (century, century + 5, gender)
    with pytest.raises(ValidationError) as exc:
        parse_cccd(value, today=TODAY)
    assert code_of(exc) == "cccd_birth_year"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "cccd_not_digits"),
        ("00120301234", "cccd_length"),
        ("0012030123456", "cccd_length"),
        ("1234567", "cccd_length"),
        ("00120301234a", "cccd_not_digits"),
        ("001.203.012.345", "cccd_not_digits"),
        ("001-203-012-345", "cccd_not_digits"),
        ("００１２０３０１２３４５", "cccd_not_digits"),  # full-width digits
        ("١٢٣٤٥٦٧٨٩٠١٢", "cccd_not_digits"),  # Arabic-Indic digits
        ("123456789", "cccd_is_cmnd"),
        ("123 456 789", "cccd_is_cmnd"),
        ("003203012345", "cccd_province"),
        ("000203012345", "cccd_province"),
        ("097203012345", "cccd_province"),
        ("001230012345", "cccd_birth_year"),  # 2030
        ("001299012345", "cccd_birth_year"),
    ],
)
def test_parse_cccd_invalid(value: str, code: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_cccd(value, today=TODAY)
    assert code_of(exc) == code
    assert exc.value.field == "cccd"
    digits = value.replace(" ", "")
    if len(digits) >= 6:
        assert digits not in str(exc.value)


def test_cmnd_message_says_replace() -> None:
    with pytest.raises(ValidationError) as exc:
        normalize_cccd("012345678")
    assert "12-digit CCCD" in str(exc.value) and "9-digit" in str(exc.value)


def test_normalize_cccd_rejects_int() -> None:
    with pytest.raises(ValidationError) as exc:
        normalize_cccd(1203012345)  # type: ignore[arg-type]
    assert code_of(exc) == "cccd_not_digits"


def test_normalize_cccd_strips_spaces() -> None:
    assert normalize_cccd("  001 203 012 345 ") == "001203012345"


def test_cccd_repr_hides_personal_fields() -> None:
    text = repr(parse_cccd("001203012345", today=TODAY))
    assert "2003" not in text and "male" not in text


def test_birth_date_consistent() -> None:
    check_cccd_birth_date("001203012345", date(2003, 2, 28))
    check_cccd_birth_date("079185000001", date(1985, 12, 31))


@pytest.mark.parametrize(
    ("cccd", "birth"),
    [
        ("001203012345", date(2004, 1, 1)),  # year
        ("001203012345", date(1903, 1, 1)),  # century
        ("079185000001", date(2085, 1, 1)),  # century
        ("079185000001", date(1958, 1, 1)),  # digits swapped
    ],
)
def test_birth_date_mismatch(cccd: str, birth: date) -> None:
    with pytest.raises(ValidationError) as exc:
        check_cccd_birth_date(cccd, birth)
    assert code_of(exc) == "cccd_birth_mismatch"


def test_birth_date_check_still_validates_cccd() -> None:
    with pytest.raises(ValidationError) as exc:
        check_cccd_birth_date("003203012345", date(2003, 1, 1))
    assert code_of(exc) == "cccd_province"


def test_provinces_table() -> None:
    assert len(PROVINCES) == 63
    assert PROVINCES["001"] == "Hà Nội" and PROVINCES["096"] == "Cà Mau"
    assert all(len(k) == 3 and k.isdigit() for k in PROVINCES)
    with pytest.raises(TypeError):
        PROVINCES["999"] = "x"  # type: ignore[index]


# --------------------------------------------------------------------------- Phones

# Carrier names as phonenumbers' carrier data gives them (issue 17.6: the ranges and names
# come from that maintained package, not from a table here).
CARRIER_PREFIXES = {
    "Viettel": ["086", "096", "097", "098", "032", "033", "034", "035", "036", "037", "038", "039"],
    "Vinaphone": ["088", "091", "094", "081", "082", "083", "084", "085"],
    "MobiFone": ["0896", "090", "093", "070", "076", "077", "078", "079"],
    "Vietnamobile": ["092", "056", "058"],
    "G-Mobile": ["0993", "059"],
    "Indochina Telecom": ["087"],
    "Reddi": ["0559"],
}
ALL_PREFIXES = [(c, p) for c, ps in CARRIER_PREFIXES.items() for p in ps]


@pytest.mark.parametrize(("carrier", "prefix"), ALL_PREFIXES)
def test_every_carrier_prefix(carrier: str, prefix: str) -> None:
    local = (prefix + "1234567")[:10]
    expected = "84" + local[1:]
    assert normalize_phone(local) == expected
    assert carrier_of(local) == carrier
    assert carrier_of(expected) == carrier


# Where phonenumbers (libphonenumber's VN metadata, number type MOBILE) and the table this
# module had until issue 17.6 disagree. The package decides: its ranges follow the numbering
# allocations and are updated with every release; the table was typed once. Each line says
# which way it went and why.
PREFIX_DISAGREEMENTS = [
    # Mobile in phonenumbers, refused by the old table: now accepted.
    ("0301234567", "84301234567", "libphonenumber: 03x is wholly mobile; 030 is MobiFone's"),
    ("0311234567", "84311234567", "libphonenumber: 031 is in Viettel's 03x block"),
    ("0511234567", "84511234567", "libphonenumber: 051 mobile (MobiFone)"),
    ("0522234567", "84522234567", "libphonenumber: 0522/0523/0528 mobile (Vietnamobile)"),
    ("0952345678", "84952345678", "libphonenumber: 095 mobile (ex S-Fone range; no carrier named)"),
    ("0121012345", "84121012345", "libphonenumber: 0121[0-3] mobile (MobiFone)"),
    ("0160123456", "84160123456", "libphonenumber: 0160 mobile (Viettel)"),
    # Accepted by the old table, not mobile in phonenumbers: now refused (phone_prefix).
    ("0551234567", None, "libphonenumber: of 055 only 0559 is allocated (Reddi)"),
    ("0891234567", None, "libphonenumber: of 089 only 0896-0899 are allocated (MobiFone)"),
    ("0992345678", None, "libphonenumber: 0992 is not allocated (099 is G-Mobile's otherwise)"),
]


@pytest.mark.parametrize(
    ("value", "expected", "source"), PREFIX_DISAGREEMENTS, ids=[v for v, _, _ in PREFIX_DISAGREEMENTS]
)
def test_prefixes_where_phonenumbers_and_the_old_table_disagree(
    value: str, expected: str | None, source: str
) -> None:
    if expected is None:
        with pytest.raises(ValidationError) as exc:
            normalize_phone(value)
        assert code_of(exc) == "phone_prefix", source
    else:
        assert normalize_phone(value) == expected, source


def test_itel_carrier_name_is_its_operators_not_the_host_networks() -> None:
    # 087 was allocated to Indochina Telecom (Đông Dương Telecom) for Itel, an MVNO on
    # VinaPhone's network: phonenumbers' carrier data names the whole 848 block Vinaphone.
    assert carrier_of("0871234567") == "Indochina Telecom"
    assert carrier_of("0952345678") == "unknown"  # a mobile range with no carrier named


@pytest.mark.parametrize(
    "value",
    [
        "0912345678",
        "84912345678",
        "+84912345678",
        "+84 912 345 678",
        "0912.345.678",
        "0912-345-678",
        " 091 234 5678 ",
        "+84 0912 345 678",
        "840912345678",
    ],
)
def test_phone_forms(value: str) -> None:
    assert normalize_phone(value) == "84912345678"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "phone_format"),
        ("912345678", "phone_format"),  # leading zero lost by Excel
        ("09123456789", "phone_format"),
        ("091234567", "phone_format"),
        ("+1 912 345 678", "phone_format"),
        ("0912 345 67a", "phone_format"),
        ("0084912345678", "phone_format"),
        ("(091) 234 5678", "phone_format"),
        ("02438234567", "phone_format"),  # 11-digit landline
        ("0243823456", "phone_prefix"),  # landline-like 10 digits
        ("0112345678", "phone_prefix"),
        ("0802345678", "phone_prefix"),
        ("0182345678", "phone_prefix"),  # a toll-free range, not a mobile
        ("84112345678", "phone_prefix"),
    ],
)
def test_phone_invalid(value: str, code: str) -> None:
    with pytest.raises(ValidationError) as exc:
        normalize_phone(value)
    assert code_of(exc) == code


def test_phone_int_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        normalize_phone(912345678)  # type: ignore[arg-type]
    assert code_of(exc) == "phone_format"


# --------------------------------------------------------------------------- Names


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  Nguyễn   Văn  An ", "Nguyễn Văn An"),
        ("Nguye\u0302\u0303n Va\u0306n An", "Nguyễn Văn An"),  # NFD input
        ("Trần Thị\tBích-Ngọc", "Trần Thị Bích-Ngọc"),
        ("H\u2019Hen Niê", "H'Hen Niê"),
        ("Đặng Đ. Đức", "Đặng Đ. Đức"),
    ],
)
def test_normalize_name_valid(value: str, expected: str) -> None:
    assert normalize_name(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "   ", "Nguyễn Văn 2", "Nguyen_Van_An", "An@home", "Lê, Văn", "---", "A" * 101, "Nguyễn 😀"],
)
def test_normalize_name_invalid(value: str) -> None:
    with pytest.raises(ValidationError) as exc:
        normalize_name(value)
    assert code_of(exc) == "name_invalid"


def test_normalize_name_max_length_ok() -> None:
    assert normalize_name("A" * 100) == "A" * 100


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Nguyễn Văn An", "nguyen van an"),
        ("ĐẶNG  đình   ĐỨC", "dang dinh duc"),
        ("Nguye\u0302\u0303n", "nguyen"),
        ("Phạm Thị Ưng Ơn", "pham thi ung on"),
    ],
)
def test_fold(value: str, expected: str) -> None:
    assert fold(value) == expected


@given(st.text())
def test_fold_idempotent(value: str) -> None:
    assert fold(fold(value)) == fold(value)


@pytest.mark.parametrize(
    ("expected", "actual", "result"),
    [
        ("Nguyễn Văn An", "Nguyễn Văn An", NameMatch.EXACT),
        ("Nguyễn Văn An", "Nguye\u0302\u0303n  Va\u0306n An ", NameMatch.EXACT),
        ("Nguyễn Văn An", "NGUYEN VAN AN", NameMatch.FOLDED),
        ("Nguyễn Văn An", "nguyễn văn an", NameMatch.FOLDED),
        ("Đỗ Thị Đào", "DO THI DAO", NameMatch.FOLDED),
        ("Đỗ Thị Đào", "Dỗ Thị Dào", NameMatch.FOLDED),
        ("Nguyễn Văn An", "An Nguyễn Văn", NameMatch.REORDERED),
        ("Nguyễn Văn An", "Văn Nguyễn An", NameMatch.REORDERED),
        ("Nguyễn Văn An", "Nguyễn Văn Anh", NameMatch.NEAR),
        ("Nguyễn Văn An", "Nguyen Van Ah", NameMatch.NEAR),
        ("Nguyễn Thị Minh Khai", "Nguyen Thi Mihn Khai", NameMatch.NEAR),  # 2 edits, 20 chars
        ("Nguyễn Văn An", "Nguyễn Văn Bình", NameMatch.MISMATCH),
        ("Nguyễn Văn An", "Trần Thị Hoa", NameMatch.MISMATCH),
        ("Nguyễn Văn An", "Nguyễn An", NameMatch.MISMATCH),  # a word missing: not NEAR
        ("Nguyễn Văn An", "Nguyễn VănAn", NameMatch.MISMATCH),  # distance 1 but word count differs
        ("Lê An", "Lê Anh Tú", NameMatch.MISMATCH),
        ("", "", NameMatch.MISMATCH),
        ("Nguyễn Văn An", "   ", NameMatch.MISMATCH),
    ],
)
def test_match_names(expected: str, actual: str, result: NameMatch) -> None:
    assert match_names(expected, actual) is result


def test_name_match_acceptance() -> None:
    assert NameMatch.EXACT.is_accepted and NameMatch.FOLDED.is_accepted
    assert not NameMatch.REORDERED.is_accepted
    assert not NameMatch.NEAR.is_accepted
    assert not NameMatch.MISMATCH.is_accepted


# --------------------------------------------------------------------------- Bank texts


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Chi trả trợ cấp tháng 5/2024", "Chi tra tro cap thang 5 2024"),
        ("ĐỖ đình Đức", "DO dinh Duc"),
        ("  a&b -- c!! ", "a b c"),
        ("Ưu đãi NCC", "Uu dai NCC"),
        ("😀", ""),
    ],
)
def test_ascii_text(value: str, expected: str) -> None:
    assert ascii_text(value) == expected


@given(st.text())
def test_ascii_text_charset(value: str) -> None:
    out = ascii_text(value)
    assert all(ch.isascii() and (ch.isalnum() or ch == " ") for ch in out)
    assert "  " not in out and out == out.strip()


def test_narrative_cuts_on_word_boundary() -> None:
    text = "Chi trả trợ cấp BTXH tháng 05/2024 xã Tân Lập"
    out = narrative(text)
    assert out == "Chi tra tro cap BTXH"
    assert len(out) <= 25
    assert narrative(text, max_len=19) == "Chi tra tro cap"
    assert narrative("Trợ cấp", max_len=25) == "Tro cap"


def test_narrative_exact_fit_and_long_word() -> None:
    assert narrative("abcde fghij", max_len=11) == "abcde fghij"
    assert narrative("abcde fghij", max_len=10) == "abcde"
    assert narrative("x" * 40) == "x" * 25


def test_narrative_bad_max_len() -> None:
    with pytest.raises(ValidationError):
        narrative("abc", max_len=0)


@given(st.text(), st.integers(min_value=1, max_value=60))
def test_narrative_always_fits(value: str, max_len: int) -> None:
    out = narrative(value, max_len)
    assert len(out) <= max_len
    assert all(ch.isascii() and (ch.isalnum() or ch == " ") for ch in out)


def test_bank_holder_name() -> None:
    assert bank_holder_name("Nguyễn Văn An") == "NGUYEN VAN AN"
    assert bank_holder_name("Đặng Thị Đào") == "DANG THI DAO"
    assert bank_holder_name("H'Hen Niê") == "H HEN NIE"


@pytest.mark.parametrize("value", ["Lê A", "", "Ư", "A" * 51, " ".join(["Nguyễn"] * 9)])
def test_bank_holder_name_length(value: str) -> None:
    with pytest.raises(ValidationError) as exc:
        bank_holder_name(value)
    assert code_of(exc) == "holder_name_length"


# --------------------------------------------------------------------------- Banks


@pytest.mark.parametrize(
    ("text", "bin_"),
    [
        ("970405", "970405"),
        (" 970436 ", "970436"),
        ("Agribank", "970405"),
        ("AGRIBANK", "970405"),
        ("agribank", "970405"),
        ("NHNo&PTNT", "970405"),
        ("Ngân hàng Nông nghiệp và Phát triển Nông thôn Việt Nam", "970405"),
        ("ngan hang nong nghiep va phat trien nong thon viet nam", "970405"),
        ("VBAAVNVX", "970405"),
        ("VCB", "970436"),
        ("Vietcombank", "970436"),
        ("vietcombank", "970436"),
        ("Ngân hàng TMCP Ngoại Thương Việt Nam", "970436"),
        ("Ngoại thương Việt Nam", "970436"),
        ("NH Vietcombank", "970436"),
        ("BIDV", "970418"),
        ("VietinBank", "970415"),
        ("CTG", "970415"),
        ("Ngân hàng Chính sách Xã hội", "999888"),
        ("Ngân Hàng Chính Sách Xã Hội", "999888"),
        ("ngan hang chinh sach xa hoi", "999888"),
        ("Ngân hàng Chính sách Xã hội Việt Nam", "999888"),
        ("NHCSXH", "999888"),
        ("VBSP", "999888"),
        ("vbsp", "999888"),
        ("999888", "999888"),
        ("LienVietPostBank", "970449"),
        ("LPBank", "970449"),
        ("OceanBank", "970414"),
        ("Sacombank", "970403"),
        ("MoMo", "971025"),
    ],
)
def test_resolve_bank(text: str, bin_: str) -> None:
    assert resolve_bank(text).bin == bin_


@pytest.mark.parametrize(
    "text", ["", "   ", "Ngân hàng ABC XYZ", "123456", "Bản Việt Bank X", "congnghiep", "NH"]
)
def test_resolve_bank_unknown(text: str) -> None:
    with pytest.raises(ValidationError) as exc:
        resolve_bank(text)
    assert code_of(exc) == "bank_unknown"


def test_resolve_bank_ambiguous_is_refused() -> None:
    # Both IBK branches (Hanoi, HCMC) are "Công nghiệp": refuse rather than pick one.
    with pytest.raises(ValidationError, match="more than one"):
        resolve_bank("Công nghiệp")


def test_bank_by_bin() -> None:
    bank = bank_by_bin("999888")
    assert bank == Bank("999888", "VBSP", "VBSP", "Ngân hàng Chính sách Xã hội", None, False)
    assert bank_by_bin("970436").swift == "BFTVVNVX"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("97043", "bank_bin_format"),
        ("9704366", "bank_bin_format"),
        ("97043a", "bank_bin_format"),
        ("", "bank_bin_format"),
        ("123456", "bank_bin_unknown"),
    ],
)
def test_bank_by_bin_invalid(value: str, code: str) -> None:
    with pytest.raises(ValidationError) as exc:
        bank_by_bin(value)
    assert code_of(exc) == code


def test_banks_table_shape() -> None:
    assert "999888" in BANKS
    for bin_, bank in BANKS.items():
        assert bin_ == bank.bin and len(bin_) == 6 and bin_.isdigit()
        assert resolve_bank(bank.bin) is bank
        assert resolve_bank(bank.code) is bank, bank.code
        assert resolve_bank(bank.short_name) is bank, bank.short_name
        assert resolve_bank(bank.name) is bank, bank.name
        if bank.swift:
            assert resolve_bank(bank.swift) is bank


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0071000123456", "0071000123456"),
        (" 0071 0001 23456 ", "0071000123456"),
        ("123456", "123456"),
        ("1" * 19, "1" * 19),
        (71000123456, "71000123456"),
    ],
)
def test_account_number_valid(value: str | int, expected: str) -> None:
    assert normalize_account_number(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "12345",
        "1" * 20,
        "0071-000-123456",
        "00710001234a",
        "００７１０００１２３",
        -123456,
        True,
        7.1000123456e10,
        "١٢٣٤٥٦٧",
    ],
)
def test_account_number_invalid(value: object) -> None:
    with pytest.raises(ValidationError) as exc:
        normalize_account_number(value)  # type: ignore[arg-type]
    assert code_of(exc) == "account_format"


# --------------------------------------------------------------------------- Reference data


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"reference data folder {SHARED_DATA} is absent")
def test_tables_agree_with_reference_data() -> None:
    ref_prov = json.loads((SHARED_DATA / "cccd_province_codes.json").read_text(encoding="utf-8"))["codes"]
    assert dict(PROVINCES) == ref_prov
    ref_banks = json.loads((SHARED_DATA / "vn_banks_bin.json").read_text(encoding="utf-8"))["banks"]
    for entry in ref_banks:
        if not entry.get("bin"):
            continue
        bank = BANKS[entry["bin"]]  # every referenced BIN is known
        if bank.code == entry["code"]:
            assert bank.swift == entry.get("swiftCode")
            assert bank.lookup == bool(entry.get("lookupSupported"))
    extra = json.loads((SHARED_DATA / "vn_extra_bins_UNVERIFIED.json").read_text(encoding="utf-8"))
    vbsp = next(e for e in extra["entries"] if e["code"] == "VBSP")
    assert BANKS[vbsp["bin"]].code == "VBSP"
