"""Log lines for people (text) or for a log pipeline (JSON), masked the same way.

Why JSON lines: a province ships the logs of ``asxh-pay run``, the workers and ``asxh-pay
serve`` to one place and asks "everything about run R" or "payout P at rail X"; with the
ids as fields that is a filter, not a grep over free text.

Fields of a JSON line: ``ts`` (UTC, ISO 8601), ``level``, ``logger``, ``message`` and,
when known, ``run_id``, ``payout_id`` and ``rail``; ``exc`` for a traceback. The ids come
from, in order: the record's ``extra`` (``log.info(..., extra={"rail": "momo"})``), the
context bound with :func:`log_context` (a run binds its id, the callback endpoint its
rail), and for ``payout_id`` the one payout id the message names. Messages and
tracebacks pass through :class:`asxh_pay.masking.MaskingFilter` first: a CCCD, phone or
account number in a message is masked in JSON exactly as in text.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Literal

from asxh_pay.masking import MaskingFilter, install_masking, mask_text

__all__ = ["FIELDS", "JsonFormatter", "configure_logging", "log_context"]

FIELDS = ("run_id", "payout_id", "rail")
_CONTEXT: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "asxh_pay_log_context", default=None
)
_PAYOUT_ID = re.compile(r"\bpo_[0-9a-f]{8,40}\b")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@contextlib.contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Add ``run_id``/``payout_id``/``rail`` to every log line emitted inside the block
    (by this task and the tasks it starts)."""
    current = dict(_CONTEXT.get() or {})
    current.update({k: str(v) for k, v in fields.items() if v is not None})
    token = _CONTEXT.set(current)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


_ONLY_DIGITS = re.compile(r"[\d .\-+]+")


def _id_field(value: str) -> str:
    """An id as it is (run ids carry dates and times: digits that are not personal data),
    unless it is nothing but digits, as a CCCD, phone or account passed by mistake would be."""
    return mask_text(value) if _ONLY_DIGITS.fullmatch(value) else value[:100]


class JsonFormatter(logging.Formatter):
    """One JSON object per line; the message already masked by :class:`MaskingFilter`."""

    def format(self, record: logging.LogRecord) -> str:
        message = mask_text(record.getMessage())
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
        }
        context = _CONTEXT.get() or {}
        for name in FIELDS:
            value = getattr(record, name, None) or context.get(name)
            if value is None and name == "payout_id":
                found = set(_PAYOUT_ID.findall(message))
                value = found.pop() if len(found) == 1 else None
            if value is None and name == "rail":
                value = getattr(record, "provider", None)
            if value is not None:
                line[name] = _id_field(str(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = mask_text(record.exc_text)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(
    fmt: Literal["text", "json"] = "text", *, level: int = logging.WARNING, stream: Any = None
) -> logging.Handler:
    """Send the process's logs to ``stream`` (stderr) as text or JSON lines, masked.

    Replaces the handler an earlier call installed (``main`` may run more than once in a
    process, as in tests); handlers someone else added (pytest's, an application's) stay.
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(MaskingFilter())
    handler._asxh_pay = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_asxh_pay", False):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    install_masking(root)
    return handler
