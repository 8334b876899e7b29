"""Streaming camt.054 (debit/credit notification) and camt.053 (statement) readers.

Why these matter: pain.002 says a transfer was accepted; only the booking on the
treasury account (camt.054 during the day, camt.053 at its end) says money
left, and a *return* (``RtrInf``) arrives here days later. Reconciliation
matches on ``EndToEndId``.

Streaming: one record per ``TxDtls`` is yielded as soon as it ends, and freed;
a batch-booked entry with a million transactions costs no more memory than one
with one. The entry-level fields (amount, status, dates, references) precede
``NtryDtls`` in every version, so they are read when the first ``TxDtls`` starts.

Amounts: parsed with :class:`~decimal.Decimal`, never float. VND has no minor
unit, so a VND amount with a fraction (``1500000.50``) is refused with
:class:`MalformedMessage` rather than rounded. Other currencies (real statements
carry FX) are kept exactly in minor units with the ISO 4217 exponent.

Versions .001.02 to .001.13 are read by local names; ``<Sts>BOOK</Sts>`` (up to
.03) and ``<Sts><Cd>BOOK</Cd></Sts>`` (from .08) are both understood.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from asxh_pay.iso20022.errors import MalformedMessage
from asxh_pay.iso20022.model import CreditDebit, Entry
from asxh_pay.iso20022.reasons import status_reason_to_failure
from asxh_pay.iso20022.safe import DEFAULT_MAX_BYTES, Finder, MessageStream, Source, local_name, release

__all__ = ["amount_to_minor", "read_camt053", "read_camt054"]

_VERSIONS = range(2, 14)
_TAGS = ("GrpHdr", "Ntry", "TxDtls")
_CONTAINERS = frozenset({"Stmt", "Ntfctn", "Rpt"})

#: ISO 4217 currencies whose minor unit is not 2 decimals (the rest use 2).
# A code table reads best packed, as the standard lists it.
# fmt: off
_EXPONENTS: dict[str, int] = {
    "VND": 0, "JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "PYG": 0, "UGX": 0, "XAF": 0, "XOF": 0,
    "XPF": 0, "KMF": 0, "GNF": 0, "RWF": 0, "DJF": 0, "VUV": 0, "BIF": 0, "UYI": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3, "CLF": 4, "UYW": 4,
}
# fmt: on


def amount_to_minor(text: str | None, currency: str | None) -> tuple[int, str]:
    """``("1500000", "VND")`` -> ``(1500000, "VND")``; ``("474.4", "CHF")`` -> ``(47440, "CHF")``.

    Raises :class:`MalformedMessage` for a missing, negative or non-numeric amount,
    or one with more decimals than its currency has (any fraction for VND).
    """
    if text is None or not currency:
        raise MalformedMessage("amount or its currency is missing")
    cur = currency.strip().upper()
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise MalformedMessage(f"amount {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise MalformedMessage(f"amount {text!r} is not a non-negative number")
    exp = _EXPONENTS.get(cur, 2)
    scaled = value.scaleb(exp)
    if scaled != scaled.to_integral_value():
        if cur == "VND":
            raise MalformedMessage(f"VND amount {text!r} is not a whole number of dong")
        raise MalformedMessage(f"{cur} amount {text!r} has more than {exp} decimals")
    return int(scaled), cur


def _amount(elem: etree._Element | None) -> tuple[int, str] | None:
    if elem is None:
        return None
    return amount_to_minor(elem.text, elem.get("Ccy"))


def _day(elem: etree._Element, name: str) -> date | None:
    """``<BookgDt><Dt>2025-01-06</Dt></BookgDt>`` or ``<DtTm>...`` -> the date."""
    if len(elem) == 0:
        return None
    text = (elem[0].text or "").strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise MalformedMessage(f"{name} {text!r} is not a date") from None


def _joined(f: Finder, elem: etree._Element | None, path: str) -> str | None:
    if elem is None:
        return None
    parts = [(c.text or "").strip() for c in f.findall(elem, path)]
    return " ".join(p for p in parts if p) or None


def _strip(text: str | None) -> str | None:
    if text is None:
        return None
    return text.strip() or None


class _EntryHead:
    """Entry-level fields, read once per ``Ntry`` and repeated on each of its records.

    One loop over the entry's children (and ``child[0]`` for one-child wrappers)
    rather than path lookups: lxml's ``find`` costs microseconds per call, and a
    million-entry statement makes that the reader's main cost.
    """

    __slots__ = (
        "acct_ref",
        "amount_minor",
        "amount_vnd",
        "bank_tx_code",
        "booking_date",
        "credit_debit",
        "currency",
        "entry_ref",
        "reversal",
        "status",
        "value_date",
    )

    def __init__(self, f: Finder, ntry: etree._Element) -> None:
        cut = f.prefix_len
        amt: tuple[int, str] | None = None
        cdi: str | None = None
        self.reversal = False
        self.status: str | None = None
        self.booking_date: date | None = None
        self.value_date: date | None = None
        self.entry_ref: str | None = None
        self.acct_ref: str | None = None
        self.bank_tx_code: str | None = None
        for c in ntry:
            name = c.tag[cut:] if isinstance(c.tag, str) else ""
            if name == "Amt":
                amt = _amount(c)
            elif name == "CdtDbtInd":
                cdi = _strip(c.text)
            elif name == "RvslInd":
                self.reversal = (_strip(c.text) or "false").lower() in ("true", "1")
            elif name == "Sts":
                self.status = _strip(c.text) if len(c) == 0 else _strip(c[0].text)
            elif name == "BookgDt":
                self.booking_date = _day(c, name)
            elif name == "ValDt":
                self.value_date = _day(c, name)
            elif name == "NtryRef":
                self.entry_ref = _strip(c.text)
            elif name == "AcctSvcrRef":
                self.acct_ref = _strip(c.text)
            elif name == "BkTxCd":
                self.bank_tx_code = _bank_tx_code(f, c)
            elif name == "NtryDtls":
                break
        if amt is None:
            raise MalformedMessage("entry without Amt")
        self.amount_minor, self.currency = amt
        self.amount_vnd = self.amount_minor if self.currency == "VND" else None
        if cdi not in ("CRDT", "DBIT"):
            raise MalformedMessage(f"CdtDbtInd {cdi!r} is neither CRDT nor DBIT")
        self.credit_debit: CreditDebit = "CRDT" if cdi == "CRDT" else "DBIT"


def _bank_tx_code(f: Finder, bk: etree._Element) -> str | None:
    domain = f.text(bk, "Domn/Cd")
    if domain is not None:
        fam = f.text(bk, "Domn/Fmly/Cd")
        sub = f.text(bk, "Domn/Fmly/SubFmlyCd")
        return "/".join(p for p in (domain, fam, sub) if p)
    return f.text(bk, "Prtry/Cd")


def _read(source: Source, expected: str, max_bytes: int, declared_size: int | None) -> Iterator[Entry]:
    stream = MessageStream(
        source,
        expected=expected,
        versions=_VERSIONS,
        tags=_TAGS,
        max_bytes=max_bytes,
        declared_size=declared_size,
    )
    f: Finder | None = None
    message_id: str | None = None
    container: etree._Element | None = None
    statement_id: str | None = None
    account: str | None = None
    head: _EntryHead | None = None
    tx_index = 0
    for event, elem in stream:
        if f is None:
            f = Finder(stream.info.namespace)
        name = local_name(elem.tag)
        if event == "start":
            if name == "Ntry":
                parent = elem.getparent()
                if parent is not None and parent is not container and local_name(parent.tag) in _CONTAINERS:
                    container = parent
                    statement_id = f.text(parent, "Id")
                    account = f.text(parent, "Acct/Id/IBAN") or f.text(parent, "Acct/Id/Othr/Id")
                head = None
                tx_index = 0
            elif name == "TxDtls" and head is None:
                dtls = elem.getparent()
                ntry = dtls.getparent() if dtls is not None else None
                if ntry is not None:
                    head = _EntryHead(f, ntry)
            continue
        if name == "GrpHdr":
            message_id = f.text(elem, "MsgId")
            release(elem)
        elif name == "TxDtls":
            if head is None:  # TxDtls outside an entry: not a shape we know
                raise MalformedMessage("TxDtls outside Ntry/NtryDtls")
            yield _record(f, message_id, statement_id, account, head, elem, tx_index)
            tx_index += 1
            release(elem)
        elif name == "Ntry":
            if head is None:
                head = _EntryHead(f, elem)
                yield _record(f, message_id, statement_id, account, head, None, None)
            head = None
            release(elem)


def _entry(
    message_id: str | None, statement_id: str | None, account: str | None, head: _EntryHead, **tx: Any
) -> Entry:
    """An entry's own fields, plus those of one of its transactions when there is one."""
    return Entry(
        message_id,
        statement_id,
        account,
        head.entry_ref,
        head.acct_ref,
        head.amount_vnd,
        head.amount_minor,
        head.currency,
        head.credit_debit,
        head.reversal,
        head.status,
        head.booking_date,
        head.value_date,
        head.bank_tx_code,
        **tx,
    )


def _record(
    f: Finder,
    message_id: str | None,
    statement_id: str | None,
    account: str | None,
    head: _EntryHead,
    tx: etree._Element | None,
    tx_index: int | None,
) -> Entry:
    if tx is None:
        return _entry(message_id, statement_id, account, head)
    cut = f.prefix_len
    amt: tuple[int, str] | None = None
    amt_dtls: etree._Element | None = None
    rtr: etree._Element | None = None
    rmt: etree._Element | None = None
    e2e = instr = pmt_id = svcr_ref = None
    for c in tx:
        name = c.tag[cut:] if isinstance(c.tag, str) else ""
        if name == "Refs":
            for r in c:
                rname = r.tag[cut:] if isinstance(r.tag, str) else ""
                if rname == "EndToEndId":
                    e2e = _strip(r.text)
                elif rname == "InstrId":
                    instr = _strip(r.text)
                elif rname == "PmtInfId":
                    pmt_id = _strip(r.text)
                elif rname == "AcctSvcrRef":
                    svcr_ref = _strip(r.text)
        elif name == "Amt":
            amt = _amount(c)
        elif name == "AmtDtls":
            amt_dtls = c
        elif name == "RtrInf":
            rtr = c
        elif name == "RmtInf":
            rmt = c
    if amt is None and amt_dtls is not None:
        node = f.find(amt_dtls, "TxAmt/Amt")
        if node is None:
            node = f.find(amt_dtls, "InstdAmt/Amt")
        amt = _amount(node)
    rtr_code = f.text(rtr, "Rsn/Cd") if rtr is not None else None
    rtr_prtry = f.text(rtr, "Rsn/Prtry") if rtr is not None else None
    return _entry(
        message_id,
        statement_id,
        account,
        head,
        tx_index=tx_index,
        end_to_end_id=e2e,
        instruction_id=instr,
        payment_info_id=pmt_id,
        tx_account_servicer_ref=svcr_ref,
        tx_amount_vnd=amt[0] if amt is not None and amt[1] == "VND" else None,
        tx_amount_minor=amt[0] if amt is not None else None,
        tx_currency=amt[1] if amt is not None else None,
        is_return=rtr is not None,
        return_reason_code=rtr_code or rtr_prtry,
        return_reason=status_reason_to_failure(rtr_code) if rtr is not None else None,
        return_additional_info=_joined(f, rtr, "AddtlInf"),
        remittance=_joined(f, rmt, "Ustrd"),
    )


def read_camt054(
    source: Source, *, max_bytes: int = DEFAULT_MAX_BYTES, declared_size: int | None = None
) -> Iterator[Entry]:
    """Yield one :class:`Entry` per transaction (or per entry without details) of a camt.054."""
    return _read(source, "camt.054", max_bytes, declared_size)


def read_camt053(
    source: Source, *, max_bytes: int = DEFAULT_MAX_BYTES, declared_size: int | None = None
) -> Iterator[Entry]:
    """Yield one :class:`Entry` per transaction (or per entry without details) of a camt.053."""
    return _read(source, "camt.053", max_bytes, declared_size)
