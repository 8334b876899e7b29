"""The contract kit run against the MoMo Disbursement v2 adapter and its sandbox."""

from __future__ import annotations

import json
import time

import httpx

from asxh_pay.models import Beneficiary, PayoutRequest
from asxh_pay.providers import momo as wire
from asxh_pay.sandbox.base import SandboxProvider
from asxh_pay.sandbox.momo import MomoSandbox, momo_sandbox_provider
from asxh_pay.status import FailureReason
from asxh_pay.testing import (
    DeclineCase,
    ProviderContract,
    ProviderContractSuite,
    TamperKind,
    flip_text,
    request_with,
    response_with,
)


def momo_request(cccd: str, name: str, phone: str, amount: int = 1_500_000) -> PayoutRequest:
    return PayoutRequest(
        programme="NCC",
        period="2026-11",
        beneficiary=Beneficiary(cccd=cccd, full_name=name),
        destination={"kind": "wallet", "provider": "momo", "phone": phone},
        amount=amount,
    )


def _alter_body(raw: bytes) -> bytes:
    """Change a signed value (the amount, or the transId) keeping the old signature."""
    data = json.loads(raw)
    data["amount"] = int(data.get("amount") or 0) + 1000
    return wire.encode(data)


class MomoTamperer:
    def response(
        self, sandbox: SandboxProvider, response: httpx.Response, kind: TamperKind
    ) -> httpx.Response:
        data = json.loads(response.content)
        if kind == "signature":
            data["signature"] = flip_text(data["signature"])
            return response_with(response, content=wire.encode(data))
        if kind == "timestamp":
            assert isinstance(sandbox, MomoSandbox)
            data = sandbox.answer(data, at=time.time() - 3600)
            return response_with(response, content=wire.encode(data))
        return response_with(response, content=_alter_body(response.content))

    def callback(self, sandbox: SandboxProvider, request: httpx.Request, kind: TamperKind) -> httpx.Request:
        data = json.loads(request.content)
        if kind == "signature":
            data["signature"] = flip_text(data["signature"])
            return request_with(request, content=wire.encode(data))
        if kind == "timestamp":
            assert isinstance(sandbox, MomoSandbox)
            data = sandbox.answer(data, at=time.time() - 3600)
            return request_with(request, content=wire.encode(data))
        return request_with(request, content=_alter_body(request.content))


def _unsigned(request: httpx.Request) -> httpx.Request:
    data = json.loads(request.content)
    del data["signature"]
    return request_with(request, content=wire.encode(data))


def momo_contract() -> ProviderContract:
    return ProviderContract(
        name="momo",
        make_adapter=momo_sandbox_provider,
        make_sandbox=MomoSandbox,
        make_forged_adapter=lambda: momo_sandbox_provider(secret_key="a-guessed-secret"),
        success=momo_request("001090012345", "Nguyễn Văn An", "0901234567"),
        declines=[
            DeclineCase(
                "4003_invalid_receiver",
                momo_request("001090012346", "Trần Thị Bình", "0901230001"),
                FailureReason.INVALID_ACCOUNT,
                code="4003",
            ),
            DeclineCase(
                "1007_inactive",
                momo_request("001090012347", "Lê Văn Cường", "0901230002"),
                FailureReason.ACCOUNT_BLOCKED,
                code="1007",
            ),
            DeclineCase(
                "4002_not_verified",
                momo_request("001090012348", "Phạm Thị Dung", "0901230003"),
                FailureReason.RECEIVER_NOT_VERIFIED,
                code="4002",
            ),
            DeclineCase(
                "1004_receiver_limit",
                momo_request("001090012350", "Vũ Thị Giang", "0901230005"),
                FailureReason.LIMIT_EXCEEDED,
                code="1004",
            ),
            DeclineCase(
                "4005_other_personal_id",
                momo_request("001090012351", "Võ Văn Hải", "0901230007"),
                FailureReason.IDENTITY_CHECK_FAILED,
                code="4005",
            ),
            DeclineCase(
                "1100_partner_balance",
                momo_request("001090012352", "Đặng Thị Hoa", "0901230006"),
                FailureReason.INSUFFICIENT_FUNDS,
                retryable=True,
                code="1100",
            ),
        ],
        inquiry_match=momo_request("001090012353", "Bùi Văn Khánh", "0931112222"),
        inquiry_mismatch=momo_request("001090012354", "Đỗ Thị Lan", "0931110004"),
        inquiry_unknown=momo_request("001090012355", "Hồ Văn Minh", "0931110001"),
        inquiry_near=momo_request("001090012356", "Ngô Thị Nga", "0931110008"),
        tamper=MomoTamperer(),
        strip_signature=_unsigned,
    )


class TestMomoContract(ProviderContractSuite):
    contract = momo_contract()
