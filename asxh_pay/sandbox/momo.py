"""Sandbox of MoMo Disbursement v2 (see :mod:`asxh_pay.providers.momo`).

It plays MoMo: it holds MoMo's RSA *private* key to decrypt ``disbursementMethod`` and
the partner's HMAC secret to check and produce signatures, on the adapter's wire format.
A repeated ``requestId`` is answered with resultCode 40 (as MoMo does) and never paid
again. Settlement runs on the base's clock; IPNs go to ``ipn_url``.

Magic values, on the last four digits of the wallet phone number:

* ``0001`` no such wallet (4003); ``0002`` wallet inactive (1007);
  ``0003`` receiver not verified (4002); ``0004`` the wallet's holder is someone else
  (checkWallet returns the other name; a payment is refused with 4003);
* ``0005`` settles failed: over the receiver's limits (1004);
* ``0006`` partner balance too low (1100, retryable; nothing is booked);
* ``0007`` the wallet is KYC'd on another personalId (4005);
* ``0008`` holder's name one letter off (checkWallet: a near match).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Sequence
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from asxh_pay.errors import SignatureError, ValidationError
from asxh_pay.identity import fold
from asxh_pay.providers import momo as wire
from asxh_pay.sandbox import keys
from asxh_pay.sandbox.base import Operation, PaymentState, SandboxPayment, SandboxProvider
from asxh_pay.sandbox.viettel_money import near_name, other_person
from asxh_pay.signing import HmacKey, rsa_decrypt_pkcs1v15

MAX_BODY = 4 * 1024 * 1024  # a full batch of 1000 items fits
_IMMEDIATE = {"0001": 4003, "0002": 1007, "0003": 4002, "0004": 4003, "0006": 1100, "0007": 4005}
_STATE_CODE = {
    PaymentState.PROCESSING: 7000,
    PaymentState.SUCCEEDED: 0,
    PaymentState.CANCELLED: 1003,
    PaymentState.RETURNED: 1080,
}


class MomoSandbox(SandboxProvider):
    name = "momo"
    kept_attributes = frozenset({"_rid"})
    report_provider = "momo"

    def __init__(
        self,
        *,
        partner_code: str = keys.MOMO_SANDBOX_PARTNER_CODE,
        access_key: str = keys.MOMO_SANDBOX_ACCESS_KEY,
        secret_key: SecretStr | str = keys.MOMO_SANDBOX_SECRET_KEY,
        rsa_private_key: rsa.RSAPrivateKey | None = None,
        ipn_url: str = "http://127.0.0.1/callbacks/momo",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("settle_after_s", 3.0)
        super().__init__(**kwargs)
        self.partner_code = partner_code
        self.access_key = access_key
        self.key = HmacKey(secret_key if isinstance(secret_key, SecretStr) else SecretStr(secret_key))
        self._rsa = rsa_private_key or keys.momo_rsa_key()
        self.ipn_url = ipn_url
        self.request_ids: set[str] = set()

    # -- signing -------------------------------------------------------------

    def signed(self, fields: dict[str, Any], names: Sequence[str] = wire.RESPONSE_SIGNED) -> dict[str, Any]:
        """``fields`` plus their ``signature`` (over ``names``, accessKey included)."""
        out = {k: v for k, v in fields.items() if k != "signature"}
        out["signature"] = wire.sign(self.key, {**out, "accessKey": self.access_key}, names)
        return out

    def answer(
        self, fields: dict[str, Any], *, at: float | None = None, names: Sequence[str] = wire.RESPONSE_SIGNED
    ) -> dict[str, Any]:
        base = {
            "partnerCode": self.partner_code,
            "orderId": "",
            "requestId": "",
            "amount": 0,
            "transId": "",
            "message": "",
            "resultCode": 0,
        }
        base.update(fields)
        base["responseTime"] = int((time.time() if at is None else at) * 1000)
        return self.signed(base, names)

    def respond(
        self,
        fields: dict[str, Any],
        *,
        status: int = 200,
        at: float | None = None,
        names: Sequence[str] = wire.RESPONSE_SIGNED,
    ) -> httpx.Response:
        return httpx.Response(
            status,
            content=wire.encode(self.answer(fields, at=at, names=names)),
            headers={"Content-Type": "application/json"},
        )

    def _check(self, body: dict[str, Any], names: Sequence[str]) -> bool:
        given = body.get("signature")
        if body.get("partnerCode") != self.partner_code or not isinstance(given, str):
            return False
        try:
            expected = wire.sign(self.key, {**body, "accessKey": self.access_key}, names)
        except ValidationError:
            return False
        return given == expected

    def _decrypt(self, method: object) -> dict[str, Any] | None:
        if not isinstance(method, str):
            return None
        try:
            plain = rsa_decrypt_pkcs1v15(self._rsa, base64.b64decode(method, validate=True))
            data = json.loads(plain)
        except (SignatureError, binascii.Error, ValueError):
            return None
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k), str) for k in ("walletId", "walletName", "personalId")
        ):
            return None
        return data

    # -- wire ----------------------------------------------------------------

    def route(self, request: httpx.Request) -> Operation | httpx.Response:
        if len(request.content) > MAX_BODY:
            return self.respond({"resultCode": 20, "message": "request too large"}, status=413)
        try:
            body = json.loads(request.content)
            if not isinstance(body, dict):
                raise TypeError
        except (ValueError, TypeError):
            return self.respond({"resultCode": 20, "message": "bad format"}, status=400)
        path = request.url.path
        names = {
            wire.PATH_PAY: wire.REQUEST_SIGNED,
            wire.PATH_VERIFY: wire.REQUEST_SIGNED,
            wire.PATH_QUERY: wire.QUERY_SIGNED,
            wire.PATH_BATCH: wire.BATCH_SIGNED,
        }.get(path)
        if names is None or request.method != "POST":
            return self.respond({"resultCode": 20, "message": "no such endpoint"}, status=404)
        echo = {k: body.get(k) for k in ("orderId", "requestId") if isinstance(body.get(k), str)}
        if not self._check(body, names):
            return self.respond(
                {**echo, "resultCode": 13, "message": "merchant authentication failed"}, status=401
            )
        if path == wire.PATH_QUERY:
            return Operation(
                "status", key=str(body.get("orderId")), fields={"requestId": body.get("requestId")}
            )
        if path == wire.PATH_BATCH:
            return Operation("batch", key=str(body.get("orderId")), fields=body)
        op = self._item_op(body, "checkWallet" if path == wire.PATH_VERIFY else "disburseToWallet")
        return op if isinstance(op, Operation) else self.respond({**echo, **op}, status=400)

    def _item_op(self, body: dict[str, Any], request_type: str) -> Operation | dict[str, Any]:
        method = self._decrypt(body.get("disbursementMethod"))
        key = body.get("orderId")
        if method is None or body.get("requestType") != request_type or not isinstance(key, str):
            return {"resultCode": 20, "message": "bad format"}
        fields = {
            "orderId": key,
            "amount": body.get("amount"),
            "orderInfo": body.get("orderInfo"),
            "requestType": request_type,
            **{k: method[k] for k in ("walletId", "walletName", "personalId")},
        }
        kind = "inquiry" if request_type == "checkWallet" else "pay"
        return Operation(kind, key=key, fields={**fields, "requestId": body.get("requestId")})

    def _pay_item(self, op: Operation) -> httpx.Response:
        request_id = op.fields.get("requestId")
        fields = {k: v for k, v in op.fields.items() if k != "requestId"}
        op = Operation("pay", key=op.key, fields=fields | {"_rid": request_id})
        return self._pay(op)

    def process(self, op: Operation) -> httpx.Response:
        if op.kind == "pay":
            return self._pay_item(op)
        return super().process(op)

    def validate_pay(self, op: Operation) -> httpx.Response | None:
        f = op.fields
        echo = {"orderId": op.key, "requestId": f.get("_rid"), "amount": f.get("amount") or 0}
        amount = f.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return self.respond({**echo, "amount": 0, "resultCode": 21, "message": "invalid amount"})
        if not wire.MIN_AMOUNT <= amount <= wire.MAX_AMOUNT:
            return self.respond({**echo, "resultCode": 22, "message": "amount out of range"})
        code = _IMMEDIATE.get(str(f.get("walletId", ""))[-4:])
        if code is not None:
            return self.respond({**echo, "resultCode": code, "message": "declined"})
        return None

    def decide(self, op: Operation) -> tuple[PaymentState, str | None]:
        if str(op.fields.get("walletId", ""))[-4:] == "0005":
            return PaymentState.FAILED, "1004"
        return PaymentState.SUCCEEDED, None

    def _code(self, payment: SandboxPayment) -> int:
        if payment.state is PaymentState.FAILED:
            return int(payment.reason_code or 1002)
        return _STATE_CODE[payment.state]

    def _payment_fields(self, payment: SandboxPayment, request_id: object) -> dict[str, Any]:
        return {
            "orderId": payment.key,
            "requestId": request_id if isinstance(request_id, str) else "",
            "amount": payment.amount,
            "transId": int(payment.ref[3:]) + 3_000_000_000,
            "resultCode": self._code(payment),
            "message": payment.state.value,
        }

    def render_payment(self, op: Operation, payment: SandboxPayment, *, created: bool) -> httpx.Response:
        if op.kind == "pay" and not created:
            # MoMo: a repeated requestId/orderId is refused, the first request stands.
            return self.respond(
                {
                    "orderId": payment.key,
                    "requestId": op.fields.get("_rid"),
                    "amount": payment.amount,
                    "resultCode": 40,
                    "message": "duplicate requestId",
                }
            )
        return self.respond(
            self._payment_fields(payment, op.fields.get("_rid") or op.fields.get("requestId"))
        )

    def render_not_found(self, op: Operation) -> httpx.Response:
        return self.respond(
            {
                "orderId": op.key,
                "requestId": op.fields.get("requestId") or "",
                "resultCode": 42,
                "message": "orderId not found",
            }
        )

    def render_conflict(self, op: Operation, payment: SandboxPayment) -> httpx.Response:
        return self.respond(
            {
                "orderId": op.key,
                "requestId": op.fields.get("_rid"),
                "amount": payment.amount,
                "resultCode": 41,
                "message": "duplicate orderId",
            }
        )

    def render_unavailable(self, status: int) -> httpx.Response:
        return self.respond({"resultCode": 10, "message": "system under maintenance"}, status=status)

    def render_rate_limited(self) -> httpx.Response:
        resp = self.respond({"resultCode": 10, "message": "too many requests"}, status=429)
        resp.headers["Retry-After"] = f"{self.faults.retry_after_s:g}"
        return resp

    def handle_other(self, op: Operation) -> httpx.Response:
        if op.kind == "inquiry":
            return self._check_wallet(op)
        if op.kind == "batch":
            return self._batch(op)
        return super().handle_other(op)

    def _check_wallet(self, op: Operation) -> httpx.Response:
        f = op.fields
        echo = {"orderId": op.key, "requestId": f.get("requestId") or "", "amount": f.get("amount") or 0}
        tail = str(f.get("walletId", ""))[-4:]
        if tail in ("0001", "0002", "0003", "0007"):
            return self.respond(
                {**echo, "resultCode": _IMMEDIATE[tail], "message": "wallet unusable", "walletName": ""},
                names=wire.INQUIRY_SIGNED,
            )
        name = str(f.get("walletName", ""))
        holder = (
            other_person(name)
            if tail == "0004"
            else near_name(name)
            if tail == "0008"
            else fold(name).upper()
        )
        return self.respond(
            {**echo, "resultCode": 0, "message": "ok", "walletName": holder}, names=wire.INQUIRY_SIGNED
        )

    def _batch(self, op: Operation) -> httpx.Response:
        body = op.fields
        items = body.get("items")
        if (
            not isinstance(items, list)
            or not 1 <= len(items) <= wire.MAX_BATCH
            or body.get("totalItems") != len(items)
        ):
            return self.respond(
                {
                    "orderId": op.key,
                    "requestId": body.get("requestId"),
                    "resultCode": 20,
                    "message": "bad batch",
                },
                status=400,
            )
        results = []
        total = 0
        for item in items:
            if not isinstance(item, dict) or not self._check(
                {**item, "partnerCode": self.partner_code}, wire.REQUEST_SIGNED
            ):
                return self.respond(
                    {
                        "orderId": op.key,
                        "requestId": body.get("requestId"),
                        "resultCode": 13,
                        "message": "item signature",
                    },
                    status=401,
                )
            item_op = self._item_op(item, "disburseToWallet")
            if not isinstance(item_op, Operation):
                return self.respond(
                    {"orderId": op.key, "requestId": body.get("requestId"), **item_op}, status=400
                )
            total += int(item.get("amount") or 0)
            resp = self._pay_item(item_op)
            results.append(json.loads(resp.content))
        if total != body.get("totalAmount"):
            return self.respond(
                {
                    "orderId": op.key,
                    "requestId": body.get("requestId"),
                    "resultCode": 20,
                    "message": "totalAmount",
                },
                status=400,
            )
        head = {
            "partnerCode": self.partner_code,
            "orderId": op.key,
            "requestId": body.get("requestId"),
            "resultCode": 0,
            "message": "batch accepted",
            "responseTime": int(time.time() * 1000),
        }
        answer = self.signed(
            head, ("accessKey", "orderId", "partnerCode", "requestId", "responseTime", "resultCode")
        )
        answer["items"] = results
        return httpx.Response(200, content=wire.encode(answer), headers={"Content-Type": "application/json"})

    def ipn_fields(self, payment: SandboxPayment, *, at: float | None = None) -> dict[str, Any]:
        rid = payment.attributes.get("_rid")
        fields = self.answer(self._payment_fields(payment, rid), at=at)
        fields["extraData"] = ""
        return fields

    def build_callback(self, payment: SandboxPayment, event_id: str) -> httpx.Request:
        return httpx.Request(
            "POST",
            self.ipn_url,
            content=wire.encode(self.ipn_fields(payment)),
            headers={"Content-Type": "application/json"},
        )


SANDBOX_URL = "https://momo.sandbox.invalid"


def momo_sandbox_provider(base_url: str = SANDBOX_URL, **kwargs: Any) -> wire.MomoProvider:
    """The MoMo adapter with the sandbox's published credentials (refused off a sandbox address)."""
    credentials: dict[str, Any] = {
        "partner_code": keys.MOMO_SANDBOX_PARTNER_CODE,
        "access_key": keys.MOMO_SANDBOX_ACCESS_KEY,
        "secret_key": keys.MOMO_SANDBOX_SECRET_KEY,
        "momo_public_key": keys.momo_rsa_key().public_key(),
    }
    return wire.MomoProvider(base_url, **{**credentials, **kwargs})
