"""MoMo Disbursement v2: pay benefits into MoMo wallets.

Follows MoMo's public "disbursement-v2" documentation as far as it is known; every wire
detail lives in this module.

=============================================  ==========================================
What                                           Basis
=============================================  ==========================================
``POST /v2/gateway/api/disbursement/verify``,  [doc] disbursement-v2
``requestType=checkWallet``
``POST /v2/gateway/api/disbursement/pay``,     [doc] disbursement-v2
``requestType=disburseToWallet``
``disbursementMethod``: JSON {walletId,        [doc] RSA PKCS#1 v1.5 with MoMo's public
walletName, personalId}, RSA-encrypted, Base64 key, Base64
``signature``: hex HMAC-SHA256 of ``k=v&...``  [doc] keys a-z: accessKey, amount,
keys a-z (:func:`canonical_query`)             disbursementMethod, extraData, orderId,
                                               orderInfo, partnerCode, requestId,
                                               requestType
Result codes 0, 7000/7002, 40, 1100, 4002,     [doc]/[note] (table ``RESULTS``)
4003; 10, 11, 12, 13, 20, 21, 22, 41, 42, 99,  [doc] MoMo gateway's common result codes,
1001, 1002, 1003, 1004, 1007, 4001             assumed to apply to disbursement
Batch ``/batch/create``, <= 1000 items         [doc]; item and envelope fields: assumption
Wallet limits 1,000 .. 200,000,000 VND         [note]
IPN signed with HMAC-SHA256                    [doc]; its field list: assumption, as the
                                               pay response's (below)
``POST /v2/gateway/api/disbursement/query``    assumption (status of an orderId)
Responses signed like IPN, with                assumption: lets an altered answer be
``responseTime`` (ms)                          refused and a stale one rejected
``resultCode 4005``: personalId differs        assumption
=============================================  ==========================================

Idempotency: ``orderId`` and ``requestId`` are both the payout's idempotency key, so a
resend is recognised. MoMo answers a repeated ``requestId`` with code 40, never paying
twice; the adapter turns 40/41 into :class:`ProviderProtocolError`, which the client
resolves with a status query. RSA PKCS#1 v1.5 encryption is randomised, so the adapter
keeps the ciphertext per key (bounded cache): resends from one process are byte-identical,
and a resend from another process carries the same orderId, requestId, amount and
decrypted content.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from asxh_pay.errors import (
    AuthenticationError,
    ProviderProtocolError,
    ProviderUnavailable,
    ValidationError,
    WebhookVerificationError,
)
from asxh_pay.identity import match_names, narrative, normalize_phone
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
from asxh_pay.signing import HmacKey, canonical_query, rsa_encrypt_pkcs1v15
from asxh_pay.status import FailureReason
from asxh_pay.webhooks import CallbackVerifier, ReplayGuard

PATH_VERIFY = "/v2/gateway/api/disbursement/verify"
PATH_PAY = "/v2/gateway/api/disbursement/pay"
PATH_QUERY = "/v2/gateway/api/disbursement/query"
PATH_BATCH = "/v2/gateway/api/disbursement/batch/create"

MIN_AMOUNT = 1_000
MAX_AMOUNT = 200_000_000
MAX_BATCH = 1000

#: Fields signed in a pay / checkWallet request (a-z order is applied by canonical_query).
REQUEST_SIGNED = (
    "accessKey",
    "amount",
    "disbursementMethod",
    "extraData",
    "orderId",
    "orderInfo",
    "partnerCode",
    "requestId",
    "requestType",
)
#: Fields signed in a response, a status answer and an IPN.
RESPONSE_SIGNED = (
    "accessKey",
    "amount",
    "message",
    "orderId",
    "partnerCode",
    "requestId",
    "responseTime",
    "resultCode",
    "transId",
)
#: A checkWallet answer also signs the holder's name it reports.
INQUIRY_SIGNED = (*RESPONSE_SIGNED, "walletName")
QUERY_SIGNED = ("accessKey", "orderId", "partnerCode", "requestId")
BATCH_SIGNED = (
    "accessKey",
    "orderId",
    "partnerCode",
    "requestId",
    "requestType",
    "totalAmount",
    "totalItems",
)


@dataclass(frozen=True)
class Result:
    """What one MoMo result code means: an outcome, or an error to raise."""

    outcome: ProviderOutcome | None  # None: raise
    reason: FailureReason | None = None
    retryable: bool = False
    auth: bool = False


_OK = Result(ProviderOutcome.SUCCEEDED)
_PROCESSING = Result(ProviderOutcome.ACCEPTED)
_UNKNOWN = Result(None)  # outcome unknown: resolve by a status query


def _decline(reason: FailureReason) -> Result:
    return Result(ProviderOutcome.FAILED, reason)


def _retry(reason: FailureReason) -> Result:
    return Result(None, reason, retryable=True)


RESULTS: dict[int, Result] = {
    0: _OK,
    7000: _PROCESSING,  # processing
    7002: _PROCESSING,  # processing by the provider of the receiving instrument
    40: _UNKNOWN,  # duplicate requestId: the first one stands; ask for its status
    41: _UNKNOWN,  # duplicate orderId: same
    42: Result(ProviderOutcome.NOT_FOUND),  # orderId not found (status query)
    10: _retry(FailureReason.TECHNICAL),  # system under maintenance
    99: _UNKNOWN,  # unknown error: never taken as success or failure
    11: Result(None, FailureReason.TECHNICAL, auth=True),  # access denied
    13: Result(None, FailureReason.TECHNICAL, auth=True),  # merchant authentication failed
    12: _UNKNOWN,  # unsupported API version: not expected from a configured client; ask
    1080: Result(ProviderOutcome.RETURNED, FailureReason.RETURNED_BY_BANK),  # reversed (assumption)
    20: _decline(FailureReason.REJECTED_BY_PROVIDER),  # bad request format
    21: _decline(FailureReason.AMOUNT_INVALID),
    22: _decline(FailureReason.LIMIT_EXCEEDED),  # amount out of range
    1001: _retry(FailureReason.INSUFFICIENT_FUNDS),
    1100: _retry(FailureReason.INSUFFICIENT_FUNDS),  # partner's disbursement balance too low
    1002: _decline(FailureReason.REJECTED_BY_PROVIDER),  # rejected by the issuer
    1003: Result(ProviderOutcome.CANCELLED, FailureReason.CANCELLED_BY_OPERATOR),
    1004: _decline(FailureReason.LIMIT_EXCEEDED),  # over the receiver's limits
    1007: _decline(FailureReason.ACCOUNT_BLOCKED),  # wallet inactive
    4001: _decline(FailureReason.ACCOUNT_BLOCKED),  # restricted account
    4002: _decline(FailureReason.RECEIVER_NOT_VERIFIED),
    4003: _decline(FailureReason.INVALID_ACCOUNT),  # invalid receiver / no such wallet
    4005: _decline(FailureReason.IDENTITY_CHECK_FAILED),  # personalId differs (assumption)
}


def sign(key: HmacKey, fields: Mapping[str, Any], names: Sequence[str]) -> str:
    """Hex HMAC-SHA256 over the a-z ``k=v&...`` string of ``names`` taken from ``fields``."""
    return key.sign(canonical_query({n: fields.get(n) for n in names}).encode()).hex()


def encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


class MomoProvider(ProviderAdapter):
    name: ClassVar[str] = "momo"
    capabilities: ClassVar[Capabilities] = Capabilities(
        destinations=frozenset({"wallet"}),
        wallet_providers=frozenset({"momo"}),
        inquiry=True,
        batch=True,
        max_batch=MAX_BATCH,
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
        access_key: str,
        secret_key: SecretStr | str,
        momo_public_key: rsa.RSAPublicKey,
        ipn_url: str = "http://127.0.0.1/callbacks/momo",
        tolerance_s: float = 300,
        clock: Callable[[], float] = time.time,
        cipher_cache: int = 10_000,
    ) -> None:
        """No credential defaults: the sandbox's come from
        :func:`asxh_pay.sandbox.momo.momo_sandbox_provider`."""
        super().__init__(base_url)
        self.refuse_sandbox_credentials(secret_key, momo_public_key)
        self.partner_code = partner_code
        self.access_key = access_key
        self._key = HmacKey(secret_key if isinstance(secret_key, SecretStr) else SecretStr(secret_key))
        self._momo_public = momo_public_key
        self.ipn_url = ipn_url
        self.tolerance_s = tolerance_s
        self._clock = clock
        self._ciphers: OrderedDict[str, str] = OrderedDict()
        self._cipher_cache = cipher_cache
        self._callbacks = CallbackVerifier(
            self._key, tolerance_s=tolerance_s, replay_guard=ReplayGuard(), clock=clock
        )

    # -- requests ------------------------------------------------------------

    def disbursement_method(self, payout: Payout) -> str:
        """Base64 of the RSA-encrypted {walletId, walletName, personalId} (cached per key)."""
        cached = self._ciphers.get(payout.idempotency_key)
        if cached is not None:
            self._ciphers.move_to_end(payout.idempotency_key)
            return cached
        req = payout.request
        phone = getattr(req.destination, "phone", None)
        if not isinstance(phone, str):
            raise ValidationError(
                "MoMo pays wallet destinations only", field="destination", code="destination"
            )
        plain = json.dumps(
            {
                "walletId": "0" + normalize_phone(phone)[2:],
                "walletName": req.recipient_name,
                "personalId": req.recipient_cccd,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        cipher = base64.b64encode(rsa_encrypt_pkcs1v15(self._momo_public, plain)).decode()
        self._ciphers[payout.idempotency_key] = cipher
        if len(self._ciphers) > self._cipher_cache:
            self._ciphers.popitem(last=False)
        return cipher

    def _body(self, payout: Payout, request_type: str, request_id: str) -> dict[str, Any]:
        req = payout.request
        body: dict[str, Any] = {
            "partnerCode": self.partner_code,
            "orderId": payout.idempotency_key,
            "requestId": request_id,
            "amount": req.amount,
            "requestType": request_type,
            "disbursementMethod": self.disbursement_method(payout),
            "orderInfo": narrative(f"Tro cap {req.programme} {req.period}", 50),
            "extraData": "",
            "lang": "vi",
        }
        body["signature"] = sign(self._key, {**body, "accessKey": self.access_key}, REQUEST_SIGNED)
        return body

    def _post(self, path: str, body: Mapping[str, Any]) -> httpx.Request:
        return httpx.Request(
            "POST",
            self.endpoint(path),
            content=encode(body),
            headers={"Content-Type": "application/json; charset=UTF-8"},
        )

    def build_submit(self, payout: Payout) -> httpx.Request:
        return self._post(PATH_PAY, self._body(payout, "disburseToWallet", payout.idempotency_key))

    def build_inquiry(self, payout: Payout) -> httpx.Request:
        # A read: its own requestId, so that it never collides with the payment's.
        return self._post(PATH_VERIFY, self._body(payout, "checkWallet", "CW" + secrets.token_hex(12)))

    def build_status(self, payout: Payout) -> httpx.Request:
        body = {
            "partnerCode": self.partner_code,
            "orderId": payout.idempotency_key,
            "requestId": "Q" + secrets.token_hex(12),
            "lang": "vi",
        }
        body["signature"] = sign(self._key, {**body, "accessKey": self.access_key}, QUERY_SIGNED)
        return self._post(PATH_QUERY, body)

    # -- responses -----------------------------------------------------------

    def verify_signed(self, data: Mapping[str, Any], names: Sequence[str] = RESPONSE_SIGNED) -> None:
        """Check a response's / IPN's ``signature`` field; raise ProviderProtocolError if wrong."""
        given = data.get("signature")
        expected = sign(self._key, {**data, "accessKey": self.access_key}, names)
        if not isinstance(given, str) or not hmac.compare_digest(given.lower(), expected):
            raise ProviderProtocolError(f"{self.name}: signature does not verify")

    def _verified(self, response: httpx.Response, names: Sequence[str] = RESPONSE_SIGNED) -> dict[str, Any]:
        data = read_json(response, provider=self.name)
        try:
            self.verify_signed(data, names)
        except ValidationError:  # a field of a type canonical_query refuses (float, object)
            raise ProviderProtocolError(f"{self.name}: signed field of the wrong type") from None
        sent_at = require(data, "responseTime", int, provider=self.name) / 1000
        if abs(self._clock() - sent_at) > self.tolerance_s:
            raise ProviderProtocolError(f"{self.name}: responseTime outside the accepted window")
        return data

    def _interpret(self, payout: Payout | None, data: Mapping[str, Any], http_status: int) -> ProviderResult:
        code = require(data, "resultCode", int, provider=self.name)
        meaning = RESULTS.get(code)
        if meaning is None:
            raise ProviderProtocolError(f"{self.name}: unknown resultCode {code}", provider_code=str(code))
        if payout is not None and data.get("orderId") != payout.idempotency_key:
            raise ProviderProtocolError(f"{self.name}: answer is about another payout")
        if meaning.auth:
            raise AuthenticationError(
                f"{self.name}: credentials refused ({code})", http_status=http_status, provider_code=str(code)
            )
        if meaning.retryable:
            raise ProviderUnavailable(
                f"{self.name}: resultCode {code}: nothing done, try later",
                http_status=http_status,
                provider_code=str(code),
                reason=meaning.reason or FailureReason.TECHNICAL,
            )
        if meaning.outcome is None:
            raise ProviderProtocolError(
                f"{self.name}: resultCode {code}: outcome to be resolved by a status query",
                http_status=http_status,
                provider_code=str(code),
            )
        trans = data.get("transId")
        ref = (
            str(trans)
            if isinstance(trans, int | str) and not isinstance(trans, bool) and trans != ""
            else None
        )
        if meaning.outcome in (ProviderOutcome.SUCCEEDED, ProviderOutcome.ACCEPTED) and ref is None:
            raise ProviderProtocolError(f"{self.name}: accepted without a transId")
        # The amount of an accepted or paid transfer is compared with the amount sent by
        # the core (issue 13, item 7); a decline echoes 0, which says nothing.
        amount = None
        if meaning.outcome is not ProviderOutcome.FAILED:
            amount = echoed_amount(data, "amount", provider=self.name)
        return ProviderResult(
            meaning.outcome,
            provider_ref=ref,
            reason=meaning.reason,
            code=str(code),
            message=str(data.get("message", ""))[:200] or None,
            amount=amount,
        )

    def parse_submit(self, payout: Payout, response: httpx.Response) -> ProviderResult:
        result = self._interpret(payout, self._verified(response), response.status_code)
        if result.outcome is ProviderOutcome.NOT_FOUND:
            raise ProviderProtocolError(f"{self.name}: 'not found' in answer to a payment")
        return result

    def parse_status(self, payout: Payout, response: httpx.Response) -> ProviderResult:
        return self._interpret(payout, self._verified(response), response.status_code)

    def parse_inquiry(self, payout: Payout, response: httpx.Response) -> InquiryResult:
        data = self._verified(response, INQUIRY_SIGNED)
        code = require(data, "resultCode", int, provider=self.name)
        if code in (4002, 4003, 4005, 1007, 4001):
            return InquiryResult(False, reason=RESULTS[code].reason, code=str(code))
        if code != 0:
            self._interpret(None, data, response.status_code)  # raises for errors
            raise ProviderProtocolError(f"{self.name}: unexpected resultCode {code} to checkWallet")
        holder = require(data, "walletName", str, provider=self.name)
        return InquiryResult(
            True, holder_name=holder, name_match=match_names(payout.request.recipient_name, holder), code="0"
        )

    # -- IPN -------------------------------------------------------------------

    def parse_callback(self, request: httpx.Request) -> CallbackEvent:
        body = request.content
        if len(body) > self._callbacks.max_body_bytes:
            raise WebhookVerificationError("IPN body too large", code="too_large")
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise TypeError
            signature = bytes.fromhex(data["signature"])
            sent_ms = data["responseTime"]
            if not isinstance(sent_ms, int) or isinstance(sent_ms, bool):
                raise TypeError
            message = canonical_query(
                {n: data.get(n) for n in RESPONSE_SIGNED if n != "accessKey"} | {"accessKey": self.access_key}
            ).encode()
            callback_id = f"{data['requestId']}.{data['resultCode']}.{sent_ms}"
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            raise WebhookVerificationError(
                f"malformed IPN ({type(exc).__name__})", code="malformed"
            ) from None
        # The signed string, not the raw body, is what MoMo's HMAC covers; its fields come
        # from the body, so the id and time used below are authenticated by it.
        self._callbacks.verify(message, signature, timestamp=sent_ms / 1000, callback_id=callback_id)
        try:
            result = self._interpret(None, data, 200)
            key = data["orderId"]
            if not isinstance(key, str) or result.outcome is ProviderOutcome.NOT_FOUND:
                raise TypeError
        except (ProviderProtocolError, AuthenticationError, ProviderUnavailable, KeyError, TypeError) as exc:
            raise WebhookVerificationError(
                f"IPN not understood ({type(exc).__name__})", code="malformed"
            ) from None
        return CallbackEvent(
            callback_id=callback_id,
            idempotency_key=key,
            provider_ref=result.provider_ref,
            result=result,
            ack=httpx.Response(204),
        )

    # -- batch -----------------------------------------------------------------

    def batch_id(self, payouts: Sequence[Payout]) -> str:
        """A batch's id, from its payouts' keys: the same batch resent keeps its id."""
        digest = hashlib.sha256("|".join(sorted(p.idempotency_key for p in payouts)).encode()).hexdigest()
        return "BT" + digest[:30]

    def build_batch(self, payouts: Sequence[Payout]) -> httpx.Request:
        """One batch of up to 1000 wallet payouts; each item is signed like a single pay."""
        if not payouts:
            raise ValidationError("a batch needs at least one payout", field="batch", code="batch_empty")
        if len(payouts) > MAX_BATCH:
            raise ValidationError(
                f"a MoMo batch holds at most {MAX_BATCH} items", field="batch", code="batch_size"
            )
        keys_seen = {p.idempotency_key for p in payouts}
        if len(keys_seen) != len(payouts):
            raise ValidationError(
                "a payout appears twice in the batch", field="batch", code="batch_duplicate"
            )
        for p in payouts:
            if not MIN_AMOUNT <= p.amount <= MAX_AMOUNT:
                raise ValidationError("amount outside MoMo wallet limits", field="amount", code="limit")
        items = [
            {k: v for k, v in self._body(p, "disburseToWallet", p.idempotency_key).items() if k != "lang"}
            for p in payouts
        ]
        bid = self.batch_id(payouts)
        body: dict[str, Any] = {
            "partnerCode": self.partner_code,
            "orderId": bid,
            "requestId": bid,
            "requestType": "disburseToWalletBatch",
            "totalAmount": sum(p.amount for p in payouts),
            "totalItems": len(payouts),
            "items": items,
            "lang": "vi",
        }
        body["signature"] = sign(self._key, {**body, "accessKey": self.access_key}, BATCH_SIGNED)
        return self._post(PATH_BATCH, body)

    def parse_batch(self, payouts: Sequence[Payout], response: httpx.Response) -> dict[str, ProviderResult]:
        """Per-payout results of a batch, keyed by idempotency key; every item must be answered."""
        data = read_json(response, provider=self.name)
        self.verify_signed(
            data, ("accessKey", "orderId", "partnerCode", "requestId", "responseTime", "resultCode")
        )
        code = require(data, "resultCode", int, provider=self.name)
        if code != 0:
            self._interpret(None, {**data, "transId": data.get("transId", "-")}, response.status_code)
            raise ProviderProtocolError(f"{self.name}: batch refused ({code})", provider_code=str(code))
        if data.get("orderId") != self.batch_id(payouts):
            raise ProviderProtocolError(f"{self.name}: answer is about another batch")
        items = require(data, "items", list, provider=self.name)
        by_key = {p.idempotency_key: p for p in payouts}
        out: dict[str, ProviderResult] = {}
        for item in items:
            if not isinstance(item, dict):
                raise ProviderProtocolError(f"{self.name}: batch item is not an object")
            self.verify_signed(item)
            payout = by_key.get(item.get("orderId"))  # type: ignore[arg-type]
            if payout is None or payout.idempotency_key in out:
                raise ProviderProtocolError(f"{self.name}: batch answer names an unknown or repeated item")
            result = self._interpret(payout, item, response.status_code)
            if result.amount is not None and result.amount != payout.amount:
                # A batch is parsed outside the client's own check: the same rule here.
                raise ProviderProtocolError(f"{self.name}: batch item answered with another amount")
            out[payout.idempotency_key] = result
        if len(out) != len(payouts):
            raise ProviderProtocolError(f"{self.name}: batch answer misses {len(payouts) - len(out)} item(s)")
        return out
