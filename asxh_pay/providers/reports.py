"""Providers' settlement reports: what each wallet and the post office say they paid.

Why reports and not the providers' APIs one payout at a time: reconciliation asks "what
did you pay this month?", and every payment provider answers that with a transaction
file per day (a CSV or JSON download from the partner portal or an API, as the public
gateways do: WeChat Pay's ``downloadbill``, Alipay/Antom's ``*_fptrade_YYYYMMDD.csv``,
PayerMax's daily files). Reconciling against the file, not against our own view of the
provider, finds what we never heard of (``unknown_to_ledger``).

None of the three providers publishes its disbursement reconciliation file; each shape
below is an assumption in the vocabulary of that provider's API (the same field and
status names as its adapter), documented so that an integrator holding the real
specification changes this module alone. Amounts are whole VND (an integer, no
separators); a non-integer amount refuses the whole file.

=============  ======  ==========================================================
provider       format  shape
=============  ======  ==========================================================
momo           CSV     ``partnerCode,orderId,transId,amount,resultCode,status,responseTime``;
                       ``status`` SUCCESS | FAILED | REVERSED | CANCELLED | PENDING
viettel_money  JSON    ``{"partnerCode", "fromDate", "toDate", "transactions": [{"orderId",
                       "transId", "amount", "status", "errorCode", "transTime"}]}``;
                       ``status`` as the API: SUCCESS | FAILED | REVERSED | CANCELLED |
                       PROCESSING
vnpost         CSV     ``ma_doi_tac,ma_tham_chieu,ma_giao_dich,so_tien,trang_thai,thoi_gian``
                       (partner, our reference, VNPost's id, amount, state, time);
                       ``trang_thai`` DA_CHI (paid) | CHUA_CHI (open) | HOAN_TRA
                       (returned) | TU_CHOI (refused) | HUY (cancelled)
=============  ======  ==========================================================

``orderId`` / ``ma_tham_chieu`` is our idempotency key, as on the wire. Reports are
fetched with ``GET {base_url}/reports/settlement?from=YYYY-MM-DD&to=YYYY-MM-DD``
(:func:`report_request`) carrying the adapter's own request auth where it has one
(Viettel Money's bearer token and signature, VNPost's HMAC; MoMo signs inside request
bodies, so its download goes unsigned and a real MoMo file is given as a file), or given
as files
(``asxh-pay reconcile RUN_ID momo_20261130.csv``), recognised by their header
(:func:`detect`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import httpx

from asxh_pay.errors import ProviderProtocolError


class PaymentState(StrEnum):
    """A payment's state in a provider's own books, as its settlement report states it.

    Defined here, with the reports that carry it, so that a provider module never imports
    a sandbox; the sandboxes (:mod:`asxh_pay.sandbox.base` re-exports it) keep their books
    in the same words.
    """

    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETURNED = "returned"
    CANCELLED = "cancelled"


REPORT_PATH = "/reports/settlement"
PROVIDERS = ("momo", "viettel_money", "vnpost")
MAX_REPORT_BYTES = 256 << 20

_MOMO_HEADER = ["partnerCode", "orderId", "transId", "amount", "resultCode", "status", "responseTime"]
_VNPOST_HEADER = ["ma_doi_tac", "ma_tham_chieu", "ma_giao_dich", "so_tien", "trang_thai", "thoi_gian"]

_MOMO_STATES = {
    "SUCCESS": PaymentState.SUCCEEDED,
    "FAILED": PaymentState.FAILED,
    "REVERSED": PaymentState.RETURNED,
    "CANCELLED": PaymentState.CANCELLED,
    "PENDING": PaymentState.PROCESSING,
}
_VIETTEL_STATES = {
    "SUCCESS": PaymentState.SUCCEEDED,
    "FAILED": PaymentState.FAILED,
    "REVERSED": PaymentState.RETURNED,
    "CANCELLED": PaymentState.CANCELLED,
    "PROCESSING": PaymentState.PROCESSING,
}
_VNPOST_STATES = {
    "DA_CHI": PaymentState.SUCCEEDED,
    "CHUA_CHI": PaymentState.PROCESSING,
    "HOAN_TRA": PaymentState.RETURNED,
    "TU_CHOI": PaymentState.FAILED,
    "HUY": PaymentState.CANCELLED,
}
_TABLES = {"momo": _MOMO_STATES, "viettel_money": _VIETTEL_STATES, "vnpost": _VNPOST_STATES}


@dataclass(frozen=True, slots=True)
class ReportEntry:
    """One line of a provider's report: our key, their id, the amount, where it stands."""

    key: str
    ref: str
    amount: int
    state: PaymentState
    at: str = ""


def _amount(value: Any, provider: str) -> int:
    text = str(value).strip()
    if not text.isdigit():
        raise ProviderProtocolError(f"{provider} report: amount {text[:20]!r} is not whole VND")
    return int(text)


def _state(provider: str, value: Any) -> PaymentState:
    state = _TABLES[provider].get(str(value).strip().upper())
    if state is None:
        raise ProviderProtocolError(f"{provider} report: unknown status {str(value)[:20]!r}")
    return state


def _csv_rows(content: bytes, header: list[str], provider: str) -> list[dict[str, str]]:
    text = content.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or [f.strip() for f in reader.fieldnames] != header:
        raise ProviderProtocolError(f"{provider} report: header is not {','.join(header)}")
    return list(reader)


def parse_report(provider: str, content: bytes) -> list[ReportEntry]:
    """Every line of a report; raises ProviderProtocolError for a file that is not one."""
    if len(content) > MAX_REPORT_BYTES:
        raise ProviderProtocolError(f"{provider} report larger than {MAX_REPORT_BYTES} bytes")
    if provider == "momo":
        return [
            ReportEntry(
                r["orderId"],
                r["transId"],
                _amount(r["amount"], provider),
                _state(provider, r["status"]),
                r["responseTime"],
            )
            for r in _csv_rows(content, _MOMO_HEADER, provider)
        ]
    if provider == "vnpost":
        return [
            ReportEntry(
                r["ma_tham_chieu"],
                r["ma_giao_dich"],
                _amount(r["so_tien"], provider),
                _state(provider, r["trang_thai"]),
                r["thoi_gian"],
            )
            for r in _csv_rows(content, _VNPOST_HEADER, provider)
        ]
    if provider == "viettel_money":
        try:
            data = json.loads(content)
            rows = data["transactions"]
            if not isinstance(rows, list):
                raise TypeError
            return [
                ReportEntry(
                    str(t["orderId"]),
                    str(t.get("transId") or ""),
                    _amount(t["amount"], provider),
                    _state(provider, t["status"]),
                    str(t.get("transTime") or ""),
                )
                for t in rows
            ]
        except (ValueError, KeyError, TypeError):
            raise ProviderProtocolError("viettel_money report: not the documented JSON shape") from None
    raise ProviderProtocolError(f"no settlement report format for provider {provider!r}")


def render_report(provider: str, entries: Iterable[ReportEntry], *, partner_code: str = "") -> bytes:
    """A report in the provider's shape (what the sandboxes publish)."""
    names = {v: k for k, v in _TABLES[provider].items()}
    if provider == "viettel_money":
        rows = [
            {
                "orderId": e.key,
                "transId": e.ref,
                "amount": e.amount,
                "status": names[e.state],
                "errorCode": "",
                "transTime": e.at,
            }
            for e in entries
        ]
        return json.dumps({"partnerCode": partner_code, "transactions": rows}, ensure_ascii=False).encode()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if provider == "momo":
        writer.writerow(_MOMO_HEADER)
        for e in entries:
            code = (
                "0"
                if e.state is PaymentState.SUCCEEDED
                else "1000"
                if e.state is PaymentState.PROCESSING
                else "1001"
            )
            writer.writerow([partner_code, e.key, e.ref, e.amount, code, names[e.state], e.at])
    elif provider == "vnpost":
        writer.writerow(_VNPOST_HEADER)
        for e in entries:
            writer.writerow([partner_code, e.key, e.ref, e.amount, names[e.state], e.at])
    else:
        raise ProviderProtocolError(f"no settlement report format for provider {provider!r}")
    return out.getvalue().encode("utf-8")


def detect(content: bytes) -> str | None:
    """Which provider's report this is (by its header or JSON shape), or None."""
    head = content[:4096].decode("utf-8-sig", errors="replace").lstrip()
    first = head.split("\n", 1)[0].strip()
    if first == ",".join(_MOMO_HEADER):
        return "momo"
    if first == ",".join(_VNPOST_HEADER):
        return "vnpost"
    if head.startswith("{") and '"transactions"' in head:
        return "viettel_money"
    return None


def report_request(base_url: str, start: date, end: date) -> httpx.Request:
    """The report download for ``[start, end]`` (dates in Vietnam time); sign it with the adapter's auth."""
    return httpx.Request(
        "GET",
        base_url.rstrip("/") + REPORT_PATH,
        params={"from": start.isoformat(), "to": end.isoformat()},
    )


def index(entries: Sequence[ReportEntry]) -> dict[str, ReportEntry]:
    """By our key; a key reported twice keeps its last line (the latest state)."""
    return {e.key: e for e in entries}
