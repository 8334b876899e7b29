"""Row-level reasons in the official's language (issue 17): Vietnamese by default, English on request.

A reason a list row is rejected, held or warned about carries its code and its parameters
(:class:`asxh_pay.vocab.Detail`); rejected.csv, held.csv, warnings.csv and the console render
it from the shared vocabulary in the run's language. The English text is the checker's words
as they were before. The completeness tests read the checker's source (ast), so that a new
reason without words in both languages fails here rather than reaching an official raw.
"""

from __future__ import annotations

import ast
import asyncio
import csv
import pickle
import re
import string
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from asxh_pay import units, vocab
from asxh_pay.cli import EXIT_USAGE, main
from asxh_pay.payroll.console import prepared_text
from asxh_pay.payroll.lists import ROW_WARNINGS, ImportResult, ListDefaults, SpilledImport, import_lists
from asxh_pay.payroll.registry import PersonRecord
from asxh_pay.vocab import Detail
from tests.payroll.conftest import PEOPLE, Workspace, row, write_list

ROOT = Path(__file__).resolve().parents[2] / "asxh_pay"
#: The modules whose words reach rejected.csv, held.csv and warnings.csv.
CHECKER = sorted(
    [ROOT / f for f in ("identity.py", "money.py", "banks.py", "models.py", "units.py")]
    + list((ROOT / "payroll").glob("*.py"))
)


# --------------------------------------------------------------------------- the source of truth


def _calls(name: str) -> Iterator[tuple[Path, ast.Call]]:
    for path in CHECKER:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                if called == name:
                    yield path, node


def _literals(node: ast.expr | None) -> list[str] | None:
    """The strings an argument can be: a constant, or either branch of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        a, b = _literals(node.body), _literals(node.orelse)
        return a + b if a is not None and b is not None else None
    return None


def _detail_calls() -> dict[str, set[frozenset[str]]]:
    """Every ``Detail("key", **params)`` of the checker: key -> the sets of parameter names."""
    found: dict[str, set[frozenset[str]]] = {}
    for path, call in _calls("Detail"):
        where = f"{path.name}:{call.lineno}"
        keys = _literals(call.args[0] if call.args else None)
        assert keys, f"{where}: a Detail's key must be a literal (or a literal if/else) for this test to read"
        assert all(k.arg for k in call.keywords), f"{where}: a Detail's parameters must be named (no **)"
        names = frozenset(str(k.arg) for k in call.keywords)
        for key in keys:
            found.setdefault(key, set()).add(names)
    return found


def _fields(template: str) -> set[tuple[str, str]]:
    return {(name, spec or "") for _, name, spec, _ in string.Formatter().parse(template) if name is not None}


def test_every_detail_the_checker_gives_has_vietnamese_and_english() -> None:
    calls = _detail_calls()
    assert len(calls) > 80
    assert sorted(set(calls) - set(vocab.DETAILS)) == []  # a detail without words
    assert sorted(set(vocab.DETAILS) - set(calls)) == []  # words nothing says
    specs = set(vocab._SPECS) | {""}
    for key, variants in calls.items():
        vi, en = vocab.DETAILS[key]
        assert vi.strip() and en.strip(), key
        for lang, template in (("vi", vi), ("en", en)):
            used = _fields(template)
            assert {spec for _, spec in used} <= specs, (key, lang, template)
            for names in variants:  # every call gives every field the template uses
                assert {name for name, _ in used} <= names, (key, lang, sorted(names))
        words = re.sub(r"\{[^}]*\}", "", vi)
        if re.search(r"[A-Za-z]", words):
            # Written Vietnamese, with its diacritics (not the English copied over).
            assert vi != en and re.search(r"[à-ỹÀ-ỸđĐ]", words), (key, vi)


def _code_sites() -> Iterator[tuple[str, list[str], list[str] | None]]:
    """(where, the codes a call gives a row, the keys of the detail it gives with them)."""

    def detail_keys(node: ast.expr | None) -> list[str] | None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Detail":
            return _literals(node.args[0])
        return None

    positions = {"add": (1, 2), "reject": (2, 3), "Hold": (1, 2), "Rejection": (3, 4)}
    for name, (code_at, detail_at) in positions.items():
        for path, call in _calls(name):
            if len(call.args) > code_at:
                codes = _literals(call.args[code_at])
                if codes:
                    detail = call.args[detail_at] if len(call.args) > detail_at else None
                    yield f"{path.name}:{call.lineno}", codes, detail_keys(detail)
    for name in ("ValidationError", "ListFileError", "UnitError"):
        for path, call in _calls(name):
            code = next((k.value for k in call.keywords if k.arg == "code"), None)
            codes = _literals(code)
            if codes:
                yield f"{path.name}:{call.lineno}", codes, detail_keys(call.args[0] if call.args else None)
    for path in CHECKER:  # warnings: (where, "code", Detail(...))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Tuple) and len(node.elts) == 3:
                codes, keys = _literals(node.elts[1]), detail_keys(node.elts[2])
                if codes and keys:
                    yield f"{path.name}:{node.lineno}", codes, keys


def test_every_row_code_has_words_and_its_details_explain_it() -> None:
    """The codes of rejected.csv, held.csv and warnings.csv, read from where the checker gives
    them, all have words in both languages; a detail given with a code explains that code."""
    codes: set[str] = {key.partition(".")[0] for key in _detail_calls() if not key.startswith("_")}
    codes |= {"invalid", "string_too_long", "string_too_short"}  # pydantic's own checks (lists.unwrap)
    codes |= {token.partition(":")[0] for token in ROW_WARNINGS}
    sites = list(_code_sites())
    assert len(sites) > 100
    for where, given, keys in sites:
        codes |= set(given)
        if keys is not None:
            assert {k.partition(".")[0] for k in keys} == set(given), (where, given, keys)
    assert len(codes) > 60
    assert sorted(codes - set(vocab.REASONS)) == []
    assert vocab.missing() == []


# --------------------------------------------------------------------------- the Detail itself


def test_a_detail_is_the_english_text_and_renders_vietnamese() -> None:
    d = Detail("beneficiary_deceased", failure="beneficiary_deceased", died=date(2026, 10, 3))
    assert d == "beneficiary_deceased: beneficiary died on 2026-10-03 (population register)"
    assert d.text("en") == d and type(d.text("en")) is str
    assert d.text("vi") == "Đối tượng đã chết ngày 03/10/2026 (theo CSDL quốc gia về dân cư)"
    assert (
        vocab.detail(d) == d.text("vi") and vocab.detail("a provider's own words") == "a provider's own words"
    )
    assert d.code == "beneficiary_deceased"
    scientific = Detail("excel_scientific", column="cccd")
    assert scientific.text() == (
        "Số CCCD bị Excel đổi sang dạng số khoa học và mất chữ số; định dạng cột là Văn bản (Text) "
        "rồi nhập lại"
    )
    conflict = Detail(
        "duplicate_conflict",
        n=2,
        parts=[Detail("_conflict.amounts", amounts=[750_000, 850_000]), Detail("_conflict.recipients")],
        rows=["00700-BTXH.csv:207", "00700-BTXH.csv:208"],
    )
    assert conflict == (
        "beneficiary listed 2 times with different amounts (750.000 ₫ / 850.000 ₫) and different recipients: "
        "00700-BTXH.csv:207, 00700-BTXH.csv:208; decide which is right"
    )
    assert conflict.text("vi") == (
        "Đối tượng có tên 2 lần trong danh sách nhưng số tiền khác nhau (750.000 ₫ / 850.000 ₫) và người "
        "nhận khác nhau: 00700-BTXH.csv:207, 00700-BTXH.csv:208; cần xác định dòng nào đúng"
    )
    # It waits in a temporary file, or a pickle, and comes back whole (nested details too).
    for back in (vocab.load_detail(vocab.dump_detail(conflict)), pickle.loads(pickle.dumps(conflict))):
        assert isinstance(back, Detail) and back.text("vi") == conflict.text("vi") and back == conflict
    assert vocab.load_detail(vocab.dump_detail("plain text")) == "plain text"
    # A key the vocabulary does not know is shown raw, never hidden, never an exception.
    assert Detail("no_such_key", n=1) == "no_such_key (n=1)"


def test_pay_periods_and_dates_are_written_the_vietnamese_way() -> None:
    d = Detail("period_mismatch", period="2026-10", run="2026-11")
    assert d == "row is for period 2026-10, this run pays 2026-11"
    assert d.text("vi") == "Dòng thuộc kỳ chi trả 10/2026, đợt chi này chi trả kỳ 11/2026"
    until = Detail("authorisation_expired", failure="authorisation_invalid", until=date(2026, 10, 31))
    assert until.text("vi") == "Giấy ủy quyền chỉ có hiệu lực đến ngày 31/10/2026"
    assert until == "authorisation_invalid: authorisation ended on 2026-10-31"


# --------------------------------------------------------------------------- a prepare with bad rows

CARER = {
    "Người nhận thay": "Vũ Thị Lan",
    "CCCD người nhận thay": "001170000099",
    "Quan hệ": "con",
    "Giấy ủy quyền": "UQ-7",
}
EXTRA = [
    ("Ngô Văn Khải", "001083000010", date(1983, 1, 10)),
    ("Đặng Thị Lan", "001185000011", date(1985, 2, 11)),
    ("Mai Văn Minh", "001062000012", date(1962, 3, 12)),
    ("Lý Thị Ngọc", "001168000013", date(1968, 4, 13)),
]


def _extra(i: int, **over: Any) -> dict[str, Any]:
    name, cccd, birth = EXTRA[i]
    return {"Họ và tên": name, "Số CCCD": cccd, "Ngày sinh": birth.strftime("%d/%m/%Y"), **over}


def bad_rows() -> list[list[Any]]:
    """One row of each kind a commune gets wrong, then rows the register, the de-duplication
    and the account check hold or warn about."""
    wallet, momo = "Ví điện tử", {"Ví điện tử": "MoMo"}
    cells: list[tuple[str, dict[str, Any]]] = [
        ("Tài khoản ngân hàng", {"Số CCCD": "4.01245E+11"}),
        ("Tài khoản ngân hàng", {"Số CCCD": "1080000001"}),
        ("Tài khoản ngân hàng", {"Số CCCD": "012345678"}),
        ("Tài khoản ngân hàng", {"Số CCCD": "00108000000"}),
        ("Tài khoản ngân hàng", {"Số CCCD": "00108000000A"}),
        ("Tài khoản ngân hàng", {"Số CCCD": "999080000001"}),
        ("Tài khoản ngân hàng", {"Số CCCD": "001299000001"}),
        ("Tài khoản ngân hàng", {"Ngày sinh": "01/01/1981"}),
        ("Tài khoản ngân hàng", {"Số tiền": "1.500.000,50"}),
        ("Tài khoản ngân hàng", {"Số tiền": ""}),
        ("Tài khoản ngân hàng", {"Số tiền": "abc"}),
        ("Tài khoản ngân hàng", {"Số tiền": "0"}),
        ("Tài khoản ngân hàng", {"Hình thức nhận": "Chuyển bằng bồ câu"}),
        ("Tài khoản ngân hàng", {"Ngày sinh": "31/02/1950"}),
        ("Tài khoản ngân hàng", {"Kỳ chi trả": "10/2026"}),
        ("Tài khoản ngân hàng", {"Kỳ chi trả": "13/2026"}),
        ("Tài khoản ngân hàng", {"Chương trình": "XYZ"}),
        (wallet, {"Số điện thoại": "12345"}),
        (wallet, {"Số điện thoại": "0212345678"}),
        (wallet, {"Số điện thoại": "912345677"}),
        (wallet, {"Ví điện tử": "ZaloPay"}),
        ("Tài khoản ngân hàng", {"Ngân hàng": ""}),
        ("Tài khoản ngân hàng", {"Ngân hàng": "Ngân hàng không có thật"}),
        ("Tài khoản ngân hàng", {"Số tài khoản": "12AB"}),
        ("Tài khoản ngân hàng", {"Họ và tên": "Nguyen 123"}),
        ("Tài khoản ngân hàng", {"Mã xã": "4"}),
        ("Chi trả tại nhà", {"Địa chỉ": ""}),
        ("Chi trả tại nhà", {"Địa chỉ": "abc"}),
        ("Tài khoản ngân hàng", {"Người nhận thay": "Vũ Thị Lan"}),
        ("Tài khoản ngân hàng", {**CARER, "Quan hệ": "x" * 60}),
        ("Tài khoản ngân hàng", {"Mã xã": "99999"}),
        ("Tài khoản ngân hàng", {"Mã xã": "26506"}),  # Phường Vũng Tàu: another province
    ]
    rows = [row(0, method, **over) for method, over in cells]
    rows += [
        row(1),
        row(1),  # the same payout twice: a duplicate (a warning)
        row(2),
        row(2, **{"Số tiền": "1.600.000"}),  # the same person, another amount: both held
        row(3),  # dead in the register
        row(4, **{"Họ và tên": "Hoàng Văn Anh"}),  # another name in the register
        row(5, **{"Ngày sinh": "02/03/1990"}),  # another birth date
        row(6),  # entitlement stopped
        row(7, "", **{"Số tài khoản": "0071000997777", "Ngân hàng": "Vietcombank"}),  # method inferred
        row(0, **CARER),  # the authorised person is not in the register
        row(0, wallet, **_extra(0, **momo, **{"Số điện thoại": "0912340004"})),  # someone else's wallet
        row(0, wallet, **_extra(1, **momo, **{"Số điện thoại": "0912340001"})),  # no such wallet
        row(0, "", **_extra(2)),  # nothing says how: cash at the commune
        row(0, **_extra(3, **{"Số tài khoản": ""})),  # a bank payment without an account
    ]
    return rows


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def _prepare(ws: Workspace, lang: str, run_id: str) -> Any:
    ws.registry.add(PersonRecord(c, n, b) for n, c, b in EXTRA)
    ws.registry.mark_dead(PEOPLE[3][1], date(2026, 10, 3))
    ws.registry.stop_entitlement(PEOPLE[6][1], "NCC", "chuyển đi nơi khác")
    lst = write_list(ws.data_dir.parent / "00004-NCC.csv", bad_rows())
    return ws.prepare([lst], lang=lang, run_id=run_id, unit=units.paying_unit(province_code="01"))


@pytest.fixture
def both(ws: Workspace) -> dict[str, Any]:
    return {"vi": _prepare(ws, "vi", "vi"), "en": _prepare(ws, "en", "en")}


def _details(prep: Any) -> dict[str, list[tuple[str, str, str]]]:
    """(where, code, detail) of rejected.csv, held.csv and warnings.csv."""
    rej, held, warn = (_csv(prep.dir / f) for f in ("rejected.csv", "held.csv", "warnings.csv"))
    return {
        "rejected": [(f"{r[0]}:{r[1]}", r[3], r[5]) for r in rej[1:]],
        "held": [(h[0], h[3], h[5]) for h in held[1:]],
        "warnings": [(w[0], w[1], w[3]) for w in warn[1:]],
    }


#: (file, code, English detail as the checker always wrote it, the Vietnamese one).
EXPECTED = [
    (
        "rejected",
        "excel_scientific",
        "CCCD is in scientific notation (Excel turned it into a number and dropped digits); format the "
        "column as Text and enter it again",
        "Số CCCD bị Excel đổi sang dạng số khoa học và mất chữ số; định dạng cột là Văn bản (Text) rồi "
        "nhập lại",
    ),
    (
        "rejected",
        "cccd_is_cmnd",
        "this is an old 9-digit CMND: it must be replaced by the holder's 12-digit CCCD",
        "Đây là số CMND cũ 9 chữ số: cần thay bằng số CCCD 12 chữ số của người này",
    ),
    ("rejected", "required", "Số tiền is empty", "Ô “Số tiền” để trống"),
    (
        "rejected",
        "amount_fractional",
        "amount has a decimal part; VND amounts are whole numbers",
        "Số tiền có phần thập phân; số tiền đồng phải là số nguyên",
    ),
    (
        "rejected",
        "date_format",
        "date '31/02/1950' is not dd/mm/yyyy",
        "Ngày “31/02/1950” không đúng dạng dd/mm/yyyy hoặc không có thật",
    ),
    (
        "rejected",
        "unit_outside",
        "Phường Vũng Tàu (26506) of Thành phố Hồ Chí Minh (79) is outside this run's paying unit, "
        "Thành phố Hà Nội (01), paying centrally",
        "Phường Vũng Tàu (26506) thuộc Thành phố Hồ Chí Minh (79) nằm ngoài đơn vị chi trả của đợt chi "
        "này là Thành phố Hà Nội (01), chi trả tập trung",
    ),
    (
        "held",
        "duplicate_conflict",
        "beneficiary listed 2 times with different amounts (1.500.000 ₫ / 1.600.000 ₫): "
        "00004-NCC.csv:38, 00004-NCC.csv:39; decide which is right",
        "Đối tượng có tên 2 lần trong danh sách nhưng số tiền khác nhau (1.500.000 ₫ / 1.600.000 ₫): "
        "00004-NCC.csv:38, 00004-NCC.csv:39; cần xác định dòng nào đúng",
    ),
    (
        "held",
        "beneficiary_deceased",
        "beneficiary_deceased: beneficiary died on 2026-10-03 (population register)",
        "Đối tượng đã chết ngày 03/10/2026 (theo CSDL quốc gia về dân cư)",
    ),
    (
        "held",
        "beneficiary_name_mismatch",
        "name_mismatch: beneficiary's name on the list does not match the population register (mismatch)",
        "Họ tên của đối tượng trong danh sách không khớp với CSDL quốc gia về dân cư (kết quả so khớp: "
        "khác nhau)",
    ),
    (
        "held",
        "entitlement_stopped",
        "regulatory: entitlement to NCC ended: chuyển đi nơi khác",
        "Đã thôi hưởng chế độ NCC: chuyển đi nơi khác",
    ),
    (
        "held",
        "account_owner_mismatch",
        "name_mismatch: the account holder's name does not match the beneficiary or the authorised "
        "person (mismatch)",
        "Tên chủ tài khoản không khớp với họ tên đối tượng hoặc người nhận thay (kết quả so khớp: khác nhau)",
    ),
    (
        "warnings",
        "duplicate",
        "duplicate of 00004-NCC.csv:36 (same list): paid once",
        "Trùng với dòng 00004-NCC.csv:36 (cùng danh sách): chỉ chi trả một lần",
    ),
    (
        "warnings",
        "account_not_found",
        "momo does not know this account: it will be paid in cash (fallback)",
        "momo không tìm thấy tài khoản này: sẽ chuyển chi tiền mặt",
    ),
    (
        "warnings",
        "method_inferred",
        "method_inferred:bank",
        "Không ghi hình thức nhận; có số tài khoản và ngân hàng nên chi trả qua tài khoản ngân hàng",
    ),
    (
        "warnings",
        "no_account",
        "no_account:bank",
        "Nhận qua tài khoản ngân hàng nhưng không ghi số tài khoản: nhận tiền mặt tại điểm chi trả",
    ),
]


def test_row_details_are_vietnamese_by_default_and_english_with_lang_en(both: dict[str, Any]) -> None:
    vi, en = _details(both["vi"]), _details(both["en"])
    for file, code, english, vietnamese in EXPECTED:
        assert english in [d for _, c, d in en[file] if c == code], (file, code)
        assert vietnamese in [d for _, c, d in vi[file] if c == code], (file, code)
    for file in ("rejected", "held", "warnings"):
        assert len(vi[file]) == len(en[file]) > 0
        for (where_vi, code_vi, text_vi), (where_en, code_en, text_en) in zip(
            vi[file], en[file], strict=True
        ):
            # The same rows and the same machine codes; only the words differ.
            assert (where_vi, code_vi) == (where_en, code_en)
            if re.search(r"[a-z]{3}", text_en) and code_en not in ("string_too_long", "string_too_short"):
                assert text_vi != text_en, (file, code_en, text_vi)
    rejected_codes = {c for _, c, _ in vi["rejected"]}
    held_codes = {c for _, c, _ in vi["held"]}
    assert len(rejected_codes) >= 25 and len(held_codes) >= 7
    # The headers are in the run's language; the code column's values are the same in both.
    assert _csv(both["vi"].dir / "held.csv")[0][3:6] == ["Mã lỗi", "Lý do", "Chi tiết"]
    assert _csv(both["en"].dir / "held.csv")[0][3:6] == ["Code", "Reason", "Detail"]


def test_every_reason_of_a_prepare_is_a_detail_of_its_code(both: dict[str, Any]) -> None:
    prep = both["vi"]
    for r in prep.imported.rejected:
        assert isinstance(r.reason, Detail) and r.reason.code == r.code, (r.code, r.reason)
        assert r.text("en") == r.reason and r.text("vi") != r.reason
    assert prep.held and all(isinstance(h.reason, Detail) and h.reason.code == h.code for h in prep.held)
    assert prep.warnings and all(isinstance(d, Detail) and d.code == code for _, code, d in prep.warnings)


_DIGIT_RUN = re.compile(r"\d(?:[ .\-]?\d){8,}")


def test_personal_data_stays_masked_in_both_languages(both: dict[str, Any]) -> None:
    names = [n for n, _, _ in PEOPLE + EXTRA] + ["Hoàng Văn Anh", "Vũ Thị Lan", "Nguyen 123"]
    cccds = [c for _, c, _ in PEOPLE + EXTRA] + ["001170000099", "1080000001", "012345678"]
    phones = ["0912340004", "0912340001", "912345677", "0212345678"]
    for lang in ("vi", "en"):
        for file, items in _details(both[lang]).items():
            for _where, code, text in items:
                assert not _DIGIT_RUN.search(text), (lang, file, code, text)
                assert not any(n in text for n in names), (lang, file, code, text)
                assert not any(x in text for x in cccds + phones), (lang, file, code, text)
        for line in _csv(both[lang].dir / "held.csv")[1:]:
            assert re.fullmatch(r"\d{4}\*{6}\d{2}", line[2])  # the CCCD column, masked as before


def test_the_console_shows_top_reasons_in_the_runs_language(both: dict[str, Any]) -> None:
    vi, en = prepared_text(both["vi"], "vi"), prepared_text(both["en"], "en")
    assert "Dòng bị loại, lý do thường gặp (rejected.csv):" in vi
    assert "Đối tượng đã chết (beneficiary_deceased): Đối tượng đã chết ngày 03/10/2026 (theo CSDL" in vi
    assert "Thiếu thông tin bắt buộc (required): Ô “Số tiền” để trống" in vi
    assert "population register" not in vi and "is empty" not in vi
    assert "Beneficiary deceased (beneficiary_deceased): beneficiary_deceased: beneficiary died on" in en
    assert "Required value missing (required): Số tiền is empty" in en


def test_a_wholly_rejected_list_shows_vietnamese_examples(tmp_path: Path, capsys: Any) -> None:
    from tests.payroll.test_cli import office_cli

    data = tmp_path / "d"
    office_cli(str(data), tmp_path / "office.pem", ["lan"])
    lst = write_list(tmp_path / "bad.csv", [row(0, **{"Số tiền": "1,5"}), row(1, **{"Số CCCD": "012345678"})])
    argv = ["prepare", str(lst), "--period", "2026-11", "--operator", "lan", "--data-dir", str(data)]
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "bad.csv:4 [Số tiền] Số tiền có phần thập phân; số tiền đồng phải là số nguyên" in err
    assert "Đây là số CMND cũ 9 chữ số" in err
    assert main([*argv, "--lang", "en"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "bad.csv:4 [Số tiền] amount has a decimal part; VND amounts are whole numbers" in err


def test_rejections_read_back_from_a_big_lists_file_keep_their_words(tmp_path: Path) -> None:
    lst = write_list(
        tmp_path / "x.csv", [row(0, **{"Số CCCD": "4.01245E+11"}), row(1, **{"Kỳ chi trả": "10/2026"})]
    )
    defaults = ListDefaults(period="2026-11")
    in_memory: ImportResult = import_lists([lst], defaults)
    with SpilledImport(tmp_path / "spill") as spill:
        spill.add_all([lst], defaults)
        spilled = list(spill.rejected)
    assert [r.text("vi") for r in spilled] == [r.text("vi") for r in in_memory.rejected]
    assert [r.reason for r in spilled] == [r.reason for r in in_memory.rejected]
    assert spilled[1].text("vi") == "Dòng thuộc kỳ chi trả 10/2026, đợt chi này chi trả kỳ 11/2026"


def test_the_registers_stops_are_details_and_keep_their_english() -> None:
    from asxh_pay.payroll.registry import SandboxPopulationRegistry

    reg = SandboxPopulationRegistry()
    reg.add([PersonRecord(c, n, b) for n, c, b in PEOPLE])
    reg.mark_dead(PEOPLE[0][1], date(2026, 11, 3))
    reg.stop_entitlement(PEOPLE[1][1], "NCC", "")
    stops = asyncio.run(reg.check_batch([PEOPLE[0][1], PEOPLE[1][1], "001099999999"]))
    assert (
        stops[PEOPLE[0][1]][0].detail == "deceased on 2026-11-03 (population register)"
    )  # the ledger's words
    assert (
        vocab.detail(stops[PEOPLE[0][1]][0].detail)
        == "Đã chết ngày 03/11/2026 (theo CSDL quốc gia về dân cư)"
    )
    assert stops[PEOPLE[1][1]][0].detail == "entitlement to NCC ended"
    assert vocab.detail(stops["001099999999"][0].detail) == "Số CCCD không còn trong CSDL quốc gia về dân cư"
    reg.close()
