"""pain.001 writer: schema-valid for both versions, correct sums, deterministic, strict on input."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from asxh_pay.errors import ValidationError
from asxh_pay.iso20022 import (
    CreditTransfer,
    Party,
    PaymentBatch,
    remittance_ascii,
    strip_diacritics,
    validate,
    write_pain001,
)
from asxh_pay.iso20022.pain001 import Pain001Version

VERSIONS: tuple[Pain001Version, ...] = ("pain.001.001.09", "pain.001.001.03")
CREATED = datetime(2025, 1, 2, 8, 30, tzinfo=timezone(timedelta(hours=7)))
TREASURY = Party("Kho bạc Nhà nước Hà Nội", "3711000123456", bank_bin="970418")
# BINs of several kinds: state banks, joint-stock banks, foreign banks, digital banks,
# the Bank for Social Policies, and a wallet-style BIN.
BINS = [
    "970405",
    "970418",
    "970436",
    "970415",
    "970422",
    "970416",
    "422589",
    "458761",
    "546034",
    "963388",
    "999888",
    "971005",
    "668888",
    "796500",
    "970454",
]
SURNAMES = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
]
GIVEN = [
    "Văn",
    "Thị",
    "Đức",
    "Hữu",
    "Ngọc",
    "Thuỳ",
    "Quốc",
    "Mỹ",
    "Ánh",
    "Phượng",
    "Đạt",
    "Hằng",
    "Tuấn",
    "Yến",
    "Khánh",
    "Nguyệt",
    "Ơn",
    "Ưng",
    "Ỷ",
]


def tx(
    i: int,
    amount: int = 1_500_000,
    bank_bin: str | None = "970436",
    bic: str | None = None,
    name: str = "Nguyễn Văn Đức",
    remittance: str = "Trợ cấp xã hội tháng 1/2025",
    category: str = "GOVT",
) -> CreditTransfer:
    return CreditTransfer(
        f"E2E-{i:07d}",
        f"I-{i:07d}",
        amount,
        name,
        f"{1000000 + i}",
        bank_bin,
        bic,
        remittance,
        "SSBE",
        category,
    )


def batch(txs: list[CreditTransfer], pid: str = "HN-BTXH-202501", debtor: Party = TREASURY) -> PaymentBatch:
    return PaymentBatch(pid, debtor, date(2025, 1, 5), lambda: iter(txs))


def write(
    batches: Iterable[PaymentBatch], version: Pain001Version = "pain.001.001.09", **kw: object
) -> bytes:
    buf = io.BytesIO()
    write_pain001(
        buf,
        message_id="KBNN-HN-202501-0001",
        created_at=CREATED,
        initiating_party="Kho bạc Nhà nước",
        batches=batches,
        version=version,
        **kw,  # type: ignore[arg-type]
    )
    return buf.getvalue()


def ns(version: str) -> dict[str, str]:
    return {"p": f"urn:iso:std:iso:20022:tech:xsd:{version}"}


@pytest.mark.parametrize("version", VERSIONS)
def test_valid_against_official_xsd_with_every_agent_kind(version: Pain001Version) -> None:
    txs = [tx(i, bank_bin=b) for i, b in enumerate(BINS)]
    txs += [
        tx(100, bank_bin=None, bic="BIDVVNVX"),
        tx(101, bank_bin="970418", bic="BFTVVNVX"),
        tx(102, bank_bin=None),
        tx(103, amount=1),
        tx(104, amount=499_999_999),
        tx(105, remittance=""),
    ]
    data = write(
        [
            batch(txs),
            batch(
                [tx(200)], pid="HN-BTXH-202501-B", debtor=Party("KBNN Ba Đình", "12345678", bic="BFTVVNVX")
            ),
        ],
        version,
    )
    validate(data, version)
    doc = etree.fromstring(data)
    n = ns(version)
    assert doc.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=n) == str(len(txs) + 1)
    total = sum(t.amount_vnd for t in txs) + 1_500_000
    assert doc.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=n) == str(total)
    pmt = doc.findall("p:CstmrCdtTrfInitn/p:PmtInf", namespaces=n)
    assert [p.findtext("p:NbOfTxs", namespaces=n) for p in pmt] == [str(len(txs)), "1"]
    amounts = [a.text for a in doc.iterfind(".//p:InstdAmt", namespaces=n)]
    assert "1" in amounts and "499999999" in amounts and all("." not in (a or "") for a in amounts)
    # BIN as NAPAS clearing member, BIC preferred, creditor agent absent when unknown
    bic_tag = "BICFI" if version.endswith("09") else "BIC"

    def by_e2e(e2e: str) -> etree._Element:
        found = doc.xpath("//p:CdtTrfTxInf[p:PmtId/p:EndToEndId=$e]", namespaces=n, e=e2e)
        assert isinstance(found, list) and len(found) == 1
        el = found[0]
        assert isinstance(el, etree._Element)
        return el

    assert by_e2e("E2E-0000101").findtext(f"p:CdtrAgt//p:{bic_tag}", namespaces=n) == "BFTVVNVX"
    mmb = by_e2e("E2E-0000010").find("p:CdtrAgt//p:ClrSysMmbId", namespaces=n)
    assert mmb is not None
    assert mmb.findtext("p:ClrSysId/p:Prtry", namespaces=n) == "NAPAS"
    assert mmb.findtext("p:MmbId", namespaces=n) == "999888"
    assert by_e2e("E2E-0000102").find("p:CdtrAgt", namespaces=n) is None
    assert by_e2e("E2E-0000105").find("p:RmtInf", namespaces=n) is None
    # purpose codes where the code lists put them
    assert doc.findtext("p:CstmrCdtTrfInitn/p:PmtInf/p:PmtTpInf/p:CtgyPurp/p:Cd", namespaces=n) == "GOVT"
    assert {p.text for p in doc.iterfind(".//p:CdtTrfTxInf/p:Purp/p:Cd", namespaces=n)} == {"SSBE"}
    assert doc.findtext(".//p:CdtTrfTxInf/p:CdtrAcct/p:Id/p:Othr/p:Id", namespaces=n) == "1000000"


def test_mixed_category_purpose_goes_per_transaction() -> None:
    data = write([batch([tx(1), tx(2, category="SSBE")])])
    validate(data, "pain.001.001.09")
    doc = etree.fromstring(data)
    n = ns("pain.001.001.09")
    assert doc.find("p:CstmrCdtTrfInitn/p:PmtInf/p:PmtTpInf", namespaces=n) is None
    assert [c.text for c in doc.iterfind(".//p:CdtTrfTxInf/p:PmtTpInf/p:CtgyPurp/p:Cd", namespaces=n)] == [
        "GOVT",
        "SSBE",
    ]


names = st.builds(
    lambda s, g1, g2: f"{s} {g1} {g2}",
    st.sampled_from(SURNAMES),
    st.sampled_from(GIVEN),
    st.sampled_from(GIVEN),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(names, st.integers(1, 499_999_999), st.sampled_from(BINS), st.text(max_size=60)),
        min_size=1,
        max_size=30,
    ),
    version=st.sampled_from(VERSIONS),
)
def test_generated_batches_are_schema_valid_and_sums_match(
    rows: list[tuple[str, int, str, str]], version: Pain001Version
) -> None:
    txs = [tx(i, amount=a, bank_bin=b, name=nm, remittance=r) for i, (nm, a, b, r) in enumerate(rows)]
    buf = io.BytesIO()
    summary = write_pain001(
        buf,
        message_id="M-1",
        created_at=CREATED,
        initiating_party="KBNN",
        batches=[batch(txs)],
        version=version,
    )
    validate(buf.getvalue(), version)
    assert summary.nb_of_txs == len(rows)
    assert summary.ctrl_sum_vnd == sum(a for _, a, _, _ in rows)
    doc = etree.fromstring(buf.getvalue())
    n = ns(version)
    assert Decimal(doc.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=n) or "") == summary.ctrl_sum_vnd
    written = [e.text or "" for e in doc.iterfind(".//p:Cdtr/p:Nm", namespaces=n)]
    if version == "pain.001.001.03":
        assert all(w.isascii() for w in written)
        assert written == [strip_diacritics(nm) for nm, *_ in rows]
    else:
        assert written == [nm for nm, *_ in rows]
    for u in doc.iterfind(".//p:Ustrd", namespaces=n):
        assert u.text and len(u.text) <= 25 and all((c.isalnum() and c.isascii()) or c == " " for c in u.text)


def test_byte_identical_rewrite(tmp_path: Path) -> None:
    txs = [tx(i, bank_bin=BINS[i % len(BINS)]) for i in range(50)]
    first = write([batch(txs)])
    assert write([batch(txs)]) == first
    out = tmp_path / "kbnn.xml"
    s1 = write_pain001(
        out,
        message_id="KBNN-HN-202501-0001",
        created_at=CREATED,
        initiating_party="Kho bạc Nhà nước",
        batches=[batch(txs)],
    )
    assert out.read_bytes() == first
    assert s1.nb_of_txs == 50
    assert [p.name for p in tmp_path.iterdir()] == ["kbnn.xml"]  # no temp file left behind


def test_failed_validation_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "bad.xml"
    with pytest.raises(ValidationError) as err:
        write_pain001(
            out,
            message_id="M",
            created_at=CREATED,
            initiating_party="KB",
            batches=[batch([tx(1), tx(2, amount=0)])],
        )
    assert err.value.field == "batches[0].transactions[1].amount_vnd"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("amount", [0, -5, 1.5, 1500000.0, True, 500_000_000, "100"])
def test_bad_amounts_refused(amount: object) -> None:
    with pytest.raises(ValidationError):
        write([batch([tx(1, amount=amount)])])  # type: ignore[arg-type]


def test_napas_limit_can_be_lifted_for_intrabank() -> None:
    data = write([batch([tx(1, amount=2_000_000_000)])], max_amount_vnd=None)
    validate(data, "pain.001.001.09")


@pytest.mark.parametrize(
    "field,value",
    [
        ("end_to_end_id", "E2E với dấu"),
        ("end_to_end_id", "x" * 36),
        ("end_to_end_id", ""),
        ("end_to_end_id", "A B"),
        ("instruction_id", "/lead"),
        ("instruction_id", "a//b"),
        ("creditor_account", "12345"),
        ("creditor_account", "12-34567"),
        ("creditor_bank_bin", "97043"),
        ("creditor_bic", "bidvvnvx"),
        ("creditor_name", "   "),
        ("creditor_name", "A" * 71),
        ("purpose", "SOCIAL"),
        ("category_purpose", "gov"),
    ],
)
def test_bad_fields_refused(field: str, value: str) -> None:
    good = tx(1)
    kwargs = {f: getattr(good, f) for f in good.__slots__}
    kwargs[field] = value
    with pytest.raises(ValidationError) as err:
        write([batch([CreditTransfer(**kwargs)])])
    assert field in str(err.value)


def test_batch_level_checks() -> None:
    with pytest.raises(ValidationError, match="payment_info_id"):
        write([batch([tx(1)]), batch([tx(2)])])
    with pytest.raises(ValidationError, match="at least one transfer"):
        write([batch([])])
    with pytest.raises(ValidationError, match="message_id"):
        write_pain001(
            io.BytesIO(),
            message_id="bad id",
            created_at=CREATED,
            initiating_party="KB",
            batches=[batch([tx(1)])],
        )
    with pytest.raises(ValidationError, match="batches"):
        write([])


def test_debtor_agent_not_provided_still_valid() -> None:
    data = write([batch([tx(1)], debtor=Party("KBNN", "123456"))], "pain.001.001.03")
    validate(data, "pain.001.001.03")
    assert b"<Othr><Id>NOTPROVIDED</Id></Othr>" in data


def test_transliteration_rules() -> None:
    assert strip_diacritics("Đặng Thị Ánh Nguyệt đến") == "Dang Thi Anh Nguyet den"
    assert remittance_ascii("Trợ cấp BTXH T1/2025 – Đợt 1!", 25) == "Tro cap BTXH T1 2025 Dot"
    assert remittance_ascii("Lương hưu", 4) == "Luon"
    assert len(remittance_ascii("a" * 100)) == 25
    data = write([batch([tx(1, remittance="Chi trả trợ cấp")])], remittance_max_len=10)
    assert b"<Ustrd>Chi tra tr</Ustrd>" in data


def test_unicode_names_are_nfc_in_v09() -> None:
    decomposed = "Nguye\u0302\u0303n"  # NFD input
    data = write([batch([tx(1, name=decomposed)])])
    assert "<Nm>Nguyễn</Nm>".encode() in data
    latin = write([batch([tx(1, name=decomposed)])], unicode_names=False)
    assert b"<Nm>Nguyen</Nm>" in latin


def test_streams_from_factory_twice_without_materialising() -> None:
    calls = 0

    def factory() -> Iterable[CreditTransfer]:
        nonlocal calls
        calls += 1
        return (tx(i) for i in range(1000))

    buf = io.BytesIO()
    summary = write_pain001(
        buf,
        message_id="M",
        created_at=CREATED,
        initiating_party="KB",
        batches=[PaymentBatch("P", TREASURY, date(2025, 1, 5), factory)],
    )
    assert calls == 2
    assert summary.ctrl_sum_vnd == 1000 * 1_500_000
    validate(buf.getvalue(), "pain.001.001.09")


@pytest.mark.parametrize("version", VERSIONS)
def test_markup_characters_in_names_are_escaped(version: Pain001Version) -> None:
    data = write([batch([tx(1, name="Hộ kinh doanh A&B <Đức> \"Tí\" 'Tèo'")])], version)
    validate(data, version)
    name = etree.fromstring(data).findtext(".//p:Cdtr/p:Nm", namespaces=ns(version))
    expected = (
        "Hộ kinh doanh A&B <Đức> \"Tí\" 'Tèo'" if version.endswith("09") else "Ho kinh doanh A B Duc Ti 'Teo'"
    )
    assert name == expected


@pytest.mark.parametrize("bad", ["Nguyễn\x00An", "Lê\x1bThị", "Trần\ufffe", "Phạm\x7f"])
def test_names_xml_cannot_carry_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="control"):
        write([batch([tx(1, name=bad)])])
