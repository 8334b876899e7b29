"""The contract kit run against the Viettel Money adapter and its sandbox."""

from __future__ import annotations

import json
import time

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from asxh_pay.models import Beneficiary, PayoutRequest
from asxh_pay.providers import viettel_money as wire
from asxh_pay.sandbox.base import SandboxProvider
from asxh_pay.sandbox.viettel_money import ViettelMoneySandbox, viettel_money_sandbox_provider
from asxh_pay.status import FailureReason
from asxh_pay.testing import (
    DeclineCase,
    ProviderContract,
    ProviderContractSuite,
    TamperKind,
    flip_digit,
    flip_text,
    request_with,
    response_with,
)


def vtm_request(cccd: str, name: str, phone: str, amount: int = 1_500_000) -> PayoutRequest:
    return PayoutRequest(
        programme="BTXH",
        period="2026-11",
        beneficiary=Beneficiary(cccd=cccd, full_name=name),
        destination={"kind": "wallet", "provider": "viettel_money", "phone": phone},
        amount=amount,
    )


class ViettelTamperer:
    def response(
        self, sandbox: SandboxProvider, response: httpx.Response, kind: TamperKind
    ) -> httpx.Response:
        if kind == "signature":
            return response_with(response, headers={"Signature": flip_text(response.headers["Signature"])})
        if kind == "timestamp":
            assert isinstance(sandbox, ViettelMoneySandbox)
            body = json.loads(response.content)
            body.pop("responseTime")
            return sandbox.respond(response.status_code, body, at=time.time() - 3600)
        return response_with(response, content=flip_digit(response.content, occurrence=3))

    def callback(self, sandbox: SandboxProvider, request: httpx.Request, kind: TamperKind) -> httpx.Request:
        if kind == "signature":
            return request_with(request, headers={"X-Signature": flip_text(request.headers["X-Signature"])})
        if kind == "timestamp":
            assert isinstance(sandbox, ViettelMoneySandbox)
            body = json.loads(request.content)
            body["timestamp"] = int(time.time()) - 3600
            raw = wire.encode(body)
            return request_with(request, content=raw, headers={"X-Signature": sandbox.sign(raw)})
        return request_with(request, content=flip_digit(request.content))


def viettel_contract() -> ProviderContract:
    return ProviderContract(
        name="viettel_money",
        make_adapter=viettel_money_sandbox_provider,
        make_sandbox=ViettelMoneySandbox,
        make_forged_adapter=lambda: viettel_money_sandbox_provider(
            partner_key=ec.generate_private_key(ec.SECP256R1())
        ),
        success=vtm_request("001090012345", "Nguyễn Văn An", "0961234567"),
        declines=[
            DeclineCase(
                "W01_no_wallet",
                vtm_request("001090012346", "Trần Thị Bình", "0961230001"),
                FailureReason.INVALID_ACCOUNT,
                code="W01",
            ),
            DeclineCase(
                "W02_locked",
                vtm_request("001090012347", "Lê Văn Cường", "0961230002"),
                FailureReason.ACCOUNT_BLOCKED,
                code="W02",
            ),
            DeclineCase(
                "W03_not_verified",
                vtm_request("001090012348", "Phạm Thị Dung", "0961230003"),
                FailureReason.RECEIVER_NOT_VERIFIED,
                code="W03",
            ),
            DeclineCase(
                "W04_name_mismatch",
                vtm_request("001090012349", "Hoàng Văn Em", "0961230004"),
                FailureReason.NAME_MISMATCH,
                code="W04",
            ),
            DeclineCase(
                "W05_receiver_limit",
                vtm_request("001090012350", "Vũ Thị Giang", "0961230005"),
                FailureReason.LIMIT_EXCEEDED,
                code="W05",
            ),
            DeclineCase(
                "W06_other_cccd",
                vtm_request("001090012351", "Võ Văn Hải", "0961230007"),
                FailureReason.IDENTITY_CHECK_FAILED,
                code="W06",
            ),
            DeclineCase(
                "B01_partner_balance",
                vtm_request("001090012352", "Đặng Thị Hoa", "0961230006"),
                FailureReason.INSUFFICIENT_FUNDS,
                retryable=True,
                code="B01",
            ),
        ],
        inquiry_match=vtm_request("001090012353", "Bùi Văn Khánh", "0971112222"),
        inquiry_mismatch=vtm_request("001090012354", "Đỗ Thị Lan", "0971110004"),
        inquiry_unknown=vtm_request("001090012355", "Hồ Văn Minh", "0971110001"),
        inquiry_near=vtm_request("001090012356", "Ngô Thị Nga", "0971110008"),
        tamper=ViettelTamperer(),
    )


class TestViettelMoneyContract(ProviderContractSuite):
    contract = viettel_contract()
