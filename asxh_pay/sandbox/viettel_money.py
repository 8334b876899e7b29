"""Sandbox of Viettel Money disbursement (see :mod:`asxh_pay.providers.viettel_money`).

It plays Viettel: it holds the partner's *public* key to verify each request's
``Signature`` and the bearer token, and Viettel's *private* key to sign responses and
callbacks, on the same wire format as the adapter. Settlement runs on the base's clock.

Magic values (last four digits of the wallet's phone number) make outcomes reproducible:

* ``0001`` no wallet (``W01``); ``0002`` wallet locked (``W02``);
  ``0003`` wallet not verified (``W03``); ``0004`` the holder is someone else (``W04``;
  the inquiry returns the other name);
* ``0005`` settles failed: receiver's limit (``W05``);
* ``0006`` partner balance short (``B01``, retryable; nothing is booked);
* ``0007`` wallet KYC'd on another CCCD (``W06``);
* ``0008`` holder's name one letter off (the inquiry gives a near match).

Anything else succeeds; the holder's name is the requested one unless ``wallets``
registers another.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

from asxh_pay.errors import SignatureError
from asxh_pay.identity import fold
from asxh_pay.providers import viettel_money as wire
from asxh_pay.sandbox import keys
from asxh_pay.sandbox.base import Operation, PaymentState, SandboxPayment, SandboxProvider
from asxh_pay.signing import EcdsaSigner, EcdsaVerifier

MAX_BODY = 64 * 1024
_IMMEDIATE = {"0001": "W01", "0002": "W02", "0003": "W03", "0004": "W04", "0006": "B01", "0007": "W06"}
_STATE = {
    PaymentState.PROCESSING: "PROCESSING",
    PaymentState.SUCCEEDED: "SUCCESS",
    PaymentState.FAILED: "FAILED",
    PaymentState.RETURNED: "REVERSED",
    PaymentState.CANCELLED: "CANCELLED",
}


def other_person(name: str) -> str:
    return "TRAN THI KHAC" if fold(name) != "tran thi khac" else "LE VAN MOT"


def near_name(name: str) -> str:
    """The name with one letter added to the last word: a typical near match."""
    return fold(name).upper() + "H"


class ViettelMoneySandbox(SandboxProvider):
    name = "viettel_money"
    kept_attributes: frozenset[str] | None = frozenset()
    report_provider = "viettel_money"

    def __init__(
        self,
        *,
        token: SecretStr | str = keys.VIETTEL_SANDBOX_TOKEN,
        partner_public_key: ec.EllipticCurvePublicKey | None = None,
        gateway_key: ec.EllipticCurvePrivateKey | None = None,
        callback_url: str = "http://127.0.0.1/callbacks/viettel_money",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("settle_after_s", 2.0)  # wallet credits land within seconds
        super().__init__(**kwargs)
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)
        self._partner = EcdsaVerifier(partner_public_key or keys.viettel_partner_key().public_key())
        self._signer = EcdsaSigner(gateway_key or keys.viettel_gateway_key())
        self.callback_url = callback_url
        #: msisdn -> (holder name, CCCD) for wallets registered by a test or demo.
        self.wallets: dict[str, tuple[str, str | None]] = {}

    # -- signing -------------------------------------------------------------

    def sign(self, raw: bytes) -> str:
        return base64.b64encode(self._signer.sign(raw)).decode()

    def respond(self, status: int, body: dict[str, Any], *, at: float | None = None) -> httpx.Response:
        """A signed answer; ``at`` (Unix seconds) overrides ``responseTime`` (tests)."""
        body = {**body, "responseTime": int((time.time() if at is None else at) * 1000)}
        raw = wire.encode(body)
        return httpx.Response(
            status, content=raw, headers={"Content-Type": "application/json", "Signature": self.sign(raw)}
        )

    def _authentic(self, request: httpx.Request) -> bool:
        auth = request.headers.get("Authorization", "")
        if auth != f"Bearer {self._token.get_secret_value()}":
            return False
        try:
            signature = base64.b64decode(request.headers.get("Signature", ""), validate=True)
            self._partner.verify(request.content, signature)
        except (SignatureError, ValueError):
            return False
        return True

    # -- wire ----------------------------------------------------------------

    def route(self, request: httpx.Request) -> Operation | httpx.Response:
        if len(request.content) > MAX_BODY:
            return self.respond(413, {"code": "V01", "message": "request too large"})
        if not self._authentic(request):
            return self.respond(401, {"code": wire.CODE_AUTH, "message": "authentication failed"})
        try:
            body = json.loads(request.content)
            if not isinstance(body, dict):
                raise TypeError
        except (ValueError, TypeError):
            return self.respond(400, {"code": "V01", "message": "malformed JSON"})
        path = request.url.path
        if request.method != "POST":
            return self.respond(405, {"code": "V01", "message": "POST only"})
        key = body.get("orderId")
        if path == wire.PATH_TRANSFER:
            if not isinstance(key, str) or body.get("requestId") != key:
                return self.respond(400, {"code": "V01", "message": "orderId/requestId"})
            return Operation("pay", key=key, fields=body)
        if path == wire.PATH_SEARCH:
            if not isinstance(key, str):
                return self.respond(400, {"code": "V01", "message": "orderId"})
            return Operation("status", key=key)
        if path == wire.PATH_INQUIRY:
            return Operation("inquiry", fields=body)
        return self.respond(404, {"code": "V01", "message": "no such endpoint"})

    def _holder(self, fields: dict[str, Any]) -> tuple[str, str | None]:
        msisdn = str(fields.get("msisdn", ""))
        if msisdn in self.wallets:
            return self.wallets[msisdn]
        name = str(fields.get("customerName", ""))
        cccd = fields.get("idNumber") if isinstance(fields.get("idNumber"), str) else None
        tail = msisdn[-4:]
        if tail == "0004":
            return other_person(name), cccd
        if tail == "0007":
            return fold(name).upper(), "000000000000"
        if tail == "0008":
            return near_name(name), cccd
        return fold(name).upper(), cccd

    def validate_pay(self, op: Operation) -> httpx.Response | None:
        f = op.fields
        amount = f.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or f.get("currency") != "VND":
            return self.respond(400, {"code": "V01", "message": "amount must be whole VND"})
        if not wire.MIN_AMOUNT <= amount <= wire.MAX_AMOUNT:
            return self.respond(200, {"code": "L01", "message": "amount outside limits"})
        code = _IMMEDIATE.get(str(f.get("msisdn", ""))[-4:])
        if code is None and str(f.get("msisdn", "")) in self.wallets:
            holder, cccd = self.wallets[str(f["msisdn"])]
            if fold(holder) != fold(str(f.get("customerName", ""))):
                code = "W04"
            elif cccd and cccd != f.get("idNumber"):
                code = "W06"
        if code is not None:
            return self.respond(200, {"code": code, "message": "declined"})
        return None

    def decide(self, op: Operation) -> tuple[PaymentState, str | None]:
        if str(op.fields.get("msisdn", ""))[-4:] == "0005":
            return PaymentState.FAILED, "W05"
        return PaymentState.SUCCEEDED, None

    def _payment_json(self, payment: SandboxPayment) -> dict[str, Any]:
        return {
            "orderId": payment.key,
            "transId": payment.ref,
            "status": _STATE[payment.state],
            "errorCode": payment.reason_code if payment.state is PaymentState.FAILED else None,
            "amount": payment.amount,
        }

    def render_payment(self, op: Operation, payment: SandboxPayment, *, created: bool) -> httpx.Response:
        return self.respond(200, {"code": wire.CODE_OK, "message": "ok", "data": self._payment_json(payment)})

    def render_not_found(self, op: Operation) -> httpx.Response:
        return self.respond(200, {"code": wire.CODE_NOT_FOUND, "message": "transaction not found"})

    def render_conflict(self, op: Operation, payment: SandboxPayment) -> httpx.Response:
        return self.respond(409, {"code": wire.CODE_DUPLICATE, "message": "orderId used with other content"})

    def render_unavailable(self, status: int) -> httpx.Response:
        return self.respond(status, {"code": "S01", "message": "system busy"})

    def render_rate_limited(self) -> httpx.Response:
        resp = self.respond(429, {"code": "S01", "message": "too many requests"})
        resp.headers["Retry-After"] = f"{self.faults.retry_after_s:g}"
        return resp

    def handle_other(self, op: Operation) -> httpx.Response:
        if op.kind != "inquiry":
            return super().handle_other(op)
        tail = str(op.fields.get("msisdn", ""))[-4:]
        if tail in ("0001", "0002", "0003"):
            return self.respond(200, {"code": _IMMEDIATE[tail], "message": "wallet unusable"})
        holder, cccd = self._holder(op.fields)
        if cccd and op.fields.get("idNumber") and cccd != op.fields.get("idNumber"):
            return self.respond(200, {"code": "W06", "message": "national ID differs"})
        return self.respond(
            200,
            {
                "code": wire.CODE_OK,
                "message": "ok",
                "data": {"msisdn": op.fields.get("msisdn"), "customerName": holder, "kycStatus": "VERIFIED"},
            },
        )

    def callback_body(self, payment: SandboxPayment, event_id: str, *, at: float | None = None) -> bytes:
        return wire.encode(
            {
                "eventId": event_id,
                **self._payment_json(payment),
                "timestamp": int(time.time() if at is None else at),
            }
        )

    def build_callback(self, payment: SandboxPayment, event_id: str) -> httpx.Request:
        body = self.callback_body(payment, event_id)
        return httpx.Request(
            "POST",
            self.callback_url,
            content=body,
            headers={"Content-Type": "application/json", "X-Signature": self.sign(body)},
        )


SANDBOX_URL = "https://viettel-money.sandbox.invalid"


def viettel_money_sandbox_provider(base_url: str = SANDBOX_URL, **kwargs: Any) -> wire.ViettelMoneyProvider:
    """The Viettel Money adapter with the sandbox's published keys (refused off a sandbox address)."""
    credentials: dict[str, Any] = {
        "partner_code": keys.VIETTEL_SANDBOX_PARTNER_CODE,
        "token": keys.VIETTEL_SANDBOX_TOKEN,
        "partner_key": keys.viettel_partner_key(),
        "viettel_public_key": keys.viettel_gateway_key().public_key(),
    }
    return wire.ViettelMoneyProvider(base_url, **{**credentials, **kwargs})
