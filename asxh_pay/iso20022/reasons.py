"""ISO 20022 status and return reason codes mapped onto :class:`FailureReason`.

Why one table for pain.002 (ExternalStatusReason1Code) and camt.05x return
information (ExternalReturnReason1Code): the two lists share their codes (AC04
means "account closed" in both), and reports and the cash-fallback rule must
treat a rejection and a later return the same way.

Why problems on *our* side (debtor account, file format, control sums,
signatures) map to ``TECHNICAL``: they say nothing about the beneficiary's
account, so they must not trigger a cash fallback; they need an operator.
An unknown or proprietary code maps to ``UNKNOWN``: a bank inventing a code must
never crash reconciliation.
"""

from __future__ import annotations

from asxh_pay.status import FailureReason

F = FailureReason

# A code table reads best packed, as the standard lists it.
# fmt: off
_GROUPS: dict[FailureReason, tuple[str, ...]] = {
    F.INVALID_ACCOUNT: (
        "AC01", "AC03", "AC08", "AC09", "AC11", "AC12", "AC14", "AC15",
        "RC01", "RC02", "RC04", "RC05", "RC07", "RC08", "RC10", "CNOR",
    ),
    F.ACCOUNT_CLOSED: ("AC04", "AC07"),
    F.ACCOUNT_BLOCKED: ("AC06",),
    F.NO_ACCOUNT: ("BE06", "BE23"),
    F.NAME_MISMATCH: ("BE01", "BE17"),
    F.LIMIT_EXCEEDED: ("AM02", "AM13", "AM14", "AM21", "AM23", "SL13", "SL14", "SL15", "SL16"),
    F.AMOUNT_INVALID: ("AM01", "AM03", "AM06", "AM09", "AM11", "AM12", "AM15", "AM22", "CURR"),
    F.INSUFFICIENT_FUNDS: ("AM04",),
    F.DUPLICATE: ("AM05", "DUPL", "DU01", "DU02", "DU03", "DU04", "DU05", "RF01", "ARDT"),
    F.REJECTED_BY_PROVIDER: (
        "AG01", "AG02", "AG03", "AG04", "AG08", "AG10", "AG11", "AGNT", "AM07",
        "MS02", "MS03", "NARR", "BE04", "BE09", "BE11", "BE12", "BE13", "BE14", "DS04", "ED01", "ED05",
        "SL01", "SL02", "SL03", "SL11", "SL12", "SL17", "SL18", "NOAS",
    ),
    F.REGULATORY: (
        "RR01", "RR02", "RR03", "RR04", "RR05", "RR06", "RR07", "RR08", "RR09", "RR11", "RR12",
        "FR01", "FRAD", "NOCM", "BE15",
    ),
    F.BENEFICIARY_DECEASED: ("MD07",),
    F.AUTHORISATION_INVALID: ("MD01", "MD02", "MD05", "CN01"),
    F.RETURNED_BY_BANK: ("MD06", "RUTA", "UPAY", "SVNR"),
    F.CANCELLED_BY_OPERATOR: ("CUST", "FOCR"),
    F.DEADLINE_EXCEEDED: ("TM01", "DS24"),
    F.TECHNICAL: (
        # our own side: debtor account, initiating party, debtor bank
        "AC02", "AC05", "AC10", "AC13", "AC16", "AG05", "AG06", "AG07", "BE05", "BE07", "BE08",
        "BE10", "BE16", "BE18", "BE19", "BE20", "BE21", "BE22", "RC03", "RC06", "RC09", "RC11", "RC12",
        "DNOR", "RR10",
        # file and message format, control sums
        "FF01", "FF02", "FF03", "FF04", "FF05", "FF06", "FF07", "FF08", "FF09", "FF10", "FF11",
        "AM10", "AM16", "AM17", "AM18", "AM19", "AM20", "CH03", "CH04", "CH07", "CH09", "CH10",
        "CH11", "CH12", "CH13", "CH14", "CH15", "CH16", "CH17", "CH19", "CH20", "CH21", "CH22",
        "DT01", "DT02", "DT03", "DT04", "DT05", "DT06", "ERIN", "ED03", "ED06", "ID01", "TECH", "NOOR",
        # clearing and transmission
        "AB01", "AB02", "AB03", "AB04", "AB05", "AB06", "AB07", "AB08", "AB09", "AB10", "AB11",
        "TA01", "TD01", "TD02", "TD03", "TS01", "TS04",
        # EBICS / signature
        "DS01", "DS02", "DS03", "DS05", "DS06", "DS07", "DS08", "DS09", "DS0A", "DS0B", "DS0C",
        "DS0D", "DS0E", "DS0F", "DS0G", "DS0H", "DS0K", "DS10", "DS11", "DS12", "DS13", "DS14",
        "DS15", "DS16", "DS17", "DS18", "DS19", "DS20", "DS21", "DS22", "DS23", "DS25", "DS26", "DS27",
    ),
}
# fmt: on

STATUS_REASON_MAP: dict[str, FailureReason] = {}
for _reason, _codes in _GROUPS.items():
    for _code in _codes:
        # First group wins, so a code listed twice keeps its more specific meaning.
        STATUS_REASON_MAP.setdefault(_code, _reason)


def status_reason_to_failure(code: str | None) -> FailureReason:
    """Map an ISO 20022 status or return reason code to :class:`FailureReason`.

    Never raises: ``None``, an empty, unknown or proprietary code gives ``UNKNOWN``.
    Codes are compared case-insensitively and with surrounding blanks removed, as
    some banks pad them.
    """
    if not code:
        return F.UNKNOWN
    return STATUS_REASON_MAP.get(code.strip().upper(), F.UNKNOWN)
