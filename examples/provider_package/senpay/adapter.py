"""SenPay: a small JSON payout API (invented for this example), and its asxh_pay adapter.

Wire format (JSON over HTTPS; every request and answer signed with HMAC-SHA256 over
``"<Sen-Time>." + raw body``, hex in ``Sen-Sign``)::

    POST /api/transfers           {transfer_id, merchant, amount, currency, to, holder, note}
                                  -> 201 new | 200 known: {transfer_id, tx, state, amount, error}
                                  -> 422 {error: CODE} refused, nothing booked
    GET  /api/transfers/{id}      -> 200 {...} | 404 {error: "UNKNOWN_TRANSFER"}
    POST /api/lookup              {to, holder} -> {found, holder_name}
    callback (to the merchant)    {event, transfer: {...}}; Sen-Event, Sen-Time, Sen-Sign over
                                  "<event>.<time>." + body

``transfer_id`` is the idempotency key: SenPay answers a repeated one with the original.
``state`` is pending | paid | failed | returned. Everything here is assumed (no real API).
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

import httpx

from asxh_pay.errors import (
    ProviderProtocolError,
    ProviderUnavailable,
    SignatureError,
    WebhookVerificationError,
)
from asxh_pay.identity import match_names
from asxh_pay.models import Payout
from asxh_pay.providers.base import (
    CallbackEvent,
    Capabilities,
    InquiryResult,
    ProviderAdapter,
    ProviderOutcome,
    ProviderResult,
    echoed_amount,
    read_json,
    require,
)
from asxh_pay.signing import HmacKey, SignatureAuth, timestamped_message
from asxh_pay.status import FailureReason
from asxh_pay.webhooks import CallbackVerifier, ReplayGuard

REASONS = {
    "BAD_ACCOUNT": FailureReason.INVALID_ACCOUNT,
    "CLOSED": FailureReason.ACCOUNT_CLOSED,
    "FROZEN": FailureReason.ACCOUNT_BLOCKED,
    "AMOUNT_LIMIT": FailureReason.LIMIT_EXCEEDED,
    "RETURNED": FailureReason.RETURNED_BY_BANK,
}
STATES = {
    "pending": ProviderOutcome.ACCEPTED,
    "paid": ProviderOutcome.SUCCEEDED,
    "failed": ProviderOutcome.FAILED,
    "returned": ProviderOutcome.RETURNED,
}


def encode(body: dict[str, Any]) -> bytes:
    """Canonical JSON: the same payout always gives the same bytes."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def destination(payout: Payout) -> dict[str, Any]:
    return payout.request.destination.model_dump(mode="json", exclude_none=True)


class SenPayProvider(ProviderAdapter):
    name: ClassVar[str] = "senpay"
    capabilities: ClassVar[Capabilities] = Capabilities(
        destinations=frozenset({"bank", "wallet"}),
        inquiry=True,
        callbacks=True,
        min_amount=10_000,
        max_amount=50_000_000,
    )

    def __init__(self, base_url: str, *, secret: str, merchant: str, tolerance_s: float = 300) -> None:
        super().__init__(base_url)
        self.refuse_sandbox_credentials(secret)
        self.merchant = merchant
        self._key = HmacKey(secret)
        self._tolerance_s = tolerance_s
        self._auth = SignatureAuth(self._key, header="Sen-Sign", encoding="hex", timestamp_header="Sen-Time")
        self._callbacks = CallbackVerifier(
            self._key, tolerance_s=tolerance_s, replay_guard=ReplayGuard(), signed_prefix=True
        )

    def auth(self) -> httpx.Auth:
        return self._auth

    def _post(self, path: str, body: dict[str, Any]) -> httpx.Request:
        headers = {"Content-Type": "application/json"}
        return httpx.Request("POST", self.endpoint(path), content=encode(body), headers=headers)

    def build_submit(self, payout: Payout) -> httpx.Request:
        req = payout.request
        body = {
            "transfer_id": payout.idempotency_key,
            "merchant": self.merchant,
            "amount": req.amount,
            "currency": "VND",
            "to": destination(payout),
            "holder": req.recipient_name,
            "note": f"{req.programme} {req.period}",
        }
        return self._post("/api/transfers", body)

    def build_status(self, payout: Payout) -> httpx.Request:
        return httpx.Request("GET", f"{self.base_url}/api/transfers/{payout.idempotency_key}")

    def build_inquiry(self, payout: Payout) -> httpx.Request:
        return self._post("/api/lookup", {"to": destination(payout), "holder": payout.request.recipient_name})

    def _verified(self, response: httpx.Response) -> dict[str, Any]:
        ts = response.headers.get("Sen-Time", "")
        try:
            self._key.verify(
                timestamped_message(ts, response.content), bytes.fromhex(response.headers["Sen-Sign"])
            )
            fresh = abs(time.time() - float(ts)) <= self._tolerance_s
        except (SignatureError, ValueError, KeyError):
            raise ProviderProtocolError(f"{self.name}: answer signature does not verify") from None
        if not fresh:
            raise ProviderProtocolError(f"{self.name}: answer signed outside {self._tolerance_s:g}s")
        return read_json(response, provider=self.name)

    def _result(self, payout: Payout | None, data: dict[str, Any]) -> ProviderResult:
        transfer_id = require(data, "transfer_id", str, provider=self.name)
        if payout is not None and transfer_id != payout.idempotency_key:
            raise ProviderProtocolError(f"{self.name}: answer is about another transfer")
        outcome = STATES.get(require(data, "state", str, provider=self.name))
        if outcome is None:
            raise ProviderProtocolError(f"{self.name}: unknown transfer state")
        code = data.get("error")
        if code is not None and not isinstance(code, str):
            raise ProviderProtocolError(f"{self.name}: error code has the wrong type")
        final_bad = outcome in (ProviderOutcome.FAILED, ProviderOutcome.RETURNED)
        return ProviderResult(
            outcome,
            provider_ref=require(data, "tx", str, provider=self.name),
            reason=REASONS.get(code or "", FailureReason.UNKNOWN) if final_bad else None,
            code=code,
            amount=echoed_amount(data, "amount", provider=self.name),
        )

    def parse_submit(self, payout: Payout, response: httpx.Response) -> ProviderResult:
        data = self._verified(response)
        if response.status_code in (200, 201):
            return self._result(payout, data)
        code = data.get("error")
        if code == "BUSY":
            raise ProviderUnavailable(
                f"{self.name}: busy", http_status=response.status_code, provider_code=code
            )
        if response.status_code == 422 and code in REASONS:
            return ProviderResult(ProviderOutcome.FAILED, reason=REASONS[code], code=code)
        raise ProviderProtocolError(f"{self.name}: unexpected answer {response.status_code}")

    def parse_status(self, payout: Payout, response: httpx.Response) -> ProviderResult:
        data = self._verified(response)
        if response.status_code == 404 and data.get("error") == "UNKNOWN_TRANSFER":
            return ProviderResult(ProviderOutcome.NOT_FOUND)
        if response.status_code != 200:
            raise ProviderProtocolError(f"{self.name}: unexpected status answer {response.status_code}")
        return self._result(payout, data)

    def parse_inquiry(self, payout: Payout, response: httpx.Response) -> InquiryResult:
        data = self._verified(response)
        if response.status_code != 200:
            raise ProviderProtocolError(f"{self.name}: lookup failed ({response.status_code})")
        if not require(data, "found", bool, provider=self.name):
            return InquiryResult(False, reason=FailureReason.INVALID_ACCOUNT)
        holder = require(data, "holder_name", str, provider=self.name)
        return InquiryResult(
            True, holder_name=holder, name_match=match_names(payout.request.recipient_name, holder)
        )

    def parse_callback(self, request: httpx.Request) -> CallbackEvent:
        event_id = request.headers.get("Sen-Event")
        try:
            signature = bytes.fromhex(request.headers.get("Sen-Sign", ""))
            timestamp = float(request.headers["Sen-Time"]) if "Sen-Time" in request.headers else None
        except ValueError:
            raise WebhookVerificationError("malformed Sen-Sign or Sen-Time", code="invalid") from None
        self._callbacks.verify(request.content, signature, timestamp=timestamp, callback_id=event_id)
        try:
            data = json.loads(request.content)
            if data["event"] != event_id or not isinstance(data["transfer"], dict):
                raise ValueError
            result = self._result(None, data["transfer"])
        except (ValueError, KeyError, TypeError, ProviderProtocolError):
            raise WebhookVerificationError("malformed callback body", code="malformed") from None
        assert event_id is not None  # verify() requires it
        return CallbackEvent(event_id, data["transfer"]["transfer_id"], result.provider_ref, result)
