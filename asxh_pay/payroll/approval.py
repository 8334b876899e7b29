"""Maker-checker: a frozen run, signed by its preparer, approved by someone else.

A run directory (``<data>/runs/<run_id>/``) holds the frozen payouts (``payouts.jsonl``,
one payout a line, in the order they will be paid) and ``manifest.json`` (who prepared
it, from which files, totals, and the *run hash*). The run hash covers every payout's
idempotency key, beneficiary, recipient, destination and amount; the preparer signs it
at preparation, the approver signs it at approval, each with their own Ed25519 key.

Execution (:func:`load_approved`) recomputes the hash from ``payouts.jsonl`` and refuses
unless both signatures verify against the keys the operator roster trusts now
(:mod:`asxh_pay.payroll.roster`; a key embedded in the run would prove nothing), the
approver is not the preparer (by name, by key, or through the roster: neither enrolled
the other's key), and the hash is the one both signed. Any edit to the frozen payouts
after approval changes the hash, so the run must be prepared and approved again.
"""

from __future__ import annotations

import base64
import contextlib
import difflib
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from asxh_pay.errors import AsxhPayError, Message, SignatureError, ValidationError, message_of
from asxh_pay.models import STORED, PayoutRequest
from asxh_pay.payroll import roster
from asxh_pay.signing import (
    Ed25519Signer,
    Ed25519Verifier,
    generate_ed25519_key,
    private_key_to_pem,
    public_key_fingerprint,
    public_key_to_pem,
    write_private_key,
)

FORMAT = "asxh-pay-run/1"


class ApprovalError(AsxhPayError):
    """The run may not be executed (or approved) as it is; nothing was paid."""


class UnknownRun(ValidationError):
    """No prepared run by that id (a typo, or another --data-dir): bad input, exit 2."""


class MissingOperatorKey(ValidationError):
    """The operator's private key file is not there: bad input, exit 2."""


@dataclass(frozen=True)
class FrozenPayout:
    key: str
    request: PayoutRequest


# --------------------------------------------------------------------------- operator keys


def keys_dir(data_dir: Path) -> Path:
    return data_dir / "keys"


def trusted_dir(data_dir: Path) -> Path:
    """Exported copies of the enrolled operators' public keys (for ``ledger verify
    --public-key``); trust itself comes from the roster, never from these files."""
    return keys_dir(data_dir) / "trusted"


def _check_operator(name: str) -> str:
    try:
        return roster.check_operator_name(name)
    except roster.RosterError as exc:
        raise ApprovalError(message_of(exc)) from None


def generate_operator_key(
    data_dir: Path, operator: str, *, private_path: Path | None = None, overwrite: bool = False
) -> tuple[Path, Path]:
    """Create an operator's Ed25519 key pair: private PEM (0600) and public PEM beside it.

    The new key is trusted by nobody: another operator or the office enrolls it
    (:func:`asxh_pay.payroll.roster.change`). ``overwrite`` replaces an old key file, never
    one whose key the roster trusts: that would lock its operator out, and a replacement
    must go through the roster anyway.
    """
    operator = _check_operator(operator)
    priv = private_path or keys_dir(data_dir) / f"{operator}.pem"
    pub = priv.with_name(priv.name.removesuffix(".pem") + ".pub.pem")
    if priv.exists() or pub.exists():
        if not overwrite:
            raise ApprovalError(Message("key_exists", operator=operator, path=priv))
        owner = _trusted_owner(data_dir, priv, pub)
        if owner is not None:
            raise ApprovalError(Message("force_trusted_key", path=priv, owner=owner, operator=operator))
    key = generate_ed25519_key()
    write_private_key(priv, private_key_to_pem(key))
    pub.write_bytes(public_key_to_pem(key.public_key()))
    return priv, pub


def setup_office(data_dir: Path, operators: Iterable[str], *, office_key: Path) -> str:
    """Set up an office in one go (the demo, tests): the office key, then each operator's
    key generated and enrolled by the office. Returns the office key's fingerprint."""
    fp = roster.init_office(data_dir, office_key)
    for op in operators:
        _, pub = generate_operator_key(data_dir, op)
        roster.change(
            data_dir,
            "enroll",
            op,
            signed_by=roster.OFFICE,
            signer_key_path=office_key,
            public_key=roster.load_operator_public_key(pub),
        )
    export_trusted(data_dir)
    return fp


def _trusted_owner(data_dir: Path, priv: Path, pub: Path) -> str | None:
    """Whose trusted key the files ``priv``/``pub`` hold, if anyone's.

    The private key is read when it can be (it may be password-protected), else the public
    key beside it; a file that is neither (damaged) identifies nobody's key.
    """
    fps: list[str] = []
    with contextlib.suppress(ApprovalError, ValidationError):
        fps.append(public_key_fingerprint(_load_signing_key(priv).public_key()))
    with contextlib.suppress(roster.RosterError, ValidationError):
        fps.append(public_key_fingerprint(roster.load_operator_public_key(pub)))
    if not fps:
        return None
    try:
        rost = roster.load_roster(data_dir)
    except roster.RosterError:
        return None if not roster.roster_path(data_dir).exists() else "an operator (the roster is unreadable)"
    return next((o for o in map(rost.owner_of, fps) if o is not None), None)


def _load_signing_key(path: Path) -> ed25519.Ed25519PrivateKey:
    if not path.exists():
        raise MissingOperatorKey(Message("missing_operator_key", path=path), code="missing_key")
    try:
        return roster.load_signing_key(path)
    except roster.RosterError as exc:
        raise ApprovalError(message_of(exc)) from None


def load_roster(data_dir: Path) -> roster.Roster:
    try:
        return roster.load_roster(data_dir)
    except roster.RosterError as exc:
        raise ApprovalError(message_of(exc)) from None


def _trusted_key(
    data_dir: Path, operator: str, rost: roster.Roster | None = None
) -> ed25519.Ed25519PublicKey:
    rost = rost or load_roster(data_dir)
    try:
        return rost.trusted_key(operator)
    except roster.RosterError as exc:
        raise ApprovalError(message_of(exc)) from None


def check_operator_key(data_dir: Path, operator: str, key_path: Path) -> str:
    """The key file must be the trusted key of ``operator``; returns its fingerprint."""
    return public_key_fingerprint(operator_key(data_dir, operator, key_path).public_key())


def operator_key(data_dir: Path, operator: str, key_path: Path) -> ed25519.Ed25519PrivateKey:
    """``operator``'s private key, refused unless the roster trusts it under their name, so
    that what it signs (a run, a ledger anchor) can be checked against the roster."""
    key = _load_signing_key(key_path)
    fp = public_key_fingerprint(key.public_key())
    if public_key_fingerprint(_trusted_key(data_dir, operator)) != fp:
        raise ApprovalError(Message("key_not_trusted_for", path=key_path, operator=operator))
    return key


def trusted_key_path(data_dir: Path, operator: str) -> Path:
    return trusted_dir(data_dir) / f"{_check_operator(operator)}.pub.pem"


def export_trusted(data_dir: Path) -> None:
    """Rewrite ``keys/trusted`` from the roster (a convenience copy, see :func:`trusted_dir`)."""
    rost = load_roster(data_dir)
    tdir = trusted_dir(data_dir)
    tdir.mkdir(parents=True, exist_ok=True)
    for name, op in rost.operators.items():
        path = tdir / f"{name}.pub.pem"
        if op.key is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(public_key_to_pem(op.key))


# --------------------------------------------------------------------------- the frozen run


def run_dir(data_dir: Path, run_id: str) -> Path:
    if not run_id or not all(c.isalnum() or c in "._-" for c in run_id):
        raise UnknownRun(Message("run_id_invalid", run_id=run_id), code="unknown_run")
    return data_dir / "runs" / run_id


def payout_line(p: FrozenPayout) -> str:
    return json.dumps(
        {"key": p.key, "request": p.request.model_dump(mode="json")},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )


def write_payouts(path: Path, payouts: Iterable[FrozenPayout]) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for p in payouts:
            f.write(payout_line(p) + "\n")
            n += 1
        f.flush()
        os.fsync(f.fileno())
    return n


def read_payouts(path: Path) -> Iterator[FrozenPayout]:
    """The frozen payouts; a line that does not parse or whose key is not its own is refused."""
    for _, _, payout in _read_lines(path):
        yield payout


def _parse_line(i: int, line: bytes, *, checked: bool = False) -> FrozenPayout:
    """The payout of one line; ``checked``: the line's bytes are those already validated
    in full by :func:`_check_lines` (their digest matched), so the checks are not re-run."""
    try:
        data = json.loads(line)
        req = PayoutRequest.model_validate(data["request"], context=STORED if checked else None)
        key = str(data["key"])
    except Exception as exc:
        raise ApprovalError(Message("frozen_line_damaged", line=i, kind=type(exc).__name__)) from None
    if key != req.key():
        raise ApprovalError(Message("frozen_line_key", line=i))
    return FrozenPayout(key, req)


def _raw_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line) for each payout line, one line in memory at a time."""
    with path.open("rb") as f:
        for i, line in enumerate(f, start=1):
            if line.strip():
                yield i, line


def _read_lines(path: Path) -> Iterator[tuple[int, bytes, FrozenPayout]]:
    """(line number, raw line, payout) for each payout line, validated in full."""
    for i, line in _raw_lines(path):
        yield i, line, _parse_line(i, line)


def _canonical(p: FrozenPayout) -> bytes:
    r = p.request
    body = [
        p.key,
        r.programme,
        r.period,
        r.beneficiary.cccd,
        r.beneficiary.full_name,
        r.recipient.model_dump(mode="json"),
        r.destination.model_dump(mode="json"),
        r.amount,
        r.cash_fallback.model_dump(mode="json") if r.cash_fallback else None,
        r.run_id,
    ]
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _run_hasher(run_id: str) -> Any:
    return hashlib.sha256(f"{FORMAT}\n{run_id}\n".encode())


def run_hash(run_id: str, payouts: Iterable[FrozenPayout]) -> tuple[str, int, int]:
    """(hex hash, count, total VND) of a frozen run, in file order."""
    h = _run_hasher(run_id)
    n = total = 0
    for p in payouts:
        h.update(_canonical(p) + b"\n")
        n += 1
        total += p.request.amount
    h.update(f"count={n};total={total}".encode())
    return h.hexdigest(), n, total


def _message(run_id: str, digest: str, role: str, operator: str) -> bytes:
    return (
        f"asxh-pay run signature v1\nrun={run_id}\nhash={digest}\nrole={role}\noperator={operator}\n".encode()
    )


def sign(run_id: str, digest: str, role: str, operator: str, key_path: Path) -> dict[str, Any]:
    key = _load_signing_key(key_path)
    sig = Ed25519Signer(key).sign(_message(run_id, digest, role, operator))
    return {
        "role": role,
        "operator": operator,
        "at": datetime.now(UTC).isoformat(),
        "key_fingerprint": public_key_fingerprint(key.public_key()),
        "run_hash": digest,
        "signature": base64.b64encode(sig).decode(),
    }


def verify_signature(
    data_dir: Path,
    run_id: str,
    digest: str,
    role: str,
    sig: dict[str, Any],
    rost: roster.Roster | None = None,
) -> str:
    """Check one signature block against the operator's key in the roster *now*; returns the
    key fingerprint. A key replaced or revoked since it signed no longer counts."""
    try:
        operator = str(sig["operator"])
        raw = base64.b64decode(str(sig["signature"]), validate=True)
        signed_hash = str(sig["run_hash"])
    except (KeyError, ValueError, TypeError):
        raise ApprovalError(Message("signature_malformed", role=Message(f"role_{role}"))) from None
    public = _trusted_key(data_dir, operator, rost)
    words = Message(f"role_{role}")
    if signed_hash != digest:
        raise ApprovalError(Message("run_changed_after_signing", role=words, operator=operator))
    try:
        Ed25519Verifier(public).verify(_message(run_id, digest, role, operator), raw)
    except SignatureError:
        if sig.get("key_fingerprint") != public_key_fingerprint(public):
            raise ApprovalError(Message("signature_key_untrusted", role=words, operator=operator)) from None
        raise ApprovalError(Message("signature_forged", role=words, operator=operator)) from None
    return public_key_fingerprint(public)


def read_manifest(rdir: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((rdir / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UnknownRun(_unknown_run_message(rdir), code="unknown_run") from None
    except ValueError:
        raise ApprovalError(Message("manifest_damaged", run=rdir.name)) from None
    if data.get("format") != FORMAT:
        raise ApprovalError(Message("run_format_unknown", run=rdir.name, format=data.get("format")))
    return data


def known_runs(runs_root: Path) -> list[str]:
    """Prepared runs under ``runs_root``, oldest first (run ids end with their time)."""
    if not runs_root.is_dir():
        return []
    return sorted(
        (p.name for p in runs_root.iterdir() if (p / "manifest.json").is_file()),
        key=lambda name: (name.rsplit("-", 1)[-1], name),
    )


def _unknown_run_message(rdir: Path) -> Message:
    known = known_runs(rdir.parent)
    if not known:
        return Message("unknown_run_none", run=rdir.name, root=rdir.parent)
    close = difflib.get_close_matches(rdir.name, known, n=3, cutoff=0.6)
    key = "unknown_run_close" if close else "unknown_run_known"
    return Message(key, run=rdir.name, root=rdir.parent, runs=", ".join(close or known[-5:]))


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


@dataclass(frozen=True)
class _Checked:
    """What one streamed pass over ``payouts.jsonl`` proved, kept small enough for a province.

    A run of 300,000 payouts parsed into objects takes about a gigabyte; what execution
    needs later is only the proof that the lines it pays are the lines that were hashed:
    a SHA-256 of each line, in order (32 bytes a line), and the set of idempotency keys
    (to refuse a ledger that holds a payout of this run the file does not list).
    """

    digest: str
    count: int
    line_digests: bytes
    keys: frozenset[str]


def _check_lines(run_id: str, path: Path) -> _Checked:
    h = _run_hasher(run_id)
    digests = bytearray()
    keys: set[str] = set()
    n = total = 0
    try:
        for _, line, p in _read_lines(path):
            h.update(_canonical(p) + b"\n")
            n += 1
            total += p.request.amount
            digests += hashlib.sha256(line).digest()
            keys.add(p.key)
    except FileNotFoundError:
        raise ApprovalError(Message("frozen_payouts_missing")) from None
    h.update(f"count={n};total={total}".encode())
    return _Checked(h.hexdigest(), n, bytes(digests), frozenset(keys))


def _check_prepared(data_dir: Path, rdir: Path, rost: roster.Roster) -> tuple[dict[str, Any], _Checked, str]:
    manifest = read_manifest(rdir)
    run_id = str(manifest["run_id"])
    checked = _check_lines(run_id, rdir / "payouts.jsonl")
    prep = manifest.get("signatures", {}).get("prepared")
    if not prep:
        raise ApprovalError(Message("no_preparer_signature"))
    if checked.digest != manifest.get("run_hash") or checked.count != manifest.get("counts", {}).get(
        "payouts"
    ):
        raise ApprovalError(Message("payouts_edited"))
    fp = verify_signature(data_dir, run_id, checked.digest, "prepared", prep, rost)
    return manifest, checked, fp


def _check_independent(rost: roster.Roster, preparer: str, approver: str) -> None:
    try:
        rost.check_independent(preparer, approver)
    except roster.RosterError as exc:
        raise ApprovalError(message_of(exc)) from None


def approve(data_dir: Path, run_id: str, operator: str, key_path: Path) -> dict[str, Any]:
    """Approve a prepared run as ``operator`` (who must not be its preparer)."""
    operator = _check_operator(operator)
    rdir = run_dir(data_dir, run_id)
    read_manifest(rdir)  # an unknown run is bad input, whatever the roster says
    rost = load_roster(data_dir)
    manifest, checked, prep_fp = _check_prepared(data_dir, rdir, rost)
    digest = checked.digest
    preparer = str(manifest["signatures"]["prepared"]["operator"])
    _check_independent(rost, preparer, operator)
    if check_operator_key(data_dir, operator, key_path) == prep_fp:
        raise ApprovalError(Message("approval_key_is_preparers"))
    block = sign(run_id, digest, "approved", operator, key_path)
    block["payouts"] = manifest["counts"]["payouts"]
    block["total_vnd"] = manifest["counts"]["total_vnd"]
    write_json(rdir / "approval.json", block)
    return block


@dataclass(frozen=True)
class ApprovedRun:
    run_id: str
    dir: Path
    manifest: dict[str, Any]
    approval: dict[str, Any]
    run_hash: str
    count: int
    keys: frozenset[str]  # every payout's idempotency key
    line_digests: bytes  # SHA-256 of each payout line as hashed, in order (32 bytes each)

    def payouts(self) -> Iterator[FrozenPayout]:
        """The approved payouts, streamed from ``payouts.jsonl`` one line at a time.

        Why not kept in memory: a province's run is hundreds of thousands of payouts. Why it
        is still exactly what was checked: each line read now must hash to the digest taken
        when the signatures were checked, in the same place; a line edited, added, dropped
        or moved since (by anyone with write access to the folder) stops the stream with
        ApprovalError before that payout is handed to anyone.
        """
        digests = self.line_digests
        n = 0
        for i, line in _raw_lines(self.dir / "payouts.jsonl"):
            at = 32 * n
            if n >= self.count or hashlib.sha256(line).digest() != digests[at : at + 32]:
                raise ApprovalError(Message("frozen_line_changed", line=i))
            n += 1
            yield _parse_line(i, line, checked=True)  # the bytes _check_lines validated
        if n != self.count:
            raise ApprovalError(Message("frozen_lines_lost", n=self.count - n))


def load_approved(data_dir: Path, run_id: str) -> ApprovedRun:
    """Everything execution must check before paying one dong; raises ApprovalError."""
    rdir = run_dir(data_dir, run_id)
    read_manifest(rdir)
    rost = load_roster(data_dir)
    manifest, checked, prep_fp = _check_prepared(data_dir, rdir, rost)
    digest = checked.digest
    try:
        approval = json.loads((rdir / "approval.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ApprovalError(Message("not_approved", run_id=run_id)) from None
    except ValueError:
        raise ApprovalError(Message("approval_damaged")) from None
    if approval.get("role") != "approved":
        raise ApprovalError(Message("approval_not_approval"))
    appr_fp = verify_signature(data_dir, run_id, digest, "approved", approval, rost)
    preparer = str(manifest["signatures"]["prepared"]["operator"])
    if preparer.casefold() == str(approval["operator"]).casefold() or appr_fp == prep_fp:
        raise ApprovalError(Message("approved_by_preparer"))
    _check_independent(rost, preparer, str(approval["operator"]))
    return ApprovedRun(
        run_id, rdir, manifest, approval, digest, checked.count, checked.keys, checked.line_digests
    )
