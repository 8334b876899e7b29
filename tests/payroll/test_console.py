"""The console speaks the workbook's words: Vietnamese by default, English with --lang en (issue 17.4)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from asxh_pay import vocab
from asxh_pay.payroll.console import Progress, prepared_text, recon_text, run_text, top_reasons


def test_every_term_has_vietnamese_and_english() -> None:
    assert vocab.missing() == []
    # Every outcome, status and method an official reads is translated, not shown as a code.
    for table in (vocab.OUTCOMES, vocab.STATUSES, vocab.METHODS):
        for key, (vi, en) in table.items():
            assert vi != key and en, key
    from asxh_pay.status import FailureReason

    assert {r.value for r in FailureReason} <= set(vocab.REASONS)
    assert vocab.target_met(True) == "Đạt" and vocab.target_met(False) == "Không đạt"


def _ent(outcome: str, account: bool = False, amount: int = 1_500_000) -> Any:
    return SimpleNamespace(outcome=outcome, paid_into_account=account, paid_amount=amount)


def _run() -> tuple[Any, Any]:
    ents = [
        _ent("paid", True),
        _ent("paid", True),
        _ent("paid_fallback"),
        _ent("failed", amount=0),
        _ent("stopped", amount=0),
    ]
    result = SimpleNamespace(run_id="2026-11-x", elapsed_s=3.25, resumed=0, errors=[])
    files = SimpleNamespace(figures=SimpleNamespace(entitlements=ents), directory=Path("/r"))
    return result, files


def test_every_phrase_of_the_run_summary_is_in_vietnamese() -> None:
    result, files = _run()
    vi, en = run_text(result, files, "vi"), run_text(result, files, "en")
    # Line by line, no English phrase is left in the Vietnamese summary.
    for vi_line, en_line in zip(vi.splitlines(), en.splitlines(), strict=True):
        words = [w for w in en_line.split() if w.isalpha() and len(w) > 2]
        if words:
            assert vi_line != en_line
            assert not any(w in vi_line.split() for w in words if w not in ("CSV",)), (vi_line, en_line)
    for key in ("paid", "paid_fallback", "failed", "stopped", "pending"):
        assert vocab.outcome(key, "vi") in vi and vocab.outcome(key, "en") in en
    assert "Đạt" in vi and "40.0%" in vi  # 2 of 5 into an account, against the 30% target


def test_prepared_summary_shows_top_reasons_in_vietnamese() -> None:
    prep = SimpleNamespace(
        run_id="r1",
        dir=Path("/runs/r1"),
        manifest={
            "counts": {
                "rows_read": 10,
                "rows_rejected": 3,
                "duplicates_merged": 1,
                "held": 1,
                "warnings": 0,
                "payouts": 5,
                "total_vnd": 7_500_000,
            },
            "totals": {"method": {"bank": {"count": 5, "amount": 7_500_000}}},
            "rejected_by_code": {"cccd_length": 2, "amount_format": 1},
            "held_by_code": {"beneficiary_deceased": 1},
        },
    )
    vi = prepared_text(prep, "vi")
    assert "Số CCCD không đủ 12 chữ số (cccd_length): 2" in vi
    assert "Đối tượng đã chết (beneficiary_deceased): 1" in vi
    assert "Tài khoản ngân hàng" in vi and "rows read" not in vi
    assert "rows read" in prepared_text(prep, "en")
    assert top_reasons({"a": 1, "b": 3}, "en") == ["b (b): 3", "a (a): 1"]


def test_reconciliation_summary_in_both_languages() -> None:
    res = SimpleNamespace(ok=True, checked=4, matched=4, pending=0, breaks=[], by_kind=lambda: {})
    assert recon_text(res, "vi").startswith("Đối chiếu KHỚP: 4 khoản đã đối chiếu")
    assert recon_text(res, "en").startswith("reconciliation OK: 4 payouts checked")


def test_progress_is_silent_off_a_terminal(capsys: Any) -> None:
    with Progress(False) as bars, bars.phase("progress_pay", total=3) as bar:
        bar.tally(Counter({"succeeded": 2, "failed(cash)": 1}), 3)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    with Progress(True, "vi") as bars, bars.phase("progress_reports") as bar:
        bar.advance()
    assert "Đang lập báo cáo" in capsys.readouterr().err


# --------------------------------------------------------------------------- the command itself


def _help(capsys: Any, argv: list[str]) -> str:
    import pytest

    from asxh_pay.cli import main

    with pytest.raises(SystemExit):
        main(argv)
    return str(capsys.readouterr().out)


WORKFLOW = ["keys", "prepare", "approve", "run", "reconcile", "report", "status"]


def test_help_is_vietnamese_by_default_and_english_on_request(capsys: Any) -> None:
    vi = _help(capsys, ["--help"])
    assert vi.startswith("cách dùng: asxh-pay") and "khóa ký của cán bộ" in vi and "lệnh:" in vi
    en = _help(capsys, ["--help", "--lang", "en"])
    assert en.startswith("usage: asxh-pay") and "operator signing keys" in en
    vi_prepare = _help(capsys, ["prepare", "--help"])
    assert "kỳ chi trả YYYY-MM, ví dụ 2026-11" in vi_prepare and "tùy chọn:" in vi_prepare
    assert "pay period YYYY-MM, e.g. 2026-11" in _help(capsys, ["prepare", "--help", "--lang", "en"])


def test_every_help_line_of_the_monthly_workflow_is_translated() -> None:
    from asxh_pay.cli import build_parser
    from asxh_pay.help_vi import HELP_VI, help_strings

    parser = build_parser("en")
    missing = [
        (prog, text)
        for prog, text in help_strings(parser)
        if (prog == "asxh-pay" or prog.split()[1] in [*WORKFLOW, "registry", "demo", "ledger"])
        and text not in HELP_VI
    ]
    assert missing == []


def test_commands_are_listed_in_the_order_of_the_month(capsys: Any) -> None:
    text = _help(capsys, ["--help", "--lang", "en"])
    commands = [line.split()[0] for line in text.splitlines() if line.startswith("    ") and line[4] != " "]
    assert commands[: len(WORKFLOW)] == WORKFLOW


def test_messages_follow_lang(tmp_path: Path, capsys: Any) -> None:
    from asxh_pay.cli import main

    assert main(["keys", "generate", "--operator", "lan", "--data-dir", str(tmp_path)]) == 0
    assert "Khóa của cán bộ lan" in capsys.readouterr().out
    assert main(["keys", "generate", "--operator", "hung", "--data-dir", str(tmp_path), "--lang", "en"]) == 0
    assert "key for operator hung" in capsys.readouterr().out
    assert main(["status", "--data-dir", str(tmp_path)]) == 0
    assert "Chưa có đợt chi nào" in capsys.readouterr().out
    # An error is a Vietnamese sentence, the library's English only with --lang en.
    assert main(["approve", "nope", "--operator", "hung", "--data-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("Lỗi: Không có đợt chi 'nope': chưa có đợt chi nào được lập")
    assert main(["approve", "nope", "--operator", "hung", "--data-dir", str(tmp_path), "--lang", "en"]) == 2
    assert capsys.readouterr().err.startswith("error: no run 'nope'")


def test_the_month_close_reports_its_progress(ws: Any) -> None:
    import asyncio

    from asxh_pay.payroll.execute import execute_run
    from tests.payroll.conftest import row, write_list

    prep = ws.prepare([write_list(ws.data_dir.parent / "x.csv", [row(0), row(4, "Chi trả tại nhà")])])
    ws.approve(prep.run_id)
    rounds: list[tuple[int, int]] = []
    asyncio.run(
        execute_run(
            ws.data_dir,
            prep.run_id,
            ledger_url=ws.ledger_url,
            registry=ws.registry,
            rails=ws.rails,
            on_close=lambda done, total: rounds.append((done, total)),
        )
    )
    assert rounds[0] == (0, 4) and rounds[-1] == (4, 4)


def test_every_row_level_reason_code_has_words_in_both_languages() -> None:
    """A code that rejects or holds a list row (the import, the register, the placement, the
    account check) is shown to the official in words: rejected.csv, held.csv and the summary."""
    import re

    root = Path(__file__).resolve().parents[2] / "asxh_pay"
    sources = [root / f for f in ("models.py", "identity.py", "money.py", "banks.py")]
    sources += sorted((root / "payroll").glob("*.py"))
    patterns = [
        r'code="([a-z_0-9]+)"',
        r'errs\.add\([^,]+,\s*"([a-z_0-9]+)"',
        r'Hold\([^,]+,\s*"([a-z_]+)"',
        r'reject\([^,]+,\s*"[a-z_]+",\s*"([a-z_]+)"',
    ]
    codes = {c for p in sources for pat in patterns for c in re.findall(pat, p.read_text(encoding="utf-8"))}
    assert len(codes) > 40
    assert sorted(codes - set(vocab.REASONS)) == []
