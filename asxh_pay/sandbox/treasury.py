"""Sandbox of the State Treasury / bank host-to-host channel (see :mod:`asxh_pay.providers.treasury`).

It keeps the bank's own books: the files it received (by MsgId, with their
digest), every transfer (by EndToEndId), the debits it booked and the returns it
credited. The tests compare the library's ledger to these books ("the bank did
not pay twice" is ``len(sandbox.debits[e2e]) == 1``).

What it refuses, as a bank would:

* a request whose signature, client id or timestamp does not verify (401), or an
  upload whose detached file signature or digest does not match (401);
* a file that is not a valid pain.001 against the official XSD (422 ``FF01``);
* another file under a MsgId already used (409 ``DUPL``); the *same* file again is
  answered with the original acceptance (idempotent, nothing booked twice);
* a file whose debtor account is not the client's (group ``RJCT`` ``AC02``) or whose
  NbOfTxs/CtrlSum do not add up (group ``RJCT`` ``AM18``/``AM10``);
* per transfer: an EndToEndId already used (``AM05``), an account that is not 6-19
  digits (``AC01``), an unknown bank BIN (``RC08``), an amount at or above the NAPAS
  ceiling (``AM02``), and the magic account endings below, plus a configurable
  random ``reject_rate``.

============  ==========================  ============
account ends  pain.002 reason             meaning
============  ==========================  ============
``000001``    ``AC01``                    invalid account
``000004``    ``AC04``                    closed account
``000006``    ``AC06``                    blocked account
``000011``    ``BE01``                    name does not match the account
``000013``    ``MS03``                    not specified (bank's own reason)
``000014``    ``AM04``                    insufficient funds at the time of booking
============  ==========================  ============

Time is business days, driven by the test (or by ``auto_settle`` when served):
:meth:`advance` books the debits of every accepted transfer whose execution date
has come (camt.054, and a pain.002 with ``ACSC``), credits the scheduled late
returns (camt.054 with ``RtrInf``) and closes the day (camt.053 with balances).
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import json
import random
import re
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
from lxml import etree

from asxh_pay.banks import BANKS
from asxh_pay.calendar_vn import VietnamCalendar
from asxh_pay.iso20022 import NAPAS_MAX_AMOUNT_VND, Iso20022Error, validate
from asxh_pay.providers.treasury import h2h_signing_string
from asxh_pay.signing import Signer, Verifier, timestamped_message

MAX_FILE_BYTES = 64 << 20

_BOOK_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (msg_id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS transfers (e2e TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bookings (
    seq INTEGER PRIMARY KEY, e2e TEXT, credit_debit TEXT NOT NULL, amount INTEGER NOT NULL, body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY, type TEXT NOT NULL, name TEXT NOT NULL, content BLOB
);
"""

MAGIC_REASONS = {
    "000001": "AC01",
    "000004": "AC04",
    "000006": "AC06",
    "000011": "BE01",
    "000013": "MS03",
    "000014": "AM04",
}
DEFAULT_REJECT_CODES = ("AC01", "AC04", "AC06", "AM04", "BE01", "MS03")
DEFAULT_RETURN_CODES = ("AC04", "MD07", "AC06", "BE01")
_ACCOUNT_RE = re.compile(r"^[0-9]{6,19}$")
_TX_PATH = re.compile(r"^/h2h/v1/transactions/([A-Za-z0-9/\-?:().,'+]{1,35})$")
_REPORT_PATH = re.compile(r"^/h2h/v1/reports/([0-9]{1,12})$")


@dataclass(slots=True)
class BankTransfer:
    """One transfer in the bank's books."""

    e2e: str
    instr_id: str
    msg_id: str
    pmt_inf_id: str
    amount: int
    account: str
    bank_bin: str | None
    remittance: str
    execution_date: date
    status: str = "ACCP"  # ACCP -> ACSC, or RJCT
    reason_code: str | None = None
    booked_on: date | None = None
    returned_on: date | None = None
    return_due: date | None = None
    return_code: str | None = None


@dataclass(slots=True)
class Booking:
    """One entry on the debtor account (negative amount = debit)."""

    ref: str
    e2e: str | None
    amount: int
    credit_debit: str
    booked_on: date
    remittance: str
    pmt_inf_id: str | None = None
    return_code: str | None = None


@dataclass(slots=True)
class ReceivedFile:
    msg_id: str
    sha256: str
    file_id: str
    answer: dict[str, Any]
    transfers: list[str] = field(default_factory=list)


class Report:
    """One report the bank published (pain.002, camt.054, camt.053).

    With books on disk, a report's bytes leave memory once written there and are read
    back when asked for: a province's month publishes hundreds of megabytes of them.
    """

    __slots__ = ("_content", "_loader", "id", "name", "type")

    def __init__(
        self,
        id: int,
        type: str,
        name: str,
        content: bytes | None,
        loader: Callable[[int], bytes] | None = None,
    ) -> None:
        self.id, self.type, self.name = id, type, name
        self._content = content
        self._loader = loader

    @property
    def content(self) -> bytes:
        if self._content is not None:
            return self._content
        assert self._loader is not None
        return self._loader(self.id)

    def spill(self, loader: Callable[[int], bytes]) -> None:
        """The bytes are on disk now: forget them here."""
        self._content, self._loader = None, loader


class TreasurySandbox:
    """A fake bank behind the host-to-host API, with its own books and fault knobs."""

    name = "treasury"

    def __init__(
        self,
        *,
        clients: dict[str, tuple[Verifier, str]],
        bank_signer: Signer | None = None,
        calendar: VietnamCalendar | None = None,
        business_date: date | None = None,
        reject_rate: float = 0.0,
        reject_codes: Iterable[str] = DEFAULT_REJECT_CODES,
        return_rate: float = 0.0,
        return_codes: Iterable[str] = DEFAULT_RETURN_CODES,
        return_after_days: int = 2,
        narrative_max_len: int | None = None,
        notification_max_entries: int = 10_000,
        list_accepted: bool = True,
        opening_balance: int = 100_000_000_000_000,
        auto_settle: bool = False,
        tolerance_s: float = 300.0,
        seed: int = 0,
        bank_bic: str = "BFTVVNVX",
        book: Path | None = None,
    ) -> None:
        """``clients`` maps a client id to (its verifier, its debtor account).

        ``book``: an SQLite file that keeps the bank's books across processes (loaded if
        present; what changed is written after every file received and every day run).
        """
        self.clients = clients
        self.bank_signer = bank_signer
        self.calendar = calendar or VietnamCalendar()
        self.business_date = business_date or datetime.now(UTC).date()
        self.reject_rate = reject_rate
        self.reject_codes = tuple(reject_codes)
        self.return_rate = return_rate
        self.return_codes = tuple(return_codes)
        self.return_after_days = return_after_days
        self.narrative_max_len = narrative_max_len
        self.notification_max_entries = notification_max_entries
        self.list_accepted = list_accepted
        self.balance = opening_balance
        self.auto_settle = auto_settle
        self.tolerance_s = tolerance_s
        self.bank_bic = bank_bic
        self._rng = random.Random(seed)
        self.files: dict[str, ReceivedFile] = {}
        self.transfers: dict[str, BankTransfer] = {}
        self.bookings: list[Booking] = []
        self.debits: dict[str, list[Booking]] = {}
        self.reports: list[Report] = []
        self.upload_count = 0
        self.upload_digests: list[str] = []  # SHA-256 of every file body received, in order
        self.refused: list[tuple[str, str]] = []  # (reason, detail)
        self._upload_faults: list[str | None] = []
        self._seq = 0
        # test hooks: bank-side mistakes
        self.double_debit: set[str] = set()
        self.skip_booking: set[str] = set()
        self.amount_delta: dict[str, int] = {}
        self.force_booking: set[str] = set()  # book even though pain.002 rejected it
        self.stray_debits: list[tuple[str, int]] = []  # (EndToEndId, amount) nobody instructed
        self.book = book
        self._db: sqlite3.Connection | None = None
        self._dirty_files: set[str] = set()
        self._dirty_transfers: set[str] = set()
        self._saved_bookings = 0
        self._saved_reports = 0
        if book is not None and book.exists():
            self._load()

    # ------------------------------------------------------------------ persistent books

    def save(self) -> None:
        """Write what changed since the last save to ``book``, in one SQLite transaction.

        Why incremental: the books used to be rewritten whole as JSON after every file,
        which made a month of a few hundred files quadratic (minutes and gigabytes at a
        province's scale). A killed process leaves the old or the new state, never half.
        """
        if self.book is None:
            return
        db = self._open_book()
        meta = {
            "business_date": self.business_date.isoformat(),
            "balance": str(self.balance),
            "seq": str(self._seq),
            "upload_count": str(self.upload_count),
            "rng": json.dumps(self._rng.getstate()[1][:625]),
        }
        new_reports = self.reports[self._saved_reports :]
        with db:
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", meta.items())
            db.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?)",
                ((m, json.dumps(asdict(self.files[m]))) for m in self._dirty_files),
            )
            db.executemany(
                "INSERT OR REPLACE INTO transfers VALUES (?, ?)",
                ((e, json.dumps(asdict(self.transfers[e]), default=str)) for e in self._dirty_transfers),
            )
            db.executemany(
                "INSERT INTO bookings VALUES (?, ?, ?, ?, ?)",
                (
                    (i, b.e2e, b.credit_debit, b.amount, json.dumps(asdict(b), default=str))
                    for i, b in enumerate(
                        itertools.islice(self.bookings, self._saved_bookings, None),
                        start=self._saved_bookings,
                    )
                ),
            )
            db.executemany(
                "INSERT INTO reports VALUES (?, ?, ?, ?)",
                ((r.id, r.type, r.name, r.content) for r in new_reports),
            )
        for r in new_reports:
            r.spill(self._report_bytes)
        self._dirty_files.clear()
        self._dirty_transfers.clear()
        self._saved_bookings = len(self.bookings)
        self._saved_reports = len(self.reports)

    def close(self) -> None:
        """Write what is left and close the books (a no-op without books)."""
        if self._db is not None:
            self.save()
            self._db.close()
            self._db = None

    def _open_book(self) -> sqlite3.Connection:
        if self._db is None:
            assert self.book is not None
            self.book.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.book, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_BOOK_SCHEMA)
            db.isolation_level = "DEFERRED"
            self._db = db
        return self._db

    def _report_bytes(self, report_id: int) -> bytes:
        row = self._open_book().execute("SELECT content FROM reports WHERE id = ?", (report_id,)).fetchone()
        if row is None:
            raise KeyError(f"report {report_id} is not in the books")
        return bytes(row[0])

    def _load(self) -> None:
        db = self._open_book()
        meta = dict(db.execute("SELECT k, v FROM meta"))
        if not meta:
            return
        self.business_date = date.fromisoformat(meta["business_date"])
        self.balance = int(meta["balance"])
        self._seq = int(meta["seq"])
        self.upload_count = int(meta["upload_count"])
        self._rng.setstate((3, tuple(json.loads(meta["rng"])), None))
        for (body,) in db.execute("SELECT body FROM files ORDER BY rowid"):
            f = json.loads(body)
            self.files[f["msg_id"]] = ReceivedFile(**f)
        for (body,) in db.execute("SELECT body FROM transfers ORDER BY rowid"):
            t = json.loads(body)
            for k in ("execution_date", "booked_on", "returned_on", "return_due"):
                t[k] = date.fromisoformat(t[k]) if t[k] else None
            self.transfers[t["e2e"]] = BankTransfer(**t)
        for (body,) in db.execute("SELECT body FROM bookings ORDER BY seq"):
            b = json.loads(body)
            b["booked_on"] = date.fromisoformat(b["booked_on"])
            booking = Booking(**b)
            self.bookings.append(booking)
            if booking.credit_debit == "DBIT" and booking.e2e is not None:
                self.debits.setdefault(booking.e2e, []).append(booking)
        for rid, kind, name in db.execute("SELECT id, type, name FROM reports ORDER BY id"):
            self.reports.append(Report(rid, kind, name, None, self._report_bytes))
        self._saved_bookings = len(self.bookings)
        self._saved_reports = len(self.reports)

    # ------------------------------------------------------------------ wiring

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def inject_upload_fault(self, *faults: str | None) -> None:
        """Script the next uploads: ``"connect"`` (never arrives), ``"timeout_before"``
        (arrives, not processed), ``"timeout_after"`` (processed, answer lost),
        ``"503"``; ``None`` lets one through."""
        self._upload_faults.extend(faults)

    def _next(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:09d}"

    # ------------------------------------------------------------------ HTTP

    def _signed(self, status: int, content: bytes, ctype: str) -> httpx.Response:
        headers = {"Content-Type": ctype}
        if self.bank_signer is not None:
            ts = str(int(time.time()))
            sig = self.bank_signer.sign(timestamped_message(ts, content))
            headers["X-Bank-Timestamp"] = ts
            headers["X-Bank-Signature"] = base64.b64encode(sig).decode("ascii")
        return httpx.Response(status, content=content, headers=headers)

    def _json(self, status: int, body: dict[str, Any]) -> httpx.Response:
        raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
        return self._signed(status, raw, "application/json")

    def _authenticate(self, request: httpx.Request) -> str | None:
        """The client's debtor account if the request is authentic, else None."""
        client = self.clients.get(request.headers.get("X-Client-Id", ""))
        if client is None:
            return None
        verifier, account = client
        ts = request.headers.get("X-Timestamp", "")
        try:
            if abs(time.time() - float(ts)) > self.tolerance_s:
                return None
            sig = base64.b64decode(request.headers.get("X-Signature", ""), validate=True)
            target = request.url.raw_path.decode("ascii")
            verifier.verify(h2h_signing_string(ts, request.method, target, request.content), sig)
        except Exception:
            return None
        return account

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if len(request.content) > MAX_FILE_BYTES:
            return self._json(413, {"error": "too_large"})
        account = self._authenticate(request)
        if account is None:
            self.refused.append(("authentication", request.url.path))
            return self._json(401, {"error": "bad_signature"})
        path = request.url.path
        if request.method == "POST" and path == "/h2h/v1/files":
            fault = self._upload_faults.pop(0) if self._upload_faults else None
            if fault == "connect":
                raise httpx.ConnectError("sandbox: connection refused", request=request)
            if fault == "503":
                return self._json(503, {"error": "unavailable"})
            if fault == "timeout_before":
                raise httpx.ReadTimeout("sandbox: timed out before processing", request=request)
            response = self._upload(request, account)
            self.save()  # on disk before the answer leaves
            if fault == "timeout_after":
                raise httpx.ReadTimeout("sandbox: timed out after processing", request=request)
            return response
        if (
            request.method == "GET"
            and self.auto_settle
            # Served/demo mode: the bank books at once on its current business date.
            and (
                self.settle(self.business_date, ignore_value_date=True)
                or self.release_returns(self.business_date)
            )
        ):
            self.save()
        if request.method == "GET" and path == "/h2h/v1/reports":
            try:
                after = int(request.url.params.get("after", "0"))
            except ValueError:
                return self._json(400, {"error": "bad_cursor"})
            listed = [{"id": r.id, "type": r.type, "name": r.name} for r in self.reports if r.id > after]
            return self._json(200, {"reports": listed, "last": self.reports[-1].id if self.reports else 0})
        m = _REPORT_PATH.match(path)
        if request.method == "GET" and m:
            rid = int(m.group(1))
            for r in self.reports:
                if r.id == rid:
                    return self._signed(200, r.content, "application/xml")
            return self._json(404, {"error": "not_found"})
        m = _TX_PATH.match(path)
        if request.method == "GET" and m:
            tx = self.transfers.get(m.group(1))
            if tx is None:
                return self._json(404, {"error": "not_found"})
            return self._json(
                200,
                {
                    "end_to_end_id": tx.e2e,
                    "msg_id": tx.msg_id,
                    "status": tx.status,
                    "reason_code": tx.reason_code,
                    "booked": tx.booked_on is not None,
                    "returned": tx.returned_on is not None,
                    "return_reason_code": tx.return_code,
                },
            )
        return self._json(404, {"error": "no_route"})

    # ------------------------------------------------------------------ receiving files

    def _upload(self, request: httpx.Request, account: str) -> httpx.Response:
        self.upload_count += 1
        content = request.content
        digest = hashlib.sha256(content).hexdigest()
        self.upload_digests.append(digest)
        if request.headers.get("X-File-Digest") != digest:
            self.refused.append(("digest", digest))
            return self._json(401, {"error": "digest_mismatch"})
        client = self.clients[request.headers["X-Client-Id"]]
        try:
            sig = base64.b64decode(request.headers.get("X-File-Signature", ""), validate=True)
            client[0].verify(bytes.fromhex(digest), sig)
        except Exception:
            self.refused.append(("file_signature", digest))
            return self._json(401, {"error": "bad_file_signature"})
        version = "pain.001.001.03" if b"pain.001.001.03" in content[:400] else "pain.001.001.09"
        try:
            validate(content, version)
        except Iso20022Error as exc:
            self.refused.append(("schema", str(exc)[:200]))
            return self._json(422, {"error": "FF01", "message": "file is not a valid pain.001"})
        root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
        ns = {"p": root.nsmap[None]}
        msg_id = root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", namespaces=ns) or ""
        known = self.files.get(msg_id)
        if known is not None:
            if known.sha256 == digest:
                return self._json(200, known.answer)  # the same file again: the original answer
            self.refused.append(("duplicate_msg_id", msg_id))
            return self._json(409, {"error": "DUPL", "message": "MsgId already used by another file"})
        file_id = self._next("F")
        answer = {"msg_id": msg_id, "file_id": file_id, "status": "RCVD"}
        received = ReceivedFile(msg_id, digest, file_id, answer)
        self.files[msg_id] = received
        self._dirty_files.add(msg_id)
        self._process(root, ns, received, account, version)
        return self._json(202, answer)

    def _process(
        self, root: etree._Element, ns: dict[str, str], received: ReceivedFile, account: str, version: str
    ) -> None:
        doc = root.find("p:CstmrCdtTrfInitn", ns)
        assert doc is not None
        grp = doc.find("p:GrpHdr", ns)
        assert grp is not None
        declared_n = int(grp.findtext("p:NbOfTxs", namespaces=ns) or "0")
        declared_sum = int(grp.findtext("p:CtrlSum", namespaces=ns) or "0")
        group_reason: str | None = None
        blocks: list[tuple[str, date, list[BankTransfer], list[str | None]]] = []
        count = total = 0
        seen_in_file: set[str] = set()
        for pmt in doc.findall("p:PmtInf", ns):
            pmt_id = pmt.findtext("p:PmtInfId", namespaces=ns) or ""
            exec_text = pmt.findtext("p:ReqdExctnDt/p:Dt", namespaces=ns) or pmt.findtext(
                "p:ReqdExctnDt", namespaces=ns
            )
            exec_date = date.fromisoformat((exec_text or "").strip())
            debtor = pmt.findtext("p:DbtrAcct/p:Id/p:Othr/p:Id", namespaces=ns)
            if debtor != account:
                group_reason = "AC02"
            txs: list[BankTransfer] = []
            reasons: list[str | None] = []
            for tx in pmt.findall("p:CdtTrfTxInf", ns):
                e2e = tx.findtext("p:PmtId/p:EndToEndId", namespaces=ns) or ""
                amount_text = tx.findtext("p:Amt/p:InstdAmt", namespaces=ns) or "0"
                amount = int(amount_text) if amount_text.isdigit() else -1
                t = BankTransfer(
                    e2e=e2e,
                    instr_id=tx.findtext("p:PmtId/p:InstrId", namespaces=ns) or "",
                    msg_id=received.msg_id,
                    pmt_inf_id=pmt_id,
                    amount=amount,
                    account=(tx.findtext("p:CdtrAcct/p:Id/p:Othr/p:Id", namespaces=ns) or "").strip(),
                    bank_bin=tx.findtext("p:CdtrAgt/p:FinInstnId/p:ClrSysMmbId/p:MmbId", namespaces=ns),
                    remittance=tx.findtext("p:RmtInf/p:Ustrd", namespaces=ns) or "",
                    execution_date=self.calendar.next_business_day(exec_date),
                )
                count += 1
                total += max(amount, 0)
                reasons.append(self._judge(t, seen_in_file))
                seen_in_file.add(e2e)
                txs.append(t)
            blocks.append((pmt_id, exec_date, txs, reasons))
        if group_reason is None and count != declared_n:
            group_reason = "AM18"
        if group_reason is None and total != declared_sum:
            group_reason = "AM10"
        rejected_all = group_reason is not None
        for _pmt_id, _d, txs, reasons in blocks:
            for t, reason in zip(txs, reasons, strict=True):
                if rejected_all:
                    continue  # nothing of a refused file enters the books
                if reason is not None:
                    t.status, t.reason_code = "RJCT", reason
                if t.e2e not in self.transfers:  # a duplicate never overwrites the original
                    self.transfers[t.e2e] = t
                    self._dirty_transfers.add(t.e2e)
                received.transfers.append(t.e2e)
        self._report_pain002(received.msg_id, version, count, declared_sum, blocks, group_reason)

    def _judge(self, t: BankTransfer, seen_in_file: set[str]) -> str | None:
        if t.e2e in self.transfers or t.e2e in seen_in_file:
            return "AM05"
        if not _ACCOUNT_RE.match(t.account):
            return "AC01"
        if t.bank_bin is None or t.bank_bin not in BANKS:
            return "RC08"
        if t.amount <= 0 or t.amount > NAPAS_MAX_AMOUNT_VND:
            return "AM02"
        magic = MAGIC_REASONS.get(t.account[-6:])
        if magic:
            return magic
        if self.reject_rate > 0 and self._rng.random() < self.reject_rate:
            return self._rng.choice(self.reject_codes)
        return None

    # ------------------------------------------------------------------ time passes

    def advance(self, to: date) -> None:
        """Run the bank's business days from the current one up to ``to`` (inclusive)."""
        day = self.business_date
        while day <= to:
            if self.calendar.is_business_day(day):
                self.settle(day)
                self.release_returns(day)
                self.end_of_day(day)
            day += timedelta(days=1)
        self.business_date = max(self.business_date, to + timedelta(days=1))
        self.save()

    def settle(self, on: date, *, ignore_value_date: bool = False) -> list[Booking]:
        """Book the debits of accepted transfers due on or before ``on`` (camt.054 + pain.002 ACSC).

        ``ignore_value_date`` books every accepted transfer at once (served demo mode, so a
        demo run after the cut-off or on a weekend still completes).
        """
        due = [
            t
            for t in self.transfers.values()
            if (t.status == "ACCP" or t.e2e in self.force_booking)
            and t.booked_on is None
            and (ignore_value_date or t.execution_date <= on)
        ]
        booked: list[Booking] = []
        for e2e, amount in self.stray_debits:
            b = Booking(self._next("DR"), e2e, amount, "DBIT", on, "", None)
            self.bookings.append(b)
            self.debits.setdefault(e2e, []).append(b)
            self.balance -= amount
            booked.append(b)
        self.stray_debits = []
        for t in due:
            t.status, t.booked_on = "ACSC", on
            self._dirty_transfers.add(t.e2e)
            if t.e2e in self.skip_booking:
                continue
            times = 2 if t.e2e in self.double_debit else 1
            for _ in range(times):
                amount = t.amount + self.amount_delta.get(t.e2e, 0)
                b = Booking(self._next("DR"), t.e2e, amount, "DBIT", on, t.remittance, t.pmt_inf_id)
                self.bookings.append(b)
                self.debits.setdefault(t.e2e, []).append(b)
                self.balance -= amount
                booked.append(b)
            if self.return_rate > 0 and self._rng.random() < self.return_rate:
                t.return_due = self.calendar.add_business_days(on, self.return_after_days)
                t.return_code = self._rng.choice(self.return_codes)
        if booked:
            self._report_camt054(on, booked)
        if due:
            by_msg: dict[str, list[BankTransfer]] = {}
            for t in due:
                by_msg.setdefault(t.msg_id, []).append(t)
            for msg_id, txs in by_msg.items():
                self._report_settled(msg_id, txs)
        return booked

    def schedule_return(self, e2e: str, code: str, on: date) -> None:
        """Make the beneficiary's bank send a booked transfer back on ``on``."""
        t = self.transfers[e2e]
        t.return_due, t.return_code = on, code
        self._dirty_transfers.add(e2e)

    def release_returns(self, on: date) -> list[Booking]:
        credits: list[Booking] = []
        for t in self.transfers.values():
            if t.return_due is not None and t.returned_on is None and t.booked_on and t.return_due <= on:
                t.returned_on = on
                self._dirty_transfers.add(t.e2e)
                b = Booking(
                    self._next("RT"), t.e2e, t.amount, "CRDT", on, t.remittance, t.pmt_inf_id, t.return_code
                )
                self.bookings.append(b)
                self.balance += t.amount
                credits.append(b)
        if credits:
            self._report_camt054(on, credits)
        return credits

    def end_of_day(self, on: date) -> None:
        entries = [b for b in self.bookings if b.booked_on == on]
        if entries:
            self._report_camt053(on, entries)

    # ------------------------------------------------------------------ reports

    def _add_report(self, kind: str, name: str, content: bytes) -> None:
        self.reports.append(Report(len(self.reports) + 1, kind, name, content))

    def _now_iso(self) -> str:
        return datetime.now(UTC).replace(microsecond=0).isoformat()

    def _report_pain002(
        self,
        msg_id: str,
        version: str,
        count: int,
        ctrl_sum: int,
        blocks: list[tuple[str, date, list[BankTransfer], list[str | None]]],
        group_reason: str | None,
    ) -> None:
        rejected = sum(1 for *_x, reasons in blocks for r in reasons if r is not None)
        if group_reason is not None:
            grp_sts = "RJCT"
        elif rejected == 0:
            grp_sts = "ACCP"
        elif rejected == count:
            grp_sts = "RJCT"
        else:
            grp_sts = "PART"
        parts: list[str] = []
        if group_reason is None:
            for pmt_id, _d, txs, reasons in blocks:
                n_rej = sum(1 for r in reasons if r)
                pst = "ACCP" if n_rej == 0 else ("RJCT" if n_rej == len(txs) else "PART")
                tx_xml: list[str] = []
                for t, r in zip(txs, reasons, strict=True):
                    if r is None and not self.list_accepted:
                        continue
                    rsn = f"<StsRsnInf><Rsn><Cd>{r}</Cd></Rsn></StsRsnInf>" if r else ""
                    tx_xml.append(
                        f"<TxInfAndSts><OrgnlInstrId>{escape(t.instr_id)}</OrgnlInstrId>"
                        f"<OrgnlEndToEndId>{escape(t.e2e)}</OrgnlEndToEndId>"
                        f"<TxSts>{'RJCT' if r else 'ACCP'}</TxSts>{rsn}</TxInfAndSts>"
                    )
                parts.append(
                    f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>{escape(pmt_id)}</OrgnlPmtInfId>"
                    f"<PmtInfSts>{pst}</PmtInfSts>{''.join(tx_xml)}</OrgnlPmtInfAndSts>"
                )
        grp_rsn = f"<StsRsnInf><Rsn><Cd>{group_reason}</Cd></Rsn></StsRsnInf>" if group_reason else ""
        orgnl = (
            f"<OrgnlGrpInfAndSts><OrgnlMsgId>{escape(msg_id)}</OrgnlMsgId>"
            f"<OrgnlMsgNmId>{version}</OrgnlMsgNmId><OrgnlNbOfTxs>{count}</OrgnlNbOfTxs>"
            f"<OrgnlCtrlSum>{ctrl_sum}</OrgnlCtrlSum><GrpSts>{grp_sts}</GrpSts>{grp_rsn}</OrgnlGrpInfAndSts>"
        )
        self._add_pain002(orgnl + "".join(parts))

    def _report_settled(self, msg_id: str, txs: list[BankTransfer]) -> None:
        by_pmt: dict[str, list[BankTransfer]] = {}
        for t in txs:
            by_pmt.setdefault(t.pmt_inf_id, []).append(t)
        parts = [
            f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>{escape(pmt)}</OrgnlPmtInfId>"
            + "".join(
                f"<TxInfAndSts><OrgnlEndToEndId>{escape(t.e2e)}</OrgnlEndToEndId><TxSts>ACSC</TxSts></TxInfAndSts>"
                for t in members
            )
            + "</OrgnlPmtInfAndSts>"
            for pmt, members in by_pmt.items()
        ]
        orgnl = (
            f"<OrgnlGrpInfAndSts><OrgnlMsgId>{escape(msg_id)}</OrgnlMsgId>"
            "<OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId></OrgnlGrpInfAndSts>"
        )
        self._add_pain002(orgnl + "".join(parts))

    def _add_pain002(self, body: str) -> None:
        rid = self._next("ST")
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt>'
            f"<GrpHdr><MsgId>{rid}</MsgId><CreDtTm>{self._now_iso()}</CreDtTm>"
            f"<DbtrAgt><FinInstnId><BICFI>{self.bank_bic}</BICFI></FinInstnId></DbtrAgt></GrpHdr>"
            f"{body}</CstmrPmtStsRpt></Document>"
        ).encode()
        self._add_report("pain.002", f"pain002_{rid}.xml", xml)

    def _narrative(self, text: str) -> str:
        if self.narrative_max_len is not None:
            text = text[: self.narrative_max_len]
        return escape(text)

    def _entry_xml(self, b: Booking) -> str:
        family = "RRTN" if b.return_code else "DMCT"
        rtr = f"<RtrInf><Rsn><Cd>{b.return_code}</Cd></Rsn></RtrInf>" if b.return_code else ""
        rmt = f"<RmtInf><Ustrd>{self._narrative(b.remittance)}</Ustrd></RmtInf>" if b.remittance else ""
        pmt = f"<PmtInfId>{escape(b.pmt_inf_id)}</PmtInfId>" if b.pmt_inf_id else ""
        e2e = f"<EndToEndId>{escape(b.e2e)}</EndToEndId>" if b.e2e else ""
        return (
            f'<Ntry><NtryRef>{b.ref}</NtryRef><Amt Ccy="VND">{b.amount}</Amt>'
            f"<CdtDbtInd>{b.credit_debit}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
            f"<BookgDt><Dt>{b.booked_on.isoformat()}</Dt></BookgDt><ValDt><Dt>{b.booked_on.isoformat()}</Dt></ValDt>"
            f"<AcctSvcrRef>{b.ref}</AcctSvcrRef>"
            f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>{family}</SubFmlyCd></Fmly></Domn></BkTxCd>"
            f"<NtryDtls><TxDtls><Refs><AcctSvcrRef>{b.ref}</AcctSvcrRef>{pmt}{e2e}</Refs>"
            f'<Amt Ccy="VND">{b.amount}</Amt><CdtDbtInd>{b.credit_debit}</CdtDbtInd>{rmt}{rtr}'
            "</TxDtls></NtryDtls></Ntry>"
        )

    def _account(self) -> str:
        return next(iter(self.clients.values()))[1]

    def _report_camt054(self, on: date, bookings: list[Booking]) -> None:
        """One camt.054 per ``notification_max_entries`` bookings, as banks notify in batches.

        Why batches: a province's month books a hundred thousand debits on one day; a single
        notification of them all would be a 100 MB message on both sides of the channel.
        """
        size = max(1, self.notification_max_entries)
        for start in range(0, len(bookings), size):
            self._report_camt054_part(on, bookings[start : start + size])

    def _report_camt054_part(self, on: date, bookings: list[Booking]) -> None:
        rid = self._next("NT")
        head = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>'
            f"<GrpHdr><MsgId>{rid}</MsgId><CreDtTm>{self._now_iso()}</CreDtTm></GrpHdr>"
            f"<Ntfctn><Id>{rid}-1</Id><CreDtTm>{self._now_iso()}</CreDtTm>"
            f"<Acct><Id><Othr><Id>{escape(self._account())}</Id></Othr></Id></Acct>"
        )
        xml = self._xml(head, bookings, "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>")
        self._add_report("camt.054", f"camt054_{on:%Y%m%d}_{rid}.xml", xml)

    def _xml(self, head: str, bookings: Iterable[Booking], tail: str) -> bytes:
        """A report's bytes, written entry by entry: a province's day is a 100 MB statement,
        and building it as one string (then its bytes) would hold it three times over."""
        out = io.BytesIO()
        out.write(head.encode())
        for b in bookings:
            out.write(self._entry_xml(b).encode())
        out.write(tail.encode())
        return out.getvalue()

    def _report_camt053(self, on: date, bookings: list[Booking]) -> None:
        rid = self._next("SM")
        net = sum(b.amount if b.credit_debit == "CRDT" else -b.amount for b in bookings)
        closing = self.balance
        opening = closing - net

        def bal(code: str, amount: int, day: date) -> str:
            ind = "CRDT" if amount >= 0 else "DBIT"
            return (
                f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="VND">{abs(amount)}</Amt>'
                f"<CdtDbtInd>{ind}</CdtDbtInd><Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>"
            )

        head = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>'
            f"<GrpHdr><MsgId>{rid}</MsgId><CreDtTm>{self._now_iso()}</CreDtTm></GrpHdr>"
            f"<Stmt><Id>{rid}-1</Id><CreDtTm>{self._now_iso()}</CreDtTm>"
            f"<Acct><Id><Othr><Id>{escape(self._account())}</Id></Othr></Id></Acct>"
            + bal("OPBD", opening, on)
            + bal("CLBD", closing, on)
        )
        xml = self._xml(head, bookings, "</Stmt></BkToCstmrStmt></Document>")
        self._add_report("camt.053", f"camt053_{on:%Y%m%d}_{rid}.xml", xml)

    # ------------------------------------------------------------------ forged reports (tests)

    def add_raw_report(self, kind: str, name: str, content: bytes) -> None:
        """Publish an arbitrary report (a pain.002 about a file never sent, a truncated file...)."""
        self._add_report(kind, name, content)

    def write_reports(self, directory: str | Path) -> list[Path]:
        """Every report as a file (what an operator would download), for the reconcile command."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths: list[Path] = []
        for r in self.reports:
            path = out / r.name
            path.write_bytes(r.content)
            paths.append(path)
        return paths


SANDBOX_URL = "https://h2h.treasury.sandbox.invalid"


def demo_sandbox(key_dir: str | Path = "asxh-pay-data/treasury-sandbox") -> TreasurySandbox:
    """A served sandbox with a fresh client key pair written to ``key_dir`` (for ``sandbox serve``).

    The client id is ``district-demo`` and its debtor account ``0011001234567``; the
    private key the client must sign with is ``key_dir/client_key.pem``.
    """
    from asxh_pay.signing import EcdsaVerifier, generate_ec_key, private_key_to_pem, write_private_key

    key = generate_ec_key()
    write_private_key(Path(key_dir) / "client_key.pem", private_key_to_pem(key))
    return TreasurySandbox(
        clients={"district-demo": (EcdsaVerifier(key.public_key()), "0011001234567")},
        auto_settle=True,
        reject_rate=0.02,
        return_rate=0.01,
        return_after_days=0,
    )
