"""Signed anchors: a history rewritten by someone who recomputed its chain is still caught.

The chain check alone cannot see such a rewrite (the first test proves it, so the rest
are not testing a weakness that is not there). Every test runs on both stores.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from asxh_pay.cli import EXIT_ATTENTION, EXIT_OK, EXIT_USAGE, main
from asxh_pay.errors import LedgerError
from asxh_pay.ledger.anchor import AnchorError, redacted_url, verify_anchor, write_anchor
from asxh_pay.ledger.base import Ledger, event_hash
from asxh_pay.ledger.sqlite import SqliteLedger
from asxh_pay.models import EventSource, Payout
from asxh_pay.signing import private_key_to_pem, public_key_to_pem
from asxh_pay.status import FailureReason, PayoutStatus
from tests.ledger.test_ledger_contract import created, drop_append_only_guard, raw_sql

S = PayoutStatus
KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))


async def month(ledger: Ledger, n: int = 4, run_id: str = "R1") -> list[Payout]:
    """n payouts of a run: the first failed (account closed), the others paid."""
    done = []
    for i in range(n):
        p = await created(ledger, i, run_id=run_id)
        if i == 0:
            res = await ledger.transition(
                p, S.FAILED, source=EventSource.RESPONSE, reason=FailureReason.ACCOUNT_CLOSED
            )
        else:
            res = await ledger.transition(p, S.SUCCEEDED, source=EventSource.RESPONSE, provider_ref=f"ref{i}")
        done.append(res.payout)
    return done


async def rewrite_as_paid(ledger: Ledger, payout_id: str) -> None:
    """What an insider with write access does: turn a failure into a success, recompute the chain."""
    events = await ledger.events(payout_id)
    last = events[-1]
    h = event_hash(
        payout_id=payout_id,
        seq=last.seq,
        at=last.at,
        from_status=last.from_status,
        to_status=S.SUCCEEDED,
        source=last.source,
        reason=None,
        detail=None,
        provider=last.provider,
        provider_ref=last.provider_ref,
        prev_hash=last.prev_hash,
    )
    drop_append_only_guard(ledger)
    raw_sql(
        ledger,
        "UPDATE events SET to_status = 'succeeded', reason = NULL, detail = NULL, hash = %s "
        "WHERE payout_id = %s AND seq = %s",
        (h, payout_id, last.seq),
    )
    raw_sql(
        ledger,
        "UPDATE payouts SET status = 'succeeded', failure_reason = NULL, failure_detail = NULL, "
        "last_event_hash = %s WHERE id = %s",
        (h, payout_id),
    )


def delete_payout(ledger: Ledger, payout_id: str) -> None:
    if isinstance(ledger, SqliteLedger):
        raw_sql(ledger, "DROP TRIGGER events_no_delete")
    else:
        raw_sql(ledger, "ALTER TABLE events DISABLE TRIGGER events_append_only")
    raw_sql(ledger, "DELETE FROM events WHERE payout_id = %s", (payout_id,))
    raw_sql(ledger, "DELETE FROM payouts WHERE id = %s", (payout_id,))


async def test_a_recomputed_chain_passes_the_chain_check_but_not_the_anchor(
    ledger: Ledger, tmp_path: Path
) -> None:
    failed, *_ = await month(ledger)
    written = await write_anchor(ledger, tmp_path / "a.jsonl", KEY, operator="hung", run_id="R1")
    assert written.payouts == 4 and written.events == 8
    clean = await verify_anchor(ledger, written.path, KEY.public_key())
    assert clean.ok and clean.payouts_checked == 4 and clean.operator == "hung" and clean.run_id == "R1"

    await rewrite_as_paid(ledger, failed.id)

    assert (await ledger.verify_chain()).ok  # the weakness the anchor exists for
    report = await verify_anchor(ledger, written.path, KEY.public_key())
    assert not report.ok and report.problems == [
        f"{failed.id}: history differs from the anchor: it was rewritten"
    ]


async def test_a_deleted_payout_is_reported_missing(ledger: Ledger, tmp_path: Path) -> None:
    payouts = await month(ledger)
    written = await write_anchor(ledger, tmp_path / "a.jsonl", KEY, operator="hung")
    delete_payout(ledger, payouts[2].id)
    assert (await ledger.verify_chain()).ok
    report = await verify_anchor(ledger, written.path, KEY.public_key())
    assert report.problems == [f"{payouts[2].id}: anchored payout is missing from the ledger"]


async def test_history_after_the_anchor_is_allowed_and_its_anchored_part_still_checked(
    ledger: Ledger, tmp_path: Path
) -> None:
    payouts = await month(ledger)
    written = await write_anchor(ledger, tmp_path / "a.jsonl", KEY, operator="hung", run_id="R1")
    # A bank reverses a paid payout next week: the history grows past the anchor.
    await ledger.transition(payouts[1], S.RETURNED, source=EventSource.RECONCILIATION)
    report = await verify_anchor(ledger, written.path, KEY.public_key())
    assert report.ok and report.grown == 1

    # Rewriting the anchored event underneath the later one is caught.
    drop_append_only_guard(ledger)
    raw_sql(
        ledger,
        "UPDATE events SET hash = %s WHERE payout_id = %s AND seq = 2",
        ("f" * 64, payouts[1].id),
    )
    report = await verify_anchor(ledger, written.path, KEY.public_key())
    assert report.problems == [f"{payouts[1].id}: event 2 differs from the anchor: history was rewritten"]


async def test_a_run_anchor_holds_that_run_only(ledger: Ledger, tmp_path: Path) -> None:
    await month(ledger, 3, run_id="R1")
    other = await created(ledger, 50, run_id="R2")
    written = await write_anchor(ledger, tmp_path / "a.jsonl", KEY, operator="hung", run_id="R1")
    assert written.payouts == 3
    ids = [json.loads(line)[0] for line in written.path.read_text().splitlines()[1:-1]]
    assert other.id not in ids and ids == sorted(ids)


async def test_nothing_to_anchor_is_an_error_and_leaves_no_file(ledger: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "anchors"
    with pytest.raises(AnchorError, match="no payouts"):
        await write_anchor(ledger, out / "a.jsonl", KEY, operator="hung", run_id="nope")
    assert list(out.iterdir()) == []


# ---------------------------------------------------------------------- the file itself


@pytest.fixture
async def anchored(ledger: Ledger, tmp_path: Path) -> tuple[Ledger, Path]:
    await month(ledger)
    written = await write_anchor(ledger, tmp_path / "a.jsonl", KEY, operator="hung", run_id="R1")
    return ledger, written.path


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


async def test_an_edited_head_line_breaks_the_signed_root(anchored: tuple[Ledger, Path]) -> None:
    ledger, path = anchored
    lines = _lines(path)
    pid, seq, _ = json.loads(lines[1])
    lines[1] = json.dumps([pid, seq, "0" * 64], separators=(",", ":")) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(AnchorError, match="signed root"):
        await verify_anchor(ledger, path, KEY.public_key())


async def test_a_dropped_head_line_or_an_edited_header_breaks_the_root(anchored: tuple[Ledger, Path]) -> None:
    ledger, path = anchored
    original = _lines(path)
    path.write_text("".join(original[:1] + original[2:]), encoding="utf-8")
    with pytest.raises(AnchorError, match="signed root"):
        await verify_anchor(ledger, path, KEY.public_key())
    path.write_text("".join([original[0].replace('"R1"', '"R9"'), *original[1:]]), encoding="utf-8")
    with pytest.raises(AnchorError, match="signed root"):
        await verify_anchor(ledger, path, KEY.public_key())


async def test_an_anchor_resigned_with_another_key_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    await month(ledger)
    forged = await write_anchor(ledger, tmp_path / "f.jsonl", OTHER, operator="hung")
    with pytest.raises(AnchorError, match="not by the key given"):
        await verify_anchor(ledger, forged.path, KEY.public_key())
    # Claiming the right key's fingerprint does not help: the signature is checked.
    lines = _lines(forged.path)
    header = json.loads(lines[0])
    real = json.loads(_lines((await write_anchor(ledger, tmp_path / "r.jsonl", KEY, operator="h")).path)[0])
    header["key_fingerprint"] = real["key_fingerprint"]
    lines[0] = json.dumps(header, separators=(",", ":"), sort_keys=True) + "\n"
    import hashlib

    root = hashlib.sha256("".join(lines[:-1]).encode()).hexdigest()
    trailer = json.loads(lines[-1])
    trailer["root"] = root
    lines[-1] = json.dumps(trailer) + "\n"
    forged.path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(AnchorError, match="signature does not verify"):
        await verify_anchor(ledger, forged.path, KEY.public_key())


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda ls: ls[:-1], "no trailer"),
        (lambda ls: [*ls[:-1], ls[-1].rstrip("\n")], "cut short"),
        (lambda ls: [*ls, '["po_x",1,"' + "a" * 64 + '"]\n'], "follows the trailer"),
        (lambda ls: [ls[0], "not json\n", *ls[1:]], "not a chain head"),
        (lambda ls: [ls[0], '["po_x",0,"' + "a" * 64 + '"]\n', *ls[1:]], "not a chain head"),
        (lambda ls: [ls[0], '["po_x",1,"short"]\n', *ls[1:]], "not a chain head"),
        (lambda ls: [ls[0], "[" + "1," * 20_000 + "1]\n", *ls[1:]], "longer than"),
        (lambda ls: ['{"format":"something-else"}\n', *ls[1:]], "not an asxh-pay anchor"),
        (lambda ls: ["[1,2,3]\n", *ls[1:]], "not an object"),
    ],
)
async def test_a_damaged_anchor_gets_a_specific_error(
    anchored: tuple[Ledger, Path], damage: object, message: str
) -> None:
    ledger, path = anchored
    path.write_text("".join(damage(_lines(path))), encoding="utf-8")  # type: ignore[operator]
    with pytest.raises(AnchorError, match=message):
        await verify_anchor(ledger, path, KEY.public_key())


async def test_a_missing_anchor_file_is_a_clear_error(ledger: Ledger, tmp_path: Path) -> None:
    with pytest.raises(AnchorError, match="cannot read anchor"):
        await verify_anchor(ledger, tmp_path / "none.jsonl", KEY.public_key())


def test_the_ledger_url_in_an_anchor_carries_no_password() -> None:
    assert redacted_url("postgresql://pay:s3cret@db.local:5433/asxh") == "postgresql://pay@db.local:5433/asxh"
    assert redacted_url("sqlite:///data/ledger.db") == "sqlite:///data/ledger.db"


# ---------------------------------------------------------------------- the commands

T = TypeVar("T")


async def on_sqlite(db: Path, work: Callable[[Ledger], Awaitable[T]]) -> T:
    async with SqliteLedger(db) as store:
        return await work(store)


def test_ledger_anchor_and_verify_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "ledger.db"
    payouts = asyncio.run(on_sqlite(db, month))
    (tmp_path / "k.pem").write_bytes(private_key_to_pem(KEY, password="pw"))
    (tmp_path / "k.pub.pem").write_bytes(public_key_to_pem(KEY.public_key()))
    url, anchor = f"sqlite:///{db}", str(tmp_path / "a.jsonl")
    argv = ["ledger", "anchor", "--ledger", url, "--key", str(tmp_path / "k.pem"), "--operator", "hung"]
    assert main([*argv, "--out", anchor]) != EXIT_OK  # the key is encrypted: no password, no anchor
    assert not Path(anchor).exists()
    monkeypatch.setenv("ANCHOR_KEY_PW", "pw")
    assert main([*argv, "--password-env", "ANCHOR_KEY_PW", "--out", anchor]) == EXIT_OK
    assert "Đã ký mốc 4 khoản chi" in capsys.readouterr().out  # Vietnamese by default
    verify = [
        "ledger",
        "verify",
        "--ledger",
        url,
        "--anchor",
        anchor,
        "--public-key",
        str(tmp_path / "k.pub.pem"),
    ]
    assert main(verify) == EXIT_OK
    assert main(["ledger", "verify", "--ledger", url, "--anchor", anchor]) == EXIT_USAGE

    asyncio.run(on_sqlite(db, lambda store: rewrite_as_paid(store, payouts[0].id)))
    assert main(["ledger", "verify", "--ledger", url]) == EXIT_OK  # the chains alone look fine
    capsys.readouterr()
    assert main([*verify, "--json"]) == EXIT_ATTENTION
    out = json.loads(capsys.readouterr().out)
    assert (
        not out["ok"]
        and out["problems"] == []
        and out["anchor"]["problems"]
        == [f"{payouts[0].id}: history differs from the anchor: it was rewritten"]
    )


class _DiskFailure:
    """Stands in for the ledger's commit thread: every COMMIT fails as on a full disk."""

    def submit(self, fn: Callable[..., object], *args: object) -> concurrent.futures.Future[object]:
        failed: concurrent.futures.Future[object] = concurrent.futures.Future()
        failed.set_exception(sqlite3.OperationalError("disk I/O error"))
        return failed


async def test_sqlite_anchors_only_what_is_on_disk(tmp_path: Path) -> None:
    """An anchor taken by the paying process must not pin a head that a failed commit loses."""
    async with SqliteLedger(tmp_path / "ledger.db") as writer:
        p = await created(writer, 1)
        commit_thread, writer._executor = writer._executor, _DiskFailure()  # type: ignore[assignment]
        try:
            # News from a provider is not awaited to disk (it would be learnt again after a crash).
            await writer.transition(p, S.SUCCEEDED, source=EventSource.CALLBACK, durable=False)
            with pytest.raises(LedgerError, match="commit failed"):
                await write_anchor(writer, tmp_path / "a.jsonl", KEY, operator="hung")
        finally:
            writer._executor = commit_thread
        assert not (tmp_path / "a.jsonl").exists()
        assert (await writer.heads([p.id]))[p.id].seq == 1  # the success was rolled back
