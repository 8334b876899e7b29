"""pain.002 and camt.053/054 readers on our own fixtures, bank-shaped, and on real samples."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest

from asxh_pay.iso20022 import (
    Entry,
    GroupStatus,
    MalformedMessage,
    PaymentInfoStatus,
    TransactionStatus,
    amount_to_minor,
    read_camt053,
    read_camt054,
    read_pain002,
    status_reason_to_failure,
    transaction_outcome,
    validate,
)
from asxh_pay.status import FailureReason as F

FIX = Path(__file__).parent / "fixtures"
REPO_ROOT = Path(__file__).resolve().parents[2]
# shared/ sits beside the repository (CI clones main with shared/ next to it); a git worktree
# may be one level deeper, so the nearest ancestor that has it is used.
SAMPLES = next(
    (
        d / "shared" / "iso20022" / "samples"
        for d in REPO_ROOT.parents
        if (d / "shared" / "iso20022" / "samples").is_dir()
    ),
    REPO_ROOT.parent / "shared" / "iso20022" / "samples",
)


def txs(records: Sequence[object]) -> list[TransactionStatus]:
    return [r for r in records if isinstance(r, TransactionStatus)]


def test_pain002_v03_every_shape_of_transaction() -> None:
    records = list(read_pain002(FIX / "pain002_v03_mixed.xml"))
    assert isinstance(records[0], GroupStatus)
    assert records[0].message_id == "VBSP-STS-20250105-0001"
    assert records[0].original_message_id == "KBNN-HN-202501-0001"
    assert records[0].status == "PART" and records[0].original_nb_of_txs == 7
    assert isinstance(records[1], PaymentInfoStatus) and records[1].status == "PART"
    t = {x.original_end_to_end_id: x for x in txs(records)}
    assert len(t) == 7
    assert (
        t["E2E-0001"].status == "ACSC" and t["E2E-0001"].reason is None and t["E2E-0001"].status_id == "S-1"
    )
    assert (t["E2E-0002"].reason_code, t["E2E-0002"].reason) == ("AC04", F.ACCOUNT_CLOSED)
    assert t["E2E-0002"].additional_info == "Tai khoan da dong"
    assert t["E2E-0002"].original_instruction_id == "I-0002"
    assert t["E2E-0002"].original_payment_info_id == "HN-BTXH-202501"
    assert t["E2E-0003"].reason == F.NAME_MISMATCH
    assert t["E2E-0003"].additional_info == "Ten nguoi thu huong khong khop"
    assert (t["E2E-0004"].reason_code, t["E2E-0004"].reason) == ("VN123", F.UNKNOWN)  # proprietary
    assert t["E2E-0005"].status == "ACSP" and transaction_outcome(t["E2E-0005"].status) == "processing"
    assert t["E2E-0006"].reason is None and t["E2E-0006"].additional_info == "Cho xu ly"
    assert t["E2E-0007"].reason == F.UNKNOWN  # rejected without any reason
    assert [transaction_outcome(x.status) for x in txs(records)] == [
        "succeeded",
        "failed",
        "failed",
        "failed",
        "processing",
        "processing",
        "failed",
    ]


def test_pain002_v10_without_instruction_ids() -> None:
    records = list(read_pain002((FIX / "pain002_v10_group_accepted.xml").read_bytes()))
    assert [type(r).__name__ for r in records] == [
        "GroupStatus",
        "PaymentInfoStatus",
        "TransactionStatus",
        "TransactionStatus",
    ]
    a, b = txs(records)
    assert a.status == "ACCC" and a.original_instruction_id is None
    assert transaction_outcome(a.status) == "succeeded"
    assert (
        b.status == "ACWC"
        and b.reason == F.REJECTED_BY_PROVIDER
        and transaction_outcome(b.status) == "processing"
    )


def test_pain002_v12_whole_file_rejected() -> None:
    with open(FIX / "pain002_v12_file_rejected.xml", "rb") as fh:
        records = list(read_pain002(fh))
    assert len(records) == 1
    g = records[0]
    assert isinstance(g, GroupStatus) and g.status == "RJCT"
    assert g.reasons[0].code == "FF01" and g.reasons[0].reason == F.TECHNICAL
    assert g.reasons[0].additional_info == ("Schema validation failed",)


def test_pain002_inherits_status_and_reports_block_without_transactions() -> None:
    records = list(read_pain002(FIX / "pain002_v03_inherited.xml"))
    p1 = records[1]
    assert isinstance(p1, PaymentInfoStatus) and p1.status == "RJCT"
    assert p1.reasons[0].reason == F.INSUFFICIENT_FUNDS
    (t,) = txs(records)
    assert t.status == "ACSC" and t.original_payment_info_id == "PI-2"


@pytest.mark.parametrize(
    "status,outcome",
    [
        ("ACSC", "succeeded"),
        ("ACCC", "succeeded"),
        ("RJCT", "failed"),
        ("CANC", "failed"),
        ("ACCP", "processing"),
        ("ACSP", "processing"),
        ("ACTC", "processing"),
        ("ACWC", "processing"),
        ("PDNG", "processing"),
        ("PART", "processing"),
        ("RCVD", "processing"),
        ("ACWP", "processing"),
        ("ACFC", "processing"),
        ("RCVC", "processing"),
        ("ZZZZ", "processing"),
        ("", "processing"),
        (None, "processing"),
        (" rjct ", "failed"),
    ],
)
def test_transaction_outcome(status: str | None, outcome: str) -> None:
    assert transaction_outcome(status) == outcome


@pytest.mark.parametrize(
    "code,reason",
    [
        ("AC01", F.INVALID_ACCOUNT),
        ("AC03", F.INVALID_ACCOUNT),
        ("AC04", F.ACCOUNT_CLOSED),
        ("AC07", F.ACCOUNT_CLOSED),
        ("AC06", F.ACCOUNT_BLOCKED),
        ("AM04", F.INSUFFICIENT_FUNDS),
        ("AM02", F.LIMIT_EXCEEDED),
        ("AM03", F.AMOUNT_INVALID),
        ("AM01", F.AMOUNT_INVALID),
        ("AM05", F.DUPLICATE),
        ("DUPL", F.DUPLICATE),
        ("BE01", F.NAME_MISMATCH),
        ("MD07", F.BENEFICIARY_DECEASED),
        ("AG01", F.REJECTED_BY_PROVIDER),
        ("AG02", F.REJECTED_BY_PROVIDER),
        ("MS02", F.REJECTED_BY_PROVIDER),
        ("MS03", F.REJECTED_BY_PROVIDER),
        ("NARR", F.REJECTED_BY_PROVIDER),
        ("RR01", F.REGULATORY),
        ("RR02", F.REGULATORY),
        ("RR03", F.REGULATORY),
        ("RR04", F.REGULATORY),
        ("FF01", F.TECHNICAL),
        ("AC02", F.TECHNICAL),
        ("DS0A", F.TECHNICAL),
        ("TM01", F.DEADLINE_EXCEEDED),
        ("CUST", F.CANCELLED_BY_OPERATOR),
        ("MD01", F.AUTHORISATION_INVALID),
        ("BE06", F.NO_ACCOUNT),
        ("CNOR", F.INVALID_ACCOUNT),
        ("RC04", F.INVALID_ACCOUNT),
        ("RC03", F.TECHNICAL),
        ("RUTA", F.RETURNED_BY_BANK),
        ("FRAD", F.REGULATORY),
        ("ac04", F.ACCOUNT_CLOSED),
        (" AM04 ", F.INSUFFICIENT_FUNDS),
        ("XY99", F.UNKNOWN),
        ("", F.UNKNOWN),
        (None, F.UNKNOWN),
        ("ÄÖÜ", F.UNKNOWN),
        ("A" * 1000, F.UNKNOWN),
    ],
)
def test_status_reason_mapping(code: str | None, reason: F) -> None:
    assert status_reason_to_failure(code) == reason


def test_cash_fallback_never_for_our_own_or_entitlement_problems() -> None:
    for code in ("AM04", "MD07", "RR04", "FF01", "AC02", "DUPL"):
        assert not status_reason_to_failure(code).allows_cash_fallback
    for code in ("AC01", "AC04", "AC06", "AM02"):
        assert status_reason_to_failure(code).allows_cash_fallback


def test_camt054_v02_batch_return_pending_and_no_refs() -> None:
    entries = list(read_camt054(FIX / "camt054_v02_vnd.xml"))
    assert len(entries) == 6
    b = entries[:3]
    assert {e.amount_vnd for e in b} == {4_500_000} and [e.tx_index for e in b] == [0, 1, 2]
    assert [e.end_to_end_id for e in b] == ["E2E-0001", "E2E-0002", "E2E-0003"]
    assert [e.tx_amount_vnd for e in b] == [1_500_000] * 3
    assert b[0].instruction_id == "I-0001" and b[0].payment_info_id == "HN-BTXH-202501"
    assert b[0].tx_account_servicer_ref == "TX-1" and b[0].account_servicer_ref == "BIDV-REF-1"
    assert b[0].remittance == "Tro cap xa hoi T1 2025" and b[0].entry_reference == "N-1"
    assert b[0].statement_id == "NTF-20250106-01" and b[0].account == "3711000123456"
    assert b[0].message_id == "BIDV-NTF-20250106-0001"
    assert (b[0].credit_debit, b[0].status, b[0].booking_date) == ("DBIT", "BOOK", date(2025, 1, 6))
    assert b[0].bank_tx_code == "PMNT/ICDT/DMCT" and not b[0].is_return
    r = entries[3]
    assert r.is_return and r.return_reason_code == "AC04" and r.return_reason == F.ACCOUNT_CLOSED
    assert r.return_additional_info == "Tai khoan da dong" and r.credit_debit == "CRDT"
    p = entries[4]
    assert p.status == "PDNG" and p.tx_index is None and p.end_to_end_id is None and p.booking_date is None
    assert p.bank_tx_code == "NAPAS247"
    n = entries[5]
    assert n.reversal and n.booking_date == date(2025, 1, 6) and n.end_to_end_id is None
    assert n.tx_amount_vnd is None and n.tx_index == 0


def test_camt054_v08_status_code_edge_amounts_and_foreign_currency() -> None:
    entries = list(read_camt054(FIX / "camt054_v08_vnd.xml"))
    big, small, usd = entries
    assert big.amount_vnd == 499_999_999 and big.status == "BOOK" and big.booking_date == date(2025, 2, 3)
    assert small.amount_vnd == 1 and small.status == "INFO" and small.return_reason == F.BENEFICIARY_DECEASED
    assert (
        usd.amount_vnd is None and (usd.amount_minor, usd.currency) == (1234, "USD") and usd.status == "OTHR"
    )


def test_camt053_v02_and_v08() -> None:
    s2 = list(read_camt053(FIX / "camt053_v02_vnd.xml"))
    assert [(e.end_to_end_id, e.tx_amount_vnd) for e in s2] == [
        ("E2E-S-1", 1_000_000),
        ("E2E-S-2", 2_000_000),
        (None, None),
    ]
    assert all(e.statement_id == "STMT-20250106-01" and e.account == "1500201001234" for e in s2)
    assert s2[2].bank_tx_code == "ACMT/MCOP/CHRG" and s2[2].amount_vnd == 300_000
    (s8,) = list(read_camt053(FIX / "camt053_v08_vnd.xml"))
    assert s8.status == "BOOK" and s8.is_return and s8.return_reason == F.UNKNOWN
    assert s8.return_reason_code == "XY99" and s8.tx_amount_vnd == 1_500_000


def test_own_fixtures_are_schema_valid() -> None:
    for name, message in [
        ("camt054_v02_vnd", "camt.054.001.02"),
        ("camt054_v08_vnd", "camt.054.001.08"),
        ("camt053_v02_vnd", "camt.053.001.02"),
        ("camt053_v08_vnd", "camt.053.001.08"),
        ("pain002_v03_mixed", "pain.002.001.03"),
        ("pain002_v10_group_accepted", "pain.002.001.10"),
        ("pain002_v12_file_rejected", "pain.002.001.12"),
    ]:
        validate(FIX / f"{name}.xml", message)


def test_non_integral_vnd_refused_clearly() -> None:
    data = (FIX / "camt054_v08_vnd.xml").read_bytes().replace(b'"VND">1</Amt>', b'"VND">1.50</Amt>', 1)
    with pytest.raises(MalformedMessage, match="whole number of dong"):
        list(read_camt054(data))


@pytest.mark.parametrize(
    "text,cur,expected",
    [
        ("1500000", "VND", (1_500_000, "VND")),
        ("1500000.00", "VND", (1_500_000, "VND")),
        ("474.4", "CHF", (47440, "CHF")),
        ("0.001", "KWD", (1, "KWD")),
        ("100", "JPY", (100, "JPY")),
        ("9999999999999999.99", "EUR", (999999999999999999, "EUR")),  # 18 digits: the schema's most
        (" +1500000\n", "VND", (1_500_000, "VND")),  # xs:decimal allows '+' and collapses spaces
    ],
)
def test_amount_to_minor(text: str, cur: str, expected: tuple[int, str]) -> None:
    assert amount_to_minor(text, cur) == expected


@pytest.mark.parametrize(
    "text,cur",
    [
        ("1.5", "VND"),
        ("1.234", "EUR"),
        ("-1", "VND"),
        ("abc", "VND"),
        ("NaN", "VND"),
        ("Infinity", "EUR"),
        (None, "VND"),
        ("1", None),
        ("1.08E6", "VND"),  # Decimal reads an exponent; the schema's decimal has none
        ("1e3", "VND"),
        ("1_080_000", "VND"),
        ("1 080 000", "VND"),
        ("99999999999999999.99", "EUR"),  # 19 digits: over the schema's 18
        ("1.000001", "EUR"),  # 6 decimals: over the schema's 5
        ("", "VND"),
        (".", "VND"),
        ("-0", "VND"),
        ("1500000", "vnd"),
        ("1500000", "VN"),
    ],
)
def test_amount_to_minor_refuses(text: str | None, cur: str | None) -> None:
    with pytest.raises(MalformedMessage):
        amount_to_minor(text, cur)


def test_big_batch_entry_streams() -> None:
    n = 20_000
    head = (
        b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">'
        b"<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>M</MsgId><CreDtTm>2025-01-01T00:00:00</CreDtTm></GrpHdr>"
        b"<Ntfctn><Id>N</Id><CreDtTm>2025-01-01T00:00:00</CreDtTm><Acct><Id><Othr><Id>1</Id></Othr></Id></Acct>"
        + f'<Ntry><Amt Ccy="VND">{n * 1000}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'.encode()
        + b"<BkTxCd/><NtryDtls>"
    )
    body = b"".join(
        f'<TxDtls><Refs><EndToEndId>E{i}</EndToEndId></Refs><Amt Ccy="VND">1000</Amt></TxDtls>'.encode()
        for i in range(n)
    )
    tail = b"</NtryDtls></Ntry></Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"
    total = 0
    count = 0
    for e in read_camt054(io.BytesIO(head + body + tail)):
        assert isinstance(e, Entry)
        total += e.tx_amount_vnd or 0
        count += 1
    assert (count, total) == (n, n * 1000)


# --- real bank messages (reference data in ../shared, not part of the project) ---------------------


def _samples() -> list[Path]:
    return sorted(SAMPLES.glob("*.xml")) if SAMPLES.is_dir() else []


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"shared samples folder not present at {SAMPLES}")
@pytest.mark.parametrize("path", _samples(), ids=lambda p: p.name)
def test_real_bank_samples(path: Path) -> None:
    name = path.name
    if name.startswith("pain.002"):
        records = list(read_pain002(path))
        assert records and isinstance(records[0], GroupStatus)
        if "PostFinance_rjct" in name:
            (t,) = txs(records)
            assert (t.original_end_to_end_id, t.status, t.reason) == (
                "EndToEndId-006-01-01",
                "RJCT",
                F.INVALID_ACCOUNT,
            )
            assert isinstance(records[1], PaymentInfoStatus) and records[1].status == "RJCT"
        if "rvmc" in name:
            (t,) = txs(records)
            assert t.status == "RVNM" and transaction_outcome(t.status) == "processing"
    elif name.startswith("camt.054"):
        entries = list(read_camt054(path))
        assert entries
        if "PostFinance_returns" in name:
            (e,) = entries
            assert e.is_return and e.return_reason == F.INVALID_ACCOUNT and e.amount_minor == 40000
            assert e.end_to_end_id == "EndToEndId-004-01-01" and e.currency == "CHF"
        else:
            assert any(e.is_return for e in entries)
    elif name.startswith("camt.053"):
        entries = list(read_camt053(path))
        assert entries and all(e.amount_vnd is None and e.amount_minor >= 0 for e in entries)
        if "UBS" in name:
            assert entries[0].status == "BOOK" and entries[0].amount_minor == 47440
    elif name.startswith("pain.001"):
        validate(path, "pain.001.001.03")  # the ISO example is a valid pain.001.001.03
    else:
        pytest.fail(f"unexpected sample {name}")
