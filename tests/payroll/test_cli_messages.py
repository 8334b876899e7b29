"""Refusals and the tool commands speak the workbook's words (issue 17): Vietnamese by
default, English with --lang en, the library's ``str(exc)`` English whatever the CLI shows.

Every case runs the real command line (``asxh_pay.cli.main``) twice and checks the exit code
is the same in both languages.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from asxh_pay import vocab
from asxh_pay.cli import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, main
from asxh_pay.errors import Message, ValidationError, in_language
from asxh_pay.payroll.approval import ApprovalError, load_approved
from tests.payroll.conftest import Workspace, row, write_list

PACKAGE = Path(__file__).resolve().parents[2] / "asxh_pay"


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    """Exit code and everything printed (stdout then stderr); never a traceback."""
    try:
        code = main(argv)
    except SystemExit as ended:  # argparse's own refusals
        code = int(ended.code or 0)
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out + out.err


def _both(
    capsys: pytest.CaptureFixture[str], argv: list[str], vi: str, en: str, code: int
) -> tuple[str, str]:
    """The command in Vietnamese (default) and in English: the same exit code, each its own words."""
    got_vi, text_vi = _run(capsys, argv)
    got_en, text_en = _run(capsys, [*argv, "--lang", "en"])
    assert (got_vi, got_en) == (code, code), (text_vi, text_en)
    assert vi in text_vi and en not in text_vi, text_vi
    assert en in text_en and vi not in text_en, text_en
    return text_vi, text_en


def _sources() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(PACKAGE.rglob("*.py")))


# --------------------------------------------------------------------------- the vocabulary


def test_every_phrase_and_message_the_code_names_has_both_languages() -> None:
    assert vocab.missing() == []
    assert not set(vocab.PHRASES) & set(vocab.MESSAGES)  # one key, one sentence
    text = _sources()
    named = set(re.findall(r"""(?:phrase|Message)\(\s*["']([a-z0-9_]+)["']""", text))
    # Keys chosen at run time: phrase("a" if x else "b", ...) names "b" too.
    named |= set(
        re.findall(
            r"""(?:phrase|Message)\(\s*["'][a-z0-9_]+["']\s+if [^()]*?else\s+["']([a-z0-9_]+)["']""", text
        )
    )
    named = {k for k in named if not k.endswith("_")}  # phrase("roster_" + state): a prefix
    assert len(named) > 150
    known = set(vocab.PHRASES) | set(vocab.MESSAGES)
    assert sorted(named - known) == []
    # And no sentence of MESSAGES is dead: each is named in the code, literally or by prefix.
    prefixes = set(re.findall(r"""f["']([a-z_]+_)\{""", text))
    unused = [
        k for k in vocab.MESSAGES if f'"{k}"' not in text and not any(k.startswith(p) for p in prefixes)
    ]
    assert unused == []


def test_a_field_missing_from_the_english_is_reported() -> None:
    vocab.MESSAGES["_probe"] = ("{a} {b}", "{a}")
    try:
        assert vocab.missing() == ["messages._probe"]
        vocab.MESSAGES["_probe"] = ("{a}", "{a} {b}")  # Vietnamese may leave out an English detail
        assert vocab.missing() == []
    finally:
        del vocab.MESSAGES["_probe"]


def test_str_of_an_error_stays_english_and_the_cli_renders_it_in_either_language() -> None:
    exc = ValidationError(Message("one_run_at_most", n=2), field="targets")
    assert str(exc) == "targets: one run id at most, got 2 (or a file that does not exist)"
    assert exc.detail == "one run id at most, got 2 (or a file that does not exist)"
    assert (
        in_language(exc, "vi")
        == "targets: Chỉ được nêu tối đa một mã đợt chi, đã nhập 2 (hoặc có tệp không tồn tại)"
    )
    assert in_language(exc, "en") == str(exc)
    assert in_language(ValidationError("plain English"), "vi") is None
    # A nested sentence (a wrapped refusal, a role) follows the language of the whole.
    msg = Message("signature_forged", role=Message("role_approved"), operator="hung")
    assert str(msg) == "the approved signature of hung does not verify (forged or damaged)"
    assert (
        msg.render("vi") == "Chữ ký của hung (người phê duyệt) không xác thực được (bị giả mạo hoặc bị hỏng)"
    )


def test_a_wrapped_refusal_keeps_its_words(ws: Workspace) -> None:
    prep = ws.prepare([write_list(ws.data_dir.parent / "xa.csv", [row(0)])])
    with pytest.raises(ApprovalError) as refused:
        ws.approve(prep.run_id, "maker")  # a RosterError, re-raised as an ApprovalError
    assert str(refused.value) == "maker prepared this run and cannot approve it: another operator must"
    assert refused.value.message is not None and refused.value.message.key == "preparer_cannot_approve"
    with pytest.raises(ApprovalError) as not_approved:
        load_approved(ws.data_dir, prep.run_id)
    assert str(not_approved.value) == (
        f"run {prep.run_id} is not approved: 'asxh-pay approve {prep.run_id}' by another operator"
    )


# --------------------------------------------------------------------------- refusals on the command line


def _data(ws: Workspace) -> list[str]:
    return ["--data-dir", str(ws.data_dir)]


def test_approval_refusals(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    prep = ws.prepare([write_list(ws.data_dir.parent / "xa.csv", [row(i) for i in range(3)])])
    run = ["run", prep.run_id, "--no-progress", *_data(ws)]
    _both(
        capsys,
        run,
        f"Bị từ chối: Đợt chi {prep.run_id} chưa được phê duyệt",
        f"refused: run {prep.run_id} is not approved",
        EXIT_REFUSED,
    )
    _both(
        capsys,
        ["approve", prep.run_id, "--operator", "maker", *_data(ws)],
        "maker đã lập đợt chi này nên không được phê duyệt",
        "maker prepared this run and cannot approve it",
        EXIT_REFUSED,
    )
    _both(
        capsys,
        ["approve", prep.run_id, "--operator", "checker", "--key", str(ws.data_dir / "none.pem"), *_data(ws)],
        "Lỗi: Không có khóa bí mật tại",
        "error: no private key at",
        EXIT_USAGE,
    )
    wrong_key = ["--key", str(ws.data_dir / "keys" / "maker.pem")]
    _both(
        capsys,
        ["approve", prep.run_id, "--operator", "checker", *wrong_key, *_data(ws)],
        "không phải khóa được tin cậy của cán bộ checker",
        "is not the trusted key of operator checker",
        EXIT_REFUSED,
    )
    # JSON keeps the library's English and names the sentence for scripts.
    code, text = _run(capsys, [*run, "--json"])
    refusal = json.loads(text)
    assert code == EXIT_REFUSED and refusal["message_key"] == "not_approved"
    assert refusal["refused"].startswith(f"run {prep.run_id} is not approved")

    ws.approve(prep.run_id)
    frozen = prep.dir / "payouts.jsonl"
    kept = frozen.read_bytes()
    frozen.write_bytes(b"".join(kept.splitlines(keepends=True)[:-1]))  # a payout removed
    _both(
        capsys,
        run,
        "Danh sách chi đã chốt bị sửa sau khi lập; hãy lập lại đợt chi",
        "the frozen payouts were edited after preparation",
        EXIT_REFUSED,
    )
    frozen.write_bytes(kept)
    assert _run(capsys, run)[0] == EXIT_OK
    _both(
        capsys,
        run,
        f"Đợt chi {prep.run_id} đã bắt đầu chi trả",
        f"run {prep.run_id} was already started (3 payouts in the ledger)",
        EXIT_REFUSED,
    )
    code, text = _run(capsys, [*run, "--resume"])
    assert code == EXIT_OK and "Đợt chi" in text


def test_preparation_refusals(ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_list(tmp_path / "xa.csv", [row(0)])
    prepare = ["prepare", "--operator", "maker", "--province", "01", *_data(ws)]
    _both(
        capsys,
        [*prepare, str(good), "--period", "2026-13"],
        "Lỗi: Kỳ chi trả phải có dạng YYYY-MM, tháng từ 01 đến 12",
        "error: pay period must be YYYY-MM with a month 01-12",
        EXIT_USAGE,
    )
    _both(
        capsys,
        [*prepare, str(good), "--period", "2026-11", "--run-id=.x"],
        "Mã đợt chi '.x' phải dài 1-64 ký tự",
        "run id '.x' must be 1-64 letters",
        EXIT_USAGE,
    )
    _both(
        capsys,
        ["status", "a/b", *_data(ws)],
        "Lỗi: Mã đợt chi 'a/b' không hợp lệ",
        "error: invalid run id 'a/b'",
        EXIT_USAGE,
    )
    pdf = tmp_path / "xa.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    _both(
        capsys,
        [*prepare, str(pdf), "--period", "2026-11"],
        "xa.pdf: không hỗ trợ loại tệp '.pdf'",
        "xa.pdf: unsupported list file type '.pdf'",
        EXIT_USAGE,
    )
    empty = write_list(tmp_path / "empty.csv", [])
    _both(
        capsys,
        [*prepare, str(empty), "--period", "2026-11"],
        "Danh sách không có dòng đối tượng nào: empty.csv",
        "the lists have no beneficiary rows: empty.csv",
        EXIT_USAGE,
    )
    bad = write_list(tmp_path / "bad.csv", [row(i, **{"Số CCCD": "12345"}) for i in range(3)])
    vi, en = _both(
        capsys,
        [*prepare, str(bad), "--period", "2026-11"],
        "Mọi dòng đều bị loại (3 dòng); không có khoản nào để chi trả",
        "every row was rejected (3 rows); nothing to pay",
        EXIT_USAGE,
    )
    assert "Lý do thường gặp" in vi and "(cccd_length)" in vi and "top reasons" in en
    _both(
        capsys,
        [*prepare, str(good), "--period", "2026-11", "--operator", "nobody"],
        "Lỗi: Cán bộ 'nobody' chưa có khóa bí mật",
        "error: operator 'nobody' has no private key",
        EXIT_USAGE,
    )
    _both(
        capsys,
        [*prepare, str(good), "--period", "2026-11", "--district", "001"],
        "Cấp huyện không còn",
        "districts no longer exist",
        EXIT_USAGE,
    )
    _both(
        capsys,
        [
            "prepare",
            str(good),
            "--period",
            "2026-11",
            "--operator",
            "maker",
            "--commune",
            "00004",
            "--province",
            "02",
            *_data(ws),
        ],
        "không thuộc tỉnh 02",
        "not in province 02",
        EXIT_USAGE,
    )
    assert not (ws.data_dir / "runs").exists()  # nothing was prepared


def test_key_and_roster_refusals(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    pub = str(ws.data_dir / "keys" / "maker.pub.pem")
    _both(
        capsys,
        ["keys", "enroll", "--operator", "maker", "--public-key", pub, "--signed-by", "office", *_data(ws)],
        "--signed-by office cần có --key (tệp khóa văn phòng)",
        "--signed-by office needs --key (the office key file)",
        EXIT_USAGE,
    )
    _both(
        capsys,
        ["keys", "generate", "--operator", "maker", *_data(ws)],
        "Cán bộ 'maker' đã có khóa",
        "a key for operator 'maker' already exists",
        EXIT_REFUSED,
    )
    _both(
        capsys,
        ["keys", "generate", "--operator", "office", *_data(ws)],
        "'office' là tên của khóa văn phòng, không phải tên cán bộ",
        "'office' is the office key's name, not an operator's",
        EXIT_REFUSED,
    )
    enroll = ["keys", "enroll", "--operator", "checker", "--public-key", pub, "--signed-by", "maker"]
    _both(
        capsys,
        [*enroll, *_data(ws)],
        "Khóa công khai này đã được tin cậy cho maker",
        "this public key is already trusted for maker",
        EXIT_REFUSED,
    )


def test_ledger_and_configuration_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _both(
        capsys,
        ["ledger", "verify", "--anchor", "a.jsonl"],
        "Lỗi: --anchor và --public-key phải dùng cùng nhau",
        "error: --anchor and --public-key go together",
        EXIT_USAGE,
    )
    folder = tmp_path / "folder"
    folder.mkdir()
    _both(
        capsys,
        ["ledger", "verify", "--ledger", str(folder)],
        "Không có sổ cái tại",
        "no ledger at",
        EXIT_USAGE,
    )
    _both(
        capsys,
        ["config", "show", "--config", str(tmp_path / "none.toml")],
        "Lỗi: Không có tệp cấu hình",
        "error: configuration file",
        EXIT_REFUSED,
    )
    broken = tmp_path / "broken.toml"
    broken.write_text("[rails\n", encoding="utf-8")
    _both(
        capsys,
        ["config", "check", "--config", str(broken)],
        "không phải tệp TOML hợp lệ",
        "is not valid TOML",
        EXIT_REFUSED,
    )
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[routing]\ncash_fallback = "nowhere"\n', encoding="utf-8")
    _both(
        capsys,
        ["config", "show", "--config", str(wrong)],
        f"Cấu hình trong {wrong} không hợp lệ",
        f"invalid configuration in {wrong}",
        EXIT_REFUSED,
    )
    _both(
        capsys,
        ["sandbox", "serve", "nosuchprovider"],
        "Lỗi: Không có đơn vị chi trả 'nosuchprovider'; đã cài đặt:",
        "error: unknown provider 'nosuchprovider'; installed:",
        EXIT_USAGE,
    )


def test_the_tool_commands_print_in_either_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    _both(
        capsys,
        ["db", "upgrade", "--ledger", ledger],
        "Cấu trúc sổ cái đã là bản mới nhất",
        "ledger schema is up to date",
        EXIT_OK,
    )
    enqueue = ["enqueue", "--ledger", ledger, "--synthetic", "3", "--run-id", "r1"]
    code, text = _run(capsys, enqueue)
    assert code == EXIT_OK and "Đã ghi 3 lệnh chi mới (0 lệnh đã có, 0 lệnh bị từ chối)" in text
    code, text = _run(capsys, [*enqueue, "--lang", "en"])
    assert code == EXIT_OK and "enqueued 0 new payouts (3 already recorded, 0 refused)" in text
    code, text = _run(capsys, ["config", "show"])
    assert code == EXIT_OK and text.startswith("# Cấu hình đang áp dụng, từ")
    code, text = _run(capsys, ["config", "show", "--lang", "en"])
    assert code == EXIT_OK and text.startswith("# effective configuration from")
    code, text = _run(capsys, ["config", "show", "--json"])
    assert json.loads(text)["source"] == "(no file: the embedded sandboxes)"


def test_no_english_is_left_in_the_vietnamese_messages() -> None:
    """A Vietnamese message that is the English one copied (or left untranslated) is caught."""
    english_words = re.compile(r"\b(the|is|not|and|with|run|key|file|cannot|must|no|of)\b")
    for key, (vi, en) in vocab.MESSAGES.items():
        stripped = re.sub(r"'[^']*'|\{[^}]*\}|--[a-z-]+|asxh[-_]pay[^ ]*|[A-Z_]{3,}", "", vi)
        assert vi != en or not english_words.search(en), key
        assert not english_words.search(stripped), (key, vi)
    assert any(
        ch in "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"
        for ch in "".join(vi for vi, _ in vocab.MESSAGES.values())
    )
