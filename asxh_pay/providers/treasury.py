"""The State Treasury / bank rail: ISO 20022 files over an authenticated host-to-host API.

How it fits the per-payout engine. The core engine (:mod:`asxh_pay.client`) drives
one payout at a time; a bank takes *files* of thousands of transfers from one
debtor account. Forcing one into the other either sends one file per payout (a
district's 10,000 beneficiaries become 10,000 files and 10,000 bank fees) or
teaches the engine about batches. Neither: the rail is split in two parts that
share one wire format and one set of identifiers.

* :class:`asxh_pay.treasury_channel.TreasuryChannel` (in the core: it writes the
  ledger) is the batch driver. It takes payouts already recorded in the ledger
  (``created``), groups them into pain.001 files within the channel's limits
  (transfers per file, NAPAS per-transfer ceiling, cut-off and
  value date on the Vietnamese calendar), **stores each file before anything
  else** (:class:`BatchStore`, keyed by batch id), records every payout as
  ``submitted`` (write-ahead, ``count_attempt=True``), then uploads. ``poll()``
  fetches pain.002 and camt.054/053 reports as they come and applies them to the
  ledger through the same state machine the engine uses (``accepted`` ->
  ``processing``; ``ACSC`` or a booked debit -> ``succeeded``; ``RJCT`` ->
  ``failed`` with the mapped reason; a later ``RtrInf`` -> ``returned``).
  ``resume()`` resends every stored file whose upload was never acknowledged:
  the *stored bytes*, so MsgId, PmtInfIds, EndToEndIds and every byte are
  identical and the bank's duplicate check (by MsgId) recognises it.
* :class:`TreasuryProvider` is the ordinary per-payout adapter, so that
  ``AsyncPayoutClient.status()/resume()/wait()`` work for these payouts too:
  ``build_status`` asks the bank about one transfer by EndToEndId. Its
  ``build_submit`` uploads the payout's *stored batch file* when the payout
  belongs to one (a resume after a crash thus resends the identical file, never
  a second instruction) and otherwise a one-transfer pain.001 whose bytes are a
  function of the payout alone (MsgId and EndToEndId from the idempotency key,
  timestamps from ``created_at``), so every retry is byte-identical.

Identifiers. The EndToEndId of a payout is derived from its idempotency key
(:func:`end_to_end_id`), not from the file: the same payout keeps the same
EndToEndId in any file, so even a mistaken second file is refused by the bank's
duplicate-EndToEndId check instead of paying twice. The MsgId of a batch file is
derived from the EndToEndIds it carries, so re-running ``submit()`` with the
same payouts after a crash finds the same stored batch.

Wire format (no public State Treasury interface exists; rails.md)::

    POST /h2h/v1/files                 body: pain.001 bytes
         X-File-Digest: <sha256 hex>   X-File-Signature: <base64 signature over the 32-byte digest>
         -> 202 {"msg_id", "file_id", "status": "RCVD"}   first receipt
         -> 200 the same answer                            identical file again (idempotent)
         -> 409 {"error": "DUPL"}                          another file under a used MsgId
         -> 422 {"error": "FF01", "message"}               file refused as a whole
    GET  /h2h/v1/reports?after=N       -> {"reports": [{"id", "type", "name"}], "last": N}
    GET  /h2h/v1/reports/{id}          -> the pain.002 / camt.054 / camt.053 bytes
    GET  /h2h/v1/transactions/{e2e}    -> {"end_to_end_id", "msg_id", "status", "reason_code",
                                           "booked", "returned", "return_reason_code"} | 404

Every request carries ``X-Client-Id``, ``X-Timestamp`` and ``X-Signature``, a
detached signature (RSA or ECDSA, :mod:`asxh_pay.signing`) over
``"<ts>\\n<METHOD>\\n<path?query>\\n<sha256 hex of body>"``; the bank signs its
answers the same way (``X-Bank-Timestamp``, ``X-Bank-Signature`` over
``"<ts>." + body``) and the adapter verifies them when given the bank's key.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

import httpx

from asxh_pay.calendar_vn import VietnamCalendar
from asxh_pay.errors import (
    AsxhPayError,
    ConfigurationError,
    ProviderProtocolError,
    SignatureError,
    ValidationError,
)
from asxh_pay.iso20022 import (
    NAPAS_MAX_AMOUNT_VND,
    CreditTransfer,
    Party,
    PaymentBatch,
    status_reason_to_failure,
    transaction_outcome,
    write_pain001,
)
from asxh_pay.iso20022.pain001 import Pain001Version
from asxh_pay.iso20022.text import ID_RE
from asxh_pay.masking import install_masking
from asxh_pay.models import BankAccount, Payout
from asxh_pay.providers.base import (
    Capabilities,
    ProviderAdapter,
    ProviderOutcome,
    ProviderResult,
    is_sandbox_url,
    raise_for_transport_status,
    read_json,
)
from asxh_pay.signing import Signer, Verifier, timestamped_message
from asxh_pay.status import FailureReason

log = logging.getLogger("asxh_pay.treasury")
install_masking(log)

__all__ = [
    "BatchManifest",
    "BatchStore",
    "H2HAuth",
    "TreasuryConfig",
    "TreasuryProvider",
    "end_to_end_id",
    "h2h_signing_string",
]

PROVIDER_NAME = "treasury"
#: Default transfers per file: banks' host-to-host limits are usually a few thousand.
DEFAULT_MAX_TXS_PER_FILE = 5000
_APPLY_CHUNK = 500


def end_to_end_id(idempotency_key: str) -> str:
    """The EndToEndId of a payout: its idempotency key when that is a valid ISO id.

    Default keys (``AX`` + 30 hex) are used as they are; a custom key with characters
    ISO 20022 ids cannot carry (``_``) is hashed to ``E`` + 31 hex. Deterministic:
    the same payout has the same EndToEndId in every file, for ever.
    """
    if ID_RE.match(idempotency_key):
        return idempotency_key
    return "E" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:31]


def h2h_signing_string(timestamp: str, method: str, target: str, body: bytes) -> bytes:
    """What the client signs for every host-to-host request (exposed for the bank side)."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{timestamp}\n{method.upper()}\n{target}\n{digest}".encode()


def _target(url: httpx.URL) -> str:
    raw = url.raw_path.decode("ascii")
    return raw


class H2HAuth(httpx.Auth):
    """Signs every request: client id, timestamp and a detached signature over method,
    path, query and the body's SHA-256 (no I/O: serves sync and async clients)."""

    requires_request_body = True

    def __init__(self, signer: Signer, client_id: str, *, clock: Callable[[], float] = time.time) -> None:
        if not client_id:
            raise ConfigurationError("the host-to-host client id is empty")
        self._signer = signer
        self.client_id = client_id
        self._clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        ts = str(int(self._clock()))
        message = h2h_signing_string(ts, request.method, _target(request.url), request.content)
        request.headers["X-Client-Id"] = self.client_id
        request.headers["X-Timestamp"] = ts
        request.headers["X-Signature"] = base64.b64encode(self._signer.sign(message)).decode("ascii")
        yield request

    def __repr__(self) -> str:
        return f"H2HAuth(client_id={self.client_id!r}, algorithm={self._signer.algorithm!r})"


# ---------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class TreasuryConfig:
    """One district office's channel: its debtor account and the bank's limits."""

    debtor: Party
    initiating_party: str
    client_id: str
    max_txs_per_file: int = DEFAULT_MAX_TXS_PER_FILE
    max_amount_vnd: int = NAPAS_MAX_AMOUNT_VND
    calendar: VietnamCalendar = field(default_factory=VietnamCalendar)
    version: Pain001Version = "pain.001.001.09"
    msg_id_prefix: str = "KB"
    remittance: str = "TRO CAP {programme} {period}"

    def __post_init__(self) -> None:
        if not 1 <= self.max_txs_per_file <= 100_000:
            raise ConfigurationError("max_txs_per_file must be between 1 and 100000")
        if not 1 <= self.max_amount_vnd <= NAPAS_MAX_AMOUNT_VND:
            raise ConfigurationError(f"max_amount_vnd must be between 1 and {NAPAS_MAX_AMOUNT_VND}")
        if not re.fullmatch(r"[A-Z0-9]{1,8}", self.msg_id_prefix):
            raise ConfigurationError("msg_id_prefix must be 1-8 capital letters or digits")


def _transfer(payout: Payout, cfg: TreasuryConfig) -> CreditTransfer:
    req = payout.request
    dest = req.destination
    if not isinstance(dest, BankAccount):
        raise ValidationError("the treasury rail pays bank accounts only", field="destination")
    e2e = end_to_end_id(payout.idempotency_key)
    return CreditTransfer(
        end_to_end_id=e2e,
        instruction_id=e2e,
        amount_vnd=req.amount,
        creditor_name=req.recipient_name,
        creditor_account=dest.account_number,
        creditor_bank_bin=dest.bank_bin,
        remittance=cfg.remittance.format(programme=req.programme, period=req.period),
    )


def render_pain001(
    cfg: TreasuryConfig,
    msg_id: str,
    created_at: datetime,
    execution_date: date,
    payouts: Sequence[Payout],
) -> tuple[bytes, list[tuple[str, str, str, int]]]:
    """The pain.001 bytes for ``payouts`` and its rows (EndToEndId, payout id, PmtInfId, amount).

    One PmtInf block per (programme, pay period), in first-seen order, so the
    statement books each programme's run as its own batch. Pure and deterministic.
    """
    groups: dict[tuple[str, str], list[Payout]] = {}
    for p in payouts:
        groups.setdefault((p.request.programme, p.request.period), []).append(p)
    batches: list[PaymentBatch] = []
    rows: list[tuple[str, str, str, int]] = []
    for n, members in enumerate(groups.values(), start=1):
        pmt_id = f"{msg_id}-{n}"
        txs = [_transfer(p, cfg) for p in members]
        rows.extend((t.end_to_end_id, p.id, pmt_id, t.amount_vnd) for t, p in zip(txs, members, strict=True))
        batches.append(
            PaymentBatch(
                payment_info_id=pmt_id,
                debtor=cfg.debtor,
                execution_date=execution_date,
                transactions=lambda txs=txs: txs,  # type: ignore[misc]
                batch_booking=False,
            )
        )
    buf = io.BytesIO()
    write_pain001(
        buf,
        message_id=msg_id,
        created_at=created_at,
        initiating_party=cfg.initiating_party,
        batches=batches,
        version=cfg.version,
        max_amount_vnd=cfg.max_amount_vnd,
    )
    return buf.getvalue(), rows


# ---------------------------------------------------------------------- the file store


BatchState = Literal["prepared", "uploaded", "rejected", "conflict"]


@dataclass
class BatchManifest:
    """What was sent in one file, kept next to its bytes.

    ``rows`` are (EndToEndId, payout id, PmtInfId, amount). ``signature`` is the
    detached file signature made once at preparation and reused on every resend
    (ECDSA signatures differ on every signing; the resend must not).
    """

    batch_id: str
    msg_id: str
    created_at: str
    execution_date: str
    sha256: str
    signature: str
    nb_of_txs: int
    ctrl_sum_vnd: int
    rows: list[tuple[str, str, str, int]]
    state: BatchState = "prepared"
    file_id: str | None = None
    answer_code: str | None = None
    uploads: int = 0

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchManifest:
        data = dict(data)
        data["rows"] = [tuple(r) for r in data["rows"]]
        return cls(**data)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class BatchStore:
    """Files sent and reports received, on disk, keyed by batch id.

    Why the bytes are kept (not only the inputs): a resend after a crash must be the
    identical file, and the simplest proof of "identical" is the same bytes with
    the same SHA-256, checked again before every upload. The received reports are
    kept too: they are the evidence reconciliation cites by file name.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.batches_dir = self.root / "batches"
        self.inbox_dir = self.root / "inbox"
        self.batches_dir.mkdir(parents=True, exist_ok=True)
        self.inbox_dir.mkdir(parents=True, exist_ok=True)
        self._manifests: dict[str, BatchManifest] = {}
        self._by_msg: dict[str, str] = {}
        self._by_e2e: dict[str, tuple[str, str]] = {}  # e2e -> (batch id, payout id)
        self._amounts: dict[str, int] = {}  # e2e -> VND sent
        for path in sorted(self.batches_dir.glob("*.json")):
            self._index(BatchManifest.from_json(json.loads(path.read_text("utf-8"))))

    def _index(self, m: BatchManifest) -> None:
        self._manifests[m.batch_id] = m
        self._by_msg[m.msg_id] = m.batch_id
        for e2e, payout_id, _pmt, amount in m.rows:
            self._by_e2e[e2e] = (m.batch_id, payout_id)
            self._amounts[e2e] = amount

    # -- batches -----------------------------------------------------------

    def put(self, manifest: BatchManifest, content: bytes) -> None:
        """Store a new batch: the file first, then its manifest (the manifest's presence
        means the file is complete)."""
        if hashlib.sha256(content).hexdigest() != manifest.sha256:
            raise AsxhPayError("batch file does not match its manifest digest")
        existing = self._manifests.get(manifest.batch_id)
        if existing is not None:
            if existing.sha256 != manifest.sha256:
                raise AsxhPayError(f"batch {manifest.batch_id} already stored with other content")
            return
        _atomic_write(self.batches_dir / f"{manifest.batch_id}.xml", content)
        self.save(manifest)

    def save(self, manifest: BatchManifest) -> None:
        body = json.dumps(manifest.to_json(), separators=(",", ":"), sort_keys=True).encode()
        _atomic_write(self.batches_dir / f"{manifest.batch_id}.json", body)
        self._index(manifest)

    def content(self, batch_id: str) -> bytes:
        """The stored bytes, refused if they no longer match the recorded digest."""
        manifest = self.get(batch_id)
        data = (self.batches_dir / f"{batch_id}.xml").read_bytes()
        if hashlib.sha256(data).hexdigest() != manifest.sha256:
            raise AsxhPayError(f"stored file of batch {batch_id} was altered (digest mismatch)")
        return data

    def path(self, batch_id: str) -> Path:
        return self.batches_dir / f"{batch_id}.xml"

    def get(self, batch_id: str) -> BatchManifest:
        try:
            return self._manifests[batch_id]
        except KeyError:
            raise AsxhPayError(f"no stored batch {batch_id!r}") from None

    def by_msg_id(self, msg_id: str) -> BatchManifest | None:
        bid = self._by_msg.get(msg_id)
        return self._manifests[bid] if bid else None

    def locate(self, e2e: str) -> tuple[str, str] | None:
        """(batch id, payout id) of an EndToEndId we sent, or None."""
        return self._by_e2e.get(e2e)

    def sent_amount(self, e2e: str) -> int | None:
        """The VND amount instructed under an EndToEndId we sent, or None."""
        return self._amounts.get(e2e)

    def manifests(self) -> list[BatchManifest]:
        return [self._manifests[k] for k in sorted(self._manifests)]

    # -- inbox -------------------------------------------------------------

    def cursor(self) -> int:
        path = self.root / "cursor.json"
        if not path.exists():
            return 0
        return int(json.loads(path.read_text("utf-8"))["after"])

    def set_cursor(self, after: int) -> None:
        _atomic_write(self.root / "cursor.json", json.dumps({"after": after}).encode())

    def keep_report(self, report_id: int, name: str, content: bytes) -> Path:
        safe = _SAFE_NAME.sub("_", name)[:100] or "report.xml"
        path = self.inbox_dir / f"{report_id:08d}-{safe}"
        _atomic_write(path, content)
        return path


# ---------------------------------------------------------------------- the adapter


class TreasuryProvider(ProviderAdapter):
    """Per-payout adapter of the bank rail (status by EndToEndId; one-file submit)."""

    name: ClassVar[str] = PROVIDER_NAME
    capabilities: ClassVar[Capabilities] = Capabilities(
        destinations=frozenset({"bank"}),
        batch=True,
        max_batch=DEFAULT_MAX_TXS_PER_FILE,
        dedupes_by_key=True,  # by MsgId and by EndToEndId
        min_amount=1,
        max_amount=NAPAS_MAX_AMOUNT_VND,
    )

    def __init__(
        self,
        config: TreasuryConfig,
        signer: Signer,
        *,
        base_url: str,
        bank_verifier: Verifier | None = None,
        store: BatchStore | None = None,
        response_tolerance_s: float = 300.0,
    ) -> None:
        """``bank_verifier`` may be left out only for a sandbox: a real bank's answers
        (acceptances, pain.002, statements) are always checked against its key."""
        super().__init__(base_url)
        self.refuse_sandbox_credentials(signer, bank_verifier)
        if bank_verifier is None and not is_sandbox_url(base_url):
            raise ConfigurationError(
                f"{type(self).__name__}: a bank_verifier (the bank's public key) is required at "
                f"{httpx.URL(base_url).host}: the bank's answers must be verified"
            )
        self.config = config
        self._signer = signer
        self._auth = H2HAuth(signer, config.client_id)
        self._bank_verifier = bank_verifier
        self.store = store
        self._tolerance = response_tolerance_s

    def auth(self) -> httpx.Auth:
        return self._auth

    # -- files ---------------------------------------------------------------

    def sign_file(self, content: bytes) -> str:
        """Detached signature over the file's SHA-256 digest, base64."""
        return base64.b64encode(self._signer.sign(hashlib.sha256(content).digest())).decode("ascii")

    def build_upload(self, manifest: BatchManifest, content: bytes) -> httpx.Request:
        return httpx.Request(
            "POST",
            self.endpoint("/h2h/v1/files"),
            content=content,
            headers={
                "Content-Type": "application/xml",
                "X-Message-Id": manifest.msg_id,
                "X-File-Digest": manifest.sha256,
                "X-File-Signature": manifest.signature,
            },
        )

    def parse_upload(
        self, manifest: BatchManifest, response: httpx.Response
    ) -> tuple[BatchState, str | None]:
        """``("uploaded", file id)``, ``("rejected", code)`` or ``("conflict", code)``.

        Transport-level answers (401/403/429/5xx) raise as for any provider.
        """
        raise_for_transport_status(response, provider=self.name)
        data = self._verified_json(response)
        if response.status_code in (200, 202):
            if data.get("msg_id") != manifest.msg_id:
                raise ProviderProtocolError(f"{self.name}: upload answer is about another file")
            file_id = data.get("file_id")
            return "uploaded", file_id if isinstance(file_id, str) else None
        code = data.get("error")
        code = code if isinstance(code, str) else None
        if response.status_code == 409:
            return "conflict", code
        if response.status_code in (400, 422):
            return "rejected", code
        raise ProviderProtocolError(
            f"{self.name}: unexpected upload answer {response.status_code}", http_status=response.status_code
        )

    def _single_file(self, payout: Payout) -> tuple[BatchManifest, bytes]:
        """A one-transfer file that is a pure function of the payout (byte-identical retries)."""
        e2e = end_to_end_id(payout.idempotency_key)
        msg_id = ("P" + hashlib.sha256(e2e.encode()).hexdigest())[:32]
        created = payout.created_at.astimezone(UTC).replace(microsecond=0)
        execution = self.config.calendar.value_date(created)
        content, rows = render_pain001(self.config, msg_id, created, execution, [payout])
        manifest = BatchManifest(
            batch_id=msg_id,
            msg_id=msg_id,
            created_at=created.isoformat(),
            execution_date=execution.isoformat(),
            sha256=hashlib.sha256(content).hexdigest(),
            signature=self.sign_file(content),
            nb_of_txs=1,
            ctrl_sum_vnd=payout.amount,
            rows=rows,
        )
        return manifest, content

    def _file_for(self, payout: Payout) -> tuple[BatchManifest, bytes]:
        if self.store is not None:
            found = self.store.locate(end_to_end_id(payout.idempotency_key))
            if found is not None:
                return self.store.get(found[0]), self.store.content(found[0])
        return self._single_file(payout)

    # -- per-payout operations -------------------------------------------------

    def build_submit(self, payout: Payout) -> httpx.Request:
        manifest, content = self._file_for(payout)
        return self.build_upload(manifest, content)

    def parse_submit(self, payout: Payout, response: httpx.Response) -> ProviderResult:
        manifest, _ = self._file_for(payout)
        state, code = self.parse_upload(manifest, response)
        e2e = end_to_end_id(payout.idempotency_key)
        if state == "uploaded":
            return ProviderResult(ProviderOutcome.ACCEPTED, provider_ref=e2e, code="RCVD")
        if state == "conflict":
            raise ProviderProtocolError(
                f"{self.name}: the bank holds another file under MsgId {manifest.msg_id}",
                http_status=409,
                provider_code=code,
            )
        return ProviderResult(
            ProviderOutcome.FAILED, provider_ref=e2e, reason=status_reason_to_failure(code), code=code
        )

    def build_status(self, payout: Payout) -> httpx.Request:
        e2e = end_to_end_id(payout.idempotency_key)
        return httpx.Request("GET", f"{self.base_url}/h2h/v1/transactions/{e2e}")

    def parse_status(self, payout: Payout, response: httpx.Response) -> ProviderResult:
        data = self._verified_json(response)
        if response.status_code == 404:
            return ProviderResult(ProviderOutcome.NOT_FOUND)
        if response.status_code != 200:
            raise ProviderProtocolError(
                f"{self.name}: unexpected status answer {response.status_code}",
                http_status=response.status_code,
            )
        e2e = end_to_end_id(payout.idempotency_key)
        if data.get("end_to_end_id") != e2e:
            raise ProviderProtocolError(f"{self.name}: status answer is about another transfer")
        status = data.get("status")
        if not isinstance(status, str):
            raise ProviderProtocolError(f"{self.name}: status answer without a status")
        if data.get("returned") is True:
            code = data.get("return_reason_code")
            code = code if isinstance(code, str) else None
            reason = status_reason_to_failure(code) if code else FailureReason.RETURNED_BY_BANK
            return ProviderResult(ProviderOutcome.RETURNED, provider_ref=e2e, reason=reason, code=code)
        if data.get("booked") is True:
            return ProviderResult(ProviderOutcome.SUCCEEDED, provider_ref=e2e, code=status)
        outcome = transaction_outcome(status)
        if outcome == "failed":
            code = data.get("reason_code")
            code = code if isinstance(code, str) else None
            return ProviderResult(
                ProviderOutcome.FAILED, provider_ref=e2e, reason=status_reason_to_failure(code), code=code
            )
        if outcome == "succeeded":
            return ProviderResult(ProviderOutcome.SUCCEEDED, provider_ref=e2e, code=status)
        return ProviderResult(ProviderOutcome.ACCEPTED, provider_ref=e2e, code=status)

    # -- reports -----------------------------------------------------------------

    def build_report_list(self, after: int) -> httpx.Request:
        return httpx.Request("GET", f"{self.base_url}/h2h/v1/reports", params={"after": str(after)})

    def parse_report_list(self, response: httpx.Response) -> list[tuple[int, str, str]]:
        raise_for_transport_status(response, provider=self.name)
        data = self._verified_json(response)
        if response.status_code != 200 or not isinstance(data.get("reports"), list):
            raise ProviderProtocolError(f"{self.name}: bad report list ({response.status_code})")
        out: list[tuple[int, str, str]] = []
        for item in data["reports"]:
            if not isinstance(item, dict):
                raise ProviderProtocolError(f"{self.name}: bad report list entry")
            rid, kind, name = item.get("id"), item.get("type"), item.get("name")
            if not (isinstance(rid, int) and isinstance(kind, str) and isinstance(name, str)):
                raise ProviderProtocolError(f"{self.name}: bad report list entry")
            out.append((rid, kind, name))
        return sorted(out)

    def build_report(self, report_id: int) -> httpx.Request:
        return httpx.Request("GET", f"{self.base_url}/h2h/v1/reports/{report_id}")

    def parse_report(self, response: httpx.Response) -> bytes:
        raise_for_transport_status(response, provider=self.name)
        self._verify(response)
        if response.status_code != 200:
            raise ProviderProtocolError(f"{self.name}: report download failed ({response.status_code})")
        return response.content

    # -- authenticity of answers ---------------------------------------------------

    def _verify(self, response: httpx.Response) -> None:
        if self._bank_verifier is None:
            return
        ts = response.headers.get("X-Bank-Timestamp", "")
        try:
            sig = base64.b64decode(response.headers.get("X-Bank-Signature", ""), validate=True)
            if abs(time.time() - float(ts)) > self._tolerance:
                raise ValueError("stale")
            self._bank_verifier.verify(timestamped_message(ts, response.content), sig)
        except (SignatureError, ValueError):
            raise ProviderProtocolError(
                f"{self.name}: bank answer signature does not verify", http_status=response.status_code
            ) from None

    def _verified_json(self, response: httpx.Response) -> dict[str, Any]:
        self._verify(response)
        return read_json(response, provider=self.name)
