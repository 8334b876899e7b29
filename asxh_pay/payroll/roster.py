"""The operator roster: which Ed25519 key the office trusts for which operator.

Why a signed history instead of a folder of public keys: maker-checker is worth
something only if one operator cannot make a second operator alone. A folder of
trusted keys can be written by anyone who can write the data folder; so can this
file, but every change to it is an entry signed by *someone else* already trusted
(another operator, or the office key created once at setup and kept away from the
operators' machines), and the entries are hash-chained like the ledger's events, so an
entry edited, dropped or reordered by hand no longer verifies.

File ``<data>/keys/roster.jsonl`` (format ``asxh-pay-roster/1``), one JSON entry a line::

    {"seq", "action", "operator", "public_key", "fingerprint", "signed_by",
     "signer_fingerprint", "at", "prev", "hash", "signature"}

* seq 0, action ``init-office``: the office's public key, signed by itself;
* ``enroll`` (a new operator), ``replace`` (a new key for an enrolled operator),
  ``revoke``: signed by the office or by another enrolled operator, never by the
  operator concerned.

``hash`` is SHA-256 over the canonical JSON of the entry without ``hash`` and
``signature``; ``prev`` is the hash of the entry before (64 zeros for the first). The
signature covers the hash.

Rules that close the bypasses of a self-made colleague:

* a key belongs to one operator only, and the office key to none;
* a replaced key is untrusted at once: what it signed must be signed again;
* an operator enrolled (or re-keyed) by another is *sponsored* by them; the approver of
  a run may be neither the preparer nor sponsored by them (directly or through a chain
  of sponsors), nor their sponsor. Operators enrolled by the office key sponsor nobody.

The whole roster could still be replaced by someone who makes a new office key: set
``ASXH_PAY_OFFICE_FINGERPRINT`` to the fingerprint ``keys init-office`` printed and any
other office is refused.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from asxh_pay.errors import AsxhPayError, Message, SignatureError, ValidationError
from asxh_pay.signing import (
    generate_ed25519_key,
    load_private_key,
    load_public_key,
    private_key_to_pem,
    public_key_fingerprint,
    write_private_key,
)

FORMAT = "asxh-pay-roster/1"
OFFICE = "office"
GENESIS_PREV = "0" * 64
PIN_ENV = "ASXH_PAY_OFFICE_FINGERPRINT"
_SIG_CONTEXT = b"asxh-pay roster v1\n"
ACTIONS = ("enroll", "replace", "revoke")


class RosterError(AsxhPayError):
    """The roster is missing, damaged or refuses this change; nothing was changed."""


#: Where the configuration (``roster = "..."`` in asxh-pay.toml, or ``ASXH_PAY_ROSTER``) keeps
#: the roster; None: ``<data-dir>/keys/roster.jsonl``. Set by :func:`set_location`.
_LOCATION: Path | None = None


def set_location(path: Path | None) -> None:
    """Keep the roster at ``path`` (e.g. on a share every office machine reads), not in the data folder."""
    global _LOCATION
    _LOCATION = path


def roster_path(data_dir: Path) -> Path:
    return _LOCATION if _LOCATION is not None else data_dir / "keys" / "roster.jsonl"


def check_operator_name(name: str) -> str:
    name = name.strip()
    if not name or not all(c.isalnum() or c in "._-" for c in name) or len(name) > 64:
        raise RosterError(Message("operator_name_invalid"))
    if name.casefold() == OFFICE:
        raise RosterError(Message("operator_name_office", office=OFFICE))
    return name


# --------------------------------------------------------------------------- private key files


def load_signing_key(path: Path) -> ed25519.Ed25519PrivateKey:
    try:
        key = load_private_key(path)
    except SignatureError as exc:
        raise RosterError(Message("key_unusable", path=path, detail=str(exc))) from None
    except FileNotFoundError:
        raise ValidationError(Message("no_key_at", path=path), code="missing_key") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise RosterError(Message("key_not_ed25519", path=path))
    return key


def load_operator_public_key(path: Path) -> ed25519.Ed25519PublicKey:
    try:
        key = load_public_key(path)
    except FileNotFoundError:
        raise ValidationError(Message("no_public_key_at", path=path), code="missing_key") from None
    except SignatureError as exc:
        raise RosterError(Message("public_key_unreadable", path=path, detail=str(exc))) from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise RosterError(Message("public_key_not_ed25519", path=path))
    return key


def _raw(key: ed25519.Ed25519PublicKey) -> str:
    return base64.b64encode(
        key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ).decode()


def _from_raw(text: str) -> ed25519.Ed25519PublicKey:
    return ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


# --------------------------------------------------------------------------- the roster state


@dataclass
class Operator:
    name: str
    key: ed25519.Ed25519PublicKey | None  # None once revoked
    fingerprint: str | None
    enrolled_by: str  # signer of the entry that set the current key (or revoked it)
    sponsors: set[str] = field(default_factory=set)  # every operator who ever set this one's key
    history: list[str] = field(default_factory=list)  # every fingerprint this operator ever had


@dataclass
class Roster:
    """The verified state after replaying every entry."""

    path: Path
    office_key: ed25519.Ed25519PublicKey
    office_fingerprint: str
    operators: dict[str, Operator]
    head: str
    entries: int

    def _find(self, name: str) -> Operator | None:
        folded = name.casefold()
        for op in self.operators.values():
            if op.name.casefold() == folded:
                return op
        return None

    def trusted_key(self, name: str) -> ed25519.Ed25519PublicKey:
        op = self._find(name)
        if op is None:
            raise RosterError(Message("operator_not_enrolled", name=name))
        if op.key is None:
            raise RosterError(Message("operator_revoked", name=name, by=op.enrolled_by))
        return op.key

    def owner_of(self, fingerprint: str) -> str | None:
        if fingerprint == self.office_fingerprint:
            return OFFICE
        for op in self.operators.values():
            if op.fingerprint == fingerprint:
                return op.name
        return None

    def ancestry(self, name: str) -> set[str]:
        """Everyone who, directly or through others they enrolled, set ``name``'s key."""
        seen: set[str] = set()
        todo = [name.casefold()]
        while todo:
            op = self._find(todo.pop())
            if op is None:
                continue
            for s in op.sponsors:
                if s.casefold() not in seen:
                    seen.add(s.casefold())
                    todo.append(s)
        return seen

    def check_independent(self, preparer: str, approver: str) -> None:
        """Refuse an approver who is the preparer or whose key one of them set for the other."""
        if preparer.casefold() == approver.casefold():
            raise RosterError(Message("preparer_cannot_approve", approver=approver))
        if preparer.casefold() in self.ancestry(approver):
            raise RosterError(Message("approver_enrolled_by_preparer", approver=approver, preparer=preparer))
        if approver.casefold() in self.ancestry(preparer):
            raise RosterError(Message("preparer_enrolled_by_approver", approver=approver, preparer=preparer))


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _entry_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k not in ("hash", "signature")}
    return hashlib.sha256(_canonical(body)).hexdigest()


def _read_entries(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RosterError(Message("roster_missing", path=path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(Message("roster_unreadable", path=path, detail=str(exc))) from None
    entries = []
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError:
            raise RosterError(Message("roster_line_damaged", path=path, line=i)) from None
        if not isinstance(data, dict):
            raise RosterError(Message("roster_line_damaged", path=path, line=i))
        entries.append(data)
    return entries


def _replay(path: Path, entries: list[dict[str, Any]]) -> Roster:
    """Verify every entry in order and build the state; any edit is reported by entry."""

    def bad(seq: int, why: Message) -> RosterError:
        return RosterError(Message("roster_tampered", path=path, seq=seq, why=why))

    if not entries:
        raise RosterError(Message("roster_empty", path=path))
    prev = GENESIS_PREV
    office: ed25519.Ed25519PublicKey | None = None
    office_fp = ""
    operators: dict[str, Operator] = {}
    for seq, e in enumerate(entries):
        try:
            if e.get("seq") != seq:
                raise bad(seq, Message("tamper_order"))
            if e.get("prev") != prev:
                raise bad(seq, Message("tamper_chain"))
            digest = _entry_hash(e)
            if e.get("hash") != digest:
                raise bad(seq, Message("tamper_hash"))
            signature = base64.b64decode(str(e["signature"]), validate=True)
            action = e["action"]
            signed_by = str(e["signed_by"])
            if seq == 0:
                if action != "init-office" or e.get("format") != FORMAT or signed_by != OFFICE:
                    raise bad(0, Message("tamper_first"))
                office = _from_raw(str(e["public_key"]))
                office_fp = public_key_fingerprint(office)
                signer_key = office
            else:
                if action not in ACTIONS:
                    raise bad(seq, Message("tamper_action", action=action))
                assert office is not None
                if signed_by == OFFICE:
                    signer_key = office
                else:
                    signer = operators.get(signed_by)
                    if signer is None or signer.key is None:
                        raise bad(seq, Message("tamper_signer_untrusted", signer=signed_by))
                    signer_key = signer.key
            if public_key_fingerprint(signer_key) != e.get("signer_fingerprint"):
                raise bad(seq, Message("tamper_signer_fingerprint"))
            try:
                signer_key.verify(signature, _SIG_CONTEXT + digest.encode())
            except InvalidSignature:
                raise bad(seq, Message("tamper_signature", signer=signed_by)) from None
            if seq > 0:
                _apply(operators, e, office_fp, lambda why, s=seq: bad(s, why))
        except RosterError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise bad(seq, Message("tamper_malformed", kind=type(exc).__name__)) from None
        prev = digest
    assert office is not None
    pinned = os.environ.get(PIN_ENV, "").strip().lower()
    if pinned and pinned != office_fp:
        raise RosterError(Message("roster_pin_mismatch", office=office_fp, env=PIN_ENV, pinned=pinned))
    return Roster(path, office, office_fp, operators, prev, len(entries))


def _apply(
    operators: dict[str, Operator],
    e: dict[str, Any],
    office_fp: str,
    bad: Any,
) -> None:
    """One verified entry's effect; the rules are checked again on replay, not only on write."""
    action = str(e["action"])
    name = check_operator_name(str(e["operator"]))
    signed_by = str(e["signed_by"])
    if signed_by.casefold() == name.casefold():
        raise bad(Message("tamper_self_signed", name=name))
    current = next((o for o in operators.values() if o.name.casefold() == name.casefold()), None)
    if action == "revoke":
        if current is None or current.key is None:
            raise bad(Message("tamper_not_enrolled", name=name))
        current.key = None
        current.fingerprint = None
        current.enrolled_by = signed_by
        return
    key = _from_raw(str(e["public_key"]))
    fp = public_key_fingerprint(key)
    if fp != e.get("fingerprint"):
        raise bad(Message("tamper_fingerprint"))
    if fp == office_fp or any(fp in o.history and o is not current for o in operators.values()):
        raise bad(Message("tamper_key_of_other"))
    if current is not None and fp in current.history:
        raise bad(Message("tamper_key_reused"))
    if action == "enroll":
        if current is not None:
            raise bad(Message("tamper_already_enrolled", name=name))
        current = operators[name] = Operator(name, None, None, signed_by)
    elif current is None:
        raise bad(Message("tamper_nothing_to_replace", name=name))
    current.key = key
    current.fingerprint = fp
    current.enrolled_by = signed_by
    current.history.append(fp)
    if signed_by != OFFICE:
        current.sponsors.add(signed_by)


def load_roster(data_dir: Path) -> Roster:
    """The verified roster; raises :class:`RosterError` if missing or changed by hand."""
    path = roster_path(data_dir)
    return _replay(path, _read_entries(path))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _append(path: Path, entry: dict[str, Any]) -> None:
    line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def _sign(entry: dict[str, Any], key: ed25519.Ed25519PrivateKey) -> dict[str, Any]:
    entry["signer_fingerprint"] = public_key_fingerprint(key.public_key())
    entry["hash"] = _entry_hash(entry)
    entry["signature"] = base64.b64encode(key.sign(_SIG_CONTEXT + entry["hash"].encode())).decode()
    return entry


def init_office(data_dir: Path, office_key_out: Path) -> str:
    """Create the office key (private PEM at ``office_key_out``, 0600) and the roster.

    Returns the office key's fingerprint, to be written down (and pinned in
    ``ASXH_PAY_OFFICE_FINGERPRINT``).
    """
    path = roster_path(data_dir)
    with _locked(path):
        if path.exists() and path.stat().st_size > 0:
            raise RosterError(Message("office_exists", path=path))
        if office_key_out.exists():
            raise RosterError(Message("key_file_exists", path=office_key_out))
        key = generate_ed25519_key()
        write_private_key(office_key_out, private_key_to_pem(key))
        entry = {
            "format": FORMAT,
            "seq": 0,
            "action": "init-office",
            "operator": OFFICE,
            "public_key": _raw(key.public_key()),
            "fingerprint": public_key_fingerprint(key.public_key()),
            "signed_by": OFFICE,
            "at": datetime.now(UTC).isoformat(),
            "prev": GENESIS_PREV,
        }
        _append(path, _sign(entry, key))
    return public_key_fingerprint(key.public_key())


def change(
    data_dir: Path,
    action: str,
    operator: str,
    *,
    signed_by: str,
    signer_key_path: Path,
    public_key: ed25519.Ed25519PublicKey | None = None,
) -> dict[str, Any]:
    """Append an ``enroll``/``replace``/``revoke`` entry signed by ``signed_by``; returns it."""
    if action not in ACTIONS:
        raise RosterError(Message("roster_change_unknown", action=action))
    operator = check_operator_name(operator)
    signed_by = OFFICE if signed_by.strip().casefold() == OFFICE else check_operator_name(signed_by)
    if signed_by.casefold() == operator.casefold():
        raise RosterError(Message("self_signed_change", operator=operator))
    signer = load_signing_key(signer_key_path)
    path = roster_path(data_dir)
    with _locked(path):
        roster = load_roster(data_dir)
        expected = roster.office_key if signed_by == OFFICE else roster.trusted_key(signed_by)
        signer_fp = public_key_fingerprint(signer.public_key())
        if signer_fp != public_key_fingerprint(expected):
            raise RosterError(Message("signer_key_not_trusted", path=signer_key_path, signer=signed_by))
        entry: dict[str, Any] = {
            "seq": roster.entries,
            "action": action,
            "operator": operator,
            "signed_by": signed_by,
            "at": datetime.now(UTC).isoformat(),
            "prev": roster.head,
        }
        if action != "revoke":
            if public_key is None:
                raise RosterError(Message("public_key_needed", action=Message(f"action_{action}")))
            fp = public_key_fingerprint(public_key)
            owner = roster.owner_of(fp)
            if owner is not None:
                raise RosterError(Message("public_key_in_use", owner=owner))
            former = next((o.name for o in roster.operators.values() if fp in o.history), None)
            if former is not None:
                raise RosterError(Message("public_key_retired", former=former))
            entry["public_key"] = _raw(public_key)
            entry["fingerprint"] = fp
        current = roster._find(operator)
        if action == "enroll" and current is not None:
            fingerprint = current.fingerprint or Message("roster_revoked")
            raise RosterError(Message("already_enrolled", operator=operator, fingerprint=fingerprint))
        if action != "enroll" and (current is None or (action == "revoke" and current.key is None)):
            raise RosterError(Message("not_enrolled_operator", operator=operator))
        # Replay the new entry against the state before writing: the same rules as on reading.
        _replay(path, [*_read_entries(path), _sign(entry, signer)])
        _append(path, entry)
    return entry
