"""The bank rail's batch driver: pain.001 files out, pain.002 and camt.05x in, the ledger updated.

Why here and not in :mod:`asxh_pay.providers.treasury`: a provider module builds and parses
only, and never imports the ledger; this channel sends files, polls reports and applies
them to the ledger, so it belongs to the core (see ``tests/test_layers.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import httpx

from asxh_pay.errors import (
    AsxhPayError,
    AuthenticationError,
    ConfigurationError,
    OutcomeUnknown,
    ProviderError,
    RequestNotSent,
    TransportError,
)
from asxh_pay.iso20022 import (
    Entry,
    GroupStatus,
    Iso20022Error,
    PaymentInfoStatus,
    TransactionStatus,
    read_camt053,
    read_camt054,
    read_pain002,
    status_reason_to_failure,
    transaction_outcome,
)
from asxh_pay.ledger.base import Ledger, stop_fallbacks_after_late_truth
from asxh_pay.models import BankAccount, EventSource, Payout, PayoutRequest, new_payout_id
from asxh_pay.providers.base import (
    raise_for_transport_status,
)
from asxh_pay.providers.treasury import (
    _APPLY_CHUNK,
    PROVIDER_NAME,
    BatchManifest,
    BatchStore,
    TreasuryProvider,
    end_to_end_id,
    render_pain001,
)
from asxh_pay.retry import RetryPolicy, backoff_delay, is_safe_to_retry
from asxh_pay.status import FailureReason, IllegalTransition, PayoutStatus

__all__ = ["PollReport", "SubmitReport", "TreasuryChannel"]

log = logging.getLogger("asxh_pay.treasury")


@dataclass
class SubmitReport:
    """What ``submit()`` did."""

    batches: list[str] = field(default_factory=list)
    submitted: int = 0
    failed_before_sending: list[tuple[str, str]] = field(default_factory=list)  # (payout id, why)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    not_uploaded: list[tuple[str, str]] = field(default_factory=list)  # (batch id, error): resume()


@dataclass
class PollReport:
    """What ``poll()`` fetched and applied. Nothing unknown is ever applied."""

    reports: list[str] = field(default_factory=list)
    transitions: Counter[str] = field(default_factory=Counter)
    unknown_messages: list[tuple[str, str]] = field(default_factory=list)  # (file, original MsgId)
    unknown_refs: list[tuple[str, str]] = field(default_factory=list)  # (file, EndToEndId or entry ref)
    contradictions: list[tuple[str, str, str]] = field(default_factory=list)  # (file, payout id, what)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (file, error)
    #: (file, EndToEndId): the bank refused a *second* instruction for a transfer it already
    #: holds (AM05/DUPL). Never applied as a failure: the first instruction stands.
    duplicates_refused: list[tuple[str, str]] = field(default_factory=list)

    @property
    def needs_attention(self) -> bool:
        return bool(self.unknown_messages or self.unknown_refs or self.contradictions or self.errors)


@dataclass(frozen=True)
class _Update:
    payout_id: str
    target: PayoutStatus
    reason: FailureReason | None
    detail: str | None
    e2e: str


def _booking_mismatch(entry: Entry, debtor_account: str, sent: int | None) -> str | None:
    """Why a booking naming one of our transfers does not prove anything about it (None: it does).

    The amount compared is the transaction's own, or its entry's when it is the
    entry's only transaction; a batch entry whose transactions state no amount
    proves no amount.
    """
    if entry.account != debtor_account:
        shown = f"*{entry.account[-4:]}" if entry.account else "no account"
        return f"booked on {shown}, not on this channel's debtor account"
    if entry.tx_amount_minor is not None:
        amount = entry.tx_amount_vnd
    elif entry.tx_index is None or entry.only_tx:
        amount = entry.amount_vnd
    else:
        amount = None
    if amount is None:
        return "no VND amount stated for this transfer"
    if sent is None or amount != sent:
        return f"{amount} VND booked but {sent} VND were sent"
    return None


class TreasuryChannel:
    """Batch driver of the bank rail for one district office (see the module docstring)."""

    def __init__(
        self,
        adapter: TreasuryProvider,
        ledger: Ledger,
        store: BatchStore,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeout_s: float = 120.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if adapter.store is None:
            adapter.store = store
        elif adapter.store is not store:
            raise ConfigurationError("the adapter and the channel must share one batch store")
        self.adapter = adapter
        self.config = adapter.config
        self.ledger = ledger
        self.store = store
        self.retry = retry or RetryPolicy(max_attempts=5, base_delay_s=0.5, max_delay_s=30.0)
        self._clock = clock
        self._http = httpx.AsyncClient(
            base_url=adapter.base_url,
            transport=transport,
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            trust_env=False,
        )

    async def __aenter__(self) -> TreasuryChannel:
        await self.ledger.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ recording

    async def record(
        self, requests: Iterable[PayoutRequest], *, namespace: bytes | None = None
    ) -> list[Payout]:
        """Record requests in the ledger for this rail (``created``); existing ones are returned.

        A convenience for callers without a payroll run; the usual caller records
        payouts itself and passes them to :meth:`submit`.
        """
        out: list[Payout] = []
        now = datetime.now(UTC)
        pending: list[Awaitable[tuple[Payout, bool]]] = []
        for req in requests:
            key = req.key(namespace) if namespace is not None else req.key()
            payout = Payout(
                id=new_payout_id(),
                idempotency_key=key,
                payload_hash=req.payload_hash(),
                request=req,
                provider=PROVIDER_NAME,
                created_at=now,
                updated_at=now,
            )
            pending.append(self.ledger.create_or_get(payout))
            if len(pending) >= _APPLY_CHUNK:
                out.extend(p for p, _ in await asyncio.gather(*pending))
                pending = []
        if pending:
            out.extend(p for p, _ in await asyncio.gather(*pending))
        return out

    # ------------------------------------------------------------------ submitting

    def _msg_id(self, e2es: Sequence[str], value_date: date) -> str:
        digest = hashlib.sha256("\n".join(sorted(e2es)).encode()).hexdigest()[:16].upper()
        return f"{self.config.msg_id_prefix}{value_date:%Y%m%d}{digest}"

    async def submit(self, payouts: Sequence[Payout], *, requested_date: date | None = None) -> SubmitReport:
        """Batch, store, record as submitted (write-ahead), then upload.

        Payouts not in ``created`` are skipped (a payout already in a stored batch is
        resent by :meth:`resume`, never re-batched). Payouts the rail cannot carry
        (not a bank account, above the per-transfer ceiling) fail before sending.
        """
        report = SubmitReport()
        cfg = self.config
        eligible: list[Payout] = []
        seen: set[str] = set()
        for p in payouts:
            e2e = end_to_end_id(p.idempotency_key)
            if e2e in seen:
                report.skipped.append((p.id, "listed twice"))
                continue
            seen.add(e2e)
            found = self.store.locate(e2e)
            if found is not None:
                report.skipped.append((p.id, f"already in batch {found[0]}"))
                continue
            if p.status is not PayoutStatus.CREATED:
                report.skipped.append((p.id, f"status {p.status.value}"))
                continue
            why = self._cannot_carry(p)
            if why is not None:
                reason, text = why
                await self.ledger.transition(
                    p,
                    PayoutStatus.FAILED,
                    source=EventSource.SYSTEM,
                    reason=reason,
                    detail=text,
                    provider=PROVIDER_NAME,
                )
                report.failed_before_sending.append((p.id, text))
                continue
            eligible.append(p)
        if not eligible:
            return report
        now = self._clock()
        value_date = cfg.calendar.value_date(now, requested_date)
        created = now.astimezone(UTC).replace(microsecond=0)
        size = cfg.max_txs_per_file
        for start in range(0, len(eligible), size):
            chunk = eligible[start : start + size]
            manifest = self._prepare(chunk, created, value_date)
            report.batches.append(manifest.batch_id)
            await self._record_submitted(manifest, {p.id: p for p in chunk})
            report.submitted += len(chunk)
            try:
                await self._upload(manifest)
            except AuthenticationError:
                raise  # our key or client id is wrong: every batch would fail the same way
            except (TransportError, ProviderError) as exc:
                log.warning("batch %s not uploaded: %s", manifest.batch_id, exc)
                report.not_uploaded.append((manifest.batch_id, f"{type(exc).__name__}: {exc}"))
        return report

    def _cannot_carry(self, p: Payout) -> tuple[FailureReason, str] | None:
        if not isinstance(p.request.destination, BankAccount):
            return FailureReason.REJECTED_BY_PROVIDER, "the treasury rail pays bank accounts only"
        if p.amount > self.config.max_amount_vnd:
            return (
                FailureReason.LIMIT_EXCEEDED,
                f"amount above the per-transfer ceiling of {self.config.max_amount_vnd} VND",
            )
        return None

    def _prepare(self, chunk: Sequence[Payout], created: datetime, value_date: date) -> BatchManifest:
        e2es = [end_to_end_id(p.idempotency_key) for p in chunk]
        msg_id = self._msg_id(e2es, value_date)
        existing = self.store.by_msg_id(msg_id)
        if existing is not None:
            return existing
        content, rows = render_pain001(self.config, msg_id, created, value_date, chunk)
        manifest = BatchManifest(
            batch_id=msg_id,
            msg_id=msg_id,
            created_at=created.isoformat(),
            execution_date=value_date.isoformat(),
            sha256=hashlib.sha256(content).hexdigest(),
            signature=self.adapter.sign_file(content),
            nb_of_txs=len(rows),
            ctrl_sum_vnd=sum(r[3] for r in rows),
            rows=rows,
        )
        self.store.put(manifest, content)
        return manifest

    async def _record_submitted(self, manifest: BatchManifest, known: dict[str, Payout]) -> None:
        """Write-ahead: every payout of the file is ``submitted`` (attempt counted) before upload."""

        async def one(payout_id: str, e2e: str) -> None:
            payout = known.get(payout_id) or await self.ledger.get(payout_id)
            if payout is None:
                raise AsxhPayError(f"batch {manifest.batch_id} names unknown payout {payout_id}")
            if payout.status.is_terminal:
                return
            await self.ledger.transition(
                payout,
                PayoutStatus.SUBMITTED,
                source=EventSource.SYSTEM,
                provider=PROVIDER_NAME,
                provider_ref=e2e,
                detail=f"batch {manifest.batch_id}",
                count_attempt=True,
            )

        rows = manifest.rows
        for start in range(0, len(rows), _APPLY_CHUNK):
            await asyncio.gather(*(one(pid, e2e) for e2e, pid, _p, _a in rows[start : start + _APPLY_CHUNK]))

    async def _send(self, build: Callable[[], httpx.Request]) -> httpx.Response:
        """Send with retries. Every request of this channel is safe to repeat: uploads
        are deduplicated by MsgId (the bytes are identical), the rest are reads."""
        policy = self.retry
        deadline = time.monotonic() + policy.deadline_s
        attempt = 0
        while True:
            attempt += 1
            try:
                try:
                    response = await self._http.send(build(), auth=self.adapter.auth())
                except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                    raise RequestNotSent(f"treasury: request not sent ({type(exc).__name__})") from None
                except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                    raise OutcomeUnknown(f"treasury: outcome unknown ({type(exc).__name__})") from None
                if response.status_code in (429, 502, 503, 504):
                    raise_for_transport_status(response, provider=PROVIDER_NAME)
                return response
            except (RequestNotSent, OutcomeUnknown, ProviderError) as exc:
                retryable = is_safe_to_retry(exc) or isinstance(exc, OutcomeUnknown)
                if not retryable or attempt >= policy.max_attempts or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(backoff_delay(policy, attempt))

    async def _upload(self, manifest: BatchManifest) -> BatchManifest:
        content = self.store.content(manifest.batch_id)
        manifest.uploads += 1
        self.store.save(manifest)
        response = await self._send(lambda: self.adapter.build_upload(manifest, content))
        state, code = self.adapter.parse_upload(manifest, response)
        manifest.state = state
        if state == "uploaded":
            manifest.file_id = code
        else:
            manifest.answer_code = code
        self.store.save(manifest)
        if state == "rejected":
            reason = status_reason_to_failure(code)
            await self._apply(
                [
                    _Update(pid, PayoutStatus.FAILED, reason, f"file {manifest.msg_id} refused: {code}", e2e)
                    for e2e, pid, _p, _a in manifest.rows
                ],
                EventSource.RESPONSE,
                PollReport(),
                manifest.batch_id,
            )
        elif state == "conflict":
            log.error(
                "bank holds another file under MsgId %s: batch %s needs a person",
                manifest.msg_id,
                manifest.batch_id,
            )
        return manifest

    async def resume(self) -> SubmitReport:
        """After a crash or an outage: finish every stored batch that is not acknowledged.

        The write-ahead record is completed (payouts still ``created``) and the stored
        bytes are uploaded again, unchanged; the bank answers a repeat of a file it has
        with its original acceptance and pays nothing twice.
        """
        report = SubmitReport()
        for manifest in self.store.manifests():
            if manifest.state != "prepared":
                continue
            report.batches.append(manifest.batch_id)
            await self._record_submitted(manifest, {})
            report.submitted += manifest.nb_of_txs
            try:
                await self._upload(manifest)
            except AuthenticationError:
                raise  # our key or client id is wrong: every batch would fail the same way
            except (TransportError, ProviderError) as exc:
                report.not_uploaded.append((manifest.batch_id, f"{type(exc).__name__}: {exc}"))
        return report

    # ------------------------------------------------------------------ reports

    async def poll(self) -> PollReport:
        """Fetch every new report, keep it in the store, apply what it says to the ledger.

        A report about a file we never sent (unknown MsgId) or a transfer we never
        instructed (unknown EndToEndId) is reported, never applied. A report that
        cannot be read is kept, reported and skipped (reading it again would not help).
        """
        report = PollReport()
        after = self.store.cursor()
        listing = self.adapter.parse_report_list(
            await self._send(lambda: self.adapter.build_report_list(after))
        )
        for rid, kind, name in listing:
            if rid <= after:
                continue
            content = self.adapter.parse_report(await self._send(self._report_request(rid)))
            path = self.store.keep_report(rid, name, content)
            report.reports.append(path.name)
            try:
                await self.apply_report(content, kind, path.name, report)
            except Iso20022Error as exc:
                report.errors.append((path.name, f"{type(exc).__name__}: {exc}"))
            self.store.set_cursor(rid)
            after = rid
        return report

    def _report_request(self, rid: int) -> Callable[[], httpx.Request]:
        return lambda: self.adapter.build_report(rid)

    async def apply_report(self, content: bytes, kind: str, name: str, report: PollReport) -> None:
        """Apply one pain.002 / camt.054 / camt.053 (also usable for files fetched by hand)."""
        if kind.startswith("pain.002"):
            await self._apply_pain002(content, name, report)
        elif kind.startswith("camt.054"):
            await self._apply_entries(read_camt054(content), name, report)
        elif kind.startswith("camt.053"):
            await self._apply_entries(read_camt053(content), name, report)
        else:
            report.errors.append((name, f"unknown report type {kind!r}"))

    async def _apply_pain002(self, content: bytes, name: str, report: PollReport) -> None:
        group: GroupStatus | None = None
        pmt: dict[str, PaymentInfoStatus] = {}
        txs: dict[str, TransactionStatus] = {}
        for rec in read_pain002(content):
            if isinstance(rec, GroupStatus):
                group = rec
            elif isinstance(rec, PaymentInfoStatus):
                pmt[rec.original_payment_info_id] = rec
            elif rec.original_end_to_end_id:
                txs[rec.original_end_to_end_id] = rec
        msg_id = (
            group.original_message_id
            if group
            else next((t.original_message_id for t in txs.values() if t.original_message_id), None)
        )
        manifest = self.store.by_msg_id(msg_id) if msg_id else None
        if manifest is None:
            report.unknown_messages.append((name, msg_id or "?"))
            return
        mine = {e2e for e2e, *_ in manifest.rows}
        for e2e in txs:
            if e2e not in mine:
                report.unknown_refs.append((name, e2e))
        updates: list[_Update] = []
        for e2e, pid, pmt_id, amount in manifest.rows:
            tx = txs.get(e2e)
            if (
                tx is not None
                and tx.original_currency is not None
                and (tx.original_currency != "VND" or tx.original_amount_minor != amount)
            ):
                report.contradictions.append(
                    (
                        name,
                        pid,
                        f"pain.002 {tx.status} for {tx.original_amount_minor} {tx.original_currency}; "
                        f"{amount} VND were sent",
                    )
                )
                continue
            if tx is not None:
                status, reason, code, info = tx.status, tx.reason, tx.reason_code, tx.additional_info
            else:
                block = pmt.get(pmt_id)
                holder: GroupStatus | PaymentInfoStatus | None = (
                    block if block is not None and block.status else group
                )
                if holder is None or not holder.status:
                    continue
                status = holder.status
                first = holder.reasons[0] if holder.reasons else None
                code = first.code if first else None
                reason = first.reason if first else None
                info = " ".join(first.additional_info) if first else None
                if status.upper() == "PART":
                    status = "ACCP"  # unlisted transfers of a partly accepted file were accepted
            outcome = transaction_outcome(status)
            if status.upper() == "RCVD":
                continue
            target = {
                "succeeded": PayoutStatus.SUCCEEDED,
                "failed": PayoutStatus.FAILED,
                "processing": PayoutStatus.PROCESSING,
            }[outcome]
            if target is PayoutStatus.FAILED and reason is None:
                reason = status_reason_to_failure(code)
            if target is PayoutStatus.FAILED and reason is FailureReason.DUPLICATE:
                report.duplicates_refused.append((name, e2e))
                continue
            detail = f"pain.002 {status}" + (f" {code}" if code else "") + (f": {info}" if info else "")
            updates.append(_Update(pid, target, reason, detail[:300], e2e))
        await self._apply(updates, EventSource.POLL, report, name)

    async def _apply_entries(self, entries: Iterable[Entry], name: str, report: PollReport) -> None:
        """Bookings on our debtor account: a debit -> ``succeeded``, a return -> ``returned``.

        Only what the statement proves is applied: a booked entry on this channel's
        debtor account, for exactly the amount sent. A return is a credit the
        statement marks as one (``RtrInf`` or an ``RRTN`` code); a credit that
        merely carries our EndToEndId, a partial or excess return, a debit of another
        amount or a booking on another account is a contradiction for a person.
        """
        updates: list[_Update] = []
        debtor = self.config.debtor.account
        for entry in entries:
            e2e = entry.end_to_end_id
            if e2e is None:
                continue  # funding credits, fees: not ours to apply (reconciliation reports them)
            found = self.store.locate(e2e)
            if found is None:
                if entry.credit_debit == "DBIT" or entry.is_return:
                    report.unknown_refs.append((name, e2e))
                continue
            status = (entry.status or "BOOK").upper()
            if status != "BOOK":
                continue
            _bid, pid = found
            ref = entry.tx_account_servicer_ref or entry.account_servicer_ref or entry.entry_reference or "-"
            why = _booking_mismatch(entry, debtor, self.store.sent_amount(e2e))
            if entry.credit_debit == "CRDT" and not entry.is_return:
                why = why or "a credit names this transfer but the statement does not call it a return"
            if why is not None:
                report.contradictions.append((name, pid, f"{entry.credit_debit} ref {ref}: {why}"))
                continue
            if entry.is_return:
                reason = entry.return_reason or FailureReason.RETURNED_BY_BANK
                code = entry.return_reason_code or "-"
                updates.append(_Update(pid, PayoutStatus.RETURNED, reason, f"returned {code} ref {ref}", e2e))
            elif entry.credit_debit == "DBIT" and not entry.reversal:
                updates.append(_Update(pid, PayoutStatus.SUCCEEDED, None, f"booked debit ref {ref}", e2e))
        await self._apply(updates, EventSource.POLL, report, name)

    async def _apply(
        self, updates: Sequence[_Update], source: EventSource, report: PollReport, name: str
    ) -> None:
        async def one(u: _Update) -> None:
            payout = await self.ledger.get(u.payout_id)
            if payout is None:
                report.unknown_refs.append((name, u.e2e))
                return
            try:
                if u.target is PayoutStatus.RETURNED and payout.status is not PayoutStatus.SUCCEEDED:
                    # A return implies the payment succeeded first, even if we never heard of it.
                    first = await self.ledger.transition(
                        payout,
                        PayoutStatus.SUCCEEDED,
                        source=source,
                        detail="success implied by a later return",
                        provider_ref=u.e2e,
                    )
                    payout = first.payout
                    if first.changed:
                        report.transitions[PayoutStatus.SUCCEEDED.value] += 1
                res = await self.ledger.transition(
                    payout, u.target, source=source, reason=u.reason, detail=u.detail, provider_ref=u.e2e
                )
                # A booked debit after a rejection is late truth: recorded, and the cash
                # fallback stopped (or the pair listed as paid twice), never dropped.
                await stop_fallbacks_after_late_truth(self.ledger, res)
            except IllegalTransition as exc:
                report.contradictions.append((name, u.payout_id, str(exc)))
                return
            if res.changed:
                report.transitions[u.target.value] += 1

        for start in range(0, len(updates), _APPLY_CHUNK):
            await asyncio.gather(*(one(u) for u in updates[start : start + _APPLY_CHUNK]))
