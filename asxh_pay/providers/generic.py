"""A generic JSON payout provider: the reference adapter and the template for new ones.

It is not a real provider's API. It is the smallest realistic one: JSON over HTTPS,
HMAC-SHA256 request signing over ``"<timestamp>." + raw body`` (``X-Timestamp``,
``X-Signature`` hex), the idempotency key in an ``Idempotency-Key`` header *and* the
body's ``reference`` (so the provider deduplicates), signed responses, and Standard
Webhooks-style callbacks (``X-Event-Id``, ``X-Timestamp``, ``X-Signature`` over
``"<id>.<timestamp>." + body``). Copy this module to start a new adapter.

Wire format::

    POST /v1/payouts                  {reference, amount, currency, destination, recipient, purpose, metadata}
    GET  /v1/payouts/{reference}      -> {id, reference, status, reason_code, message} | 404
    POST /v1/payouts/{reference}/cancel
    POST /v1/inquiries                {destination, name} -> {exists, holder_name}
    callback                          {event_id, type: "payout.updated", payout: {...}}

``status`` is processing | succeeded | failed | returned | cancelled.
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

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

#: The provider's reason codes and what they mean to the library.
REASONS: dict[str, FailureReason] = {
    "INVALID_ACCOUNT": FailureReason.INVALID_ACCOUNT,
    "ACCOUNT_CLOSED": FailureReason.ACCOUNT_CLOSED,
    "ACCOUNT_BLOCKED": FailureReason.ACCOUNT_BLOCKED,
    "NAME_MISMATCH": FailureReason.NAME_MISMATCH,
    "LIMIT_EXCEEDED": FailureReason.LIMIT_EXCEEDED,
    "INSUFFICIENT_FUNDS": FailureReason.INSUFFICIENT_FUNDS,
    "RECEIVER_NOT_VERIFIED": FailureReason.RECEIVER_NOT_VERIFIED,
    "RETURNED": FailureReason.RETURNED_BY_BANK,
    "CANCELLED": FailureReason.CANCELLED_BY_OPERATOR,
    "INVALID_REQUEST": FailureReason.REJECTED_BY_PROVIDER,
}
#: Codes that mean "nothing was done, try again later".
RETRYABLE_CODES = frozenset({"TRY_AGAIN", "SYSTEM_BUSY"})

_STATUS = {
    "processing": ProviderOutcome.ACCEPTED,
    "succeeded": ProviderOutcome.SUCCEEDED,
    "failed": ProviderOutcome.FAILED,
    "returned": ProviderOutcome.RETURNED,
    "cancelled": ProviderOutcome.CANCELLED,
}


def payout_body(payout: Payout) -> dict[str, Any]:
    """The JSON body of a pay request; deterministic for a payout."""
    req = payout.request
    return {
        "reference": payout.idempotency_key,
        "amount": req.amount,
        "currency": "VND",
        "destination": req.destination.model_dump(mode="json", exclude_none=True),
        "recipient": {"name": req.recipient_name, "id": req.recipient_cccd},
        "purpose": f"{req.programme} {req.period}",
        "metadata": {
            "programme": req.programme,
            "period": req.period,
            "beneficiary_id": req.beneficiary.cccd,
        },
    }


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


class GenericProvider(ProviderAdapter):
    name: ClassVar[str] = "generic"
    capabilities: ClassVar[Capabilities] = Capabilities(
        destinations=frozenset({"bank", "wallet", "postal_account", "cash_pickup", "cash_home"}),
        inquiry=True,
        cancel=True,
        callbacks=True,
        dedupes_by_key=True,
        min_amount=1,
        max_amount=500_000_000,
    )

    def __init__(
        self,
        base_url: str,
        *,
        secret: SecretStr | str,
        callback_tolerance_s: float = 300,
        name: str | None = None,
    ) -> None:
        """No credential defaults: the sandbox's come from
        :func:`asxh_pay.sandbox.generic.generic_sandbox_provider`."""
        super().__init__(base_url)
        self.refuse_sandbox_credentials(secret)
        if name:
            self.name = name  # type: ignore[misc]
        self._key = HmacKey(secret if isinstance(secret, SecretStr) else SecretStr(secret))
        self._tolerance_s = callback_tolerance_s
        self._auth = SignatureAuth(
            self._key, header="X-Signature", encoding="hex", timestamp_header="X-Timestamp"
        )
        self._callbacks = CallbackVerifier(
            self._key, tolerance_s=callback_tolerance_s, replay_guard=ReplayGuard(), signed_prefix=True
        )

    def auth(self) -> httpx.Auth:
        return self._auth

    # -- requests ------------------------------------------------------------

    def build_submit(self, payout: Payout) -> httpx.Request:
        return httpx.Request(
            "POST",
            self.endpoint("/v1/payouts"),
            content=encode(payout_body(payout)),
            headers={"Content-Type": "application/json", "Idempotency-Key": payout.idempotency_key},
        )

    def build_status(self, payout: Payout) -> httpx.Request:
        return httpx.Request("GET", f"{self.base_url}/v1/payouts/{payout.idempotency_key}")

    def build_cancel(self, payout: Payout) -> httpx.Request:
        return httpx.Request(
            "POST",
            f"{self.base_url}/v1/payouts/{payout.idempotency_key}/cancel",
            content=b"{}",
            headers={"Content-Type": "application/json"},
        )

    def build_inquiry(self, payout: Payout) -> httpx.Request:
        req = payout.request
        body = {
            "destination": req.destination.model_dump(mode="json", exclude_none=True),
            "name": req.recipient_name,
        }
        return httpx.Request(
            "POST",
            self.endpoint("/v1/inquiries"),
            content=encode(body),
            headers={"Content-Type": "application/json"},
        )

    # -- responses -----------------------------------------------------------

    def _verified_json(self, response: httpx.Response) -> dict[str, Any]:
        sig = response.headers.get("X-Signature", "")
        ts = response.headers.get("X-Timestamp", "")
        try:
            self._key.verify(timestamped_message(ts, response.content), bytes.fromhex(sig))
        except (SignatureError, ValueError):
            raise ProviderProtocolError(
                f"{self.name}: response signature does not verify", http_status=response.status_code
            ) from None
        # A genuinely signed but old response is a replay: refuse it like a forged one.
        try:
            age = abs(time.time() - float(ts))
        except ValueError:
            age = float("inf")
        if age > self._tolerance_s:
            raise ProviderProtocolError(
                f"{self.name}: response timestamp outside {self._tolerance_s:g}s",
                http_status=response.status_code,
            )
        return read_json(response, provider=self.name)

    def _result(self, data: dict[str, Any]) -> ProviderResult:
        status = require(data, "status", str, provider=self.name)
        outcome = _STATUS.get(status)
        if outcome is None:
            raise ProviderProtocolError(f"{self.name}: unknown payout status {status!r}")
        code = data.get("reason_code")
        if code is not None and not isinstance(code, str):
            raise ProviderProtocolError(f"{self.name}: reason_code has the wrong type")
        reason = None
        if outcome in (ProviderOutcome.FAILED, ProviderOutcome.RETURNED, ProviderOutcome.CANCELLED):
            reason = REASONS.get(code or "", FailureReason.UNKNOWN)
        ref = require(data, "id", str, provider=self.name)
        # The amount echoed back is compared with the amount sent by the core.
        amount = echoed_amount(data, "amount", provider=self.name)
        return ProviderResult(outcome, provider_ref=ref, reason=reason, code=code, amount=amount)

    def parse_submit(self, payout: Payout, response: httpx.Response) -> ProviderResult:
        data = self._verified_json(response)
        if response.status_code in (200, 201):
            if data.get("reference") != payout.idempotency_key:
                raise ProviderProtocolError(f"{self.name}: response is about another payout")
            return self._result(data)
        code = data.get("error_code") or data.get("error")
        if code in RETRYABLE_CODES:
            raise ProviderUnavailable(
                f"{self.name}: {code}", http_status=response.status_code, provider_code=code
            )
        if response.status_code == 422 and isinstance(code, str):
            return ProviderResult(
                ProviderOutcome.FAILED,
                reason=REASONS.get(code, FailureReason.REJECTED_BY_PROVIDER),
                code=code,
                message=str(data.get("message", ""))[:200] or None,
            )
        if response.status_code == 409:
            raise ProviderProtocolError(
                f"{self.name}: idempotency conflict at the provider",
                http_status=409,
                provider_code="CONFLICT",
            )
        raise ProviderProtocolError(
            f"{self.name}: unexpected answer {response.status_code}",
            http_status=response.status_code,
            provider_code=str(code) if code else None,
        )

    def parse_status(self, payout: Payout, response: httpx.Response) -> ProviderResult:
        data = self._verified_json(response)
        if response.status_code == 404:
            return ProviderResult(ProviderOutcome.NOT_FOUND)
        if response.status_code != 200:
            raise ProviderProtocolError(
                f"{self.name}: unexpected status answer {response.status_code}",
                http_status=response.status_code,
            )
        if data.get("reference") != payout.idempotency_key:
            raise ProviderProtocolError(f"{self.name}: status answer is about another payout")
        return self._result(data)

    parse_cancel = parse_status

    def parse_inquiry(self, payout: Payout, response: httpx.Response) -> InquiryResult:
        data = self._verified_json(response)
        if response.status_code != 200:
            raise ProviderProtocolError(f"{self.name}: inquiry failed ({response.status_code})")
        exists = require(data, "exists", bool, provider=self.name)
        holder = data.get("holder_name")
        if not exists:
            return InquiryResult(False, reason=FailureReason.INVALID_ACCOUNT, code=data.get("reason_code"))
        if not isinstance(holder, str):
            raise ProviderProtocolError(f"{self.name}: inquiry answer has no holder name")
        return InquiryResult(
            True, holder_name=holder, name_match=match_names(payout.request.recipient_name, holder)
        )

    def parse_callback(self, request: httpx.Request) -> CallbackEvent:
        body = request.content
        try:
            signature = bytes.fromhex(request.headers.get("X-Signature", ""))
            ts_raw = request.headers.get("X-Timestamp")
            timestamp = float(ts_raw) if ts_raw else None
        except ValueError:
            raise WebhookVerificationError(
                "malformed signature or timestamp header", code="invalid"
            ) from None
        self._callbacks.verify(
            body, signature, timestamp=timestamp, callback_id=request.headers.get("X-Event-Id")
        )
        try:
            data = json.loads(body)
            payout_data = data["payout"]
            event_id = data["event_id"]
            if not isinstance(payout_data, dict) or not isinstance(event_id, str):
                raise TypeError
            result = self._result(payout_data)
        except (ValueError, KeyError, TypeError, ProviderProtocolError) as exc:
            raise WebhookVerificationError(
                f"malformed callback body ({type(exc).__name__})", code="malformed"
            ) from None
        if event_id != request.headers.get("X-Event-Id"):
            raise WebhookVerificationError("callback id in body and header differ", code="invalid")
        return CallbackEvent(
            callback_id=event_id,
            idempotency_key=payout_data.get("reference"),
            provider_ref=result.provider_ref,
            result=result,
        )
