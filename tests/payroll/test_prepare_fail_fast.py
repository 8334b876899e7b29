"""``asxh-pay prepare`` fails fast: exit 2, the reason on screen, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from asxh_pay.cli import EXIT_ATTENTION, EXIT_USAGE, main
from tests.payroll.conftest import HEADERS, row, write_list
from tests.payroll.test_cli import office_cli


@pytest.fixture
def data(tmp_path: Path) -> Path:
    d = tmp_path / "d"
    office_cli(str(d), tmp_path / "office.pem", ["lan"])  # generated and enrolled by the office
    return d


def _prepare(data: Path, *args: str) -> list[str]:
    return ["prepare", *args, "--operator", "lan", "--data-dir", str(data)]


def _fails(
    capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str, en: tuple[str, ...] = ()
) -> str:
    """Exit 2 with ``needles`` on screen (Vietnamese, the default), and with ``en`` under
    --lang en (the same exit code); returns the Vietnamese screen."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == EXIT_USAGE, err
    for n in needles:
        assert n in err, err
    if en:
        code = main([*argv, "--lang", "en"])
        err_en = capsys.readouterr().err
        assert code == EXIT_USAGE, err_en
        for n in en:
            assert n in err_en, err_en
    return err


def _no_run(data: Path) -> bool:
    runs = data / "runs"
    return not runs.exists() or not any(runs.iterdir())


def test_bad_period(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lst = write_list(tmp_path / "x.csv", [row(0)])
    _fails(
        capsys,
        _prepare(data, str(lst), "--period", "2026-13"),
        "Lỗi: Kỳ chi trả phải có dạng YYYY-MM, tháng từ 01 đến 12, ví dụ 2026-11; đã nhập '2026-13'",
        en=("error: pay period must be YYYY-MM", "2026-13"),
    )
    _fails(
        capsys,
        _prepare(data, str(lst), "--period", "11/2026"),
        "Kỳ chi trả phải có dạng YYYY-MM",
        en=("pay period must be YYYY-MM",),
    )
    assert _no_run(data)


def test_bad_run_id(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lst = write_list(tmp_path / "x.csv", [row(0)])
    argv = _prepare(data, str(lst), "--period", "2026-11", "--run-id", "../evil")
    _fails(
        capsys,
        argv,
        "Lỗi: Mã đợt chi '../evil' phải dài 1-64 ký tự",
        en=("error: run id '../evil' must be",),
    )
    assert _no_run(data)


def test_missing_key_names_the_command_that_makes_one(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lst = write_list(tmp_path / "x.csv", [row(0)])
    argv = ["prepare", str(lst), "--period", "2026-11", "--operator", "mai", "--data-dir", str(data)]
    _fails(
        capsys,
        argv,
        "Cán bộ 'mai' chưa có khóa bí mật",
        "asxh-pay keys generate --operator mai",
        en=("operator 'mai' has no private key", "asxh-pay keys generate --operator mai"),
    )
    assert _no_run(data)


def test_empty_list(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lst = write_list(tmp_path / "empty.csv", [])
    _fails(
        capsys,
        _prepare(data, str(lst), "--period", "2026-11"),
        "Danh sách không có dòng đối tượng nào: empty.csv",
        en=("no beneficiary rows", "empty.csv"),
    )
    empty_dir = tmp_path / "nothing"
    empty_dir.mkdir()
    _fails(
        capsys,
        _prepare(data, str(empty_dir), "--period", "2026-11"),
        "Danh sách không có dòng đối tượng nào: (không tìm thấy tệp danh sách nào)",
        en=("no beneficiary rows: (no list files found)",),
    )
    assert _no_run(data)


def test_wholly_rejected_list_shows_the_top_reasons(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [row(i, **{"Số tiền": "1.500.000,50"}) for i in range(3)] + [row(3, **{"Số CCCD": "4.01245E+11"})]
    lst = write_list(tmp_path / "bad.csv", rows)
    err = _fails(
        capsys,
        _prepare(data, str(lst), "--period", "2026-11"),
        "Mọi dòng đều bị loại (4 dòng)",
        "Lý do thường gặp",
        "Số tiền có phần lẻ (đồng phải là số nguyên) (amount_fractional)",
        "excel_scientific",
        "bad.csv:4",
        en=("every row was rejected (4 rows)", "top reasons", "Fractional amount (amount_fractional)"),
    )
    assert err.index("amount_fractional") < err.index("excel_scientific")  # most frequent first
    assert _no_run(data)


def test_unsupported_file(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pdf = tmp_path / "danh-sach.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    _fails(
        capsys,
        _prepare(data, str(pdf), "--period", "2026-11"),
        "danh-sach.pdf: không hỗ trợ loại tệp '.pdf'",
        en=("danh-sach.pdf", "unsupported list file type"),
    )
    assert _no_run(data)


def test_district_is_refused_with_an_explanation(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lst = write_list(tmp_path / "x.csv", [row(0)])
    argv = _prepare(data, str(lst), "--period", "2026-11", "--district", "001")
    _fails(
        capsys,
        argv,
        "Cấp huyện không còn",
        "--commune MÃ",
        "--province MÃ",
        en=("districts no longer exist", "--commune CODE", "--province CODE"),
    )


def test_unknown_or_old_paying_unit(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lst = write_list(tmp_path / "x.csv", [row(0)])
    _fails(
        capsys,
        _prepare(data, str(lst), "--period", "2026-11", "--commune", "00013"),
        "không phải mã xã theo mô hình chính quyền hai cấp năm 2025",
        "(đây là mã cũ trước 2025 của Phường Quán Thánh",
        en=("not a commune code of the 2025 two-tier structure", "Phường Quán Thánh"),
    )


def test_partly_rejected_list_prepares_and_shows_reasons_on_screen(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lst = write_list(tmp_path / "x.csv", [row(0), row(1, **{"Số tiền": "1,5"})], headers=HEADERS)
    code = main(_prepare(data, str(lst), "--period", "2026-11", "--province", "01", "--no-account-check"))
    out = capsys.readouterr().out
    assert code == EXIT_ATTENTION
    assert "Đơn vị chi trả: Thành phố Hà Nội (01), chi trả tập trung" in out  # Vietnamese by default
    assert "Dòng bị loại, lý do thường gặp" in out and "(amount_fractional)" in out
