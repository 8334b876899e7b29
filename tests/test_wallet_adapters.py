"""Viettel Money and MoMo adapters: published signature rules recomputed independently,
hostile inputs, batch, phone normalisation, name matching, and a real HTTP round trip."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

from asxh_pay.client import AsyncPayoutClient, PollPolicy, ProviderSetup
from asxh_pay.errors import ProviderProtocolError, ValidationError, WebhookVerificationError
from asxh_pay.identity import NameMatch
from asxh_pay.ledger import SqliteLedger
from asxh_pay.models import Beneficiary, Payout, PayoutRequest
from asxh_pay.payroll.served_stack import free_port
from asxh_pay.providers import momo as momo_wire
from asxh_pay.providers.base import ProviderOutcome
from asxh_pay.providers.momo import MomoProvider
from asxh_pay.sandbox import keys
from asxh_pay.sandbox.momo import MomoSandbox, momo_sandbox_provider
from asxh_pay.sandbox.viettel_money import ViettelMoneySandbox, viettel_money_sandbox_provider
from asxh_pay.status import FailureReason, PayoutStatus
from asxh_pay.testing import Harness, request_with
from tests.contract.test_momo_contract import momo_contract, momo_request
from tests.contract.test_viettel_money_contract import viettel_contract, vtm_request


def payout_for(request: PayoutRequest, provider: str) -> Payout:
    now = datetime(2026, 11, 2, tzinfo=UTC)
    return Payout(
        id="po_test",
        idempotency_key=request.key(),
        payload_hash=request.payload_hash(),
        request=request,
        provider=provider,
        created_at=now,
        updated_at=now,
    )


async def signed(auth: httpx.Auth, request: httpx.Request) -> httpx.Request:
    flow = auth.sync_auth_flow(request)
    return next(flow)


# ---------------------------------------------------------------------- published signature rules


def test_viettel_signature_header_is_ecdsa_p256_sha256_over_raw_body() -> None:
    adapter = viettel_money_sandbox_provider()
    payout = payout_for(vtm_request("001090012345", "Nguyễn Văn An", "0961234567"), "viettel_money")
    request = adapter.build_submit(payout)
    request = next(adapter.auth().sync_auth_flow(request))
    # Verify with the public key directly, over the exact bytes on the wire.
    public = keys.viettel_partner_key().public_key()
    public.verify(base64.b64decode(request.headers["Signature"]), request.content, ec.ECDSA(hashes.SHA256()))
    assert request.headers["Authorization"] == f"Bearer {keys.VIETTEL_SANDBOX_TOKEN}"
    body = json.loads(request.content)
    assert body["msisdn"] == "84961234567" and body["orderId"] == payout.idempotency_key
    assert body["requestId"] == payout.idempotency_key and body["amount"] == 1_500_000
    # A signature over a re-serialised body (other spacing) does not verify.
    respaced = json.dumps(body).encode()
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidSignature
        public.verify(base64.b64decode(request.headers["Signature"]), respaced, ec.ECDSA(hashes.SHA256()))


def test_momo_signature_is_hmac_sha256_over_sorted_key_value_string() -> None:
    adapter = momo_sandbox_provider()
    payout = payout_for(momo_request("001090012345", "Nguyễn Văn An", "0901234567"), "momo")
    body = json.loads(adapter.build_submit(payout).content)
    expected_string = (
        f"accessKey={keys.MOMO_SANDBOX_ACCESS_KEY}&amount=1500000"
        f"&disbursementMethod={body['disbursementMethod']}&extraData="
        f"&orderId={payout.idempotency_key}&orderInfo=Tro cap NCC 2026 11"
        f"&partnerCode={keys.MOMO_SANDBOX_PARTNER_CODE}&requestId={payout.idempotency_key}"
        "&requestType=disburseToWallet"
    )
    expected = hmac.new(
        keys.MOMO_SANDBOX_SECRET_KEY.encode(), expected_string.encode(), hashlib.sha256
    ).hexdigest()
    assert body["signature"] == expected
    assert body["orderInfo"] == "Tro cap NCC 2026 11"


def test_momo_disbursement_method_is_rsa_pkcs1v15_of_wallet_json() -> None:
    adapter = momo_sandbox_provider()
    payout = payout_for(momo_request("001090012345", "Nguyễn Văn An", "+84 90 123 4567"), "momo")
    body = json.loads(adapter.build_submit(payout).content)
    plain = keys.momo_rsa_key().decrypt(base64.b64decode(body["disbursementMethod"]), padding.PKCS1v15())
    assert json.loads(plain) == {
        "walletId": "0901234567",
        "walletName": "Nguyễn Văn An",
        "personalId": "001090012345",
    }
    # Byte-identical resend from the same process (ciphertext kept per key).
    assert adapter.build_submit(payout).content == adapter.build_submit(payout).content


def test_momo_ipn_signature_recomputed() -> None:
    sandbox = MomoSandbox()
    fields = sandbox.answer(
        {
            "orderId": "AX1234567890",
            "requestId": "AX1234567890",
            "amount": 50_000,
            "transId": 3000000001,
            "resultCode": 0,
            "message": "succeeded",
        }
    )
    names = sorted(
        [
            "accessKey",
            "amount",
            "message",
            "orderId",
            "partnerCode",
            "requestId",
            "responseTime",
            "resultCode",
            "transId",
        ]
    )
    values = {**fields, "accessKey": keys.MOMO_SANDBOX_ACCESS_KEY}
    raw = "&".join(f"{n}={values[n]}" for n in names)
    assert (
        fields["signature"]
        == hmac.new(keys.MOMO_SANDBOX_SECRET_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()
    )


# ---------------------------------------------------------------------- validation, limits, names


def test_phone_is_normalised_and_invalid_phones_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="mobile prefix"):
        vtm_request("001090012345", "Nguyễn Văn An", "0212345678")  # landline prefix
    with pytest.raises(pydantic.ValidationError, match="phone"):
        vtm_request("001090012345", "Nguyễn Văn An", "961234567")  # lost leading 0
    req = vtm_request("001090012345", "Nguyễn Văn An", "+84 (0)96-123-4567".replace("(0)", ""))
    body = json.loads(viettel_money_sandbox_provider().build_submit(payout_for(req, "viettel_money")).content)
    assert body["msisdn"] == "84961234567"


@pytest.mark.parametrize("make", [viettel_contract, momo_contract], ids=["viettel", "momo"])
async def test_name_matching_through_adapter(tmp_path: Path, make: object) -> None:
    """Diacritics, case, Đ/đ and spacing are folded; a near match is reported, not accepted."""
    contract = make()  # type: ignore[operator]
    h = Harness(contract, tmp_path)
    phone = "0981239999"
    base = contract.success
    wallet = base.destination.model_copy(update={"phone": "84" + phone[1:]})
    async with h.client() as client:
        folded = await client.verify_account(
            base.model_copy(
                update={
                    "destination": wallet,
                    "beneficiary": Beneficiary(cccd="001090012399", full_name="  đặng   THỊ  hoa "),
                }
            )
        )
        assert folded.name_match is NameMatch.FOLDED and folded.accepted
        assert folded.holder_name == "DANG THI HOA"
        near = await client.verify_account(contract.inquiry_near)
        assert near.name_match is NameMatch.NEAR and not near.accepted and near.exists


# ---------------------------------------------------------------------- hostile inputs


def _resp(body: bytes | dict[str, object], headers: dict[str, str] | None = None) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(200, content=raw, headers=headers or {})


def _momo_payout() -> Payout:
    return payout_for(momo_request("001090012345", "Nguyễn Văn An", "0901234567"), "momo")


def test_momo_hostile_responses_raise_specific_errors() -> None:
    adapter, sandbox, payout = momo_sandbox_provider(), MomoSandbox(), _momo_payout()
    good = {
        "orderId": payout.idempotency_key,
        "requestId": payout.idempotency_key,
        "amount": 1_500_000,
        "transId": 3000000001,
        "message": "ok",
    }
    cases = {
        "malformed": _resp(b"{not json"),
        "not_object": _resp(b"[1,2]"),
        "enormous": _resp(b"{" + b" " * (2 << 20) + b"}"),
        "unsigned": _resp({**good, "resultCode": 0, "responseTime": int(time.time() * 1000)}),
        "unknown_code": _resp(sandbox.answer({**good, "resultCode": 8888})),
        "code_99": _resp(sandbox.answer({**good, "resultCode": 99})),
        "duplicate_40": _resp(sandbox.answer({**good, "resultCode": 40})),
        "other_payout": _resp(sandbox.answer({**good, "orderId": "AXother000000", "resultCode": 0})),
        "stale": _resp(sandbox.answer({**good, "resultCode": 0}, at=time.time() - 3600)),
        "float_amount": _resp(sandbox.answer({**good, "resultCode": 0}) | {"amount": 1.5}),
    }
    missing = sandbox.answer({**good, "resultCode": 0})
    del missing["resultCode"]
    cases["missing_field"] = _resp(missing)
    for name, response in cases.items():
        with pytest.raises(ProviderProtocolError):
            adapter.parse_submit(payout, response)
            pytest.fail(f"{name} was accepted")
    ok = adapter.parse_submit(payout, _resp(sandbox.answer({**good, "resultCode": 0})))
    assert ok.outcome is ProviderOutcome.SUCCEEDED


def test_viettel_hostile_responses_raise_specific_errors() -> None:
    adapter, sandbox = viettel_money_sandbox_provider(), ViettelMoneySandbox()
    payout = payout_for(vtm_request("001090012345", "Nguyễn Văn An", "0961234567"), "viettel_money")
    data = {"orderId": payout.idempotency_key, "transId": "VIE1", "status": "SUCCESS", "errorCode": None}
    cases = {
        "malformed": httpx.Response(200, content=b"{oops", headers={"Signature": sandbox.sign(b"{oops")}),
        "unsigned": httpx.Response(
            200, json={"code": "00", "data": data, "responseTime": int(time.time() * 1000)}
        ),
        "unknown_code": sandbox.respond(200, {"code": "ZZ9", "data": data}),
        "unknown_status": sandbox.respond(200, {"code": "00", "data": {**data, "status": "MAYBE"}}),
        "unknown_error": sandbox.respond(
            200, {"code": "00", "data": {**data, "status": "FAILED", "errorCode": "X99"}}
        ),
        "missing_data": sandbox.respond(200, {"code": "00"}),
        "stale": sandbox.respond(200, {"code": "00", "data": data}, at=time.time() - 3600),
        "enormous": httpx.Response(200, content=b"{" + b" " * (2 << 20) + b"}"),
    }
    for name, response in cases.items():
        with pytest.raises(ProviderProtocolError):
            adapter.parse_submit(payout, response)
            pytest.fail(f"{name} was accepted")


async def _processing_with_callback(
    tmp_path: Path, make: object
) -> tuple[Harness, AsyncPayoutClient, Payout, httpx.Request]:
    h = Harness(make(), tmp_path, settle_after_s=60, frozen_clock=True)  # type: ignore[operator]
    client = h.new_client()
    await client.open()
    payout = await client.pay(h.contract.success, wait=False)
    callbacks = await h.settle(61)
    return h, client, payout, callbacks[0]


@pytest.mark.parametrize("make", [viettel_contract, momo_contract], ids=["viettel", "momo"])
async def test_hostile_callbacks_change_nothing(tmp_path: Path, make: object) -> None:
    h, client, payout, genuine = await _processing_with_callback(tmp_path, make)
    try:
        before = await client.ledger.events(payout.id)
        hostile = {
            "malformed": request_with(genuine, content=b"{not json"),
            "missing_fields": request_with(genuine, content=b"{}"),
            "enormous": request_with(genuine, content=b"{" + b" " * (2 << 20) + b"}"),
            "forged": request_with(genuine, headers={"X-Signature": base64.b64encode(b"x" * 70).decode()})
            if "X-Signature" in genuine.headers
            else request_with(genuine, content=genuine.content.replace(b'"signature":"', b'"signature":"00')),
        }
        codes = {}
        for name, req in hostile.items():
            with pytest.raises(WebhookVerificationError) as info:
                await client.handle_callback(h.adapter.name, req)
            codes[name] = info.value.code
        assert codes["enormous"] == "too_large"
        assert codes["malformed"] == "malformed"
        assert await client.ledger.events(payout.id) == before
        await client.handle_callback(h.adapter.name, genuine)
        assert (await client.status(payout.id)).status is PayoutStatus.SUCCEEDED
        after = await client.ledger.events(payout.id)
        with pytest.raises(WebhookVerificationError) as replay:
            await client.handle_callback(h.adapter.name, genuine)
        assert replay.value.code == "replayed"
        assert await client.ledger.events(payout.id) == after
    finally:
        await client.close()


# ---------------------------------------------------------------------- MoMo batch


async def test_momo_batch_build_parse_and_books(tmp_path: Path) -> None:
    h = Harness(momo_contract(), tmp_path)
    requests = [momo_request(f"0010900{i:05d}", "Nguyễn Văn An", f"09012{i:05d}") for i in range(10, 15)]
    requests.append(momo_request("001090099999", "Trần Thị Bình", "0901230001"))  # invalid receiver
    payouts = [h.payout(r) for r in requests]
    adapter = h.adapter
    assert isinstance(adapter, MomoProvider)
    results = await h.exchange(adapter.build_batch(payouts), lambda r: adapter.parse_batch(payouts, r))
    assert set(results) == {p.idempotency_key for p in payouts}
    outcomes = [results[p.idempotency_key].outcome for p in payouts]
    assert outcomes[:5] == [ProviderOutcome.SUCCEEDED] * 5
    assert results[payouts[5].idempotency_key].reason is FailureReason.INVALID_ACCOUNT
    assert len(h.sandbox.paid()) == 5
    # Resending the same batch pays nobody twice: every item is a duplicate (40).
    with pytest.raises(ProviderProtocolError):
        await h.exchange(adapter.build_batch(payouts), lambda r: adapter.parse_batch(payouts, r))
    assert len(h.sandbox.paid()) == 5


def test_momo_batch_limits() -> None:
    adapter = momo_sandbox_provider()
    one = _momo_payout()
    with pytest.raises(ValidationError):
        adapter.build_batch([])
    with pytest.raises(ValidationError):
        adapter.build_batch([one, one])
    too_many = [
        one.model_copy(update={"idempotency_key": f"AXbatch{i:08d}"}) for i in range(momo_wire.MAX_BATCH + 1)
    ]
    with pytest.raises(ValidationError):
        adapter.build_batch(too_many)


# ---------------------------------------------------------------------- real HTTP


@pytest.mark.parametrize(
    ("cli_name", "adapter_cls", "make_request"),
    [
        (
            "viettel-money",
            viettel_money_sandbox_provider,
            lambda: vtm_request("001090012345", "Nguyễn Văn An", "0961234567"),
        ),
        ("momo", momo_sandbox_provider, lambda: momo_request("001090012345", "Nguyễn Văn An", "0901234567")),
    ],
)
async def test_cli_sandbox_serve_round_trip(
    tmp_path: Path, cli_name: str, adapter_cls: Any, make_request: object
) -> None:
    """``asxh-pay sandbox serve NAME --port N`` in another process, paid over real HTTP."""
    port = free_port()
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "asxh_pay", "sandbox", "serve", cli_name, "--port", str(port)],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert f"127.0.0.1:{port}" in line, line
        adapter = adapter_cls(base_url=f"http://127.0.0.1:{port}")
        client = AsyncPayoutClient(
            SqliteLedger(tmp_path / "l.db"),
            [ProviderSetup(adapter)],
            poll=PollPolicy(initial_s=0.2, max_s=0.5, deadline_s=20),
        )
        async with client:
            request = make_request()  # type: ignore[operator]
            assert (await client.verify_account(request)).accepted
            payout = await client.pay(request)
        assert payout.status is PayoutStatus.SUCCEEDED
    finally:
        proc.terminate()
        proc.wait(timeout=10)
