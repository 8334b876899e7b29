"""JSON log lines: one object a line, masked as text logs are, with run, payout and rail ids."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from asxh_pay.cli import EXIT_OK, main
from asxh_pay.logs import JsonFormatter, configure_logging, log_context
from asxh_pay.masking import get_logger
from asxh_pay.payroll import roster

CCCD, PHONE, ACCOUNT = "001203012345", "0912345678", "0071000123456"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    out = io.StringIO()
    configure_logging("json", level=logging.INFO, stream=out)
    yield out
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in saved[0]:
        root.addHandler(h)
    root.setLevel(saved[1])


def _lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_json_lines_are_masked_and_carry_run_payout_and_rail(stream: io.StringIO) -> None:
    log = get_logger("asxh_pay.test")
    with log_context(run_id="2026-11-08-20261202T142343685", rail="momo"):
        log.warning("payout %s for CCCD %s, phone %s failed", "po_18a0b1c2d3e4f5a6", CCCD, PHONE)
    log.info("account %s booked", ACCOUNT, extra={"rail": "treasury", "payout_id": "po_1", "run_id": CCCD})
    try:
        raise ValueError(f"bad account {ACCOUNT}")
    except ValueError:
        log.exception("could not apply")
    first, second, third = _lines(stream)
    assert first["run_id"] == "2026-11-08-20261202T142343685" and first["rail"] == "momo"  # ids kept
    assert first["payout_id"] == "po_18a0b1c2d3e4f5a6" and first["level"] == "warning"
    assert second["rail"] == "treasury" and second["payout_id"] == "po_1"
    assert second["run_id"] == "0012******45"  # a CCCD passed as an id by mistake is still masked
    raw = stream.getvalue()
    for secret in (CCCD, PHONE, ACCOUNT):
        assert secret not in raw
    assert "0012******45" in str(first["message"]) and "bad account" in str(third["exc"])


def test_the_configuration_and_the_option_choose_json(
    tmp_path: Path, stream: io.StringIO, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "asxh-pay.toml"
    cfg.write_text('log_format = "json"\n', "utf-8")
    assert main(["--config", str(cfg), "config", "show"]) == EXIT_OK
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_asxh_pay", False)]
    assert len(ours) == 1 and isinstance(ours[0].formatter, JsonFormatter)
    assert main(["--log-format", "text", "--config", str(cfg), "config", "show"]) == EXIT_OK
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_asxh_pay", False)]
    assert len(ours) == 1 and not isinstance(ours[0].formatter, JsonFormatter)


def test_the_roster_lives_where_the_configuration_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shared = tmp_path / "share" / "operators.jsonl"
    cfg = tmp_path / "asxh-pay.toml"
    cfg.write_text(f'roster = "{shared}"\n', "utf-8")
    data = str(tmp_path / "d")
    try:
        argv = [
            "--config",
            str(cfg),
            "keys",
            "init-office",
            "--out",
            str(tmp_path / "o.pem"),
            "--data-dir",
            data,
        ]
        assert main(argv) == EXIT_OK
        assert shared.exists() and not (tmp_path / "d" / "keys" / "roster.jsonl").exists()
    finally:
        roster.set_location(None)
