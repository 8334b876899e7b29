"""List import: real-looking CSV and XLSX files, encodings, and every rejection reason."""

from __future__ import annotations

import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from asxh_pay.identity import fold
from asxh_pay.models import RecipientKind
from asxh_pay.payroll.lists import ListDefaults, decode_bytes, import_file
from tests.payroll.conftest import HEADERS, PEOPLE, csv_bytes, row, write_list

D = ListDefaults(period="2026-11")
ASCII_HEADERS = [fold(h).upper() for h in HEADERS]
EN_HEADERS = [
    "No",
    "Full name",
    "Citizen ID",
    "Date of birth",
    "Programme",
    "Period",
    "Commune code",
    "Method",
    "Account number",
    "Bank",
    "Wallet",
    "Phone",
    "Amount",
    "Authorised person",
    "Authorised person CCCD",
    "Relation",
    "Authorisation ref",
    "Address",
]


def _mixed_rows() -> list[list[Any]]:
    return [
        row(0),
        row(1, "Ví điện tử"),
        row(2, "Tài khoản bưu điện"),
        row(3, "Nhận tại điểm chi trả"),
        row(
            4,
            "Chi trả tại nhà",
            **{
                "Người nhận thay": "Bùi Thị Hoa",
                "CCCD người nhận thay": PEOPLE[7][1],
                "Quan hệ": "con",
                "Giấy ủy quyền": "UQ-01/2026",
            },
        ),
        row(5, "Nhận tại bưu điện"),
    ]


@pytest.mark.parametrize(
    ("headers", "encoding", "delimiter"),
    [
        (HEADERS, "utf-8-sig", ","),
        (HEADERS, "utf-8", ";"),
        (ASCII_HEADERS, "utf-8-sig", ","),
        (EN_HEADERS, "utf-8", ","),
        (HEADERS, "cp1258", ";"),
        ([" hO  Và   TÊN " if h == "Họ và tên" else h for h in HEADERS], "utf-16", "\t"),
    ],
)
def test_csv_variants_read_the_same(
    tmp_path: Path, headers: list[str], encoding: str, delimiter: str
) -> None:
    path = write_list(tmp_path / "xa.csv", _mixed_rows(), headers, encoding=encoding, delimiter=delimiter)
    result = import_file(path, D)
    assert result.rejected == []
    assert [r.row for r in result.rows] == [4, 5, 6, 7, 8, 9]  # two title rows and the header come first
    kinds = [r.request.destination.kind for r in result.rows]
    assert kinds == ["bank", "wallet", "postal_account", "cash_pickup", "cash_home", "cash_pickup"]
    names = [r.request.beneficiary.full_name for r in result.rows]
    assert names == [p[0] for p in PEOPLE[:6]]  # diacritics intact, NFC, whatever the encoding
    assert all(unicodedata.is_normalized("NFC", n) for n in names)
    first = result.rows[0].request
    assert first.amount == 1_500_000 and first.programme == "NCC" and first.period == "2026-11"
    assert first.destination.account_number == "0071000007777"  # leading zeros kept
    assert first.cash_fallback is not None and first.cash_fallback.payment_point == "00004"
    wallet = result.rows[1].request.destination
    assert wallet.provider == "viettel_money" and wallet.phone == "84912340177"
    home = result.rows[4].request
    assert home.recipient.kind is RecipientKind.AUTHORISED and home.recipient.cccd == PEOPLE[7][1]
    assert result.rows[5].request.destination.point_type == "post_office"
    assert result.files[0].encoding in (encoding, "utf-8-sig" if encoding == "utf-8-sig" else encoding)


def test_cp1258_is_detected_and_normalised() -> None:
    raw = csv_bytes(HEADERS, [row(5)], encoding="cp1258")
    assert "Đỗ Thị Phương".encode() not in raw  # really not UTF-8
    text, enc = decode_bytes(raw)
    assert enc == "cp1258"
    assert "Đỗ Thị Phương" in text


def test_undecodable_file_is_refused_whole(tmp_path: Path) -> None:
    path = tmp_path / "xa.csv"
    path.write_bytes(b"Ho va ten,So CCCD\n\x81\x8d\x8e\x8f garbage\n")
    result = import_file(path, D)
    assert result.rows == []
    assert [(r.row, r.code) for r in result.rejected] == [(0, "encoding_unknown")]


def test_guardian_and_total_row(tmp_path: Path) -> None:
    rows = [
        row(
            0,
            **{
                "Người nhận thay": "Bùi Thị Hoa",
                "CCCD người nhận thay": PEOPLE[7][1],
                "Quan hệ": "người giám hộ",
                "Giấy ủy quyền": "QĐ-12",
            },
        ),
        ["", "Tổng cộng", "", "", "", "", "", "", "", "", "", "", "1.500.000", "", "", "", "", ""],
    ]
    result = import_file(write_list(tmp_path / "a.csv", rows), D)
    assert result.rejected == []
    assert result.rows[0].request.recipient.kind is RecipientKind.GUARDIAN
    assert result.files[0].skipped_rows == [5]


REJECTIONS = [
    ({"Số CCCD": "1.23457E+11"}, "Số CCCD", "excel_scientific"),
    ({"Số CCCD": "1080000001"}, "Số CCCD", "leading_zero_lost"),
    ({"Số CCCD": "001080000001.0"}, "Số CCCD", "excel_number"),
    ({"Số CCCD": "012345678"}, "Số CCCD", "cccd_is_cmnd"),
    ({"Số CCCD": "00108000001"}, "Số CCCD", "cccd_length"),
    ({"Số CCCD": "00108000000X"}, "Số CCCD", "cccd_not_digits"),
    ({"Số CCCD": "999080000001"}, "Số CCCD", "cccd_province"),
    ({"Số CCCD": ""}, "Số CCCD", "required"),
    ({"Ngày sinh": "01/03/1981"}, "Số CCCD", "cccd_birth_mismatch"),
    ({"Ngày sinh": "31/02/1980"}, "Ngày sinh", "date_format"),
    ({"Họ và tên": "Nguyễn V4n An"}, "Họ và tên", "name_invalid"),
    ({"Họ và tên": ""}, "Họ và tên", "required"),
    ({"Số tiền": "1.500.000,50"}, "Số tiền", "amount_fractional"),
    ({"Số tiền": "-500000"}, "Số tiền", "amount_not_positive"),
    ({"Số tiền": "một triệu"}, "Số tiền", "amount_format"),
    ({"Số tiền": "0"}, "Số tiền", "amount_not_positive"),
    ({"Số tiền": "900.000.000"}, "Số tiền", "amount_over_ceiling"),
    ({"Số tiền": ""}, "Số tiền", "required"),
    ({"Kỳ chi trả": "10/2026"}, "Kỳ chi trả", "period_mismatch"),
    ({"Kỳ chi trả": "13/2026"}, "Kỳ chi trả", "period"),
    ({"Chương trình": "ncc!"}, "Chương trình", "programme"),
    ({"Hình thức nhận": "Chuyển bằng bồ câu"}, "Hình thức nhận", "method_unknown"),
    ({"Ngân hàng": "Ngân hàng Mặt Trăng"}, "Ngân hàng", "bank_unknown"),
    ({"Ngân hàng": ""}, "Ngân hàng", "required"),
    ({"Số tài khoản": "12-34"}, "Số tài khoản", "account_format"),
    ({"Số tài khoản": "1.23457E+11"}, "Số tài khoản", "excel_scientific"),
    (
        {"Hình thức nhận": "Ví điện tử", "Ví điện tử": "Ví Bitcoin", "Số điện thoại": "0912000000"},
        "Ví điện tử",
        "wallet_provider_unknown",
    ),
    (
        {"Hình thức nhận": "Ví điện tử", "Ví điện tử": "MoMo", "Số điện thoại": "912000000"},
        "Số điện thoại",
        "leading_zero_lost",
    ),
    (  # 0121[0-3] is a mobile range (phonenumbers): 121012345 is one that lost its 0
        {"Hình thức nhận": "Ví điện tử", "Ví điện tử": "MoMo", "Số điện thoại": "121012345"},
        "Số điện thoại",
        "leading_zero_lost",
    ),
    (
        {"Hình thức nhận": "Ví điện tử", "Ví điện tử": "MoMo", "Số điện thoại": "0212000000"},
        "Số điện thoại",
        "phone_prefix",
    ),
    ({"Hình thức nhận": "Chi trả tại nhà", "Địa chỉ": ""}, "Địa chỉ", "required"),
    (
        {"Người nhận thay": "Bùi Thị Hoa", "CCCD người nhận thay": PEOPLE[7][1]},
        "Giấy ủy quyền",
        "recipient_incomplete",
    ),
    (
        {"Người nhận thay": "Bùi Thị Hoa", "CCCD người nhận thay": "1155000008", "Giấy ủy quyền": "UQ"},
        "CCCD người nhận thay",
        "leading_zero_lost",
    ),
]


@pytest.mark.parametrize(("changes", "column", "code"), REJECTIONS, ids=[c for _, _, c in REJECTIONS])
def test_every_rejection_reason_names_row_and_column(
    tmp_path: Path, changes: dict[str, str], column: str, code: str
) -> None:
    rows = [row(0, **changes), row(1), row(2)]
    result = import_file(write_list(tmp_path / "xa.csv", rows), D)
    assert {(r.row, r.column, r.code) for r in result.rejected} >= {(4, column, code)}
    assert all(r.row == 4 for r in result.rejected)
    assert all(r.reason for r in result.rejected)
    assert [r.row for r in result.rows] == [5, 6]  # the good rows are never stopped


def test_no_account_goes_to_cash_with_a_warning(tmp_path: Path) -> None:
    result = import_file(write_list(tmp_path / "a.csv", [row(0, **{"Số tài khoản": ""})]), D)
    req = result.rows[0].request
    assert req.destination.kind == "cash_pickup" and req.destination.payment_point == "00004"
    assert "no_account:bank" in result.rows[0].warnings


def _xlsx(path: Path, rows: list[list[Any]], formats: dict[int, str] | None = None) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["DANH SÁCH CHI TRẢ"])
    ws.append(HEADERS)
    for r in rows:
        ws.append(r)
    for col, fmt in (formats or {}).items():
        for cells in ws.iter_rows(min_row=3, min_col=col + 1, max_col=col + 1):
            for c in cells:
                c.number_format = fmt
    wb.create_sheet("Sheet2")  # an empty sheet, as Excel adds
    wb.save(path)
    return path


def test_xlsx_text_cells_and_numbers(tmp_path: Path) -> None:
    rows = [row(0), row(1, "Ví điện tử"), row(2)]
    rows[0][12] = 1_500_000  # amount as a number cell
    rows[2][12] = 2_055_000.0  # Excel float for a whole number
    result = import_file(_xlsx(tmp_path / "a.xlsx", rows), D)
    assert result.rejected == []
    assert [r.request.amount for r in result.rows] == [1_500_000, 1_500_000, 2_055_000]
    assert result.rows[0].request.destination.account_number == "0071000007777"
    assert result.rows[0].where == "a.xlsx[Sheet]:3"


def test_xlsx_damaged_numbers_are_reported_not_guessed(tmp_path: Path) -> None:
    rows = [row(0), row(1), row(2), row(3)]
    rows[0][2] = 1080000001  # CCCD typed as a number: the leading zeros are gone
    rows[1][8] = 123456789012.0  # account as a float cell
    rows[2][8] = 71000000002  # account as an integer cell: zeros may be lost
    rows[3][12] = 1_500_000.5
    result = import_file(_xlsx(tmp_path / "a.xlsx", rows), D)
    got = {(r.row, r.column, r.code) for r in result.rejected}
    assert got == {
        (3, "Số CCCD", "leading_zero_lost"),
        (4, "Số tài khoản", "excel_number"),
        (5, "Số tài khoản", "excel_number"),
        (6, "Số tiền", "amount_fractional"),
    }
    assert result.rows == []


def test_xlsx_zero_padded_number_format_is_read_as_shown(tmp_path: Path) -> None:
    rows = [row(0)]
    rows[0][2] = 1080000001  # shown as 001080000001 by its number format
    result = import_file(_xlsx(tmp_path / "a.xlsx", rows, {2: "000000000000"}), D)
    assert result.rejected == []
    assert result.rows[0].request.beneficiary.cccd == "001080000001"


def test_unreadable_xlsx_and_missing_header(tmp_path: Path) -> None:
    bad = tmp_path / "x.xlsx"
    bad.write_bytes(b"not a zip")
    assert [r.code for r in import_file(bad, D).rejected] == ["xlsx_unreadable"]
    nohdr = tmp_path / "n.csv"
    nohdr.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    assert [r.code for r in import_file(nohdr, D).rejected] == ["no_header"]


def test_a_hostile_csv_field_is_a_file_rejection_not_a_crash(tmp_path: Path) -> None:
    from asxh_pay.payroll.lists import import_file

    path = tmp_path / "xa.csv"
    path.write_text("Ho va ten,So CCCD,So tien\n" + '"' + "A" * 200_000 + '",001050000001,1500000\n', "utf-8")
    result = import_file(path)
    assert [r.code for r in result.rejected] == ["csv_malformed"]


def test_commune_codes_damaged_by_excel_are_reported(tmp_path: Path) -> None:
    """The commune code becomes the cash payment point: 00004 read as 4 must not pass."""
    rows = [row(0), row(1), row(2)]
    rows[0][6] = 4  # Excel number column: 00004 lost its zeros
    rows[1][6] = "NaN"
    rows[2][6] = 4  # the same number, shown padded by the cell's format
    result = import_file(_xlsx(tmp_path / "a.xlsx", rows, {6: "00000"}), D)
    got = {(r.row, r.column, r.code) for r in result.rejected}
    assert got == {(4, "Mã xã", "admin_code_format")}
    codes = sorted(r.request.beneficiary.commune_code or "" for r in result.rows)
    assert codes == ["00004", "00004"]
    result = import_file(_xlsx(tmp_path / "b.xlsx", [[*row(0)[:6], 4, *row(0)[7:]]]), D)
    assert [(r.column, r.code) for r in result.rejected] == [("Mã xã", "leading_zero_lost")]


def _shrink_declared_dimension(path: Path, ref: str) -> None:
    """Rewrite the sheet's ``<dimension ref=...>`` as a careless writer would leave it."""
    import re
    import zipfile

    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data, n = re.subn(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), data)
                assert n == 1
            dst.writestr(item, data)
    tmp.replace(path)


def test_xlsx_rows_beyond_the_declared_dimension_are_read(tmp_path: Path) -> None:
    """Issue 14.5: read-only openpyxl trusts <dimension>; a file declaring A1:R3 over 8 people."""
    path = _xlsx(tmp_path / "a.xlsx", [row(i) for i in range(8)])
    _shrink_declared_dimension(path, "A1:R3")
    import openpyxl

    ws = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    assert ws.max_row == 3  # what the file claims
    result = import_file(path, D)
    assert result.rejected == []
    assert len(result.rows) == 8
    assert [f.rows_read for f in result.files] == [8]  # the rows read are reported per file


def _xls(path: Path, rows: list[list[Any]], formats: dict[int, str] | None = None) -> Path:
    """A real Excel 97-2003 file, written by xlwt (a dev dependency) as an office's old Excel would."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Danh sach")
    sheet.write(0, 0, "DANH SÁCH CHI TRẢ THÁNG 11/2026")
    for c, h in enumerate(HEADERS):
        sheet.write(1, c, h)
    styles = {c: xlwt.easyxf(num_format_str=f) for c, f in (formats or {}).items()}
    date_style = xlwt.easyxf(num_format_str="DD/MM/YYYY")
    for r, values in enumerate(rows, start=2):
        for c, v in enumerate(values):
            if v in ("", None):
                continue
            if c in styles:
                sheet.write(r, c, v, styles[c])
            elif isinstance(v, date):
                sheet.write(r, c, v, date_style)
            else:
                sheet.write(r, c, v)
    book.add_sheet("Sheet2")  # empty, as Excel adds
    book.save(str(path))
    return path


def test_xls_old_excel_lists_are_read(tmp_path: Path) -> None:
    """Issue 17.5: offices still send .xls; same rules as .xlsx (numbers, dates, damaged ids)."""
    from datetime import datetime

    rows = [row(0), row(1, "Ví điện tử"), row(2), row(3), row(4)]
    rows[0][12] = 1_500_000  # amount as a number cell (stored as a float in .xls)
    rows[1][3] = datetime(1975, 5, 2)  # a real date cell
    rows[2][2] = 1050000003  # CCCD typed as a number: zeros gone
    rows[3][2] = 1160000004.0
    path = _xls(tmp_path / "xa.xls", rows)
    result = import_file(path, D)
    assert {(r.row, r.column, r.code) for r in result.rejected} == {
        (5, "Số CCCD", "excel_number"),
        (6, "Số CCCD", "excel_number"),
    }
    assert [r.row for r in result.rows] == [3, 4, 7]
    assert result.rows[0].request.amount == 1_500_000
    assert result.rows[0].request.destination.account_number == "0071000007777"
    assert result.rows[1].request.beneficiary.birth_date == PEOPLE[1][2]
    assert result.rows[1].request.destination.phone == "84912340177"
    assert result.rows[0].where == "xa.xls[Danh sach]:3"
    assert [(f.name, f.kind, f.rows_read) for f in result.files] == [("xa.xls[Danh sach]", "xls", 5)]
    # A zero-padded number format is read as Excel shows it, as for .xlsx.
    rows_p = [row(0)]
    rows_p[0][2] = 1080000001
    padded = _xls(tmp_path / "p.xls", rows_p, {2: "000000000000"})
    got = import_file(padded, D)
    assert got.rejected == [] and got.rows[0].request.beneficiary.cccd == "001080000001"


def test_damaged_xls_is_a_file_rejection(tmp_path: Path) -> None:
    bad = tmp_path / "x.xls"
    bad.write_bytes(b"\xd0\xcf\x11\xe0 not really an old Excel file")
    assert [r.code for r in import_file(bad, D).rejected] == ["xls_unreadable"]
