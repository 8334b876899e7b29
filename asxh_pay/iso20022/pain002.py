"""Streaming pain.002 (customer payment status report) reader, .001.03 to .001.14.

Why streaming: a status report for a million-transfer file has a million
``TxInfAndSts``; each is turned into a record and freed at once.

Records come in document order: one :class:`GroupStatus` (when the bank sends
``OrgnlGrpInfAndSts``), then for each ``OrgnlPmtInfAndSts`` one
:class:`PaymentInfoStatus` *before* its transactions' :class:`TransactionStatus`
records. A group or payment-information status of ``RJCT`` without transaction
details means every transfer it covers was rejected: the caller applies it.

A transaction without ``TxSts`` (allowed in .03) inherits the status of its
payment information block, else of the group, else is reported ``PDNG``.

The original amount (``OrgnlTxRef/Amt/InstdAmt``, else ``EqvtAmt/Amt``) is read
strictly, like every amount (:func:`~asxh_pay.iso20022.camt.amount_to_minor`),
and handed on so the caller can check it against what it sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from lxml import etree

from asxh_pay.iso20022.camt import amount_to_minor
from asxh_pay.iso20022.model import (
    GroupStatus,
    Pain002Record,
    PaymentInfoStatus,
    StatusReason,
    TransactionStatus,
)
from asxh_pay.iso20022.reasons import status_reason_to_failure
from asxh_pay.iso20022.safe import (
    DEFAULT_MAX_BYTES,
    MessageStream,
    Source,
    child_text,
    local_name,
    release,
)
from asxh_pay.status import FailureReason

__all__ = [
    "FAILED_STATUSES",
    "SUCCEEDED_STATUSES",
    "read_pain002",
    "status_reason_to_failure",
    "transaction_outcome",
]

Outcome = Literal["succeeded", "failed", "processing"]

#: Final success for the sender: settled (ACSC) or credited to the beneficiary (ACCC).
SUCCEEDED_STATUSES = frozenset({"ACSC", "ACCC"})
#: Final failure: rejected, or cancelled.
FAILED_STATUSES = frozenset({"RJCT", "CANC"})

_VERSIONS = range(3, 15)
_TAGS = ("GrpHdr", "OrgnlGrpInfAndSts", "OrgnlPmtInfAndSts", "TxInfAndSts")


def transaction_outcome(status: str | None) -> Outcome:
    """What a transaction status code means for the payout.

    ``ACSC``/``ACCC`` -> succeeded; ``RJCT``/``CANC`` -> failed; everything else
    (ACCP, ACSP, ACTC, ACWC, ACWP, ACFC, PDNG, RCVD, PART, verification-of-payee
    codes, unknown codes) -> processing. Why unknown means processing: claiming
    success or failure on a code we do not know could pay twice or not at all;
    "processing" makes the engine keep asking.
    """
    code = (status or "").strip().upper()
    if code in SUCCEEDED_STATUSES:
        return "succeeded"
    if code in FAILED_STATUSES:
        return "failed"
    return "processing"


def _reasons(container: etree._Element) -> tuple[StatusReason, ...]:
    out: list[StatusReason] = []
    for node in container:
        if local_name(node.tag) != "StsRsnInf":
            continue
        code = child_text(node, "Rsn", "Cd")
        prtry = child_text(node, "Rsn", "Prtry")
        info = tuple(
            (c.text or "").strip() for c in node if local_name(c.tag) == "AddtlInf" and (c.text or "").strip()
        )
        reason = status_reason_to_failure(code) if code else (FailureReason.UNKNOWN if prtry else None)
        out.append(StatusReason(code, prtry, reason, info))
    return tuple(out)


def _int_or_none(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def read_pain002(
    source: Source, *, max_bytes: int = DEFAULT_MAX_BYTES, declared_size: int | None = None
) -> Iterator[Pain002Record]:
    """Yield the records of a pain.002 file, streaming, through the hardened parser.

    ``source`` is a path, the bytes, or a binary stream. Raises the
    :class:`~asxh_pay.iso20022.errors.Iso20022Error` family for unsafe, oversized,
    foreign or malformed input.
    """
    stream = MessageStream(
        source,
        expected="pain.002",
        versions=_VERSIONS,
        tags=_TAGS,
        max_bytes=max_bytes,
        declared_size=declared_size,
    )
    message_id: str | None = None
    original_msg_id: str | None = None
    group_status: str | None = None
    pmt_status: str | None = None
    pmt_id: str | None = None
    pmt_yielded = False
    for event, elem in stream:
        name = local_name(elem.tag)
        if event == "start":
            if name == "OrgnlPmtInfAndSts":
                pmt_yielded = False
                pmt_status = None
                pmt_id = None
            elif name == "TxInfAndSts" and not pmt_yielded:
                parent = elem.getparent()
                if parent is not None and local_name(parent.tag) == "OrgnlPmtInfAndSts":
                    record = _payment_info(parent, original_msg_id)
                    pmt_status, pmt_id, pmt_yielded = record.status, record.original_payment_info_id, True
                    yield record
            continue
        if name == "GrpHdr":
            message_id = child_text(elem, "MsgId")
            release(elem)
        elif name == "OrgnlGrpInfAndSts":
            original_msg_id = child_text(elem, "OrgnlMsgId")
            group_status = child_text(elem, "GrpSts")
            yield GroupStatus(
                message_id=message_id,
                original_message_id=original_msg_id or "",
                original_message_name=child_text(elem, "OrgnlMsgNmId"),
                original_nb_of_txs=_int_or_none(child_text(elem, "OrgnlNbOfTxs")),
                original_ctrl_sum=child_text(elem, "OrgnlCtrlSum"),
                status=group_status,
                reasons=_reasons(elem),
            )
            release(elem)
        elif name == "TxInfAndSts":
            yield _transaction(elem, pmt_status or group_status, pmt_id, original_msg_id)
            release(elem)
        elif name == "OrgnlPmtInfAndSts":
            if not pmt_yielded:
                yield _payment_info(elem, original_msg_id)
            pmt_yielded = False
            release(elem)


def _payment_info(elem: etree._Element, original_msg_id: str | None) -> PaymentInfoStatus:
    return PaymentInfoStatus(
        original_message_id=original_msg_id,
        original_payment_info_id=child_text(elem, "OrgnlPmtInfId") or "",
        status=child_text(elem, "PmtInfSts"),
        reasons=_reasons(elem),
    )


def _transaction(
    elem: etree._Element, inherited: str | None, pmt_id: str | None, original_msg_id: str | None
) -> TransactionStatus:
    status = child_text(elem, "TxSts") or inherited or "PDNG"
    reasons = _reasons(elem)
    first = reasons[0] if reasons else None
    code = first.code if first is not None else None
    info_lines = [line for r in reasons for line in r.additional_info]
    reason: FailureReason | None = None
    if transaction_outcome(status) == "failed" or code is not None:
        reason = status_reason_to_failure(code)
    amount = _original_amount(elem)
    return TransactionStatus(
        original_end_to_end_id=child_text(elem, "OrgnlEndToEndId"),
        original_instruction_id=child_text(elem, "OrgnlInstrId"),
        status=status,
        reason_code=code if code is not None else (first.proprietary if first is not None else None),
        reason=reason,
        additional_info=" ".join(info_lines) if info_lines else None,
        original_payment_info_id=pmt_id,
        original_message_id=original_msg_id,
        status_id=child_text(elem, "StsId"),
        original_amount_vnd=amount[0] if amount is not None and amount[1] == "VND" else None,
        original_amount_minor=amount[0] if amount is not None else None,
        original_currency=amount[1] if amount is not None else None,
    )


def _original_amount(elem: etree._Element) -> tuple[int, str] | None:
    """``OrgnlTxRef/Amt/InstdAmt`` (or ``EqvtAmt/Amt``) in minor units, or None when not echoed."""
    ref = next((c for c in elem if local_name(c.tag) == "OrgnlTxRef"), None)
    amt = next((c for c in ref if local_name(c.tag) == "Amt"), None) if ref is not None else None
    if amt is None:
        return None
    for node in amt:
        name = local_name(node.tag)
        if name == "InstdAmt":
            return amount_to_minor(node.text, node.get("Ccy"))
        if name == "EqvtAmt":
            inner = next((c for c in node if local_name(c.tag) == "Amt"), None)
            if inner is not None:
                return amount_to_minor(inner.text, inner.get("Ccy"))
    return None
