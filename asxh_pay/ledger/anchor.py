"""Signed anchors of the ledger's hash chains: what someone with database access cannot redo.

Why: every status event carries the hash of the one before it, so an edit or a removal
breaks the chain, *unless* whoever made it also recomputes the chain after it. Anyone who
can write to the database can do that, and ``asxh-pay ledger verify`` would then pass.
An anchor pins each payout's chain head (the seq and hash of its newest event) at one
moment, in a file signed with an operator's Ed25519 key and kept outside the database
(with the month's reports, sent to the province). Later, :func:`verify_anchor` checks
that every anchored payout still exists and that its event at the anchored seq still has
the anchored hash. Each hash commits to the whole history before it, so the anchored
history is intact whatever was recomputed. Events added after the anchor (a later
return) are covered by the chain check and by the next anchor.

File format ``asxh-pay-anchor/1``, JSON Lines in UTF-8:

1. header: ``{"format", "run_id", "ledger", "taken_at", "operator", "key_fingerprint"}``
2. one line per payout: ``["<payout id>", <seq>, "<hash>"]``
3. trailer: ``{"payouts", "events", "root", "signature"}``

``root`` is SHA-256 over the header line and every head line, each with its newline, and
the signature covers the root and the counts: no line can be changed, added, dropped or
reordered without the key.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from cryptography.hazmat.primitives.asymmetric import ed25519

from asxh_pay.errors import AsxhPayError, Message, SignatureError
from asxh_pay.ledger.base import ChainHead, Ledger
from asxh_pay.signing import Ed25519Signer, Ed25519Verifier, public_key_fingerprint

FORMAT = "asxh-pay-anchor/1"
MAX_LINE = 16 * 1024  # a head line is about 110 bytes; anything longer is not an anchor
_HASH = re.compile(r"[0-9a-f]{64}")
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


class AnchorError(AsxhPayError):
    """The anchor cannot be used: not an anchor, damaged, truncated, forged, or another key's."""


@dataclass(frozen=True)
class AnchorWritten:
    path: Path
    payouts: int
    events: int
    root: str


@dataclass
class AnchorReport:
    """What :func:`verify_anchor` found. ``grown``: payouts with events after the anchor."""

    run_id: str | None
    operator: str
    taken_at: str
    key_fingerprint: str
    payouts_checked: int = 0
    grown: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _message(root: str, payouts: int, events: int) -> bytes:
    return f"asxh-pay anchor v1\nroot={root}\npayouts={payouts}\nevents={events}\n".encode()


def _line(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode() + b"\n"


def redacted_url(url: str) -> str:
    """The ledger URL without a password: the anchor is sent to people who need none."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


async def write_anchor(
    ledger: Ledger,
    path: str | Path,
    key: ed25519.Ed25519PrivateKey,
    *,
    operator: str,
    run_id: str | None = None,
) -> AnchorWritten:
    """Pin the chain heads of ``run_id`` (or of the whole ledger) in a signed file at ``path``.

    The file is written beside its destination and renamed into place once synced, so a
    crash leaves either the old anchor or the new one, never half of one.
    """
    path = Path(path)
    public = key.public_key()
    header = {
        "format": FORMAT,
        "run_id": run_id,
        "ledger": redacted_url(ledger.url),
        "taken_at": datetime.now(UTC).isoformat(),
        "operator": operator,
        "key_fingerprint": public_key_fingerprint(public),
    }
    part = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    payouts = events = 0
    try:
        with part.open("wb") as out:
            first = _line(header)
            digest.update(first)
            out.write(first)
            async for head in ledger.iter_heads(run_id=run_id):
                line = _line([head.payout_id, head.seq, head.hash])
                digest.update(line)
                out.write(line)
                payouts += 1
                events += head.seq
            if payouts == 0:
                raise AnchorError(
                    Message("anchor_nothing_run", run_id=run_id)
                    if run_id is not None
                    else Message("anchor_nothing_ledger")
                )
            root = digest.hexdigest()
            signature = Ed25519Signer(key).sign(_message(root, payouts, events))
            out.write(
                _line(
                    {
                        "payouts": payouts,
                        "events": events,
                        "root": root,
                        "signature": base64.b64encode(signature).decode(),
                    }
                )
            )
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
        raise
    return AnchorWritten(path, payouts, events, root)


def _read_line(src: IO[bytes], lineno: int) -> bytes:
    line = src.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise AnchorError(Message("anchor_line_long", line=lineno, max=MAX_LINE))
    if line and not line.endswith(b"\n"):
        raise AnchorError(Message("anchor_line_cut", line=lineno))
    return line


def _object(line: bytes, lineno: int, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise AnchorError(Message("anchor_not_json", line=lineno, what=Message(f"anchor_{what}"))) from None
    if not isinstance(obj, dict):
        raise AnchorError(Message("anchor_not_object", line=lineno, what=Message(f"anchor_{what}")))
    return obj


def _head(line: bytes, lineno: int) -> ChainHead:
    try:
        pid, seq, hsh = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError, TypeError):
        raise AnchorError(Message("anchor_not_head", line=lineno)) from None
    if (
        not isinstance(pid, str)
        or not _ID.fullmatch(pid)
        or type(seq) is not int
        or seq < 1
        or not isinstance(hsh, str)
        or not _HASH.fullmatch(hsh)
    ):
        raise AnchorError(Message("anchor_not_head", line=lineno))
    return ChainHead(pid, seq, hsh)


async def _check(ledger: Ledger, anchored: Sequence[ChainHead], report: AnchorReport) -> None:
    current = await ledger.heads([a.payout_id for a in anchored])
    for a in anchored:
        report.payouts_checked += 1
        now = current.get(a.payout_id)
        if now is None:
            report.problems.append(f"{a.payout_id}: anchored payout is missing from the ledger")
        elif now.seq < a.seq:
            report.problems.append(
                f"{a.payout_id}: {now.seq} events where {a.seq} were anchored: history was removed"
            )
        elif now.seq == a.seq:
            if now.hash != a.hash:
                report.problems.append(f"{a.payout_id}: history differs from the anchor: it was rewritten")
        else:  # grew since (a later callback, a return): the anchored event must be unchanged
            report.grown += 1
            kept = next((e for e in await ledger.events(a.payout_id) if e.seq == a.seq), None)
            if kept is None or kept.hash != a.hash:
                report.problems.append(
                    f"{a.payout_id}: event {a.seq} differs from the anchor: history was rewritten"
                )


async def verify_anchor(
    ledger: Ledger, path: str | Path, public_key: ed25519.Ed25519PublicKey, *, batch_size: int = 2000
) -> AnchorReport:
    """Check ``ledger`` against the anchor at ``path``, signed by ``public_key``'s owner.

    Raises :class:`AnchorError` when the file itself cannot be trusted (not an anchor,
    damaged, truncated, forged, or signed by another key); returns a report listing every
    payout whose anchored history is missing or differs. Run :meth:`Ledger.verify_chain`
    too: it checks that events after the anchor chain onto it.
    """
    fingerprint = public_key_fingerprint(public_key)
    try:
        src = Path(path).open("rb")  # noqa: SIM115 - closed by the with below; a clear error first
    except OSError as exc:
        raise AnchorError(Message("anchor_unreadable", path=path, detail=exc.strerror)) from None
    with src:
        first = _read_line(src, 1)
        header = _object(first, 1, "header")
        if header.get("format") != FORMAT:
            raise AnchorError(Message("anchor_format", path=path, format=FORMAT))
        if header.get("key_fingerprint") != fingerprint:
            signed = str(header.get("key_fingerprint"))[:32]
            raise AnchorError(Message("anchor_other_key", signed=signed, given=fingerprint))
        report = AnchorReport(
            run_id=header.get("run_id") if isinstance(header.get("run_id"), str) else None,
            operator=str(header.get("operator", "?"))[:64],
            taken_at=str(header.get("taken_at", "?"))[:40],
            key_fingerprint=fingerprint,
        )
        digest = hashlib.sha256(first)
        payouts = events = 0
        trailer: dict[str, Any] | None = None
        pending: list[ChainHead] = []
        lineno = 1
        while line := _read_line(src, lineno + 1):
            lineno += 1
            if trailer is not None:
                raise AnchorError(Message("anchor_after_trailer", line=lineno))
            if line.startswith(b"{"):
                trailer = _object(line, lineno, "trailer")
                continue
            head = _head(line, lineno)
            digest.update(line)
            payouts += 1
            events += head.seq
            pending.append(head)
            if len(pending) >= batch_size:
                await _check(ledger, pending, report)
                pending = []
        if trailer is None:
            raise AnchorError(Message("anchor_no_trailer"))
        await _check(ledger, pending, report)
    root = digest.hexdigest()
    if trailer.get("root") != root or trailer.get("payouts") != payouts or trailer.get("events") != events:
        raise AnchorError(Message("anchor_edited"))
    try:
        signature = base64.b64decode(str(trailer.get("signature", "")), validate=True)
        Ed25519Verifier(public_key).verify(_message(root, payouts, events), signature)
    except (ValueError, SignatureError):
        raise AnchorError(Message("anchor_forged")) from None
    return report
