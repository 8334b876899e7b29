"""Streaming camt.054 (debit/credit notification) and camt.053 (statement) readers.

Why these matter: pain.002 says a transfer was accepted; only the booking on the
treasury account (camt.054 during the day, camt.053 at its end) says money
left, and a *return* (``RtrInf``) arrives here days later. Reconciliation
matches on ``EndToEndId``.

Streaming: one record per ``TxDtls`` is yielded as soon as it ends, and freed;
a batch-booked entry with a million transactions costs no more memory than one
with one. The entry-level fields (amount, status, dates, references) precede
``NtryDtls`` in every version, so they are read when the first ``TxDtls`` starts.

Amounts: parsed strictly as the schema's ``ActiveOrHistoricCurrencyAndAmount``
(a plain decimal: no exponent, no sign other than ``+``, at most 18 digits of
which at most 5 after the point; a currency of three capital letters), then with
:class:`~decimal.Decimal`, never float. Why strict: ``Decimal`` alone would take
``1.08E6`` or ``1_080_000`` as an amount, and a statement that acts on the
ledger must not be read more generously than its schema. VND has no minor unit,
so a VND amount with a fraction (``1500000.50``) is refused with
:class:`MalformedMessage` rather than rounded. Other currencies (real statements
carry FX) are kept exactly in minor units with the ISO 4217 exponent.

Direction and returns: each record carries its *transaction's* own
``CdtDbtInd`` when the transaction states one (falling back to the entry's, kept
as ``entry_credit_debit``). A credit is flagged ``is_return`` only when the
statement says it is a return: return information (``RtrInf``) on the
transaction, or a bank transaction code whose sub-family is ``RRTN`` (payment
return) on the transaction or, failing that, on the entry. A credit that merely
carries an ``EndToEndId`` is not a return.

Dates: ``BookgDt``/``ValDt`` given as a date-time keep their offset and are taken
in Vietnam time (``Asia/Ho_Chi_Minh``): ``2025-01-06T23:30:00Z`` was booked on
7 January in Hanoi. A date-time without an offset is read as Vietnam time.

Versions .001.02 to .001.13 are read by local names; ``<Sts>BOOK</Sts>`` (up to
.03) and ``<Sts><Cd>BOOK</Cd></Sts>`` (from .08) are both understood.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from asxh_pay.calendar_vn import VN_TZ
from asxh_pay.iso20022.errors import MalformedMessage
from asxh_pay.iso20022.model import CreditDebit, Entry
from asxh_pay.iso20022.reasons import status_reason_to_failure
from asxh_pay.iso20022.safe import DEFAULT_MAX_BYTES, Finder, MessageStream, Source, local_name, release

__all__ = ["RETURN_SUB_FAMILIES", "amount_to_minor", "is_return_code", "read_camt053", "read_camt054"]

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


#: ``ActiveOrHistoricCurrencyAndAmount_SimpleType``: xs:decimal, >= 0, at most 18 digits,
#: at most 5 of them fraction digits. The lexical form of xs:decimal has no exponent.
_AMOUNT_RE = re.compile(r"\+?([0-9]*)(?:\.([0-9]*))?")
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_MAX_TOTAL_DIGITS = 18
_MAX_FRACTION_DIGITS = 5
_XML_SPACE = " \t\r\n"

#: Bank transaction sub-families that mean "this credit is one of your payments coming back".
RETURN_SUB_FAMILIES = frozenset({"RRTN"})


def is_return_code(code: str | None) -> bool:
    """Does a ``Domn/Fmly/SubFmly`` bank transaction code (``PMNT/ICDT/RRTN``) say "payment return"?"""
    if not code:
        return False
    parts = code.split("/")
    return len(parts) == 3 and parts[0] == "PMNT" and parts[2] in RETURN_SUB_FAMILIES


def amount_to_minor(text: str | None, currency: str | None) -> tuple[int, str]:
    """``("1500000", "VND")`` -> ``(1500000, "VND")``; ``("474.4", "CHF")`` -> ``(47440, "CHF")``.

    Raises :class:`MalformedMessage` for a missing amount or currency, an amount
    that is not an ``ActiveOrHistoricCurrencyAndAmount`` (exponent, sign, more
    than 18 digits or 5 decimals, ``NaN``, separators), a currency that is not
    three capital letters, or more decimals than the currency has (any non-zero
    fraction for VND). Trailing zero decimals (``1500000.00``) are the same value
    and are accepted.
    """
    if text is None or currency is None:
        raise MalformedMessage("amount or its currency is missing")
    cur = currency.strip(_XML_SPACE)
    if not _CURRENCY_RE.fullmatch(cur):
        raise MalformedMessage(f"currency {currency!r} is not three capital letters")
    raw = text.strip(_XML_SPACE)
    exp = _EXPONENTS.get(cur, 2)
    if raw.isascii() and raw.isdigit():  # the usual shape, a whole number: no regex, no Decimal
        if len(raw.lstrip("0")) > _MAX_TOTAL_DIGITS:
            raise MalformedMessage(f"amount {text!r} has more than {_MAX_TOTAL_DIGITS} digits")
        return int(raw) * 10**exp, cur
    match = _AMOUNT_RE.fullmatch(raw)
    if match is None or not (match.group(1) or match.group(2)):
        raise MalformedMessage(f"amount {text!r} is not a decimal amount")
    whole = match.group(1).lstrip("0")
    frac = (match.group(2) or "").rstrip("0")
    if len(frac) > _MAX_FRACTION_DIGITS or len(whole) + len(frac) > _MAX_TOTAL_DIGITS:
        raise MalformedMessage(
            f"amount {text!r} has more than {_MAX_TOTAL_DIGITS} digits or {_MAX_FRACTION_DIGITS} decimals"
        )
    try:
        value = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise MalformedMessage(f"amount {text!r} is not a number") from None
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


def _day(elem: etree._Element, name: str) -> tuple[date | None, datetime | None]:
    """``<BookgDt><Dt>2025-01-06</Dt></BookgDt>`` or ``<DtTm>...`` -> (Vietnam date, date-time).

    A date-time keeps its offset and is converted to Vietnam time, so its date is
    the day it was in Hanoi; one without an offset is taken as Vietnam time.
    """
    if len(elem) == 0:
        return None, None
    child = elem[0]
    text = (child.text or "").strip()
    tag = child.tag
    if isinstance(tag, str) and tag.endswith("DtTm"):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise MalformedMessage(f"{name} {text!r} is not a date-time") from None
        moment = moment.replace(tzinfo=VN_TZ) if moment.tzinfo is None else moment.astimezone(VN_TZ)
        return moment.date(), moment
    try:
        return date.fromisoformat(text[:10]), None  # an xs:date may carry a zone suffix
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
        "bank_tx_proprietary",
        "booking_date",
        "booking_datetime",
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
        self.booking_datetime: datetime | None = None
        self.value_date: date | None = None
        self.entry_ref: str | None = None
        self.acct_ref: str | None = None
        self.bank_tx_code: str | None = None
        self.bank_tx_proprietary: str | None = None
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
                self.booking_date, self.booking_datetime = _day(c, name)
            elif name == "ValDt":
                self.value_date = _day(c, name)[0]
            elif name == "NtryRef":
                self.entry_ref = _strip(c.text)
            elif name == "AcctSvcrRef":
                self.acct_ref = _strip(c.text)
            elif name == "BkTxCd":
                self.bank_tx_code, self.bank_tx_proprietary = _bank_tx_code(f, c)
            elif name == "NtryDtls":
                break
        if amt is None:
            raise MalformedMessage("entry without Amt")
        self.amount_minor, self.currency = amt
        self.amount_vnd = self.amount_minor if self.currency == "VND" else None
        if cdi not in ("CRDT", "DBIT"):
            raise MalformedMessage(f"CdtDbtInd {cdi!r} is neither CRDT nor DBIT")
        self.credit_debit: CreditDebit = "CRDT" if cdi == "CRDT" else "DBIT"


def _bank_tx_code(f: Finder, bk: etree._Element) -> tuple[str | None, str | None]:
    """(``Domn/Fmly/SubFmly`` joined by ``/``, else the proprietary code; the proprietary code).

    A walk over the few children rather than four path lookups: this runs once per
    entry and lxml's ``findtext`` is the costlier way on a million-entry statement.
    """
    cut = f.prefix_len
    domain = fam = sub = prtry = None
    for c in bk:
        name = c.tag[cut:] if isinstance(c.tag, str) else ""
        if name == "Domn":
            for d in c:
                dname = d.tag[cut:] if isinstance(d.tag, str) else ""
                if dname == "Cd":
                    domain = _strip(d.text)
                elif dname == "Fmly":
                    for g in d:
                        gname = g.tag[cut:] if isinstance(g.tag, str) else ""
                        if gname == "Cd":
                            fam = _strip(g.text)
                        elif gname == "SubFmlyCd":
                            sub = _strip(g.text)
        elif name == "Prtry":
            for d in c:
                if isinstance(d.tag, str) and d.tag[cut:] == "Cd":
                    prtry = _strip(d.text)
    if domain is not None:
        return "/".join(p for p in (domain, fam, sub) if p), prtry
    return prtry, prtry


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
    # The first record of an entry waits until we know whether the entry has one
    # transaction or several: only the sole transaction of an entry may take the
    # entry's amount as its own (see ``Entry.only_tx``). One record, never more.
    held: dict[str, Any] | None = None
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
            fields = _tx_fields(f, head, elem, tx_index)
            if tx_index == 0:
                held = fields
            else:
                if held is not None:
                    yield _entry(message_id, statement_id, account, head, **held)
                    held = None
                yield _entry(message_id, statement_id, account, head, **fields)
            tx_index += 1
            release(elem)
        elif name == "Ntry":
            if held is not None and head is not None:
                yield _entry(message_id, statement_id, account, head, only_tx=True, **held)
                held = None
            if head is None:
                head = _EntryHead(f, elem)
                is_return = head.credit_debit == "CRDT" and is_return_code(head.bank_tx_code)
                yield _entry(message_id, statement_id, account, head, is_return=is_return)
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
        tx.pop("credit_debit", head.credit_debit),
        head.reversal,
        head.status,
        head.booking_date,
        head.value_date,
        head.bank_tx_code,
        entry_credit_debit=head.credit_debit,
        booking_datetime=head.booking_datetime,
        bank_tx_proprietary=head.bank_tx_proprietary,
        **tx,
    )


def _tx_fields(f: Finder, head: _EntryHead, tx: etree._Element, tx_index: int) -> dict[str, Any]:
    """The fields one ``TxDtls`` adds to its entry's (an :class:`Entry` is made from both)."""
    cut = f.prefix_len
    amt: tuple[int, str] | None = None
    amt_dtls: etree._Element | None = None
    rtr: etree._Element | None = None
    rmt: etree._Element | None = None
    e2e = instr = pmt_id = svcr_ref = None
    cdi: CreditDebit = head.credit_debit
    tx_code: str | None = None
    tx_prtry: str | None = None
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
        elif name == "CdtDbtInd":
            own = _strip(c.text)
            if own not in ("CRDT", "DBIT"):
                raise MalformedMessage(f"transaction CdtDbtInd {own!r} is neither CRDT nor DBIT")
            cdi = "CRDT" if own == "CRDT" else "DBIT"
        elif name == "AmtDtls":
            amt_dtls = c
        elif name == "BkTxCd":
            tx_code, tx_prtry = _bank_tx_code(f, c)
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
    # The transaction's own code decides when it has one; otherwise the entry's.
    says_return = rtr is not None or is_return_code(tx_code if tx_code is not None else head.bank_tx_code)
    return dict(
        credit_debit=cdi,
        tx_index=tx_index,
        end_to_end_id=e2e,
        instruction_id=instr,
        payment_info_id=pmt_id,
        tx_account_servicer_ref=svcr_ref,
        tx_amount_vnd=amt[0] if amt is not None and amt[1] == "VND" else None,
        tx_amount_minor=amt[0] if amt is not None else None,
        tx_currency=amt[1] if amt is not None else None,
        is_return=cdi == "CRDT" and says_return,
        return_reason_code=rtr_code or rtr_prtry,
        return_reason=status_reason_to_failure(rtr_code) if rtr is not None else None,
        return_additional_info=_joined(f, rtr, "AddtlInf"),
        remittance=_joined(f, rmt, "Ustrd"),
        tx_bank_tx_code=tx_code,
        tx_bank_tx_proprietary=tx_prtry,
        has_return_info=rtr is not None,
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
