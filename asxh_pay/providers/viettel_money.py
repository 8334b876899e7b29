"""Viettel Money (formerly ViettelPay) disbursement to wallets.

Viettel publishes no disbursement API. This adapter follows the conventions of its public
merchant gateway ("paybiz") and adds what a disbursement needs. Every wire detail is in
this module, so an integrator holding the real contract specification maps it here alone.

=============================================  ==========================================
What                                           Basis
=============================================  ==========================================
JSON over HTTPS, ``Authorization: Bearer``     [code] paybiz gateway conventions
``Signature`` header: Base64 ECDSA P-256 /     [code] paybiz: signed over the raw request
SHA-256 (DER) over the raw request body        body with the partner's private key
Callbacks: ``X-Signature`` (same scheme, with  [code] paybiz callbacks; verified over the
Viettel's key) over the raw body               raw bytes, never a re-serialised object
Responses signed like callbacks (``Signature`` assumption: lets a forged or altered
header, Viettel's key) + ``responseTime``      answer be refused; ``responseTime`` bounds
                                               its age
Endpoints ``/disbursement/v1/inquiry``,        assumption, named after paybiz's
``/transfer``, ``/search``                     "create / search transaction" family
``orderId`` = ``requestId`` = idempotency key  assumption: the gateway deduplicates on
(<= 35 chars), no time in the body             ``orderId``; retries are byte-identical
``msisdn`` as ``84`` + 9 digits                assumption (MSISDN form); normalised by
                                               :func:`asxh_pay.identity.normalize_phone`
``idNumber`` (CCCD) sent with inquiry and      assumption: wallets are KYC'd on the
transfer                                       national ID, as MoMo's are
Codes ``00``, ``W01``..``W06``, ``L01``,       assumption (table ``CODES`` below); unknown
``B01``, ``S01``, ``A01``, ``D01``, ``V01``,   codes raise ``ProviderProtocolError``,
``T04``                                        never success
Limits 10,000 .. 100,000,000 VND per transfer  assumption (wallet regulation caps)
=============================================  ==========================================

Wire format::

    POST /disbursement/v1/inquiry  {partnerCode, requestId, msisdn, idNumber, customerName}
         -> {code, message, responseTime, data: {msisdn, customerName, kycStatus}}
    POST /disbursement/v1/transfer {partnerCode, orderId, requestId, msisdn, idNumber,
                                    customerName, amount, currency, content}
         -> {code, message, responseTime, data: {orderId, transId, status, errorCode}}
    POST /disbursement/v1/search   {partnerCode, orderId} -> same as transfer | code T04
    callback -> partner            {eventId, orderId, transId, status, errorCode, amount, timestamp}

``status`` is PROCESSING | SUCCESS | FAILED | REVERSED | CANCELLED.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from typing import Any, ClassVar

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

from asxh_pay.errors import (
    AuthenticationError,
    ProviderProtocolError,
    ProviderUnavailable,
    SignatureError,
    WebhookVerificationError,
)
from asxh_pay.identity import match_names, narrative, normalize_phone
from asxh_pay.models import Payout
from asxh_pay.providers.base import (
    MAX_RESPONSE_BYTES,
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
from asxh_pay.signing import EcdsaSigner, EcdsaVerifier, SignatureAuth
from asxh_pay.status import FailureReason
from asxh_pay.webhooks import CallbackVerifier, ReplayGuard

PATH_INQUIRY = "/disbursement/v1/inquiry"
PATH_TRANSFER = "/disbursement/v1/transfer"
PATH_SEARCH = "/disbursement/v1/search"

MIN_AMOUNT = 10_000
MAX_AMOUNT = 100_000_000

#: Final business declines: code -> typed reason.
DECLINES: dict[str, FailureReason] = {
    "W01": FailureReason.INVALID_ACCOUNT,  # no wallet for this number
    "W02": FailureReason.ACCOUNT_BLOCKED,  # wallet locked
    "W03": FailureReason.RECEIVER_NOT_VERIFIED,  # wallet not KYC-verified
    "W04": FailureReason.NAME_MISMATCH,  # customerName differs from the wallet holder
    "W05": FailureReason.LIMIT_EXCEEDED,  # receiver's wallet balance/month limit
    "W06": FailureReason.IDENTITY_CHECK_FAILED,  # idNumber differs from the wallet's KYC
    "L01": FailureReason.LIMIT_EXCEEDED,  # amount outside the per-transfer limits
    "V01": FailureReason.REJECTED_BY_PROVIDER,  # request format refused
}
#: "Nothing was done, try later": code -> reason carried by the retryable error.
RETRYABLE: dict[str, FailureReason] = {
    "B01": FailureReason.INSUFFICIENT_FUNDS,  # partner's disbursement account is short
    "S01": FailureReason.TECHNICAL,  # system busy
}
CODE_OK = "00"
CODE_AUTH = "A01"
CODE_DUPLICATE = "D01"  # same orderId, different content
CODE_NOT_FOUND = "T04"
CODES = frozenset({CODE_OK, CODE_AUTH, CODE_DUPLICATE, CODE_NOT_FOUND, *DECLINES, *RETRYABLE})

_STATUS = {
    "PROCESSING": ProviderOutcome.ACCEPTED,
    "SUCCESS": ProviderOutcome.SUCCEEDED,
    "FAILED": ProviderOutcome.FAILED,
    "REVERSED": ProviderOutcome.RETURNED,
    "CANCELLED": ProviderOutcome.CANCELLED,
}


def encode(body: dict[str, Any]) -> bytes:
    """Compact, key-sorted UTF-8 JSON: the same payout always gives the same bytes."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def transfer_body(payout: Payout, partner_code: str) -> dict[str, Any]:
    req = payout.request
    phone = getattr(req.destination, "phone", None)
    if not isinstance(phone, str):
        raise ProviderProtocolError("viettel_money: only wallet destinations can be paid")
    return {
        "partnerCode": partner_code,
        "orderId": payout.idempotency_key,
        "requestId": payout.idempotency_key,
        "msisdn": normalize_phone(phone),
        "idNumber": req.recipient_cccd,
        "customerName": req.recipient_name,
        "amount": req.amount,
        "currency": "VND",
        "content": narrative(f"TRO CAP {req.programme} {req.period}"),
    }


class ViettelMoneyProvider(ProviderAdapter):
    name: ClassVar[str] = "viettel_money"
    capabilities: ClassVar[Capabilities] = Capabilities(
        destinations=frozenset({"wallet"}),
        wallet_providers=frozenset({"viettel_money"}),
        inquiry=True,
        callbacks=True,
        dedupes_by_key=True,
        min_amount=MIN_AMOUNT,
        max_amount=MAX_AMOUNT,
    )

    def __init__(
        self,
        base_url: str,
        *,
        partner_code: str,
        token: SecretStr | str,
        partner_key: ec.EllipticCurvePrivateKey,
        viettel_public_key: ec.EllipticCurvePublicKey,
        tolerance_s: float = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """No credential defaults: the sandbox's come from
        :func:`asxh_pay.sandbox.viettel_money.viettel_money_sandbox_provider`. Viettel's
        public key above all: the sandbox gateway's private half ships with the library."""
        super().__init__(base_url)
        self.refuse_sandbox_credentials(token, partner_key, viettel_public_key)
        self.partner_code = partner_code
        signer = EcdsaSigner(partner_key)
        self._auth = SignatureAuth(signer, header="Signature", encoding="base64", bearer_token=token)
        self._verifier = EcdsaVerifier(viettel_public_key)
        self.tolerance_s = tolerance_s
        self._clock = clock
        self._callbacks = CallbackVerifier(
            self._verifier, tolerance_s=tolerance_s, replay_guard=ReplayGuard(), clock=clock
        )

    def auth(self) -> httpx.Auth:
        return self._auth

    # -- requests ------------------------------------------------------------

    def _post(self, path: str, body: dict[str, Any]) -> httpx.Request:
        return httpx.Request(
            "POST",
            self.endpoint(path),
            content=encode(body),
            headers={"Content-Type": "application/json"},
        )

    def build_submit(self, payout: Payout) -> httpx.Request:
        return self._post(PATH_TRANSFER, transfer_body(payout, self.partner_code))

    def build_status(self, payout: Payout) -> httpx.Request:
        return self._post(PATH_SEARCH, {"partnerCode": self.partner_code, "orderId": payout.idempotency_key})

    def build_inquiry(self, payout: Payout) -> httpx.Request:
        body = transfer_body(payout, self.partner_code)
        return self._post(
            PATH_INQUIRY,
            {
                "partnerCode": self.partner_code,
                "requestId": "INQ" + payout.idempotency_key[:32],
                "msisdn": body["msisdn"],
                "idNumber": body["idNumber"],
                "customerName": body["customerName"],
            },
        )

    # -- responses -----------------------------------------------------------

    def _verified(self, response: httpx.Response) -> dict[str, Any]:
        """Signature over the raw bytes, then JSON, then the age of the answer."""
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise ProviderProtocolError(f"{self.name}: response too large", http_status=response.status_code)
        try:
            signature = base64.b64decode(response.headers.get("Signature", ""), validate=True)
            if not signature:
                raise SignatureError("no signature")
            self._verifier.verify(response.content, signature)
        except (SignatureError, binascii.Error, ValueError):
            raise ProviderProtocolError(
                f"{self.name}: response signature does not verify", http_status=response.status_code
            ) from None
        data = read_json(response, provider=self.name)
        sent_at = require(data, "responseTime", int, provider=self.name) / 1000
        if abs(self._clock() - sent_at) > self.tolerance_s:
            raise ProviderProtocolError(f"{self.name}: response time outside the accepted window")
        return data

    def _code(self, data: dict[str, Any]) -> str:
        code: str = require(data, "code", str, provider=self.name)
        if code not in CODES:
            raise ProviderProtocolError(f"{self.name}: unknown result code {code!r}", provider_code=code)
        return code

    def _raise_for_code(self, code: str, http_status: int) -> None:
        if code == CODE_AUTH:
            raise AuthenticationError(
                f"{self.name}: credentials refused", http_status=http_status, provider_code=code
            )
        if code in RETRYABLE:
            raise ProviderUnavailable(
                f"{self.name}: {code}, nothing done; try later",
                http_status=http_status,
                provider_code=code,
                reason=RETRYABLE[code],
            )
        if code == CODE_DUPLICATE:
            raise ProviderProtocolError(
                f"{self.name}: orderId already used with other content",
                http_status=http_status,
                provider_code=code,
            )

    def _result(self, payout: Payout, data: dict[str, Any]) -> ProviderResult:
        if data.get("orderId") != payout.idempotency_key:
            raise ProviderProtocolError(f"{self.name}: answer is about another payout")
        return self._payment_result(data)

    def _payment_result(self, data: dict[str, Any]) -> ProviderResult:
        status = require(data, "status", str, provider=self.name)
        outcome = _STATUS.get(status)
        if outcome is None:
            raise ProviderProtocolError(f"{self.name}: unknown transaction status {status!r}")
        error = data.get("errorCode")
        if error is not None and not isinstance(error, str):
            raise ProviderProtocolError(f"{self.name}: errorCode has the wrong type")
        reason = None
        if outcome is ProviderOutcome.FAILED:
            if error not in DECLINES:
                raise ProviderProtocolError(f"{self.name}: unknown error code {error!r}", provider_code=error)
            reason = DECLINES[error]
        elif outcome is ProviderOutcome.RETURNED:
            reason = FailureReason.RETURNED_BY_BANK
        elif outcome is ProviderOutcome.CANCELLED:
            reason = FailureReason.CANCELLED_BY_OPERATOR
        ref = require(data, "transId", str, provider=self.name)
        # Echoed amount: compared with the amount sent by the core (issue 13, item 7).
        amount = echoed_amount(data, "amount", provider=self.name)
        return ProviderResult(outcome, provider_ref=ref, reason=reason, code=error, amount=amount)

    def parse_submit(self, payout: Payout, response: httpx.Response) -> ProviderResult:
        data = self._verified(response)
        code = self._code(data)
        self._raise_for_code(code, response.status_code)
        if code == CODE_OK:
            return self._result(payout, require(data, "data", dict, provider=self.name))
        if code in DECLINES:
            return ProviderResult(ProviderOutcome.FAILED, reason=DECLINES[code], code=code)
        raise ProviderProtocolError(f"{self.name}: unexpected code {code} to a transfer", provider_code=code)

    def parse_status(self, payout: Payout, response: httpx.Response) -> ProviderResult:
        data = self._verified(response)
        code = self._code(data)
        if code == CODE_NOT_FOUND:
            return ProviderResult(ProviderOutcome.NOT_FOUND, code=code)
        self._raise_for_code(code, response.status_code)
        if code != CODE_OK:
            raise ProviderProtocolError(
                f"{self.name}: unexpected code {code} to a search", provider_code=code
            )
        return self._result(payout, require(data, "data", dict, provider=self.name))

    def parse_inquiry(self, payout: Payout, response: httpx.Response) -> InquiryResult:
        data = self._verified(response)
        code = self._code(data)
        self._raise_for_code(code, response.status_code)
        if code in ("W01", "W02", "W03", "W06"):
            # No wallet this person can be paid into (absent, locked, unverified, or
            # KYC'd on another national ID): ``exists`` is False, the reason says why.
            return InquiryResult(False, reason=DECLINES[code], code=code)
        if code != CODE_OK:
            raise ProviderProtocolError(
                f"{self.name}: unexpected code {code} to an inquiry", provider_code=code
            )
        info = require(data, "data", dict, provider=self.name)
        echoed = info.get("msisdn")
        if echoed is not None and echoed != transfer_body(payout, self.partner_code)["msisdn"]:
            # A holder's name for another wallet than the one asked about must not
            # confirm this one (issue 13, item 7).
            raise ProviderProtocolError(f"{self.name}: inquiry answer is about another wallet")
        holder = require(info, "customerName", str, provider=self.name)
        return InquiryResult(
            True, holder_name=holder, name_match=match_names(payout.request.recipient_name, holder)
        )

    # -- callbacks -----------------------------------------------------------

    def parse_callback(self, request: httpx.Request) -> CallbackEvent:
        body = request.content
        if len(body) > self._callbacks.max_body_bytes:
            raise WebhookVerificationError("callback body too large", code="too_large")
        try:
            signature = base64.b64decode(request.headers.get("X-Signature", ""), validate=True)
        except (binascii.Error, ValueError):
            raise WebhookVerificationError("malformed X-Signature header", code="invalid") from None
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise TypeError
            event_id = data["eventId"]
            timestamp = data["timestamp"]
            if not isinstance(event_id, str) or not isinstance(timestamp, int) or isinstance(timestamp, bool):
                raise TypeError
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookVerificationError(
                f"malformed callback body ({type(exc).__name__})", code="malformed"
            ) from None
        # id and time come from inside the signed body, so they are authenticated.
        self._callbacks.verify(body, signature, timestamp=float(timestamp), callback_id=event_id)
        try:
            result = self._payment_result(data)
            key = data["orderId"]
            if not isinstance(key, str):
                raise TypeError
        except (ProviderProtocolError, KeyError, TypeError) as exc:
            raise WebhookVerificationError(
                f"malformed callback body ({type(exc).__name__})", code="malformed"
            ) from None
        return CallbackEvent(
            callback_id=event_id,
            idempotency_key=key,
            provider_ref=result.provider_ref,
            result=result,
            ack=httpx.Response(200, json={"code": CODE_OK, "message": "received"}),
        )
