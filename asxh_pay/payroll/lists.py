"""Import the commune payment lists (CSV and Excel) into payout requests.

Why this module is strict: a list row becomes money in someone's account. Every row is
validated by the same validators as the API (:mod:`asxh_pay.models`); a bad row is put in
the rejected-rows report with its row number, the column as the file names it and the
reason, and never stops the good rows. Nothing is guessed:

* Encodings: UTF-8 (with or without BOM), UTF-16 with BOM (Excel "Unicode text"), and
  Windows-1258 when the bytes are not UTF-8 and decode to plausible Vietnamese text
  (cp1258 writes tones as combining marks: the text is NFC-normalised). Anything else is
  refused for the whole file (``encoding_unknown``) rather than read as mojibake.
* Headers are matched without diacritics, case, spaces or punctuation, in Vietnamese or
  English (``Họ và tên`` = ``HO VA TEN`` = ``full name``); title rows above the header
  (``UBND XÃ ...``, ``DANH SÁCH ...``) are skipped.
* Identifier cells (CCCD, account, phone) that Excel turned into numbers are refused:
  scientific notation (``1.23457E+11``), floats, and numbers that lost their leading zero
  (a CCCD always starts with ``0``). A number cell whose format pads with zeros
  (``000000000000``) is read as Excel displays it, which is what the commune typed.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import io
import itertools
import os
import re
import sqlite3
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import pydantic

from asxh_pay import vocab
from asxh_pay.banks import resolve_bank
from asxh_pay.errors import ValidationError
from asxh_pay.identity import fold as _fold_uncached
from asxh_pay.identity import is_mobile_number
from asxh_pay.models import (
    ELECTRONIC_KINDS,
    STORED,
    BankAccount,
    Beneficiary,
    CashHome,
    CashPickup,
    PayoutRequest,
    PostalAccount,
    Recipient,
    RecipientKind,
    Wallet,
)
from asxh_pay.money import parse_vnd
from asxh_pay.programmes import Programmes, load_programmes
from asxh_pay.vocab import Detail, dump_detail, load_detail

T = TypeVar("T")


@functools.lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """:func:`asxh_pay.identity.fold`, cached: list cells repeat (methods, banks, wallets)."""
    return _fold_uncached(text)


# --------------------------------------------------------------------------- columns

#: Canonical column -> header spellings (compared after :func:`header_key`).
COLUMNS: dict[str, tuple[str, ...]] = {
    "full_name": (
        "Họ và tên",
        "Họ tên",
        "Họ tên đối tượng",
        "Họ và tên đối tượng",
        "Tên đối tượng",
        "Họ và tên người hưởng",
        "full name",
        "name",
        "beneficiary name",
    ),
    "cccd": (
        "Số CCCD",
        "CCCD",
        "Số căn cước",
        "Số căn cước công dân",
        "Số định danh",
        "Số định danh cá nhân",
        "CCCD đối tượng",
        "citizen id",
        "national id",
        "id number",
        "beneficiary cccd",
    ),
    "birth_date": ("Ngày sinh", "Ngày tháng năm sinh", "date of birth", "birth date", "dob"),
    "account_number": ("Số tài khoản", "STK", "Số TK", "Tài khoản", "account number", "account"),
    "bank": ("Ngân hàng", "Tên ngân hàng", "Ngân hàng mở tài khoản", "Mã ngân hàng", "bank", "bank name"),
    "phone": ("Số điện thoại", "Điện thoại", "SĐT", "Số ví", "phone", "phone number", "wallet phone"),
    "method": (
        "Hình thức nhận",
        "Hình thức chi trả",
        "Hình thức",
        "Phương thức nhận",
        "method",
        "payment method",
    ),
    "wallet_provider": ("Ví điện tử", "Nhà cung cấp ví", "Tên ví", "Đơn vị ví", "wallet", "wallet provider"),
    "amount": (
        "Số tiền",
        "Số tiền trợ cấp",
        "Mức trợ cấp",
        "Số tiền chi trả",
        "Số tiền được hưởng",
        "amount",
    ),
    "programme": ("Chương trình", "Loại đối tượng", "Nhóm đối tượng", "programme", "program"),
    "period": ("Kỳ chi trả", "Tháng chi trả", "Kỳ", "period", "pay period"),
    "commune_code": ("Mã xã", "Mã xã/phường", "Mã đơn vị hành chính xã", "commune code"),
    "commune_name": ("Xã", "Xã/phường", "Xã/Phường/Thị trấn", "Tên xã", "commune"),
    "district_code": ("Mã huyện", "Huyện", "district", "district code"),
    "province_code": ("Mã tỉnh", "Tỉnh", "province", "province code"),
    "recipient_kind": ("Loại người nhận", "Người nhận là", "recipient type", "recipient kind"),
    "recipient_name": (
        "Người nhận thay",
        "Họ tên người nhận thay",
        "Người được ủy quyền",
        "Người được uỷ quyền",
        "Họ tên người được ủy quyền",
        "Họ tên người được uỷ quyền",
        "Người giám hộ",
        "Họ tên người giám hộ",
        "authorised person",
        "authorized person",
        "recipient name",
    ),
    "recipient_cccd": (
        "CCCD người nhận thay",
        "Số CCCD người nhận thay",
        "CCCD người được ủy quyền",
        "Số CCCD người được ủy quyền",
        "Số CCCD người được uỷ quyền",
        "CCCD người giám hộ",
        "Số CCCD người giám hộ",
        "recipient cccd",
        "authorised person cccd",
        "authorized person cccd",
    ),
    "recipient_relation": ("Quan hệ", "Mối quan hệ", "Quan hệ với đối tượng", "relation", "relationship"),
    "authorisation_ref": (
        "Giấy ủy quyền",
        "Giấy uỷ quyền",
        "Số giấy ủy quyền",
        "Số giấy uỷ quyền",
        "Căn cứ ủy quyền",
        "Văn bản ủy quyền",
        "Quyết định giám hộ",
        "authorisation ref",
        "authorization ref",
        "authorisation",
    ),
    "authorisation_valid_until": (
        "Hiệu lực ủy quyền",
        "Hiệu lực uỷ quyền",
        "Ủy quyền đến ngày",
        "authorisation valid until",
        "authorization valid until",
    ),
    "address": ("Địa chỉ", "Địa chỉ nhận", "Địa chỉ chi trả tại nhà", "address", "home address"),
    "special_case": ("Lý do chi trả tại nhà", "Trường hợp đặc biệt", "special case"),
    "payment_point": ("Điểm chi trả", "Mã điểm chi trả", "payment point"),
}

#: Column names for reports when a column is absent from the file.
COLUMN_LABELS: dict[str, str] = {k: v[0] for k, v in COLUMNS.items()}

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def header_key(text: str) -> str:
    """Header comparison key: no diacritics, lower case, letters and digits only."""
    return _NON_ALNUM.sub("", fold(str(text)))


_HEADER_INDEX: dict[str, str] = {
    header_key(alias): col for col, aliases in COLUMNS.items() for alias in aliases
}

_IDENTIFIER_COLUMNS = frozenset({"cccd", "recipient_cccd", "account_number", "phone"})

# --------------------------------------------------------------------------- methods

#: Folded method text -> destination kind (and point type for cash pickup).
METHODS: dict[str, str] = {
    "tai khoan ngan hang": "bank",
    "chuyen khoan": "bank",
    "chuyen khoan ngan hang": "bank",
    "ngan hang": "bank",
    "tai khoan": "bank",
    "atm": "bank",
    "the atm": "bank",
    "bank": "bank",
    "bank account": "bank",
    "bank transfer": "bank",
    "vi dien tu": "wallet",
    "mobile money": "wallet",
    "vi": "wallet",
    "wallet": "wallet",
    "e-wallet": "wallet",
    "viettel money": "wallet",
    "viettelpay": "wallet",
    "viettel pay": "wallet",
    "momo": "wallet",
    "vi momo": "wallet",
    "vnpt money": "wallet",
    "tai khoan mobile money": "wallet",
    "tai khoan buu dien": "postal_account",
    "the buu dien": "postal_account",
    "postal account": "postal_account",
    "tai khoan thanh toan buu dien": "postal_account",
    "nhan tai diem chi tra": "cash_pickup",
    "diem chi tra": "cash_pickup",
    "tien mat": "cash_pickup",
    "nhan tien mat": "cash_pickup",
    "tai xa": "cash_pickup",
    "nhan tai xa": "cash_pickup",
    "cash": "cash_pickup",
    "cash pickup": "cash_pickup",
    "nhan tai buu dien": "cash_post_office",
    "buu dien": "cash_post_office",
    "buu cuc": "cash_post_office",
    "nhan tai buu cuc": "cash_post_office",
    "post office": "cash_post_office",
    "chi tra tai nha": "cash_home",
    "tai nha": "cash_home",
    "nhan tai nha": "cash_home",
    "cash home": "cash_home",
    "home delivery": "cash_home",
}

#: Folded wallet names -> wallet provider id used by the router.
WALLETS: dict[str, str] = {
    "viettel money": "viettel_money",
    "viettelpay": "viettel_money",
    "viettel pay": "viettel_money",
    "viettel": "viettel_money",
    "viettel_money": "viettel_money",
    "momo": "momo",
    "vi momo": "momo",
    "vnpt money": "vnpt_money",
    "vnpt pay": "vnpt_money",
    "vnpt": "vnpt_money",
    "vnpt_money": "vnpt_money",
}


@functools.cache
def _builtin_programmes() -> Programmes:
    return load_programmes()


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Rejection:
    """One reason a row (or a whole file) was not accepted."""

    file: str
    row: int  # spreadsheet row number as the official sees it (0: the whole file)
    column: str  # the header as written in the file, or the expected header
    code: str  # the validator's code (cccd_length, account_format...) or the importer's
    #: The detail: a :class:`~asxh_pay.vocab.Detail` (English as a str, any language by
    #: :meth:`text`) for every reason the checker gives.
    reason: str

    def text(self, lang: str = "vi") -> str:
        """The detail in ``lang`` (:func:`asxh_pay.vocab.detail`)."""
        return vocab.detail(self.reason, lang)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "reason": self.reason,
        }


#: The warnings of a row that is paid (:attr:`ListRow.warnings` keeps them as these tokens).
ROW_WARNINGS: dict[str, Detail] = {
    "method_inferred:bank": Detail("method_inferred.bank"),
    "method_inferred:wallet": Detail("method_inferred.wallet"),
    "method_inferred:cash_pickup": Detail("method_inferred.cash_pickup"),
    "no_account:bank": Detail("no_account.bank"),
    "no_account:postal_account": Detail("no_account.postal_account"),
    "no_account:wallet": Detail("no_account.wallet"),
}


def warning_detail(token: str) -> str:
    """A row warning's detail (its token itself if it is not one of :data:`ROW_WARNINGS`)."""
    return ROW_WARNINGS.get(token, token)


@dataclass(frozen=True)
class ListRow:
    """A valid row: the request it becomes and where it came from."""

    request: PayoutRequest
    file: str
    row: int
    warnings: tuple[str, ...] = ()
    #: The pre-2025 district code the row carries, if any: it marks a list in old codes,
    #: which :mod:`asxh_pay.payroll.placement` maps to today's communes (districts are gone).
    district_code: str | None = None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.row}"


@dataclass
class FileInfo:
    name: str
    kind: str  # csv | xlsx
    encoding: str | None
    rows_read: int = 0
    header_row: int = 0
    columns: dict[str, str] = field(default_factory=dict)  # canonical -> header as written
    unknown_columns: list[str] = field(default_factory=list)
    skipped_rows: list[int] = field(default_factory=list)  # total/blank lines


@dataclass
class ImportResult:
    rows: list[ListRow] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    files: list[FileInfo] = field(default_factory=list)

    def extend(self, other: ImportResult) -> None:
        self.rows.extend(other.rows)
        self.rejected.extend(other.rejected)
        self.files.extend(other.files)

    @property
    def rejected_rows(self) -> int:
        return len({(r.file, r.row) for r in self.rejected})


@dataclass(frozen=True)
class ListDefaults:
    """Values for columns a list leaves out (the list is one commune's, one month's...).

    A row that *does* carry a period or programme different from these is refused
    (``period_mismatch``/``programme_mismatch``): it belongs to another run.
    """

    programme: str | None = None
    period: str | None = None
    commune_code: str | None = None
    province_code: str | None = None
    #: Programmes the run knows (codes and the ways lists write them); built-in ones if None.
    programmes: Programmes | None = field(default=None, compare=False)


class ListFileError(ValidationError):
    """A whole file cannot be read (encoding, no header, unsupported type)."""


@dataclass(frozen=True)
class ImportProgress:
    """How far the reading of one file is: for a progress bar or a log."""

    file: str
    done: int  # bytes read (CSV) or rows read (Excel)
    total: int | None  # the file's size in bytes (CSV); None when unknown (Excel)
    rows: int  # lines or sheet rows read so far


ProgressCallback = Callable[[ImportProgress], None]


# --------------------------------------------------------------------------- cells


@dataclass(frozen=True)
class Cell:
    """A cell as read: its text as Excel would display it, and the raw value."""

    text: str
    raw: object = None
    number: bool = False  # stored by Excel as a number (int or float)
    padded: bool = False  # a number shown with leading zeros by its number format

    @property
    def empty(self) -> bool:
        return not self.text


EMPTY = Cell("")
_ZERO_FORMAT = re.compile(r"^0+$")


def xlsx_cell(value: object, number_format: str | None) -> Cell:
    """Turn an openpyxl value into a :class:`Cell`, keeping what the number format shows."""
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return Cell(str(value).upper(), value)
    if isinstance(value, int):
        fmt = (number_format or "").strip()
        if _ZERO_FORMAT.match(fmt):
            return Cell(str(value).zfill(len(fmt)), value, number=True, padded=True)
        return Cell(str(value), value, number=True)
    if isinstance(value, float):
        fmt = (number_format or "").strip()
        if value.is_integer() and _ZERO_FORMAT.match(fmt) and abs(value) < 1e15:
            return Cell(str(int(value)).zfill(len(fmt)), value, number=True, padded=True)
        text = str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
        return Cell(text, value, number=True)
    if isinstance(value, datetime):
        return Cell(value.date().isoformat(), value.date())
    if isinstance(value, date):
        return Cell(value.isoformat(), value)
    text = unicodedata.normalize("NFC", str(value)).strip()
    return Cell(text, text)


def text_cell(value: str) -> Cell:
    text = unicodedata.normalize("NFC", value).replace("\u00a0", " ").strip()
    return Cell(text, text)


# --------------------------------------------------------------------------- encodings

_VN_PUNCT = frozenset("–—‘’“”…°№·€")
#: cp1258's tone marks, left combining when a chunk boundary splits them from their letter.
_VN_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")


def _plausible_vietnamese(text: str) -> bool:
    """True when every non-ASCII character is a Vietnamese letter or common punctuation."""
    for ch in text:
        if ch.isascii():
            if ch < " " and ch not in "\r\n\t":
                return False
            continue
        if ch in _VN_PUNCT or ch in _VN_TONES:
            continue
        if not ch.isalpha() or not fold(ch).isascii():
            return False
    return True


def decode_bytes(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode a CSV file's bytes; returns (NFC text, encoding name) or raises ListFileError."""
    if encoding:
        try:
            return unicodedata.normalize("NFC", data.decode(encoding)), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise ListFileError(
                Detail("encoding", encoding=encoding, error=str(exc)), field="file", code="encoding"
            ) from None
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return unicodedata.normalize("NFC", data[3:].decode("utf-8")), "utf-8-sig"
        except UnicodeDecodeError:
            raise ListFileError(Detail("encoding.bom"), field="file", code="encoding") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return unicodedata.normalize("NFC", data.decode("utf-16")), "utf-16"
        except UnicodeDecodeError:
            raise ListFileError(Detail("encoding.utf16"), field="file", code="encoding") from None
    try:
        return unicodedata.normalize("NFC", data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = unicodedata.normalize("NFC", data.decode("cp1258"))
    except UnicodeDecodeError:
        text = ""
    if text and _plausible_vietnamese(text):
        return text, "cp1258"
    raise ListFileError(Detail("encoding_unknown"), field="file", code="encoding_unknown")


# --------------------------------------------------------------------------- reading tables

#: A table as read: (spreadsheet row number, cells), one row at a time.
Rows = Iterator[tuple[int, list[Cell]]]


def _header_row(rows: Sequence[Sequence[Cell]]) -> int | None:
    """Index of the first row that names a name and a CCCD column (title rows come first)."""
    for i, row in enumerate(rows):
        cols = {_HEADER_INDEX.get(header_key(c.text)) for c in row if c.text}
        if "full_name" in cols and "cccd" in cols:
            return i
    return None


def _delimiter(text: str) -> str:
    """The separator used most on one line among the first 30 (title rows have none).

    Why not csv.Sniffer: the title rows communes put above the header make it give up.
    """
    lines = text.splitlines()[:30]
    return max(",;\t", key=lambda d: max((line.count(d) for line in lines), default=0))


#: A commune list is a few thousand rows; anything far larger is not one (or is hostile).
MAX_LIST_BYTES = 64 * 1024 * 1024
_CHUNK = 1 << 20


def _check_size(path: Path) -> int:
    size = path.stat().st_size
    if size > MAX_LIST_BYTES:
        raise ListFileError(
            Detail("file_too_large", mib=MAX_LIST_BYTES // (1024 * 1024)), field="file", code="file_too_large"
        )
    return size


def detect_encoding(path: Path, encoding: str | None = None) -> str:
    """The encoding of a CSV file, checked over the whole file in 1 MiB chunks.

    Why a separate pass: the rows are then read as a stream, and a file that turns out not
    to be UTF-8 on its last line must be refused (or read as Windows-1258) before any row
    is used. The rules are :func:`decode_bytes`'s; memory stays one chunk.
    """
    with path.open("rb") as f:
        head = f.read(4)
        f.seek(0)
        if encoding:
            candidates = [encoding]
        elif head.startswith(b"\xef\xbb\xbf"):
            candidates = ["utf-8-sig"]
        elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
            candidates = ["utf-16"]
        else:
            candidates = ["utf-8", "cp1258"]
        for enc in candidates:
            f.seek(0)
            try:
                dec = codecs.getincrementaldecoder(enc)("strict")
            except LookupError as exc:
                raise ListFileError(
                    Detail("encoding", encoding=enc, error=str(exc)), field="file", code="encoding"
                ) from None
            ok = True
            try:
                while chunk := f.read(_CHUNK):
                    text = dec.decode(chunk)
                    vietnamese = enc != "cp1258" or bool(encoding)
                    if not vietnamese and not _plausible_vietnamese(unicodedata.normalize("NFC", text)):
                        ok = False
                        break
                dec.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                if encoding:
                    raise ListFileError(
                        Detail("encoding", encoding=encoding, error=str(exc)), field="file", code="encoding"
                    ) from None
                if enc == "utf-8-sig":
                    raise ListFileError(Detail("encoding.bom"), field="file", code="encoding") from None
                if enc == "utf-16":
                    raise ListFileError(Detail("encoding.utf16"), field="file", code="encoding") from None
                ok = False
            if ok:
                return enc
    raise ListFileError(Detail("encoding_unknown"), field="file", code="encoding_unknown")


class _Progress:
    """Reports reading progress to a callback at most every 0.2 s (and at the end)."""

    def __init__(self, callback: ProgressCallback | None, file: str, total: int | None) -> None:
        self.callback, self.file, self.total = callback, file, total
        self._next = 0.0

    def __call__(self, done: int, rows: int, *, final: bool = False) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        if final or now >= self._next:
            self._next = now + 0.2
            self.callback(ImportProgress(self.file, done, self.total, rows))


def _read_csv(path: Path, encoding: str | None, progress: _Progress | None = None) -> tuple[Rows, str]:
    """The CSV rows as a stream (the whole file is never held: see :data:`MAX_LIST_BYTES`)."""
    _check_size(path)
    enc = detect_encoding(path, encoding)
    with path.open(encoding=enc, newline="") as f:
        delimiter = _delimiter("".join(itertools.islice(f, 30)))

    def rows() -> Rows:
        with path.open("rb") as raw, io.TextIOWrapper(raw, encoding=enc, newline="") as f:
            reader = csv.reader(f, delimiter=delimiter)
            i = 0
            try:
                for i, row in enumerate(reader, start=1):
                    if progress is not None and not i % 1024:
                        progress(raw.tell(), i)
                    yield i, [text_cell(v) for v in row]
            except csv.Error as exc:  # e.g. a field over the csv module's limit: the file is damaged
                raise ListFileError(
                    Detail("csv_malformed", line=reader.line_num, error=str(exc)),
                    field="file",
                    code="csv_malformed",
                ) from None
            if progress is not None:
                progress(raw.tell(), i, final=True)

    return rows(), enc


def _read_xlsx(path: Path, progress: _Progress | None = None) -> Iterator[tuple[str, Rows]]:
    """Each sheet's rows, streamed by openpyxl's read-only mode.

    ``reset_dimensions()`` matters: read-only mode otherwise trusts the ``<dimension>`` the
    writing program declared, and a file that declares ``A1:R3`` over 500 rows of data
    silently loses 497 people. Every row that exists is read.
    """
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException...
        raise ListFileError(
            Detail("xlsx_unreadable", error=type(exc).__name__), field="file", code="xlsx_unreadable"
        ) from None
    try:
        for ws in wb.worksheets:
            reset = getattr(ws, "reset_dimensions", None)
            if reset is not None:
                reset()

            def rows(ws: Any = ws) -> Rows:
                for n, row in enumerate(ws.iter_rows(), start=1):
                    cells = [
                        xlsx_cell(getattr(c, "value", None), getattr(c, "number_format", None)) for c in row
                    ]
                    rownum = next((c.row for c in row if getattr(c, "row", None)), n)
                    if progress is not None and not n % 1024:
                        progress(n, n)
                    yield int(rownum or n), cells

            yield ws.title, rows()
    finally:
        wb.close()


def xls_cell(value: object, ctype: int, number_format: str | None, datemode: int) -> Cell:
    """An xlrd cell (old ``.xls``) as a :class:`Cell`: same rules as :func:`xlsx_cell`."""
    import xlrd

    if ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return EMPTY
    if ctype == xlrd.XL_CELL_BOOLEAN:
        return xlsx_cell(bool(value), None)
    if ctype == xlrd.XL_CELL_DATE and isinstance(value, float):
        try:
            return xlsx_cell(xlrd.xldate_as_datetime(value, 1 if datemode else 0), None)
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return xlsx_cell(value, number_format)
    if ctype == xlrd.XL_CELL_NUMBER and isinstance(value, float):
        # .xls stores every number as a float; a whole number typed as 1500000 is 1500000.0.
        # It stays a float cell so identifiers typed as numbers are refused as they are for .xlsx.
        return xlsx_cell(value, number_format)
    return xlsx_cell(value, number_format)


def _read_xls(path: Path, progress: _Progress | None = None) -> Iterator[tuple[str, Rows]]:
    """Each sheet of an old Excel 97-2003 ``.xls`` file (xlrd reads the whole file; it is small)."""
    _check_size(path)
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True)
    except Exception as exc:  # xlrd.XLRDError, CompDocError, struct.error...
        raise ListFileError(
            Detail("xls_unreadable", error=type(exc).__name__), field="file", code="xls_unreadable"
        ) from None
    try:
        for idx in range(book.nsheets):
            sheet = book.sheet_by_index(idx)

            def fmt(xf_index: int) -> str | None:
                try:
                    xf = book.xf_list[xf_index]
                    return str(book.format_map[xf.format_key].format_str)
                except (IndexError, KeyError, AttributeError):
                    return None

            def rows(sheet: Any = sheet, fmt: Callable[[int], str | None] = fmt) -> Rows:
                for r in range(sheet.nrows):
                    cells = [
                        xls_cell(
                            sheet.cell_value(r, c),
                            sheet.cell_type(r, c),
                            fmt(sheet.cell_xf_index(r, c)),
                            book.datemode,
                        )
                        for c in range(sheet.ncols)
                    ]
                    if progress is not None and not (r + 1) % 1024:
                        progress(r + 1, r + 1)
                    yield r + 1, cells

            yield sheet.name, rows()
            book.unload_sheet(idx)
    finally:
        book.release_resources()


# --------------------------------------------------------------------------- row parsing


class _RowErrors:
    def __init__(self, file: str, row: int, headers: dict[str, str]) -> None:
        self.file, self.row, self.headers = file, row, headers
        self.items: list[Rejection] = []
        self.warnings: list[str] = []

    def label(self, column: str) -> str:
        return self.headers.get(column) or COLUMN_LABELS.get(column, column)

    def add(self, column: str, code: str, reason: str) -> None:
        self.items.append(Rejection(self.file, self.row, self.label(column), code, reason))

    def guard(self, column: str, fn: Callable[[], T], locs: dict[str, str] | None = None) -> T | None:
        """Run ``fn``; file every validation error under the right column; None on failure."""
        try:
            return fn()
        except ValidationError as exc:
            self.add(column, exc.code, exc.detail)
        except pydantic.ValidationError as exc:
            for loc, code, message in unwrap(exc):
                col = (locs or {}).get(loc, column)
                self.add(col, code, message)
        return None


def unwrap(exc: pydantic.ValidationError) -> list[tuple[str, str, str]]:
    """(first location, code, detail) of each error, with our validators' own code and detail.

    pydantic wraps a ValueError raised in a validator; the original is in ``ctx["error"]``.
    pydantic's own checks (a length limit) keep its English message as their English detail;
    a check without words of ours is ``invalid``, pydantic's type in its detail.
    """
    out: list[tuple[str, str, str]] = []
    for err in exc.errors():
        loc = str(err["loc"][0]) if err.get("loc") else ""
        ctx = err.get("ctx") or {}
        inner = ctx.get("error")
        if isinstance(inner, ValidationError):
            out.append((loc if loc else (inner.field or ""), inner.code, inner.detail))
            continue
        kind, message = str(err.get("type", "invalid")), str(err.get("msg", "invalid value"))
        if kind == "string_too_long":
            out.append((loc, kind, Detail("string_too_long", message=message, max=ctx.get("max_length"))))
        elif kind == "string_too_short":
            out.append((loc, kind, Detail("string_too_short", message=message, min=ctx.get("min_length"))))
        else:
            out.append((loc, "invalid", Detail("invalid.pydantic", message=message, type=kind)))
    return out


_SCIENTIFIC = re.compile(r"^[0-9]+(?:[.,][0-9]+)?[eE][+-]?[0-9]+$")
_FLOATISH = re.compile(r"^[0-9]+[.,]0+$")


def _identifier(errs: _RowErrors, column: str, cell: Cell, *, expected_len: int | None = None) -> str | None:
    """An identifier cell as text, or an error if Excel damaged it (never repaired by guessing)."""
    if cell.empty:
        return None
    if _SCIENTIFIC.match(cell.text) or (
        cell.number and isinstance(cell.raw, float) and not cell.padded and abs(cell.raw) >= 1e15
    ):
        errs.add(column, "excel_scientific", Detail("excel_scientific", column=column))
        return None
    if _FLOATISH.match(cell.text) or (cell.number and isinstance(cell.raw, float) and not cell.padded):
        errs.add(column, "excel_number", Detail("excel_number", column=column))
        return None
    digits = "".join(cell.text.split())
    lost_zero = False
    if column in ("cccd", "recipient_cccd"):
        lost_zero = digits.isdigit() and len(digits) in (10, 11) and not digits.startswith("0")
        if cell.number and not cell.padded:
            lost_zero = True
    elif column == "phone":
        lost_zero = len(digits) == 9 and is_mobile_number(digits)
    elif column == "account_number" and cell.number and not cell.padded:
        errs.add(column, "excel_number", Detail("excel_number.account"))
        return None
    if lost_zero:
        errs.add(column, "leading_zero_lost", Detail("leading_zero_lost", column=column))
        return None
    return cell.text


def _admin_code(errs: _RowErrors, column: str, cell: Cell, width: int) -> str | None:
    """An administrative unit code (province 2, district 3, commune 5 digits).

    Why so strict: the commune code becomes the cash payment point of every fallback, and
    an Excel number column turns commune 00004 into 4 without a word.
    """
    if cell.empty:
        return None
    text = "".join(cell.text.split())
    if not text.isdigit() or len(text) > width:
        errs.add(
            column,
            "admin_code_format",
            Detail("admin_code_format", column=errs.label(column), width=width, value=cell.text),
        )
        return None
    if len(text) < width:
        errs.add(
            column,
            "leading_zero_lost",
            Detail("leading_zero_lost.admin_code", column=errs.label(column), value=cell.text, width=width),
        )
        return None
    return text


_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%Y/%m/%d")


def parse_date(cell: Cell, field_name: str) -> date | None:
    if cell.empty:
        return None
    if isinstance(cell.raw, date):
        return cell.raw
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(cell.text.split(" ")[0], fmt).date()
        except ValueError:
            continue
    raise ValidationError(Detail("date_format", value=cell.text), field=field_name, code="date_format")


_PERIOD_A = re.compile(r"^(?:thang|ky|t)?\s*(\d{1,2})\s*[/\-.]\s*(\d{4})$")
_PERIOD_B = re.compile(r"^(\d{4})\s*[/\-.]\s*(\d{1,2})$")


def parse_period(cell: Cell) -> str:
    """``2026-11``, ``11/2026``, ``T11/2026``, ``Tháng 11/2026`` -> ``2026-11``."""
    if isinstance(cell.raw, date):
        return f"{cell.raw.year:04d}-{cell.raw.month:02d}"
    text = fold(cell.text)
    m = _PERIOD_A.match(text)
    if m:
        month, year = int(m.group(1)), int(m.group(2))
    else:
        m = _PERIOD_B.match(text)
        if not m:
            raise ValidationError(Detail("period.list", value=cell.text), field="period", code="period")
        year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        raise ValidationError(Detail("period.month", value=cell.text), field="period", code="period")
    return f"{year:04d}-{month:02d}"


def parse_programme(text: str, programmes: Programmes | None = None) -> str:
    return (programmes or _builtin_programmes()).resolve(text)


def slug(text: str, max_len: int = 32) -> str:
    return "_".join(_NON_ALNUM.sub(" ", fold(text)).split())[:max_len]


class _Row:
    def __init__(self, cells: dict[str, Cell]) -> None:
        self.cells = cells

    def __getitem__(self, column: str) -> Cell:
        return self.cells.get(column, EMPTY)


def build_request(row: _Row, errs: _RowErrors, defaults: ListDefaults, source: str) -> PayoutRequest | None:
    """One row -> one PayoutRequest, or None with every problem recorded in ``errs``."""
    # -- who
    for col in ("full_name", "cccd", "amount"):
        if row[col].empty:
            errs.add(col, "required", Detail("required", column=errs.label(col)))
    cccd = _identifier(errs, "cccd", row["cccd"])
    birth = errs.guard("birth_date", lambda: parse_date(row["birth_date"], "birth_date"))
    commune = _admin_code(errs, "commune_code", row["commune_code"], 5) or (
        slug(row["commune_name"].text) if not row["commune_name"].empty else ""
    )
    commune = commune or (defaults.commune_code or "")
    _admin_code(errs, "district_code", row["district_code"], 3)  # checked here, mapped by placement
    province = _admin_code(errs, "province_code", row["province_code"], 2) or defaults.province_code
    beneficiary = None
    if cccd and not row["full_name"].empty:
        beneficiary = errs.guard(
            "cccd",
            lambda: Beneficiary(
                cccd=cccd,
                full_name=row["full_name"].text,
                birth_date=birth,
                commune_code=commune or None,
                province_code=province or None,
            ),
            {
                "cccd": "cccd",
                "full_name": "full_name",
                "birth_date": "birth_date",
                "commune_code": "commune_code",
                "province_code": "province_code",
            },
        )
    # -- what, when
    programme = defaults.programme
    if not row["programme"].empty:
        programme = parse_programme(row["programme"].text, defaults.programmes)
        if defaults.programme and programme != defaults.programme:
            errs.add(
                "programme",
                "programme_mismatch",
                Detail("programme_mismatch", programme=programme, run=defaults.programme),
            )
    if not programme:
        errs.add("programme", "required", Detail("required.programme"))
    period = defaults.period
    if not row["period"].empty:
        parsed = errs.guard("period", lambda: parse_period(row["period"]))
        if parsed and defaults.period and parsed != defaults.period:
            errs.add(
                "period", "period_mismatch", Detail("period_mismatch", period=parsed, run=defaults.period)
            )
        period = parsed or period
    if not period:
        errs.add("period", "required", Detail("required.period"))
    amount = None
    if not row["amount"].empty:
        amount = errs.guard(
            "amount", lambda: parse_vnd(row["amount"].raw if row["amount"].number else row["amount"].text)
        )
    # -- who receives
    recipient = _recipient(row, errs)
    # -- where
    destination = _destination(row, errs, commune)
    if errs.items or beneficiary is None or destination is None or amount is None or recipient is None:
        return None
    fallback = None
    if destination.kind in ELECTRONIC_KINDS and commune:
        fallback = CashPickup(payment_point=commune, point_type="commune")
    return errs.guard(
        "amount",
        lambda: PayoutRequest(
            programme=programme,
            period=period,
            beneficiary=beneficiary,
            recipient=recipient,
            destination=destination,
            amount=amount,
            cash_fallback=fallback,
            source=source[:200],
        ),
        {"programme": "programme", "period": "period", "amount": "amount", "destination": "method"},
    )


def _recipient(row: _Row, errs: _RowErrors) -> Recipient | None:
    names = ("recipient_name", "recipient_cccd", "authorisation_ref")
    if all(row[c].empty for c in names):
        return Recipient()
    kind_text = fold(row["recipient_kind"].text + " " + row["recipient_relation"].text)
    kind = (
        RecipientKind.GUARDIAN
        if ("giam ho" in kind_text or "guardian" in kind_text)
        else RecipientKind.AUTHORISED
    )
    rcccd = _identifier(errs, "recipient_cccd", row["recipient_cccd"])
    if rcccd is None and not row["recipient_cccd"].empty:
        return None
    valid_until = errs.guard(
        "authorisation_valid_until",
        lambda: parse_date(row["authorisation_valid_until"], "authorisation_valid_until"),
    )
    return errs.guard(
        "recipient_name",
        lambda: Recipient(
            kind=kind,
            cccd=rcccd,
            full_name=row["recipient_name"].text or None,
            relation=row["recipient_relation"].text or None,
            authorisation_ref=row["authorisation_ref"].text or None,
            authorisation_valid_until=valid_until,
        ),
        {
            "cccd": "recipient_cccd",
            "full_name": "recipient_name",
            "relation": "recipient_relation",
            "authorisation_ref": "authorisation_ref",
            "recipient": "authorisation_ref",
        },
    )


def _method(row: _Row, errs: _RowErrors) -> str | None:
    text = fold(row["method"].text)
    if text:
        kind = METHODS.get(text) or METHODS.get(_NON_ALNUM.sub(" ", text).strip())
        if kind is None:
            errs.add("method", "method_unknown", Detail("method_unknown", value=row["method"].text))
        return kind
    # No method written: the data says it (an account and a bank -> bank...), noted as a warning.
    if not row["account_number"].empty and not row["bank"].empty:
        errs.warnings.append("method_inferred:bank")
        return "bank"
    if not row["wallet_provider"].empty and not row["phone"].empty:
        errs.warnings.append("method_inferred:wallet")
        return "wallet"
    if not row["address"].empty:
        errs.add("method", "required", Detail("required.method"))
        return None
    errs.warnings.append("method_inferred:cash_pickup")
    return "cash_pickup"


def _destination(row: _Row, errs: _RowErrors, commune: str) -> Any:
    kind = _method(row, errs)
    if kind is None:
        return None
    locs = {
        "account_number": "account_number",
        "bank_bin": "bank",
        "phone": "phone",
        "provider": "wallet_provider",
        "address": "address",
        "payment_point": "payment_point",
        "special_case": "special_case",
    }
    point = row["payment_point"].text or commune
    if kind in ELECTRONIC_KINDS:
        missing = {"bank": "account_number", "postal_account": "account_number", "wallet": "phone"}[kind]
        if row[missing].empty:
            # No account: paid in cash at the commune payment point, as the rules require.
            errs.warnings.append(f"no_account:{kind}")
            kind = "cash_pickup"
    if kind == "bank":
        account = _identifier(errs, "account_number", row["account_number"])
        if row["bank"].empty:
            errs.add("bank", "required", Detail("required.bank"))
            return None
        bank = errs.guard("bank", lambda: resolve_bank(row["bank"].text))
        if account is None or bank is None:
            return None
        return errs.guard(
            "account_number", lambda: BankAccount(bank_bin=bank.bin, account_number=account), locs
        )
    if kind == "postal_account":
        account = _identifier(errs, "account_number", row["account_number"])
        if account is None:
            return None
        return errs.guard("account_number", lambda: PostalAccount(account_number=account), locs)
    if kind == "wallet":
        phone = _identifier(errs, "phone", row["phone"])
        provider_text = fold(row["wallet_provider"].text) or fold(row["method"].text)
        provider = WALLETS.get(provider_text) or WALLETS.get(_NON_ALNUM.sub(" ", provider_text).strip())
        if provider is None:
            errs.add(
                "wallet_provider",
                "wallet_provider_unknown",
                Detail("wallet_provider_unknown", value=row["wallet_provider"].text or row["method"].text),
            )
            return None
        if phone is None:
            return None
        return errs.guard("phone", lambda: Wallet(provider=provider, phone=phone), locs)
    if kind in ("cash_pickup", "cash_post_office"):
        if not point:
            errs.add("commune_code", "required", Detail("required.cash_point"))
            return None
        ptype = "post_office" if kind == "cash_post_office" else "commune"
        return errs.guard("payment_point", lambda: CashPickup(payment_point=point, point_type=ptype), locs)
    # cash_home
    if row["address"].empty:
        errs.add("address", "required", Detail("required.address"))
        return None
    phone = None
    if not row["phone"].empty:
        phone = _identifier(errs, "phone", row["phone"])
        if phone is None:
            return None
    return errs.guard(
        "address",
        lambda: CashHome(
            address=row["address"].text, phone=phone, special_case=row["special_case"].text or None
        ),
        locs,
    )


# --------------------------------------------------------------------------- entry points

#: File types read as lists (a directory is read for these, sorted by name).
LIST_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls")


def list_files(paths: Iterable[str | Path]) -> list[Path]:
    """The list files named by ``paths``: files as given, directories' list files sorted."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(x for x in p.iterdir() if x.suffix.lower() in LIST_SUFFIXES))
        else:
            out.append(p)
    return out


def _total_row(cells: Iterable[Cell]) -> bool:
    for c in cells:
        if c.text:
            t = fold(c.text)
            return t.startswith(("tong cong", "tong so", "cong", "total"))
    return False


def _import_table(
    display: str,
    kind: str,
    encoding: str | None,
    rows: Rows,
    defaults: ListDefaults,
    files: list[FileInfo],
) -> Iterator[ListRow | Rejection]:
    """One table's rows as requests and rejections, read as they come (nothing is kept)."""
    head = list(itertools.islice(rows, 30))
    hdr = _header_row([cells for _, cells in head])
    if hdr is None:
        if not any(not c.empty for _, cells in head for c in cells) and not any(
            not c.empty for _, cells in rows for c in cells
        ):
            return  # an empty sheet (Excel adds Sheet2, Sheet3)
        files.append(FileInfo(display, kind, encoding))
        yield Rejection(display, 0, COLUMN_LABELS["full_name"], "no_header", Detail("no_header"))
        return
    info = FileInfo(display, kind, encoding)
    files.append(info)
    header_num, header_cells = head[hdr]
    info.header_row = header_num
    index: dict[int, str] = {}
    for i, c in enumerate(header_cells):
        if not c.text:
            continue
        col = _HEADER_INDEX.get(header_key(c.text))
        if col is None:
            info.unknown_columns.append(c.text)
        elif col in info.columns:
            yield Rejection(
                display,
                header_num,
                c.text,
                "duplicate_column",
                Detail("duplicate_column", column=COLUMN_LABELS[col]),
            )
            return
        else:
            info.columns[col] = c.text
            index[i] = col
    for rownum, cells in itertools.chain(head[hdr + 1 :], rows):
        if all(c.empty for c in cells):
            continue
        mapped = {col: cells[i] for i, col in index.items() if i < len(cells)}
        if mapped.get("cccd", EMPTY).empty and _total_row(cells):
            info.skipped_rows.append(rownum)
            continue
        info.rows_read += 1
        errs = _RowErrors(display, rownum, info.columns)
        req = build_request(_Row(mapped), errs, defaults, f"{display}:{rownum}")
        if req is None or errs.items:
            if not errs.items:  # pragma: no cover - every None path records a reason
                errs.add("full_name", "invalid", Detail("invalid"))
            yield from errs.items
            continue
        district = "".join(mapped.get("district_code", EMPTY).text.split()) or None
        yield ListRow(req, display, rownum, tuple(errs.warnings), district)


def iter_file(
    path: str | Path,
    defaults: ListDefaults | None = None,
    *,
    encoding: str | None = None,
    files: list[FileInfo] | None = None,
    progress: ProgressCallback | None = None,
) -> Iterator[ListRow | Rejection]:
    """Stream one list file's valid rows and rejections, in file order.

    Raises :class:`ListFileError` (or ``OSError``) when the file cannot be read, possibly
    after some rows were given: a damaged file is refused whole, so the caller drops what
    it already took from it. ``files`` receives one :class:`FileInfo` per table read
    (its ``rows_read`` grows as rows are read).
    """
    path = Path(path)
    defaults = defaults or ListDefaults()
    files = files if files is not None else []
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        bar = _Progress(progress, path.name, path.stat().st_size)
        rows, enc = _read_csv(path, encoding, bar)
        yield from _import_table(path.name, "csv", enc, rows, defaults, files)
    elif suffix in (".xlsx", ".xlsm"):
        bar = _Progress(progress, path.name, None)
        for title, sheet in _read_xlsx(path, bar):
            yield from _import_table(f"{path.name}[{title}]", "xlsx", None, sheet, defaults, files)
    elif suffix == ".xls":
        bar = _Progress(progress, path.name, None)
        for title, sheet in _read_xls(path, bar):
            yield from _import_table(f"{path.name}[{title}]", "xls", None, sheet, defaults, files)
    else:
        raise ListFileError(Detail("file_type", suffix=suffix), field="file", code="file_type")


def _refused_file(path: Path, exc: Exception) -> ImportResult:
    """The whole file as one row-0 rejection (what it was, and why it cannot be read)."""
    r = ImportResult()
    if isinstance(exc, ListFileError):
        r.files.append(FileInfo(path.name, path.suffix.lower().lstrip("."), None))
        r.rejected.append(Rejection(path.name, 0, "(file)", exc.code, exc.detail))
    else:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        r.rejected.append(
            Rejection(path.name, 0, "(file)", "file_unreadable", Detail("file_unreadable", error=reason))
        )
    return r


def import_file(
    path: str | Path,
    defaults: ListDefaults | None = None,
    *,
    encoding: str | None = None,
    progress: ProgressCallback | None = None,
) -> ImportResult:
    """Read one list file (``.csv``/``.txt``/``.xlsx``/``.xls``) into memory.

    File problems become a row-0 rejection. For big lists use :class:`SpilledImport`,
    which keeps the rows on disk.
    """
    path = Path(path)
    result = ImportResult()
    try:
        for item in iter_file(path, defaults, encoding=encoding, files=result.files, progress=progress):
            if isinstance(item, ListRow):
                result.rows.append(item)
            else:
                result.rejected.append(item)
    except (ListFileError, OSError) as exc:
        return _refused_file(path, exc)
    return result


def import_lists(
    paths: Iterable[str | Path],
    defaults: ListDefaults | None = None,
    *,
    encoding: str | None = None,
    progress: ProgressCallback | None = None,
) -> ImportResult:
    """Read several list files into memory (a directory is read for its list files, sorted)."""
    result = ImportResult()
    for f in list_files(paths):
        result.extend(import_file(f, defaults, encoding=encoding, progress=progress))
    return result


# --------------------------------------------------------------------------- progress


@contextlib.contextmanager
def import_bar(
    enabled: bool | None = None, *, console: Any = None, lang: str = "vi"
) -> Iterator[ProgressCallback | None]:
    """A rich progress bar on stderr for reading lists, as a :data:`ProgressCallback`.

    ``enabled`` defaults to "stderr is a terminal": a bar in a log file or a pipe is noise.
    Yields None when disabled, so the callers pass it on as "no progress". ``console``: a
    rich Console to draw on instead of stderr. Words in ``lang`` (:mod:`asxh_pay.vocab`).
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from asxh_pay import vocab

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]:>10,} " + vocab.phrase("rows_word", lang)),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def update(p: ImportProgress) -> None:
        task = tasks.get(p.file)
        if task is None:
            task = tasks[p.file] = bar.add_task(p.file, total=p.total, rows=0)
        bar.update(task, completed=p.done, rows=p.rows)

    with bar:
        yield update


# --------------------------------------------------------------------------- big lists on disk


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Turn a SQLite statement aborted by Ctrl-C/SIGTERM back into KeyboardInterrupt.

    Why: a long statement (an index over a million rows) runs in C, where Python's signal
    handlers wait. :class:`SpilledImport` sets a progress handler, so the handler runs
    inside the statement; its KeyboardInterrupt aborts the statement, and sqlite3 reports
    that as ``OperationalError("interrupted")``.
    """
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "interrupt" in str(exc):
            raise KeyboardInterrupt from None
        raise


def _let_signals_in() -> int:
    return 0


_SEP = "\x1f"


def what_is_paid(request: PayoutRequest) -> str:
    """What two rows of one entitlement must agree on to be one payout (see dedupe)."""
    return _SEP.join(
        (
            str(request.amount),
            request.destination.model_dump_json(),
            request.recipient.kind.value,
            request.recipient.cccd or "",
        )
    )


class _RejectedView:
    """The spilled rejections, read back in file order (a Sequence-like, lazily)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __iter__(self) -> Iterator[Rejection]:
        with interruptible():
            cur = self._db.execute("SELECT file, row, col, code, reason FROM rejected ORDER BY seq")
            while batch := cur.fetchmany(2048):
                for file, row, col, code, reason in batch:
                    yield Rejection(file, row, col, code, load_detail(reason))

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM rejected").fetchone()[0])

    def __bool__(self) -> bool:
        return self._db.execute("SELECT 1 FROM rejected LIMIT 1").fetchone() is not None


#: The columns :func:`row_from_db` takes, in its order.
ROW_COLUMNS = "data, file, row, warnings, district"


def row_from_db(data: str, file: str, row: int, warnings: str, district: str | None = None) -> ListRow:
    """A row read back from a spill file: the request was validated before it was spilled
    (STORED: the checks are not run again; preparing reads each row back three times)."""
    return ListRow(
        PayoutRequest.model_validate_json(data, context=STORED),
        file,
        row,
        tuple(warnings.split(_SEP)) if warnings else (),
        district,
    )


class SpilledImport:
    """An import whose rows and rejections wait in a temporary SQLite file, not in memory.

    Why: a million-row list held as validated requests takes gigabytes. Here each row is
    validated, written to disk and forgotten; de-duplication then works on the small
    per-row keys kept beside it (:func:`asxh_pay.payroll.dedupe.dedupe_spilled`). The file
    is deleted by :meth:`close` (or the ``with`` block).
    """

    BATCH = 2000

    def __init__(self, directory: Path | None = None) -> None:
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f"asxh-import-{os.getpid()}-", suffix=".sqlite", dir=directory)
        os.close(fd)
        self.path = Path(name)
        self.db = sqlite3.connect(name)
        self.db.executescript(
            """
            PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-16000;
            PRAGMA temp_store=FILE;
            CREATE TABLE rows (seq INTEGER PRIMARY KEY, src INTEGER, gkey TEXT, bcccd TEXT, rcccd TEXT,
                               paid TEXT, file TEXT, row INTEGER, warnings TEXT, data TEXT,
                               district TEXT, commune TEXT, province TEXT, programme TEXT);
            CREATE TABLE rejected (seq INTEGER PRIMARY KEY, src INTEGER, file TEXT, row INTEGER, col TEXT,
                                   code TEXT, reason TEXT);  -- reason: vocab.dump_detail
            """
        )
        self.db.set_progress_handler(_let_signals_in, 20_000)
        self.files: list[FileInfo] = []
        self._src = 0

    # -- reading
    def add(
        self,
        path: str | Path,
        defaults: ListDefaults | None = None,
        *,
        encoding: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        """Read one file into the store; a file refused midway leaves none of its rows."""
        path = Path(path)
        src = self._src
        self._src += 1
        files: list[FileInfo] = []
        rows: list[tuple[Any, ...]] = []
        rejected: list[tuple[Any, ...]] = []
        try:
            for item in iter_file(path, defaults, encoding=encoding, files=files, progress=progress):
                if isinstance(item, ListRow):
                    req = item.request
                    rows.append(
                        (
                            src,
                            _SEP.join((req.programme, req.period, req.beneficiary.cccd)),
                            req.beneficiary.cccd,
                            req.recipient.cccd,
                            what_is_paid(req),
                            item.file,
                            item.row,
                            _SEP.join(item.warnings),
                            req.model_dump_json(),
                            item.district_code,
                            req.beneficiary.commune_code,
                            req.beneficiary.province_code,
                            req.programme,
                        )
                    )
                    if len(rows) >= self.BATCH:
                        self._flush(rows, rejected)
                else:
                    rejected.append(
                        (src, item.file, item.row, item.column, item.code, dump_detail(item.reason))
                    )
                    if len(rejected) >= self.BATCH:
                        self._flush(rows, rejected)
            self._flush(rows, rejected)
        except (ListFileError, OSError) as exc:
            self.db.execute("DELETE FROM rows WHERE src = ?", (src,))
            self.db.execute("DELETE FROM rejected WHERE src = ?", (src,))
            refused = _refused_file(path, exc)
            self.files.extend(refused.files)
            self._flush(
                [], [(src, r.file, r.row, r.column, r.code, dump_detail(r.reason)) for r in refused.rejected]
            )
            return
        self.files.extend(files)

    def add_all(
        self,
        paths: Iterable[str | Path],
        defaults: ListDefaults | None = None,
        *,
        encoding: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> SpilledImport:
        for f in list_files(paths):
            self.add(f, defaults, encoding=encoding, progress=progress)
        return self

    def _flush(self, rows: list[tuple[Any, ...]], rejected: list[tuple[Any, ...]]) -> None:
        with interruptible(), self.db:
            if rows:
                self.db.executemany(
                    "INSERT INTO rows (src, gkey, bcccd, rcccd, paid, file, row, warnings, data, district, "
                    "commune, province, programme) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            if rejected:
                self.db.executemany(
                    "INSERT INTO rejected (src, file, row, col, code, reason) VALUES (?, ?, ?, ?, ?, ?)",
                    rejected,
                )
        rows.clear()
        rejected.clear()

    # -- results (the same names as ImportResult's)
    @property
    def rejected(self) -> _RejectedView:
        return _RejectedView(self.db)

    @property
    def rejected_rows(self) -> int:
        q = "SELECT count(*) FROM (SELECT DISTINCT file, row FROM rejected)"
        return int(self.db.execute(q).fetchone()[0])

    @property
    def row_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM rows").fetchone()[0])

    def rows(self) -> Iterator[ListRow]:
        with interruptible():
            cur = self.db.execute(f"SELECT {ROW_COLUMNS} FROM rows ORDER BY seq")
            while batch := cur.fetchmany(1024):
                for values in batch:
                    yield row_from_db(*values)

    def rows_with_seq(self, where: str = "1") -> Iterator[tuple[int, ListRow]]:
        """(row id in the store, row) in list order, for the steps that rewrite or drop rows."""
        with interruptible():
            cur = self.db.execute(f"SELECT seq, {ROW_COLUMNS} FROM rows WHERE {where} ORDER BY seq")
            while batch := cur.fetchmany(1024):
                for seq, *values in batch:
                    yield seq, row_from_db(*values)

    def reject(self, rejections: Iterable[Rejection]) -> None:
        """Add rejections found after the import (they go to rejected.csv with the others)."""
        self._flush([], [(-1, r.file, r.row, r.column, r.code, dump_detail(r.reason)) for r in rejections])

    def drop(self, seqs: Iterable[int]) -> None:
        with interruptible(), self.db:
            self.db.executemany("DELETE FROM rows WHERE seq = ?", [(s,) for s in seqs])

    def replace(self, changed: Iterable[tuple[int, ListRow]]) -> None:
        """Store rewritten rows (same person, programme and period; place or destination changed)."""
        with interruptible(), self.db:
            self.db.executemany(
                "UPDATE rows SET data = ?, paid = ?, commune = ?, province = ? WHERE seq = ?",
                [
                    (
                        r.request.model_dump_json(),
                        what_is_paid(r.request),
                        r.request.beneficiary.commune_code,
                        r.request.beneficiary.province_code,
                        seq,
                    )
                    for seq, r in changed
                ],
            )

    def close(self) -> None:
        self.db.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> SpilledImport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
