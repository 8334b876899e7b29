"""Sandbox of the generic JSON provider (see :mod:`asxh_pay.providers.generic`).

Magic values make outcomes reproducible in tests and demos. The last four digits of
a bank/postal account number or a wallet phone number decide:

=======  =====================================
``0001`` invalid account (``INVALID_ACCOUNT``)
``0002`` account closed
``0003`` account blocked
``0004`` inquiry returns another holder's name
``0005`` limit exceeded at the receiving side
=======  =====================================

Anything else succeeds. ``holders`` can register the name an account belongs to.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
from pydantic import SecretStr

from asxh_pay.identity import fold
from asxh_pay.providers.generic import GenericProvider, encode
from asxh_pay.sandbox import keys
from asxh_pay.sandbox.base import Operation, PaymentState, SandboxPayment, SandboxProvider
from asxh_pay.signing import HmacKey, timestamped_message
from asxh_pay.webhooks import signed_payload

_MAGIC = {
    "0001": "INVALID_ACCOUNT",
    "0002": "ACCOUNT_CLOSED",
    "0003": "ACCOUNT_BLOCKED",
    "0005": "LIMIT_EXCEEDED",
}
_PATH = re.compile(r"^/v1/payouts/([0-9A-Za-z_.-]{1,64})(/cancel)?$")
MAX_BODY = 64 * 1024


def destination_id(dest: dict[str, Any]) -> str:
    return str(dest.get("account_number") or dest.get("phone") or dest.get("payment_point") or "")


class GenericSandbox(SandboxProvider):
    name = "generic"

    def __init__(
        self,
        *,
        secret: SecretStr | str = keys.GENERIC_SANDBOX_SECRET,
        callback_url: str = "http://127.0.0.1/callbacks/generic",
        max_amount: int = 500_000_000,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._key = HmacKey(secret if isinstance(secret, SecretStr) else SecretStr(secret))
        self.callback_url = callback_url
        self.max_amount = max_amount
        self.holders: dict[str, str] = {}
        self.tolerance_s = 300.0

    # -- wire ----------------------------------------------------------------

    def _signed(self, status: int, body: dict[str, Any]) -> httpx.Response:
        raw = encode(body)
        ts = str(int(time.time()))
        sig = self._key.sign(timestamped_message(ts, raw)).hex()
        return httpx.Response(
            status,
            content=raw,
            headers={"Content-Type": "application/json", "X-Timestamp": ts, "X-Signature": sig},
        )

    def _authentic(self, request: httpx.Request) -> bool:
        ts = request.headers.get("X-Timestamp", "")
        try:
            sig = bytes.fromhex(request.headers.get("X-Signature", ""))
            if abs(time.time() - float(ts)) > self.tolerance_s:
                return False
            self._key.verify(timestamped_message(ts, request.content), sig)
        except Exception:
            return False
        return True

    def route(self, request: httpx.Request) -> Operation | httpx.Response:
        if len(request.content) > MAX_BODY:
            return self._signed(413, {"error": "too_large"})
        if not self._authentic(request):
            return self._signed(401, {"error": "bad_signature"})
        path = request.url.path
        if request.method == "POST" and path == "/v1/payouts":
            try:
                body = json.loads(request.content)
                key = body["reference"]
                if request.headers.get("Idempotency-Key") != key:
                    return self._signed(400, {"error": "INVALID_REQUEST", "message": "key mismatch"})
            except (ValueError, KeyError, TypeError):
                return self._signed(400, {"error": "INVALID_REQUEST"})
            return Operation("pay", key=key, fields=body)
        if request.method == "POST" and path == "/v1/inquiries":
            try:
                body = json.loads(request.content)
            except ValueError:
                return self._signed(400, {"error": "INVALID_REQUEST"})
            return Operation("inquiry", fields=body)
        m = _PATH.match(path)
        if m and request.method == "GET" and not m.group(2):
            return Operation("status", key=m.group(1))
        if m and request.method == "POST" and m.group(2):
            return Operation("cancel", key=m.group(1))
        return self._signed(404, {"error": "no_route"})

    def validate_pay(self, op: Operation) -> httpx.Response | None:
        amount = op.fields.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return self._signed(
                422, {"error": "INVALID_REQUEST", "message": "amount must be a positive integer"}
            )
        if amount > self.max_amount:
            return self._signed(422, {"error": "LIMIT_EXCEEDED", "message": "over the per-payout limit"})
        if op.fields.get("currency") != "VND":
            return self._signed(422, {"error": "INVALID_REQUEST", "message": "currency must be VND"})
        return None

    def decide(self, op: Operation) -> tuple[PaymentState, str | None]:
        code = _MAGIC.get(destination_id(op.fields.get("destination", {}))[-4:])
        return (PaymentState.FAILED, code) if code else (PaymentState.SUCCEEDED, None)

    def _payment_json(self, payment: SandboxPayment) -> dict[str, Any]:
        return {
            "id": payment.ref,
            "reference": payment.key,
            "status": payment.state.value,
            "amount": payment.amount,
            "reason_code": payment.reason_code if payment.state is not PaymentState.SUCCEEDED else None,
        }

    def render_payment(self, op: Operation, payment: SandboxPayment, *, created: bool) -> httpx.Response:
        return self._signed(201 if created else 200, self._payment_json(payment))

    def render_not_found(self, op: Operation) -> httpx.Response:
        return self._signed(404, {"error": "not_found"})

    def render_conflict(self, op: Operation, payment: SandboxPayment) -> httpx.Response:
        return self._signed(409, {"error": "idempotency_conflict"})

    def render_unavailable(self, status: int) -> httpx.Response:
        return self._signed(status, {"error": "unavailable"})

    def render_rate_limited(self) -> httpx.Response:
        resp = self._signed(429, {"error": "rate_limited"})
        resp.headers["Retry-After"] = f"{self.faults.retry_after_s:g}"
        return resp

    def handle_other(self, op: Operation) -> httpx.Response:
        if op.kind != "inquiry":
            return super().handle_other(op)
        dest = op.fields.get("destination") or {}
        ident = destination_id(dest)
        if ident[-4:] in ("0001", "0002"):
            return self._signed(200, {"exists": False, "holder_name": None, "reason_code": "INVALID_ACCOUNT"})
        name = str(op.fields.get("name", ""))
        holder = self.holders.get(ident) or name
        if ident[-4:] == "0004":
            holder = "TRAN THI KHAC"
        return self._signed(200, {"exists": True, "holder_name": fold(holder).upper()})

    def build_callback(self, payment: SandboxPayment, event_id: str) -> httpx.Request:
        body = encode({"event_id": event_id, "type": "payout.updated", "payout": self._payment_json(payment)})
        ts = int(time.time())
        sig = self._key.sign(signed_payload(event_id, ts, body)).hex()
        return httpx.Request(
            "POST",
            self.callback_url,
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Event-Id": event_id,
                "X-Timestamp": str(ts),
                "X-Signature": sig,
            },
        )


SANDBOX_URL = "https://generic.sandbox.invalid"


def generic_sandbox_provider(base_url: str = SANDBOX_URL, **kwargs: Any) -> GenericProvider:
    """The generic adapter with the sandbox's published secret: the only way to get one.

    ``kwargs`` may override a credential (a test's forged adapter). Refused at any
    address that is not a sandbox's (see :func:`asxh_pay.providers.base.is_sandbox_url`).
    """
    return GenericProvider(base_url, **{"secret": keys.GENERIC_SANDBOX_SECRET, **kwargs})
