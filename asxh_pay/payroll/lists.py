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

import csv
import functools
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import pydantic

from asxh_pay.banks import resolve_bank
from asxh_pay.errors import ValidationError
from asxh_pay.identity import fold as _fold_uncached
from asxh_pay.models import (
    ELECTRONIC_KINDS,
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
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "reason": self.reason,
        }


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


def _plausible_vietnamese(text: str) -> bool:
    """True when every non-ASCII character is a Vietnamese letter or common punctuation."""
    for ch in text:
        if ch.isascii():
            if ch < " " and ch not in "\r\n\t":
                return False
            continue
        if ch in _VN_PUNCT:
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
                f"file is not valid {encoding}: {exc}", field="file", code="encoding"
            ) from None
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return unicodedata.normalize("NFC", data[3:].decode("utf-8")), "utf-8-sig"
        except UnicodeDecodeError:
            raise ListFileError(
                "file starts with a UTF-8 mark but is not valid UTF-8", field="file", code="encoding"
            ) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return unicodedata.normalize("NFC", data.decode("utf-16")), "utf-16"
        except UnicodeDecodeError:
            raise ListFileError("file is not valid UTF-16", field="file", code="encoding") from None
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
    raise ListFileError(
        "file encoding not recognised (not UTF-8, UTF-16 or Windows-1258 Vietnamese): save it as "
        "'CSV UTF-8' or give --encoding",
        field="file",
        code="encoding_unknown",
    )


# --------------------------------------------------------------------------- reading tables


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


def _read_csv(path: Path, encoding: str | None) -> tuple[list[tuple[int, list[Cell]]], str]:
    if path.stat().st_size > MAX_LIST_BYTES:
        raise ListFileError(
            f"file larger than {MAX_LIST_BYTES // (1024 * 1024)} MiB: not a commune list",
            field="file",
            code="file_too_large",
        )
    text, enc = decode_bytes(path.read_bytes(), encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        return [(i, [text_cell(v) for v in row]) for i, row in enumerate(reader, start=1)], enc
    except csv.Error as exc:  # e.g. a field over the csv module's limit: the file is damaged
        raise ListFileError(
            f"malformed CSV at line {reader.line_num}: {exc}", field="file", code="csv_malformed"
        ) from None


def _read_xlsx(path: Path) -> Iterator[tuple[str, list[tuple[int, list[Cell]]]]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException...
        raise ListFileError(
            f"cannot open the Excel file ({type(exc).__name__})", field="file", code="xlsx_unreadable"
        ) from None
    try:
        for ws in wb.worksheets:
            rows: list[tuple[int, list[Cell]]] = []
            for row in ws.iter_rows():
                cells = [xlsx_cell(getattr(c, "value", None), getattr(c, "number_format", None)) for c in row]
                rownum = next((c.row for c in row if getattr(c, "row", None)), len(rows) + 1)
                rows.append((int(rownum or len(rows) + 1), cells))
            yield ws.title, rows
    finally:
        wb.close()


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
    """(first location, code, message) of each error, with our validators' own code.

    pydantic wraps a ValueError raised in a validator; the original is in ``ctx["error"]``.
    """
    out = []
    for err in exc.errors():
        loc = str(err["loc"][0]) if err.get("loc") else ""
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, ValidationError):
            out.append((loc if loc else (inner.field or ""), inner.code, inner.detail))
        else:
            out.append((loc, str(err.get("type", "invalid")), str(err.get("msg", "invalid value"))))
    return out


_SCIENTIFIC = re.compile(r"^[0-9]+(?:[.,][0-9]+)?[eE][+-]?[0-9]+$")
_FLOATISH = re.compile(r"^[0-9]+[.,]0+$")


def _identifier(errs: _RowErrors, column: str, cell: Cell, *, expected_len: int | None = None) -> str | None:
    """An identifier cell as text, or an error if Excel damaged it (never repaired by guessing)."""
    if cell.empty:
        return None
    what = {
        "cccd": "CCCD",
        "recipient_cccd": "CCCD",
        "account_number": "account number",
        "phone": "phone number",
    }
    name = what.get(column, column)
    if _SCIENTIFIC.match(cell.text) or (
        cell.number and isinstance(cell.raw, float) and not cell.padded and abs(cell.raw) >= 1e15
    ):
        errs.add(
            column,
            "excel_scientific",
            f"{name} is in scientific notation (Excel turned it into a number and dropped digits); "
            "format the column as Text and enter it again",
        )
        return None
    if _FLOATISH.match(cell.text) or (cell.number and isinstance(cell.raw, float) and not cell.padded):
        errs.add(
            column,
            "excel_number",
            f"{name} was stored as a decimal number; format the column as Text and enter it again",
        )
        return None
    digits = "".join(cell.text.split())
    lost_zero = False
    if column in ("cccd", "recipient_cccd"):
        lost_zero = digits.isdigit() and len(digits) in (10, 11) and not digits.startswith("0")
        if cell.number and not cell.padded:
            lost_zero = True
    elif column == "phone":
        lost_zero = digits.isdigit() and len(digits) == 9 and digits[0] in "35789"
    elif column == "account_number" and cell.number and not cell.padded:
        errs.add(
            column,
            "excel_number",
            "account number was stored as a number by Excel, so leading zeros may be lost; "
            "format the column as Text and enter it again",
        )
        return None
    if lost_zero:
        errs.add(
            column,
            "leading_zero_lost",
            f"{name} seems to have lost its leading zero (an Excel number column); "
            "format the column as Text and enter it again",
        )
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
            column, "admin_code_format", f"{errs.label(column)} must be {width} digits, got {cell.text!r}"
        )
        return None
    if len(text) < width:
        errs.add(
            column,
            "leading_zero_lost",
            f"{errs.label(column)} {cell.text!r} is shorter than {width} digits (an Excel number column "
            "drops leading zeros); format the column as Text and enter it again",
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
    raise ValidationError(f"date {cell.text!r} is not dd/mm/yyyy", field=field_name, code="date_format")


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
            raise ValidationError(f"pay period {cell.text!r} is not MM/YYYY", field="period", code="period")
        year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        raise ValidationError(f"pay period {cell.text!r} has no such month", field="period", code="period")
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
            errs.add(col, "required", f"{errs.label(col)} is empty")
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
                f"row is for programme {programme}, this run pays {defaults.programme}",
            )
    if not programme:
        errs.add("programme", "required", "programme (NCC/BTXH/HTXH) is missing and no default was given")
    period = defaults.period
    if not row["period"].empty:
        parsed = errs.guard("period", lambda: parse_period(row["period"]))
        if parsed and defaults.period and parsed != defaults.period:
            errs.add(
                "period", "period_mismatch", f"row is for period {parsed}, this run pays {defaults.period}"
            )
        period = parsed or period
    if not period:
        errs.add("period", "required", "pay period is missing and no default was given")
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
            errs.add(
                "method",
                "method_unknown",
                f"payment method {row['method'].text!r} is not one of: tai khoan ngan hang, vi dien tu, "
                "tai khoan buu dien, nhan tai diem chi tra, nhan tai buu dien, chi tra tai nha",
            )
        return kind
    # No method written: the data says it (an account and a bank -> bank...), noted as a warning.
    if not row["account_number"].empty and not row["bank"].empty:
        errs.warnings.append("method_inferred:bank")
        return "bank"
    if not row["wallet_provider"].empty and not row["phone"].empty:
        errs.warnings.append("method_inferred:wallet")
        return "wallet"
    if not row["address"].empty:
        errs.add(
            "method", "required", "payment method is empty (an address alone does not say home delivery)"
        )
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
            errs.add("bank", "required", "bank is empty for a bank account payment")
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
                f"wallet {row['wallet_provider'].text or row['method'].text!r} is not known "
                "(Viettel Money, MoMo, VNPT Money)",
            )
            return None
        if phone is None:
            return None
        return errs.guard("phone", lambda: Wallet(provider=provider, phone=phone), locs)
    if kind in ("cash_pickup", "cash_post_office"):
        if not point:
            errs.add("commune_code", "required", "no commune or payment point for a cash payment")
            return None
        ptype = "post_office" if kind == "cash_post_office" else "commune"
        return errs.guard("payment_point", lambda: CashPickup(payment_point=point, point_type=ptype), locs)
    # cash_home
    if row["address"].empty:
        errs.add("address", "required", "home delivery needs the address")
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


def _total_row(cells: Iterable[Cell]) -> bool:
    for c in cells:
        if c.text:
            t = fold(c.text)
            return t.startswith(("tong cong", "tong so", "cong", "total"))
    return False


def _import_table(
    display: str, kind: str, encoding: str | None, rows: list[tuple[int, list[Cell]]], defaults: ListDefaults
) -> ImportResult:
    result = ImportResult()
    info = FileInfo(display, kind, encoding)
    result.files.append(info)
    hdr = _header_row([cells for _, cells in rows[:30]])
    if hdr is None:
        result.rejected.append(
            Rejection(
                display,
                0,
                COLUMN_LABELS["full_name"],
                "no_header",
                "no header row with a name and a CCCD column was found",
            )
        )
        return result
    header_num, header_cells = rows[hdr]
    info.header_row = header_num
    index: dict[int, str] = {}
    for i, c in enumerate(header_cells):
        if not c.text:
            continue
        col = _HEADER_INDEX.get(header_key(c.text))
        if col is None:
            info.unknown_columns.append(c.text)
        elif col in info.columns:
            result.rejected.append(
                Rejection(
                    display,
                    header_num,
                    c.text,
                    "duplicate_column",
                    f"two columns mean {COLUMN_LABELS[col]!r}; remove one",
                )
            )
            return result
        else:
            info.columns[col] = c.text
            index[i] = col
    for rownum, cells in rows[hdr + 1 :]:
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
                errs.add("full_name", "invalid", "row could not be read")
            result.rejected.extend(errs.items)
            continue
        district = "".join(mapped.get("district_code", EMPTY).text.split()) or None
        result.rows.append(ListRow(req, display, rownum, tuple(errs.warnings), district))
    return result


def import_file(
    path: str | Path, defaults: ListDefaults | None = None, *, encoding: str | None = None
) -> ImportResult:
    """Read one list file (``.csv``/``.txt``/``.xlsx``); file problems become a row-0 rejection."""
    path = Path(path)
    defaults = defaults or ListDefaults()
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv"):
            rows, enc = _read_csv(path, encoding)
            return _import_table(path.name, "csv", enc, rows, defaults)
        if suffix in (".xlsx", ".xlsm"):
            result = ImportResult()
            for title, rows in _read_xlsx(path):
                if not any(not c.empty for _, cells in rows for c in cells):
                    continue  # an empty sheet (Excel adds Sheet2, Sheet3)
                result.extend(_import_table(f"{path.name}[{title}]", "xlsx", None, rows, defaults))
            return result
        raise ListFileError(
            f"unsupported list file type {suffix!r} (use .csv or .xlsx)", field="file", code="file_type"
        )
    except ListFileError as exc:
        r = ImportResult()
        r.files.append(FileInfo(path.name, suffix.lstrip("."), None))
        r.rejected.append(Rejection(path.name, 0, "(file)", exc.code, exc.detail))
        return r
    except OSError as exc:
        r = ImportResult()
        r.rejected.append(
            Rejection(path.name, 0, "(file)", "file_unreadable", f"cannot read file: {exc.strerror}")
        )
        return r


def import_lists(
    paths: Iterable[str | Path], defaults: ListDefaults | None = None, *, encoding: str | None = None
) -> ImportResult:
    """Read several list files (a directory is read for its .csv/.xlsx files, sorted)."""
    result = ImportResult()
    for p in paths:
        p = Path(p)
        files = sorted(x for x in p.iterdir() if x.suffix.lower() in (".csv", ".xlsx")) if p.is_dir() else [p]
        for f in files:
            result.extend(import_file(f, defaults, encoding=encoding))
    return result
