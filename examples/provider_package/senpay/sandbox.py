"""SenPay's sandbox: the same wire format with a published test secret.

The last four digits of the account number (or wallet phone) decide: ``0001`` BAD_ACCOUNT,
``0002`` CLOSED, ``0003`` FROZEN, ``0004`` a lookup answers another holder's name; anything
else is paid. ``holders`` sets the name a lookup answers for an account.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx

from asxh_pay.identity import fold
from asxh_pay.sandbox.base import Operation, PaymentState, SandboxPayment, SandboxProvider
from asxh_pay.signing import HmacKey, timestamped_message
from asxh_pay.webhooks import signed_payload
from senpay.adapter import SenPayProvider, encode

SANDBOX_SECRET = "senpay-sandbox-secret-published-with-the-example"
SANDBOX_MERCHANT = "ASXH-TEST"
SANDBOX_URL = "https://senpay.sandbox.invalid"
DECLINES = {"0001": "BAD_ACCOUNT", "0002": "CLOSED", "0003": "FROZEN"}
_TRANSFER = re.compile(r"^/api/transfers/([0-9A-Za-z_.-]{1,64})$")
STATES = {"processing": "pending", "succeeded": "paid", "failed": "failed", "returned": "returned"}


def account_of(to: dict[str, Any]) -> str:
    return str(to.get("account_number") or to.get("phone") or "")


class SenPaySandbox(SandboxProvider):
    name = "senpay"

    def __init__(
        self,
        *,
        secret: str = SANDBOX_SECRET,
        callback_url: str = "http://127.0.0.1/callbacks/senpay",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.key = HmacKey(secret)
        self.callback_url = callback_url
        self.holders: dict[str, str] = {}

    def signed(self, status: int, body: dict[str, Any]) -> httpx.Response:
        raw, ts = encode(body), str(int(time.time()))
        sign = self.key.sign(timestamped_message(ts, raw)).hex()
        headers = {"Content-Type": "application/json", "Sen-Time": ts, "Sen-Sign": sign}
        return httpx.Response(status, content=raw, headers=headers)

    def _authentic(self, request: httpx.Request) -> bool:
        ts = request.headers.get("Sen-Time", "")
        try:
            self.key.verify(
                timestamped_message(ts, request.content), bytes.fromhex(request.headers["Sen-Sign"])
            )
            return abs(time.time() - float(ts)) <= 300
        except Exception:
            return False

    def route(self, request: httpx.Request) -> Operation | httpx.Response:
        if not self._authentic(request):
            return self.signed(401, {"error": "BAD_SIGNATURE"})
        path = request.url.path
        if request.method == "GET" and (m := _TRANSFER.match(path)):
            return Operation("status", key=m.group(1))
        try:
            body = json.loads(request.content) if request.method == "POST" else None
        except ValueError:
            return self.signed(400, {"error": "BAD_REQUEST"})
        if isinstance(body, dict) and path == "/api/transfers" and isinstance(body.get("transfer_id"), str):
            return Operation("pay", key=body["transfer_id"], fields=body)
        if isinstance(body, dict) and path == "/api/lookup":
            return Operation("lookup", fields=body)
        return self.signed(404, {"error": "NO_ROUTE"})

    def validate_pay(self, op: Operation) -> httpx.Response | None:
        amount = op.fields.get("amount")
        if not isinstance(amount, int) or not 10_000 <= amount <= 50_000_000:
            return self.signed(422, {"error": "AMOUNT_LIMIT"})
        return None

    def decide(self, op: Operation) -> tuple[PaymentState, str | None]:
        code = DECLINES.get(account_of(op.fields.get("to") or {})[-4:])
        return (PaymentState.FAILED, code) if code else (PaymentState.SUCCEEDED, None)

    def transfer(self, payment: SandboxPayment) -> dict[str, Any]:
        failed = payment.state in (PaymentState.FAILED, PaymentState.RETURNED)
        return {
            "transfer_id": payment.key,
            "tx": payment.ref,
            "state": STATES.get(payment.state.value, "failed"),
            "amount": payment.amount,
            "error": payment.reason_code if failed else None,
        }

    def render_payment(self, op: Operation, payment: SandboxPayment, *, created: bool) -> httpx.Response:
        return self.signed(201 if created else 200, self.transfer(payment))

    def render_not_found(self, op: Operation) -> httpx.Response:
        return self.signed(404, {"error": "UNKNOWN_TRANSFER"})

    def render_conflict(self, op: Operation, payment: SandboxPayment) -> httpx.Response:
        return self.signed(409, {"error": "TRANSFER_ID_REUSED"})

    def handle_other(self, op: Operation) -> httpx.Response:
        if op.kind != "lookup":
            return super().handle_other(op)
        account = account_of(op.fields.get("to") or {})
        if account[-4:] in ("0001", "0002"):
            return self.signed(200, {"found": False, "holder_name": None})
        holder = (
            "TRAN THI KHAC" if account[-4:] == "0004" else self.holders.get(account, op.fields.get("holder"))
        )
        return self.signed(200, {"found": True, "holder_name": fold(str(holder)).upper()})

    def build_callback(self, payment: SandboxPayment, event_id: str) -> httpx.Request:
        body, ts = encode({"event": event_id, "transfer": self.transfer(payment)}), int(time.time())
        sign = self.key.sign(signed_payload(event_id, ts, body)).hex()
        headers = {
            "Content-Type": "application/json",
            "Sen-Event": event_id,
            "Sen-Time": str(ts),
            "Sen-Sign": sign,
        }
        return httpx.Request("POST", self.callback_url, content=body, headers=headers)


def senpay_sandbox_provider(base_url: str = SANDBOX_URL, **overrides: Any) -> SenPayProvider:
    """The adapter holding the sandbox's published credentials (refused off a sandbox address)."""
    return SenPayProvider(base_url, **{"secret": SANDBOX_SECRET, "merchant": SANDBOX_MERCHANT, **overrides})
