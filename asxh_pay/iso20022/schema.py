"""Check a document against the official ISO 20022 XSD vendored in ``xsd/``.

Why streaming validation (``iterparse(schema=...)`` with elements cleared as
they end): the files we check are the ones we write, up to a million transfers;
parsing them into a tree first would need gigabytes. Why a locked-down parser:
the same function may be pointed at files from outside, and schema loading must
never reach the network.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import BinaryIO, cast

from lxml import etree

from asxh_pay.iso20022.errors import SchemaValidationError, UnexpectedMessage

#: Messages whose XSD ships with the library.
SUPPORTED_SCHEMAS = (
    "pain.001.001.03",
    "pain.001.001.09",
    "pain.002.001.03",
    "pain.002.001.10",
    "pain.002.001.12",
    "camt.053.001.02",
    "camt.053.001.08",
    "camt.054.001.02",
    "camt.054.001.08",
)
_MAX_REPORTED = 5


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@cache
def load_schema(message: str) -> etree.XMLSchema:
    """The compiled XSD for ``message`` (e.g. ``"pain.001.001.09"``), compiled once per process."""
    if message not in SUPPORTED_SCHEMAS:
        raise UnexpectedMessage(f"no schema shipped for {message!r}; have {', '.join(SUPPORTED_SCHEMAS)}")
    data = resources.files("asxh_pay.iso20022").joinpath("xsd").joinpath(f"{message}.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(data, _safe_parser()))


def validate(path_or_bytes: str | Path | bytes | BinaryIO, message: str) -> None:
    """Raise :class:`SchemaValidationError` unless the document is valid for ``message``.

    ``str`` and ``Path`` are file paths; ``bytes`` is the document itself. The
    error message lists the first few schema errors with their line numbers.
    """
    schema = load_schema(message)
    source: str | BinaryIO
    if isinstance(path_or_bytes, bytes):
        source = io.BytesIO(path_or_bytes)
    elif isinstance(path_or_bytes, Path):
        source = str(path_or_bytes)
    else:
        source = path_or_bytes
    etree.clear_error_log()  # the log is per thread and would carry errors of earlier calls
    try:
        for _event, elem in etree.iterparse(
            source,
            events=("end",),
            schema=schema,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
        ):
            # Free what is done; keep the root chain so validation context survives.
            elem.clear()
            parent = elem.getparent()
            if parent is not None:
                while elem.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        errors = [
            (f"line {e.line}: {e.message}" if e.line else e.message)
            for e in cast("Iterable[etree._LogEntry]", exc.error_log)
        ][:_MAX_REPORTED] or [str(exc)]
        raise SchemaValidationError(
            f"document is not a valid {message}: " + "; ".join(errors), errors
        ) from None
