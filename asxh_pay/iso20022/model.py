"""Plain records exchanged with the ISO 20022 writer and readers.

Why frozen, slotted dataclasses rather than pydantic models: a pain.001 for a
province is a million transfers and a camt.054 as many entries, so the records
must be cheap to create (slots, no validation machinery on the hot path).
Validation of what we *write* happens once, in :mod:`asxh_pay.iso20022.pain001`,
with domain rules and clear messages; what we *read* comes from banks and is
reported as it is.

Money is whole VND as ``int``. Foreign-currency amounts (seen in real statements)
are kept in minor units with their currency, never as ``float``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from asxh_pay.status import FailureReason

CreditDebit = Literal["CRDT", "DBIT"]


@dataclass(frozen=True, slots=True)
class Party:
    """An account holder: the paying State Treasury unit (debtor) or its bank.

    ``bank_bin`` is the 6-digit NAPAS/VietQR BIN of the account's bank, ``bic`` its
    SWIFT code; either identifies the agent (BIC is preferred when both are given).
    """

    name: str
    account: str
    bank_bin: str | None = None
    bic: str | None = None


@dataclass(frozen=True, slots=True)
class CreditTransfer:
    """One benefit payment to one beneficiary account.

    ``end_to_end_id`` travels unchanged to the beneficiary bank and back in
    pain.002/camt.054: it is the key reconciliation uses, so it must be stable
    across resends. ``purpose`` is an ExternalPurpose1Code (SSBE: social
    security benefit) and ``category_purpose`` an ExternalCategoryPurpose1Code
    (GOVT: payment from a government department).
    """

    end_to_end_id: str
    instruction_id: str
    amount_vnd: int
    creditor_name: str
    creditor_account: str
    creditor_bank_bin: str | None
    creditor_bic: str | None = None
    remittance: str = ""
    purpose: str = "SSBE"
    category_purpose: str = "GOVT"


@dataclass(frozen=True, slots=True)
class PaymentBatch:
    """One PmtInf block: one debit account, one execution date, many transfers.

    ``transactions`` is a *factory*: the writer calls it twice (once to count and
    check, once to write), so a million transfers can stream from a database
    cursor or a file without ever being held in memory. It must yield the same
    transfers in the same order on every call, or the control sums will not match.
    ``batch_booking`` maps to ``BtchBookg``; ``None`` leaves it to the bank.
    """

    payment_info_id: str
    debtor: Party
    execution_date: date
    transactions: Callable[[], Iterable[CreditTransfer]]
    batch_booking: bool | None = None


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """Count and control sum of one PmtInf block as written."""

    payment_info_id: str
    nb_of_txs: int
    ctrl_sum_vnd: int


@dataclass(frozen=True, slots=True)
class Pain001Summary:
    """What was written, to be stored next to the file and checked against pain.002."""

    nb_of_txs: int
    ctrl_sum_vnd: int
    batch_summaries: tuple[BatchSummary, ...]


# --- pain.002 -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusReason:
    """One ``StsRsnInf``: a reason code (or proprietary text) and free-text lines."""

    code: str | None
    proprietary: str | None
    reason: FailureReason | None
    additional_info: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupStatus:
    """``OrgnlGrpInfAndSts``: the bank's verdict on the whole file we sent."""

    message_id: str | None
    original_message_id: str
    original_message_name: str | None
    original_nb_of_txs: int | None
    original_ctrl_sum: str | None
    status: str | None
    reasons: tuple[StatusReason, ...]


@dataclass(frozen=True, slots=True)
class PaymentInfoStatus:
    """``OrgnlPmtInfAndSts``: the verdict on one PmtInf block (may carry no status)."""

    original_message_id: str | None
    original_payment_info_id: str
    status: str | None
    reasons: tuple[StatusReason, ...]


@dataclass(frozen=True, slots=True)
class TransactionStatus:
    """``TxInfAndSts``: the verdict on one transfer.

    ``reason`` is the first reason code mapped onto :class:`FailureReason`;
    ``additional_info`` joins the bank's free-text lines (often the only
    human-readable explanation). ``original_amount_*`` is the amount the bank says
    the transfer was for (``OrgnlTxRef/Amt/InstdAmt``), when it echoes one: a
    status about a transfer of another amount is not about ours, and the caller
    checks it against what was sent.
    """

    original_end_to_end_id: str | None
    original_instruction_id: str | None
    status: str
    reason_code: str | None
    reason: FailureReason | None
    additional_info: str | None
    original_payment_info_id: str | None = None
    original_message_id: str | None = None
    status_id: str | None = None
    original_amount_vnd: int | None = None
    original_amount_minor: int | None = None
    original_currency: str | None = None


Pain002Record = GroupStatus | PaymentInfoStatus | TransactionStatus


# --- camt.053 / camt.054 -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One booked (or pending) movement, flattened with one of its transactions.

    A batch entry with several ``TxDtls`` is yielded once per transaction, with the
    entry-level fields repeated and ``tx_index`` counting from 0; an entry without
    details is yielded once with ``tx_index=None`` and empty transaction fields.
    ``amount_vnd`` is set only for VND; otherwise ``amount_minor`` and ``currency``
    carry the amount exactly.

    ``credit_debit`` is the *transaction's* own indicator when it states one, else
    the entry's (``entry_credit_debit``). ``is_return`` is set only on a credit the
    statement marks as a return (``RtrInf``, or an ``RRTN`` bank transaction
    code); ``has_return_info`` says ``RtrInf`` was present whatever the direction.
    ``only_tx`` marks the sole transaction of its entry: only then may the entry's
    amount stand for a transaction that states none. ``booking_date`` is the day in
    Vietnam; ``booking_datetime`` (Vietnam time) is set when the bank gave a time.
    """

    message_id: str | None
    statement_id: str | None
    account: str | None
    entry_reference: str | None
    account_servicer_ref: str | None
    amount_vnd: int | None
    amount_minor: int
    currency: str
    credit_debit: CreditDebit
    reversal: bool
    status: str | None
    booking_date: date | None
    value_date: date | None
    bank_tx_code: str | None
    tx_index: int | None = None
    end_to_end_id: str | None = None
    instruction_id: str | None = None
    payment_info_id: str | None = None
    tx_account_servicer_ref: str | None = None
    tx_amount_vnd: int | None = None
    tx_amount_minor: int | None = None
    tx_currency: str | None = None
    is_return: bool = False
    return_reason_code: str | None = None
    return_reason: FailureReason | None = None
    return_additional_info: str | None = None
    remittance: str | None = None
    entry_credit_debit: CreditDebit | None = None
    booking_datetime: datetime | None = None
    bank_tx_proprietary: str | None = None
    tx_bank_tx_code: str | None = None
    tx_bank_tx_proprietary: str | None = None
    has_return_info: bool = False
    only_tx: bool = False
