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


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == EXIT_USAGE, err
    for n in needles:
        assert n in err, err
    return err


def _no_run(data: Path) -> bool:
    runs = data / "runs"
    return not runs.exists() or not any(runs.iterdir())


def test_bad_period(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lst = write_list(tmp_path / "x.csv", [row(0)])
    _fails(
        capsys,
        _prepare(data, str(lst), "--period", "2026-13"),
        "Lỗi: Kỳ chi trả không hợp lệ: pay period must be YYYY-MM",  # Vietnamese first, then the detail
        "2026-13",
    )
    _fails(capsys, _prepare(data, str(lst), "--period", "11/2026"), "pay period must be YYYY-MM")
    assert _no_run(data)


def test_bad_run_id(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lst = write_list(tmp_path / "x.csv", [row(0)])
    argv = _prepare(data, str(lst), "--period", "2026-11", "--run-id", "../evil")
    _fails(capsys, argv, "Lỗi: Mã đợt chi không hợp lệ: run id '../evil' must be")
    assert _no_run(data)


def test_missing_key_names_the_command_that_makes_one(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lst = write_list(tmp_path / "x.csv", [row(0)])
    argv = ["prepare", str(lst), "--period", "2026-11", "--operator", "mai", "--data-dir", str(data)]
    _fails(capsys, argv, "operator 'mai' has no private key", "asxh-pay keys generate --operator mai")
    assert _no_run(data)


def test_empty_list(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lst = write_list(tmp_path / "empty.csv", [])
    _fails(capsys, _prepare(data, str(lst), "--period", "2026-11"), "no beneficiary rows", "empty.csv")
    empty_dir = tmp_path / "nothing"
    empty_dir.mkdir()
    _fails(capsys, _prepare(data, str(empty_dir), "--period", "2026-11"), "no beneficiary rows")
    assert _no_run(data)


def test_wholly_rejected_list_shows_the_top_reasons(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [row(i, **{"Số tiền": "1.500.000,50"}) for i in range(3)] + [row(3, **{"Số CCCD": "4.01245E+11"})]
    lst = write_list(tmp_path / "bad.csv", rows)
    err = _fails(
        capsys,
        _prepare(data, str(lst), "--period", "2026-11"),
        "every row was rejected (4 rows)",
        "Lý do thường gặp",
        "Số tiền có phần lẻ (đồng phải là số nguyên) (amount_fractional)",
        "excel_scientific",
        "bad.csv:4",
    )
    assert err.index("amount_fractional") < err.index("excel_scientific")  # most frequent first
    assert _no_run(data)


def test_unsupported_file(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pdf = tmp_path / "danh-sach.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    _fails(
        capsys, _prepare(data, str(pdf), "--period", "2026-11"), "danh-sach.pdf", "unsupported list file type"
    )
    assert _no_run(data)


def test_district_is_refused_with_an_explanation(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lst = write_list(tmp_path / "x.csv", [row(0)])
    argv = _prepare(data, str(lst), "--period", "2026-11", "--district", "001")
    _fails(capsys, argv, "districts no longer exist", "--commune CODE", "--province CODE")


def test_unknown_or_old_paying_unit(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lst = write_list(tmp_path / "x.csv", [row(0)])
    _fails(
        capsys,
        _prepare(data, str(lst), "--period", "2026-11", "--commune", "00013"),
        "not a commune code of the 2025 two-tier structure",
        "Phường Quán Thánh",
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
