"""Hostile and broken input: refused quickly, with the right error, in bounded memory."""

from __future__ import annotations

import io
import resource
import time
from pathlib import Path
from typing import BinaryIO, cast

import pytest

from asxh_pay.errors import AsxhPayError
from asxh_pay.iso20022 import (
    GroupStatus,
    Iso20022Error,
    MalformedMessage,
    MessageTooLarge,
    UnexpectedMessage,
    UnsafeXmlError,
    read_camt053,
    read_camt054,
    read_pain002,
)

FIX = Path(__file__).parent / "fixtures"
NS054 = b"urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt><GrpHdr><MsgId>&lol9;</MsgId>
</GrpHdr></CstmrPmtStsRpt></Document>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt><GrpHdr><MsgId>&xxe;</MsgId>
</GrpHdr><OrgnlGrpInfAndSts><OrgnlMsgId>&xxe;</OrgnlMsgId></OrgnlGrpInfAndSts></CstmrPmtStsRpt></Document>"""

PLAIN_DOCTYPE = b"""<?xml version="1.0"?>
<!DOCTYPE Document SYSTEM "http://example.invalid/evil.dtd">
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt/></Document>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE, PLAIN_DOCTYPE], ids=["billion", "xxe", "doctype"])
def test_dtd_refused(payload: bytes) -> None:
    start = time.perf_counter()
    with pytest.raises(UnsafeXmlError):
        list(read_pain002(payload))
    assert time.perf_counter() - start < 1


def test_doctype_in_utf16_refused() -> None:
    payload = XXE.decode().replace('encoding="UTF-8"', "").encode("utf-16")
    with pytest.raises(UnsafeXmlError):
        list(read_pain002(payload))


def test_errors_are_library_errors() -> None:
    assert issubclass(UnsafeXmlError, Iso20022Error) and issubclass(Iso20022Error, AsxhPayError)
    for cls in (MessageTooLarge, UnexpectedMessage, MalformedMessage):
        assert issubclass(cls, Iso20022Error)


class EndlessCamt(io.RawIOBase):
    """A notification that never ends: 2 GB and beyond, produced lazily, never stored."""

    def __init__(self) -> None:
        self.head = (
            b'<?xml version="1.0"?><Document xmlns="' + NS054 + b'"><BkToCstmrDbtCdtNtfctn>'
            b"<GrpHdr><MsgId>X</MsgId></GrpHdr><Ntfctn><Id>N</Id>"
        )
        self.unit = b'<Ntry><Amt Ccy="VND">1000</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts></Ntry>' * 800
        self.produced = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.head or self.unit  # whole units only, so the stream stays well-formed
        self.head = b""
        self.produced += len(data)
        return data


def test_endless_stream_stops_at_limit_in_bounded_time_and_memory() -> None:
    stream = EndlessCamt()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    seen = 0
    with pytest.raises(MessageTooLarge) as err:
        for _ in read_camt054(cast(BinaryIO, stream), max_bytes=20 * 1024 * 1024):
            seen += 1
    elapsed = time.perf_counter() - start
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert err.value.limit == 20 * 1024 * 1024
    assert seen > 100_000  # it really streamed entries before stopping
    assert stream.produced < 21 * 1024 * 1024  # stopped right after the limit, far from 2 GB
    assert elapsed < 15
    assert grown_mb < 100


def test_declared_two_gigabytes_refused_before_reading() -> None:
    stream = EndlessCamt()
    with pytest.raises(MessageTooLarge):
        list(read_camt054(cast(BinaryIO, stream), declared_size=2 * 1024**3))
    assert stream.produced == 0


class SeekableHuge(io.RawIOBase):
    """Claims (via seek) to be 2 GB long; reading it would be a mistake."""

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return 0

    def seek(self, offset: int, whence: int = 0) -> int:
        return 2 * 1024**3 if whence == io.SEEK_END else 0

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        raise AssertionError("must not be read")


def test_seekable_stream_size_checked_first() -> None:
    with pytest.raises(MessageTooLarge):
        list(read_pain002(cast(BinaryIO, SeekableHuge())))


def test_file_size_checked_first(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    path.write_bytes((FIX / "camt054_v02_vnd.xml").read_bytes())
    with pytest.raises(MessageTooLarge):
        list(read_camt054(path, max_bytes=100))


@pytest.mark.parametrize(
    "payload,reader",
    [
        (b'<Document xmlns="urn:example:not-iso"><BkToCstmrDbtCdtNtfctn/></Document>', read_camt054),
        (b"<Document><BkToCstmrDbtCdtNtfctn/></Document>", read_camt054),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt/></Document>',
            read_camt054,
        ),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrStmt/></Document>',
            read_camt054,
        ),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt/></Document>',
            read_camt053,
        ),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.02"><CstmrPmtStsRpt/></Document>',
            read_pain002,
        ),
        (
            b'<Root xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt/></Root>',
            read_pain002,
        ),
    ],
)
def test_wrong_message_refused(payload: bytes, reader: object) -> None:
    with pytest.raises(UnexpectedMessage):
        list(reader(payload))  # type: ignore[operator]


def test_swiss_variant_namespace_accepted() -> None:
    payload = (
        b'<Document xmlns="http://www.six-interbank-clearing.com/de/pain.002.001.03.ch.02.xsd">'
        b"<CstmrPmtStsRpt><GrpHdr><MsgId>M</MsgId></GrpHdr><OrgnlGrpInfAndSts><OrgnlMsgId>O</OrgnlMsgId>"
        b"<GrpSts>ACCP</GrpSts></OrgnlGrpInfAndSts></CstmrPmtStsRpt></Document>"
    )
    (g,) = list(read_pain002(payload))
    assert isinstance(g, GroupStatus) and g.status == "ACCP"


def test_truncated_file() -> None:
    data = (FIX / "camt054_v02_vnd.xml").read_bytes()
    with pytest.raises(MalformedMessage):
        list(read_camt054(data[: len(data) // 2]))
    with pytest.raises(MalformedMessage):
        list(read_camt054(data[:120]))


@pytest.mark.parametrize("payload", [b"", b"   ", b"not xml at all", b"<?xml version='1.0'?>", b"<Document"])
def test_garbage_is_malformed(payload: bytes) -> None:
    with pytest.raises(MalformedMessage):
        list(read_pain002(payload))


def test_oversized_bytes_refused() -> None:
    with pytest.raises(MessageTooLarge):
        list(read_pain002(b"<" * 1000, max_bytes=10))
