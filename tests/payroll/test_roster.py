"""Maker-checker needs two people: the attacks of one operator on the operator roster.

Each test is an attack by someone holding the maker's key and write access to the data
folder; before the roster, every one of them let that person approve their own run.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from asxh_pay.cli import EXIT_OK, EXIT_REFUSED, main
from asxh_pay.payroll.approval import ApprovalError, approve, load_approved
from asxh_pay.payroll.roster import (
    RosterError,
    change,
    load_operator_public_key,
    load_roster,
    roster_path,
)
from tests.payroll.conftest import Workspace, row, write_list


def _lists(ws: Workspace) -> list[Path]:
    return [write_list(ws.data_dir.parent / "xa.csv", [row(i) for i in range(3)])]


def _cli(ws: Workspace, *argv: str) -> int:
    return main([*argv, "--data-dir", str(ws.data_dir)])


def _office(ws: Workspace) -> Path:
    return ws.data_dir.parent / "office.pem"


def test_self_generated_second_operator_cannot_approve(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    prep = ws.prepare(_lists(ws))
    # A key made by the maker is trusted by nobody...
    assert _cli(ws, "keys", "generate", "--operator", "mallory") == EXIT_OK
    capsys.readouterr()
    assert _cli(ws, "approve", prep.run_id, "--operator", "mallory") == EXIT_REFUSED
    assert "Bị từ chối: Cán bộ 'mallory' chưa được ghi danh" in capsys.readouterr().out
    assert _cli(ws, "approve", prep.run_id, "--operator", "mallory", "--lang", "en") == EXIT_REFUSED
    assert "refused: operator 'mallory' is not enrolled" in capsys.readouterr().out
    # ... and enrolling it with the maker's own signature makes mallory the maker's puppet.
    pub = str(ws.data_dir / "keys" / "mallory.pub.pem")
    assert (
        _cli(ws, "keys", "enroll", "--operator", "mallory", "--public-key", pub, "--signed-by", "maker") == 0
    )
    capsys.readouterr()
    assert _cli(ws, "approve", prep.run_id, "--operator", "mallory") == EXIT_REFUSED
    assert "Khóa của mallory do maker (hoặc người do maker ghi danh) ghi danh" in capsys.readouterr().out
    assert _cli(ws, "approve", prep.run_id, "--operator", "mallory", "--lang", "en") == EXIT_REFUSED
    assert "enrolled by maker" in capsys.readouterr().out
    # Through a chain of puppets too.
    assert _cli(ws, "keys", "generate", "--operator", "trudy") == EXIT_OK
    pub = str(ws.data_dir / "keys" / "trudy.pub.pem")
    assert (
        _cli(ws, "keys", "enroll", "--operator", "trudy", "--public-key", pub, "--signed-by", "mallory") == 0
    )
    with pytest.raises(ApprovalError, match="enrolled by maker"):
        ws.approve(prep.run_id, "trudy")
    ws.approve(prep.run_id, "checker")  # the office-enrolled checker may
    load_approved(ws.data_dir, prep.run_id)


def test_force_never_replaces_a_trusted_key(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    key = ws.data_dir / "keys" / "checker.pem"
    before = key.read_bytes()
    capsys.readouterr()
    assert _cli(ws, "keys", "generate", "--operator", "checker", "--force") == EXIT_REFUSED
    assert "--force không bao giờ thay khóa đang được tin cậy" in capsys.readouterr().out
    assert _cli(ws, "keys", "generate", "--operator", "checker", "--force", "--lang", "en") == EXIT_REFUSED
    assert "never replaces a trusted key" in capsys.readouterr().out
    assert key.read_bytes() == before
    assert load_roster(ws.data_dir).trusted_key("checker")  # still the checker's own
    # The old attack: replacing the exported public key file changes no trust.
    (ws.data_dir / "keys" / "trusted" / "checker.pub.pem").write_bytes(
        (ws.data_dir / "keys" / "maker.pub.pem").read_bytes()
    )
    prep = ws.prepare(_lists(ws))
    with pytest.raises(ApprovalError, match="not the trusted key of operator checker"):
        approve(ws.data_dir, prep.run_id, "checker", ws.data_dir / "keys" / "maker.pem")


def test_roster_edited_by_hand_is_refused_everywhere(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    prep = ws.prepare(_lists(ws))
    path = roster_path(ws.data_dir)
    lines = path.read_text().splitlines()
    # The maker swaps the checker's enrolled key for one they made, keeping everything else.
    entry = json.loads(lines[2])
    assert entry["operator"] == "checker"
    maker_entry = json.loads(lines[1])
    entry["public_key"], entry["fingerprint"] = maker_entry["public_key"], maker_entry["fingerprint"]
    lines[2] = json.dumps(entry)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ApprovalError, match="changed outside 'asxh-pay keys'"):
        ws.approve(prep.run_id, "checker")
    capsys.readouterr()
    assert _cli(ws, "keys", "roster") == EXIT_REFUSED
    assert "(mục 2: nội dung không khớp mã băm)" in capsys.readouterr().out
    assert _cli(ws, "keys", "roster", "--lang", "en") == EXIT_REFUSED
    assert "(entry 2: its content does not match its hash)" in capsys.readouterr().out
    # Dropping an entry is an edit too.
    path.write_text("\n".join(lines[:1] + lines[2:]) + "\n")
    with pytest.raises(RosterError, match="out of order"):
        load_roster(ws.data_dir)


def test_ledger_verify_and_run_check_the_roster(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    prep = ws.prepare(_lists(ws))
    ws.approve(prep.run_id)
    assert _cli(ws, "run", prep.run_id, "--no-progress") == EXIT_OK
    ledger = ws.ledger_url
    assert main(["ledger", "verify", "--ledger", ledger]) == EXIT_OK
    path = roster_path(ws.data_dir)
    path.write_text(path.read_text().replace('"checker"', '"checkers"'))
    capsys.readouterr()
    assert main(["ledger", "verify", "--ledger", ledger, "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert not out["ok"] and "changed outside" in out["roster"]["problem"]
    assert _cli(ws, "run", prep.run_id, "--resume") == EXIT_REFUSED
    path.unlink()
    capsys.readouterr()
    assert _cli(ws, "run", prep.run_id, "--resume") == EXIT_REFUSED
    assert "Chưa có danh bạ khóa cán bộ tại" in capsys.readouterr().out
    assert _cli(ws, "run", prep.run_id, "--resume", "--lang", "en") == EXIT_REFUSED
    assert "no operator roster" in capsys.readouterr().out


def test_an_operator_cannot_sign_their_own_roster_change(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(ws, "keys", "generate", "--operator", "maker", "--out", str(ws.data_dir / "new.pem")) == 0
    new_pub = str(ws.data_dir / "new.pub.pem")
    capsys.readouterr()
    argv = ["keys", "enroll", "--operator", "maker", "--public-key", new_pub, "--replace"]
    assert _cli(ws, *argv, "--signed-by", "maker") == EXIT_REFUSED
    assert "maker không được tự ký thay đổi khóa của chính mình" in capsys.readouterr().out
    assert _cli(ws, *argv, "--signed-by", "maker", "--lang", "en") == EXIT_REFUSED
    assert "cannot sign a change of their own key" in capsys.readouterr().out
    # Written into the file directly, with a valid hash and the maker's own signature: refused on reading.
    from asxh_pay.payroll import roster as r

    entries = r._read_entries(roster_path(ws.data_dir))
    forged = {
        "seq": len(entries),
        "action": "replace",
        "operator": "maker",
        "signed_by": "maker",
        "at": "2026-11-01T00:00:00+00:00",
        "prev": load_roster(ws.data_dir).head,
        "public_key": r._raw(load_operator_public_key(Path(new_pub))),
        "fingerprint": r.public_key_fingerprint(load_operator_public_key(Path(new_pub))),
    }
    r._append(
        roster_path(ws.data_dir), r._sign(forged, r.load_signing_key(ws.data_dir / "keys" / "maker.pem"))
    )
    with pytest.raises(RosterError, match="signed a change of their own key"):
        load_roster(ws.data_dir)


def test_a_replaced_key_does_not_inherit_trust(ws: Workspace) -> None:
    prep = ws.prepare(_lists(ws))
    ws.approve(prep.run_id)
    # The checker's key is replaced (lost laptop) by the office: the approval made with the
    # old key no longer counts, and the old key cannot be enrolled again.
    old_pub = load_operator_public_key(ws.data_dir / "keys" / "checker.pub.pem")
    assert main(["keys", "generate", "--operator", "checker", "--out", str(ws.data_dir / "c2.pem")]) == 0
    new_pub = load_operator_public_key(ws.data_dir / "c2.pub.pem")
    change(
        ws.data_dir, "replace", "checker", signed_by="office", signer_key_path=_office(ws), public_key=new_pub
    )
    with pytest.raises(ApprovalError, match="no longer trusts"):
        load_approved(ws.data_dir, prep.run_id)
    with pytest.raises(RosterError, match="never trusted again"):
        change(
            ws.data_dir,
            "replace",
            "checker",
            signed_by="office",
            signer_key_path=_office(ws),
            public_key=old_pub,
        )
    # The maker re-keying the checker makes the checker the maker's: no approval of the maker's runs.
    assert main(["keys", "generate", "--operator", "checker", "--out", str(ws.data_dir / "c3.pem")]) == 0
    change(
        ws.data_dir,
        "replace",
        "checker",
        signed_by="maker",
        signer_key_path=ws.data_dir / "keys" / "maker.pem",
        public_key=load_operator_public_key(ws.data_dir / "c3.pub.pem"),
    )
    prep2 = ws.prepare(_lists(ws))
    with pytest.raises(ApprovalError, match="enrolled by maker"):
        approve(ws.data_dir, prep2.run_id, "checker", ws.data_dir / "c3.pem")


def test_revoked_operator_can_no_longer_sign(ws: Workspace) -> None:
    prep = ws.prepare(_lists(ws))
    change(ws.data_dir, "revoke", "checker", signed_by="office", signer_key_path=_office(ws))
    with pytest.raises(ApprovalError, match="revoked"):
        ws.approve(prep.run_id, "checker")


def test_key_files_are_private_even_when_replacing(tmp_path: Path) -> None:
    data = tmp_path / "d"
    out = data / "keys" / "lan.pem"
    out.parent.mkdir(parents=True)
    out.write_bytes(b"old")
    out.chmod(0o644)
    assert main(["keys", "generate", "--operator", "lan", "--data-dir", str(data), "--force"]) == EXIT_OK
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in out.read_bytes()
    office = tmp_path / "office.pem"
    assert main(["keys", "init-office", "--out", str(office), "--data-dir", str(data)]) == EXIT_OK
    assert stat.S_IMODE(office.stat().st_mode) == 0o600
    assert main(["keys", "init-office", "--out", str(tmp_path / "o2.pem"), "--data-dir", str(data)]) == 3


def test_ledger_verify_refuses_an_anchor_signed_by_an_untrusted_key(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    prep = ws.prepare(_lists(ws))
    ws.approve(prep.run_id)
    assert _cli(ws, "run", prep.run_id, "--no-progress") == EXIT_OK
    # The maker signs an anchor with a key of their own making, in the checker's name.
    assert main(["keys", "generate", "--operator", "x", "--out", str(ws.data_dir / "fake.pem")]) == 0
    anchor = ws.data_dir / "anchor.jsonl"
    sign = ["ledger", "anchor", "--ledger", ws.ledger_url, "--key", str(ws.data_dir / "fake.pem")]
    assert main([*sign, "--operator", "checker", "--out", str(anchor)]) == EXIT_OK
    capsys.readouterr()
    verify = ["ledger", "verify", "--ledger", ws.ledger_url, "--anchor", str(anchor)]
    assert main([*verify, "--public-key", str(ws.data_dir / "fake.pub.pem"), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert not out["ok"] and any("never trusted for checker" in p for p in out["roster"]["problems"])


def test_a_whole_roster_replaced_with_another_office_is_refused_when_pinned(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asxh_pay.payroll.approval import setup_office

    pinned = load_roster(ws.data_dir).office_fingerprint
    prep = ws.prepare(_lists(ws))
    # The maker builds a roster of their own (their own office key, a puppet checker) and swaps it in.
    fake = tmp_path / "fake"
    setup_office(fake, ["maker", "checker"], office_key=tmp_path / "fake-office.pem")
    roster_path(ws.data_dir).write_bytes(roster_path(fake).read_bytes())
    monkeypatch.setenv("ASXH_PAY_OFFICE_FINGERPRINT", pinned)
    with pytest.raises(RosterError, match="roster was replaced"):
        load_roster(ws.data_dir)
    with pytest.raises(ApprovalError, match="roster was replaced"):
        approve(ws.data_dir, prep.run_id, "checker", fake / "keys" / "checker.pem")
