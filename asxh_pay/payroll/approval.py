"""Maker-checker: a frozen run, signed by its preparer, approved by someone else.

A run directory (``<data>/runs/<run_id>/``) holds the frozen payouts (``payouts.jsonl``,
one payout a line, in the order they will be paid) and ``manifest.json`` (who prepared
it, from which files, totals, and the *run hash*). The run hash covers every payout's
idempotency key, beneficiary, recipient, destination and amount; the preparer signs it
at preparation, the approver signs it at approval, each with their own Ed25519 key.

Execution (:func:`load_approved`) recomputes the hash from ``payouts.jsonl`` and refuses
unless both signatures verify against the *trusted* public keys (``<data>/keys/trusted``;
a key embedded in the run would prove nothing), the approver is not the preparer (by
name and by key), and the hash is the one both signed. Any edit to the frozen payouts
after approval changes the hash, so the run must be prepared and approved again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from asxh_pay.errors import AsxhPayError, SignatureError
from asxh_pay.models import PayoutRequest
from asxh_pay.signing import (
    Ed25519Signer,
    Ed25519Verifier,
    generate_ed25519_key,
    load_private_key,
    load_public_key,
    private_key_to_pem,
    public_key_fingerprint,
    public_key_to_pem,
)

FORMAT = "asxh-pay-run/1"


class ApprovalError(AsxhPayError):
    """The run may not be executed (or approved) as it is; nothing was paid."""


@dataclass(frozen=True)
class FrozenPayout:
    key: str
    request: PayoutRequest


# --------------------------------------------------------------------------- operator keys


def keys_dir(data_dir: Path) -> Path:
    return data_dir / "keys"


def trusted_dir(data_dir: Path) -> Path:
    return keys_dir(data_dir) / "trusted"


def _check_operator(name: str) -> str:
    name = name.strip()
    if not name or not all(c.isalnum() or c in "._-" for c in name) or len(name) > 64:
        raise ApprovalError("operator name must be 1-64 letters, digits, '.', '_' or '-'")
    return name


def generate_operator_key(
    data_dir: Path, operator: str, *, private_path: Path | None = None, overwrite: bool = False
) -> tuple[Path, Path]:
    """Create an operator's Ed25519 key pair: private PEM (0600) and trusted public PEM."""
    operator = _check_operator(operator)
    priv = private_path or keys_dir(data_dir) / f"{operator}.pem"
    pub = trusted_dir(data_dir) / f"{operator}.pub.pem"
    if not overwrite and (priv.exists() or pub.exists()):
        raise ApprovalError(f"a key for operator {operator!r} already exists ({pub}); refusing to replace it")
    key = generate_ed25519_key()
    priv.parent.mkdir(parents=True, exist_ok=True)
    pub.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(priv, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private_key_to_pem(key))
    pub.write_bytes(public_key_to_pem(key.public_key()))
    return priv, pub


def _load_signing_key(path: Path) -> ed25519.Ed25519PrivateKey:
    try:
        key = load_private_key(path)
    except SignatureError as exc:
        raise ApprovalError(f"cannot use key {path}: {exc}") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ApprovalError(f"key {path} is not an Ed25519 key (use 'asxh-pay keys generate')")
    return key


def _trusted_key(data_dir: Path, operator: str) -> ed25519.Ed25519PublicKey:
    path = trusted_key_path(data_dir, operator)
    if not path.exists():
        raise ApprovalError(f"operator {operator!r} has no trusted public key ({path})")
    key = load_public_key(path)
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ApprovalError(f"trusted key of {operator!r} is not Ed25519")
    return key


def check_operator_key(data_dir: Path, operator: str, key_path: Path) -> str:
    """The key file must be the trusted key of ``operator``; returns its fingerprint."""
    return public_key_fingerprint(operator_key(data_dir, operator, key_path).public_key())


def operator_key(data_dir: Path, operator: str, key_path: Path) -> ed25519.Ed25519PrivateKey:
    """``operator``'s private key, refused unless it is the one trusted under their name, so
    that what it signs (a run, a ledger anchor) can be checked against ``keys/trusted``."""
    key = _load_signing_key(key_path)
    fp = public_key_fingerprint(key.public_key())
    if public_key_fingerprint(_trusted_key(data_dir, operator)) != fp:
        raise ApprovalError(f"key {key_path} is not the trusted key of operator {operator}")
    return key


def trusted_key_path(data_dir: Path, operator: str) -> Path:
    return trusted_dir(data_dir) / f"{_check_operator(operator)}.pub.pem"


# --------------------------------------------------------------------------- the frozen run


def run_dir(data_dir: Path, run_id: str) -> Path:
    if not run_id or not all(c.isalnum() or c in "._-" for c in run_id):
        raise ApprovalError(f"invalid run id {run_id!r}")
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
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                req = PayoutRequest.model_validate(data["request"])
                key = str(data["key"])
            except Exception as exc:
                raise ApprovalError(f"frozen run line {i} is damaged ({type(exc).__name__})") from None
            if key != req.key():
                raise ApprovalError(f"frozen run line {i}: key does not belong to its payout (edited?)")
            yield FrozenPayout(key, req)


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


def run_hash(run_id: str, payouts: Iterable[FrozenPayout]) -> tuple[str, int, int]:
    """(hex hash, count, total VND) of a frozen run, in file order."""
    h = hashlib.sha256(f"{FORMAT}\n{run_id}\n".encode())
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


def verify_signature(data_dir: Path, run_id: str, digest: str, role: str, sig: dict[str, Any]) -> str:
    """Check one signature block against the trusted key; returns the key fingerprint."""
    try:
        operator = str(sig["operator"])
        raw = base64.b64decode(str(sig["signature"]), validate=True)
        signed_hash = str(sig["run_hash"])
    except (KeyError, ValueError, TypeError):
        raise ApprovalError(f"the {role} signature block is malformed") from None
    public = _trusted_key(data_dir, operator)
    if signed_hash != digest:
        raise ApprovalError(
            f"the run was changed after it was {role} by {operator}: the frozen payouts no longer match "
            "the signed hash; prepare and approve it again"
        )
    try:
        Ed25519Verifier(public).verify(_message(run_id, digest, role, operator), raw)
    except SignatureError:
        raise ApprovalError(
            f"the {role} signature of {operator} does not verify (forged or damaged)"
        ) from None
    return public_key_fingerprint(public)


def read_manifest(rdir: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((rdir / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ApprovalError(f"no prepared run at {rdir}") from None
    except ValueError:
        raise ApprovalError(f"manifest of {rdir.name} is damaged") from None
    if data.get("format") != FORMAT:
        raise ApprovalError(f"{rdir.name}: unknown run format {data.get('format')!r}")
    return data


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def _check_prepared(data_dir: Path, rdir: Path) -> tuple[dict[str, Any], str, str, list[FrozenPayout]]:
    manifest = read_manifest(rdir)
    run_id = str(manifest["run_id"])
    payouts = list(read_payouts(rdir / "payouts.jsonl"))
    digest, count, _ = run_hash(run_id, payouts)
    prep = manifest.get("signatures", {}).get("prepared")
    if not prep:
        raise ApprovalError("the run carries no preparer signature")
    if digest != manifest.get("run_hash") or count != manifest.get("counts", {}).get("payouts"):
        raise ApprovalError("the frozen payouts were edited after preparation; prepare the run again")
    fp = verify_signature(data_dir, run_id, digest, "prepared", prep)
    return manifest, digest, fp, payouts


def approve(data_dir: Path, run_id: str, operator: str, key_path: Path) -> dict[str, Any]:
    """Approve a prepared run as ``operator`` (who must not be its preparer)."""
    operator = _check_operator(operator)
    rdir = run_dir(data_dir, run_id)
    manifest, digest, prep_fp, _ = _check_prepared(data_dir, rdir)
    preparer = str(manifest["signatures"]["prepared"]["operator"])
    if preparer.casefold() == operator.casefold():
        raise ApprovalError(f"{operator} prepared this run and cannot approve it: another operator must")
    if check_operator_key(data_dir, operator, key_path) == prep_fp:
        raise ApprovalError("the approval key is the preparer's key: another operator must approve")
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
    frozen: list[FrozenPayout]  # exactly what the hash was computed over: nothing is re-read later

    def payouts(self) -> Iterator[FrozenPayout]:
        return iter(self.frozen)


def load_approved(data_dir: Path, run_id: str) -> ApprovedRun:
    """Everything execution must check before paying one dong; raises ApprovalError."""
    rdir = run_dir(data_dir, run_id)
    manifest, digest, prep_fp, frozen = _check_prepared(data_dir, rdir)
    try:
        approval = json.loads((rdir / "approval.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ApprovalError(
            f"run {run_id} is not approved: 'asxh-pay approve {run_id}' by another operator"
        ) from None
    except ValueError:
        raise ApprovalError("approval.json is damaged") from None
    if approval.get("role") != "approved":
        raise ApprovalError("approval.json is not an approval")
    appr_fp = verify_signature(data_dir, run_id, digest, "approved", approval)
    preparer = str(manifest["signatures"]["prepared"]["operator"])
    if preparer.casefold() == str(approval["operator"]).casefold() or appr_fp == prep_fp:
        raise ApprovalError("the run was approved by its own preparer: another operator must approve it")
    return ApprovedRun(run_id, rdir, manifest, approval, digest, frozen)
