"""ISO 20022 files for the State Treasury / bank rail.

pain.001 goes out (:func:`write_pain001`); pain.002 (:func:`read_pain002`),
camt.054 (:func:`read_camt054`) and camt.053 (:func:`read_camt053`) come in.
The writer streams and is deterministic; the readers stream through one
hardened parser (:mod:`asxh_pay.iso20022.safe`). What we write is checked
against the official XSDs in ``xsd/`` (:func:`validate`).
"""

from asxh_pay.iso20022.camt import amount_to_minor, is_return_code, read_camt053, read_camt054
from asxh_pay.iso20022.errors import (
    Iso20022Error,
    MalformedMessage,
    MessageTooLarge,
    SchemaValidationError,
    UnexpectedMessage,
    UnsafeXmlError,
)
from asxh_pay.iso20022.model import (
    BatchSummary,
    CreditTransfer,
    Entry,
    GroupStatus,
    Pain001Summary,
    Pain002Record,
    Party,
    PaymentBatch,
    PaymentInfoStatus,
    StatusReason,
    TransactionStatus,
)
from asxh_pay.iso20022.pain001 import NAPAS_CLEARING_SYSTEM, NAPAS_MAX_AMOUNT_VND, write_pain001
from asxh_pay.iso20022.pain002 import read_pain002, status_reason_to_failure, transaction_outcome
from asxh_pay.iso20022.safe import DEFAULT_MAX_BYTES, MessageInfo, MessageStream, identify
from asxh_pay.iso20022.schema import validate
from asxh_pay.iso20022.text import remittance_ascii, strip_diacritics

__all__ = [
    "DEFAULT_MAX_BYTES",
    "NAPAS_CLEARING_SYSTEM",
    "NAPAS_MAX_AMOUNT_VND",
    "BatchSummary",
    "CreditTransfer",
    "Entry",
    "GroupStatus",
    "Iso20022Error",
    "MalformedMessage",
    "MessageInfo",
    "MessageStream",
    "MessageTooLarge",
    "Pain001Summary",
    "Pain002Record",
    "Party",
    "PaymentBatch",
    "PaymentInfoStatus",
    "SchemaValidationError",
    "StatusReason",
    "TransactionStatus",
    "UnexpectedMessage",
    "UnsafeXmlError",
    "amount_to_minor",
    "identify",
    "is_return_code",
    "read_camt053",
    "read_camt054",
    "read_pain002",
    "remittance_ascii",
    "status_reason_to_failure",
    "strip_diacritics",
    "transaction_outcome",
    "validate",
    "write_pain001",
]
