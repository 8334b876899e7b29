"""What the ISO readers hand to reconciliation (issue 13, item 6), and what the writer refuses.

Each test feeds a file shaped the way a bank (or an attacker) can shape it and
checks the reader reports what the file says, not what is convenient: the
transaction's own direction, returns only when marked, times in Vietnam, the
pain.002 original amount, detection by the root element, strict amounts.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from asxh_pay.calendar_vn import VN_TZ
from asxh_pay.errors import ValidationError
from asxh_pay.iso20022 import (
    CreditTransfer,
    MalformedMessage,
    Party,
    PaymentBatch,
    SchemaValidationError,
    TransactionStatus,
    UnexpectedMessage,
    read_camt053,
    read_camt054,
    read_pain002,
    validate,
    write_pain001,
)
from asxh_pay.iso20022.safe import identify
from asxh_pay.reconcile import load_files

FIX = Path(__file__).parent / "fixtures"
REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = next(
    (
        d / "shared" / "iso20022" / "samples"
        for d in (REPO_ROOT.parent, REPO_ROOT.parent.parent, Path("/work"))
        if (d / "shared" / "iso20022" / "samples").is_dir()
    ),
    REPO_ROOT.parent / "shared" / "iso20022" / "samples",
)
NS = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"


def camt(entries: str, *, prologue: str = "", ns: str = NS) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prologue}<Document xmlns="{ns}"><BkToCstmrDbtCdtNtfctn>'
        "<GrpHdr><MsgId>M</MsgId><CreDtTm>2026-11-04T17:00:00+07:00</CreDtTm></GrpHdr>"
        "<Ntfctn><Id>N</Id><CreDtTm>2026-11-04T17:00:00+07:00</CreDtTm>"
        f"<Acct><Id><Othr><Id>0011001234567</Id></Othr></Id></Acct>{entries}</Ntfctn>"
        "</BkToCstmrDbtCdtNtfctn></Document>"
    ).encode()


def ntry(
    txs: str,
    *,
    amt: str = "3000000",
    cdi: str = "DBIT",
    code: str = "PMNT/ICDT/DMCT",
    booked: str = "<Dt>2026-11-04</Dt>",
) -> str:
    d, f, s = code.split("/")
    return (
        f'<Ntry><Amt Ccy="VND">{amt}</Amt><CdtDbtInd>{cdi}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
        f"<BookgDt>{booked}</BookgDt>"
        f"<BkTxCd><Domn><Cd>{d}</Cd><Fmly><Cd>{f}</Cd><SubFmlyCd>{s}</SubFmlyCd></Fmly></Domn></BkTxCd>"
        f"<NtryDtls>{txs}</NtryDtls></Ntry>"
    )


def tx(e2e: str, amt: str | None = "1500000", *, cdi: str = "", extra: str = "") -> str:
    amount = f'<Amt Ccy="VND">{amt}</Amt>' if amt is not None else ""
    own = f"<CdtDbtInd>{cdi}</CdtDbtInd>" if cdi else ""
    return f"<TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>{amount}{own}{extra}</TxDtls>"


# --- credit/debit indicator, returns ----------------------------------------------------------------


def test_each_transaction_carries_its_own_credit_debit_indicator() -> None:
    data = camt(ntry(tx("E-1", cdi="DBIT") + tx("E-2", cdi="CRDT"), cdi="DBIT"))
    validate(data, "camt.054.001.08")
    first, second = read_camt054(data)
    assert (first.credit_debit, second.credit_debit) == ("DBIT", "CRDT")
    assert first.entry_credit_debit == second.entry_credit_debit == "DBIT"
    with pytest.raises(MalformedMessage, match="CdtDbtInd"):
        list(read_camt054(camt(ntry(tx("E-1", cdi="BOTH")))))


def test_a_credit_is_a_return_only_when_the_statement_says_so() -> None:
    received = ntry(tx("E-1"), amt="1500000", cdi="CRDT", code="PMNT/RCDT/ESCT")
    by_code = ntry(tx("E-2"), amt="1500000", cdi="CRDT", code="PMNT/ICDT/RRTN")
    by_rtrinf = ntry(
        tx("E-3", extra="<RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf>"),
        amt="1500000",
        cdi="CRDT",
        code="PMNT/RCDT/ESCT",
    )
    debit_with_rrtn = ntry(tx("E-4"), amt="1500000", cdi="DBIT", code="PMNT/ICDT/RRTN")
    tx_code = ntry(
        tx(
            "E-5",
            extra="<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>RRTN</SubFmlyCd></Fmly></Domn></BkTxCd>",
        ),
        amt="1500000",
        cdi="CRDT",
        code="PMNT/RCDT/ESCT",
    )
    data = camt(received + by_code + by_rtrinf + debit_with_rrtn + tx_code)
    validate(data, "camt.054.001.08")
    flags = {e.end_to_end_id: e.is_return for e in read_camt054(data)}
    assert flags == {"E-1": False, "E-2": True, "E-3": True, "E-4": False, "E-5": True}
    # Through reconciliation: the credit that only carries an EndToEndId is not a return.
    entries, _s, _n = _load(data)
    assert {e.key: e.is_return for e in entries} == flags


def _load(data: bytes, tmp: Path | None = None) -> tuple[list, list, list]:  # type: ignore[type-arg]
    import tempfile

    d = Path(tempfile.mkdtemp()) if tmp is None else tmp
    path = d / "file.xml"
    path.write_bytes(data)
    return load_files([path])


def test_sole_transaction_takes_the_entry_amount_a_batch_member_does_not() -> None:
    data = camt(ntry(tx("E-1", None) + tx("E-2", None)) + ntry(tx("E-3", None), amt="1500000"))
    a, b, c = read_camt054(data)
    assert (a.only_tx, b.only_tx, c.only_tx) == (False, False, True)
    entries, _s, _n = _load(data)
    assert [e.amount for e in entries] == [None, None, 1_500_000]


# --- dates ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "booked,day,clock",
    [
        ("<DtTm>2026-11-04T23:30:00Z</DtTm>", date(2026, 11, 5), (6, 30)),  # 06:30 next day in Hanoi
        ("<DtTm>2026-11-04T23:30:00+09:00</DtTm>", date(2026, 11, 4), (21, 30)),
        ("<DtTm>2026-11-04T23:30:00</DtTm>", date(2026, 11, 4), (23, 30)),  # no offset: Vietnam time
        ("<Dt>2026-11-04</Dt>", date(2026, 11, 4), None),
    ],
)
def test_booking_times_keep_their_offset_and_are_taken_in_vietnam_time(
    booked: str, day: date, clock: tuple[int, int] | None
) -> None:
    (e,) = read_camt054(camt(ntry(tx("E-1"), amt="1500000", booked=booked)))
    assert e.booking_date == day
    if clock is None:
        assert e.booking_datetime is None
    else:
        assert e.booking_datetime is not None and e.booking_datetime.tzinfo is VN_TZ
        assert (e.booking_datetime.hour, e.booking_datetime.minute) == clock
        assert e.booking_datetime.utcoffset() == timedelta(hours=7)
    entries, _s, _n = _load(camt(ntry(tx("E-1"), amt="1500000", booked=booked)))
    assert entries[0].booking_date is not None and entries[0].booking_date.startswith(day.isoformat())


def test_booking_date_time_that_is_not_one_is_refused() -> None:
    with pytest.raises(MalformedMessage, match="BookgDt"):
        list(read_camt054(camt(ntry(tx("E-1"), amt="1500000", booked="<DtTm>yesterday</DtTm>"))))


# --- strict amounts in files ------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["1.08E6", "1500000e0", "1_500_000", "-1500000", "0x16E360"])
def test_amounts_in_files_are_read_strictly(amount: str) -> None:
    with pytest.raises(MalformedMessage):
        list(read_camt054(camt(ntry(tx("E-1", amount), amt="1500000"))))
    with pytest.raises(MalformedMessage):
        list(read_camt053(_as_camt053(camt(ntry(tx("E-1"), amt=amount)))))


def _as_camt053(data: bytes) -> bytes:
    return (
        data.replace(b"camt.054.001.08", b"camt.053.001.08")
        .replace(b"BkToCstmrDbtCdtNtfctn", b"BkToCstmrStmt")
        .replace(b"Ntfctn>", b"Stmt>")
    )


# --- pain.002 original amounts ----------------------------------------------------------------------


def _pain002(amount_xml: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt>'
        "<GrpHdr><MsgId>S</MsgId><CreDtTm>2026-11-03T09:00:00</CreDtTm></GrpHdr>"
        "<OrgnlGrpInfAndSts><OrgnlMsgId>KB-1</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>"
        "</OrgnlGrpInfAndSts><OrgnlPmtInfAndSts><OrgnlPmtInfId>KB-1-1</OrgnlPmtInfId>"
        "<TxInfAndSts><OrgnlEndToEndId>E-1</OrgnlEndToEndId><TxSts>ACSC</TxSts>"
        f"<OrgnlTxRef><Amt>{amount_xml}</Amt></OrgnlTxRef></TxInfAndSts>"
        "</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>"
    ).encode()


def test_pain002_original_amount_is_exposed() -> None:
    data = _pain002('<InstdAmt Ccy="VND">1500000</InstdAmt>')
    validate(data, "pain.002.001.10")
    (t,) = [r for r in read_pain002(data) if isinstance(r, TransactionStatus)]
    assert (t.original_amount_vnd, t.original_amount_minor, t.original_currency) == (
        1_500_000,
        1_500_000,
        "VND",
    )
    (s,) = _load(data)[1]
    assert s.amount_differs(1_500_000) is False and s.amount_differs(1_500_001) is True
    (u,) = [
        r
        for r in read_pain002(_pain002('<InstdAmt Ccy="USD">60.00</InstdAmt>'))
        if isinstance(r, TransactionStatus)
    ]
    assert (u.original_amount_vnd, u.original_amount_minor, u.original_currency) == (None, 6000, "USD")
    with pytest.raises(MalformedMessage):
        list(read_pain002(_pain002('<InstdAmt Ccy="VND">1.5E6</InstdAmt>')))


def test_file_level_rejection_reaches_reconciliation() -> None:
    _e, statuses, _n = _load((FIX / "pain002_v12_file_rejected.xml").read_bytes())
    (s,) = statuses
    assert (s.level, s.key, s.status, s.reason_code) == ("file", "KBNN-HN-202501-0003", "RJCT", "FF01")


# --- detection by root element ----------------------------------------------------------------------


def test_file_recognised_by_its_root_wherever_it_sits(tmp_path: Path) -> None:
    body = ntry(tx("E-1"), amt="1500000")
    # A 5 KB comment before the root, which quotes another message's namespace.
    prologue = "<!-- " + "urn:iso:std:iso:20022:tech:xsd:pain.002.001.10 " * 100 + "-->"
    late = tmp_path / "late.xml"
    late.write_bytes(camt(body, prologue=prologue))
    entries, statuses, names = load_files([late])
    assert [e.key for e in entries] == ["E-1"] and statuses == [] and names == ["late.xml"]
    # A prefixed root element is the same message.
    prefixed = (
        camt(body)
        .replace(b"<Document xmlns=", b"<d:Document xmlns:d=")
        .replace(b"</Document>", b"</d:Document>")
    )
    assert identify(prefixed).message == "camt.054"
    # Text that merely mentions a namespace is no message: refused, not guessed.
    impostor = tmp_path / "impostor.xml"
    impostor.write_bytes(b"<notes><p>see urn:iso:std:iso:20022:tech:xsd:camt.054.001.08</p></notes>")
    with pytest.raises(UnexpectedMessage):
        load_files([impostor])
    with pytest.raises(ValidationError, match=r"pain\.001"):
        load_files([FIX.parent / "fixtures" / "camt054_v02_vnd.xml", _pain001(tmp_path)])


def _pain001(tmp: Path) -> Path:
    path = tmp / "out.xml"
    write_pain001(
        path,
        message_id="M1",
        created_at=datetime(2026, 11, 2, 9, 0, tzinfo=VN_TZ),
        initiating_party="Kho bac",
        batches=[_batch()],
    )
    return path


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"shared samples folder not present at {SAMPLES}")
def test_swiss_variant_pain002_recognised_by_reconciliation() -> None:
    """The Swiss namespace has no ``xsd:pain.002`` in it; a text search missed it."""
    path = SAMPLES / "pain.002.001.03.ch.02__PostFinance_rjct__moov.xml"
    _e, statuses, _n = load_files([path])
    assert [(s.key, s.status) for s in statuses if s.level == "transaction"] == [
        ("EndToEndId-006-01-01", "RJCT")
    ]


# --- write_pain001 refuses what the schema would refuse ---------------------------------------------


def _batch(remittance: str = "Tro cap thang 11") -> PaymentBatch:
    return PaymentBatch(
        "PMT-1",
        Party("Kho bac Nha nuoc", "3711000123456", bank_bin="970418"),
        date(2026, 11, 2),
        lambda: [
            CreditTransfer(
                "E-1", "I-1", 1_500_000, "Nguyen Van An", "1200000019", "970405", remittance=remittance
            )
        ],
    )


@pytest.mark.parametrize("max_len", [141, 200, 0, -1])
def test_remittance_limit_over_140_refused_before_writing(max_len: int) -> None:
    out = io.BytesIO()
    with pytest.raises(ValidationError, match="remittance_max_len"):
        write_pain001(
            out,
            message_id="M1",
            created_at=datetime(2026, 11, 2, 9, 0, tzinfo=VN_TZ),
            initiating_party="Kho bac",
            batches=[_batch("x" * 300)],
            remittance_max_len=max_len,
        )
    assert out.getvalue() == b""


def test_remittance_of_140_is_schema_valid() -> None:
    out = io.BytesIO()
    write_pain001(
        out,
        message_id="M1",
        created_at=datetime(2026, 11, 2, 9, 0, tzinfo=VN_TZ),
        initiating_party="Kho bac",
        batches=[_batch("tro cap " * 40)],
        remittance_max_len=140,
    )
    validate(out.getvalue(), "pain.001.001.09")


@pytest.mark.parametrize("offset", [timedelta(hours=7, seconds=30), timedelta(hours=15)])
def test_creation_time_offset_xsd_cannot_carry_refused(offset: timedelta) -> None:
    out = io.BytesIO()
    with pytest.raises(ValidationError, match="created_at"):
        write_pain001(
            out,
            message_id="M1",
            created_at=datetime(2026, 11, 2, 9, 0, tzinfo=timezone(offset)),
            initiating_party="Kho bac",
            batches=[_batch()],
        )
    assert out.getvalue() == b""


def test_control_sum_over_18_digits_refused() -> None:
    n = 100_001  # 100,001 transfers of 9,999,999,999,999 VND: a 19-digit control sum
    batch = PaymentBatch(
        "PMT-1",
        Party("Kho bac Nha nuoc", "3711000123456", bank_bin="970418"),
        date(2026, 11, 2),
        lambda: (
            CreditTransfer(f"E-{i}", f"I-{i}", 10**13 - 1, "Nguyen Van An", "1200000019", "970405")
            for i in range(n)
        ),
    )
    out = io.BytesIO()
    with pytest.raises(ValidationError, match="18 digits"):
        write_pain001(
            out,
            message_id="M1",
            created_at=datetime(2026, 11, 2, 9, 0),
            initiating_party="Kho bac",
            batches=[batch],
            max_amount_vnd=None,
        )
    assert out.getvalue() == b""


def test_schema_rejects_what_the_writer_now_refuses() -> None:
    """The refusals above are real: the XSD fails such a file (a 141-character Ustrd)."""
    out = io.BytesIO()
    write_pain001(
        out,
        message_id="M1",
        created_at=datetime(2026, 11, 2, 9, 0, tzinfo=VN_TZ),
        initiating_party="Kho bac",
        batches=[_batch("x")],
    )
    bad = out.getvalue().replace(b"<Ustrd>x</Ustrd>", b"<Ustrd>" + b"x" * 141 + b"</Ustrd>")
    with pytest.raises(SchemaValidationError):
        validate(bad, "pain.001.001.09")
