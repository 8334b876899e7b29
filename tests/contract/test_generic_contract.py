"""The contract kit run against the core's generic provider and its sandbox."""

from __future__ import annotations

import time
from typing import Any

import httpx

from asxh_pay.models import Beneficiary, PayoutRequest
from asxh_pay.sandbox.base import SandboxProvider
from asxh_pay.sandbox.generic import GenericSandbox, generic_sandbox_provider
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
from asxh_pay.webhooks import signed_payload

NEAR_ACCOUNT = "5550001234567"


def _request(cccd: str, name: str, account: str, amount: int = 1_500_000) -> PayoutRequest:
    return PayoutRequest(
        programme="NCC",
        period="2026-11",
        beneficiary=Beneficiary(cccd=cccd, full_name=name),
        destination={"kind": "bank", "bank_bin": "970405", "account_number": account},
        amount=amount,
    )


def _sandbox(**kwargs: Any) -> GenericSandbox:
    sandbox = GenericSandbox(**kwargs)
    sandbox.holders[NEAR_ACCOUNT] = "Nguyễn Văn Anh"
    return sandbox


class GenericTamperer:
    def response(
        self, sandbox: SandboxProvider, response: httpx.Response, kind: TamperKind
    ) -> httpx.Response:
        if kind == "signature":
            return response_with(
                response, headers={"X-Signature": flip_text(response.headers["X-Signature"])}
            )
        if kind == "timestamp":
            return response_with(
                response, headers={"X-Timestamp": str(int(response.headers["X-Timestamp"]) - 3600)}
            )
        return response_with(response, content=flip_digit(response.content))

    def callback(self, sandbox: SandboxProvider, request: httpx.Request, kind: TamperKind) -> httpx.Request:
        if kind == "signature":
            return request_with(request, headers={"X-Signature": flip_text(request.headers["X-Signature"])})
        if kind == "timestamp":
            assert isinstance(sandbox, GenericSandbox)
            stale = int(time.time()) - 3600
            event_id = request.headers["X-Event-Id"]
            sig = sandbox._key.sign(signed_payload(event_id, stale, request.content)).hex()
            return request_with(request, headers={"X-Timestamp": str(stale), "X-Signature": sig})
        return request_with(request, content=flip_digit(request.content))


def generic_contract() -> ProviderContract:
    return ProviderContract(
        name="generic",
        make_adapter=generic_sandbox_provider,
        make_sandbox=_sandbox,
        make_forged_adapter=lambda: generic_sandbox_provider(secret="not-the-shared-secret"),
        success=_request("001090012345", "Nguyễn Văn An", "1234567890"),
        declines=[
            DeclineCase(
                "invalid_account",
                _request("001090012346", "Trần Thị Bình", "1234560001"),
                FailureReason.INVALID_ACCOUNT,
                code="INVALID_ACCOUNT",
            ),
            DeclineCase(
                "account_closed",
                _request("001090012347", "Lê Văn Cường", "1234560002"),
                FailureReason.ACCOUNT_CLOSED,
                code="ACCOUNT_CLOSED",
            ),
            DeclineCase(
                "account_blocked",
                _request("001090012348", "Phạm Thị Dung", "1234560003"),
                FailureReason.ACCOUNT_BLOCKED,
                code="ACCOUNT_BLOCKED",
            ),
            DeclineCase(
                "limit_exceeded",
                _request("001090012349", "Hoàng Văn Em", "1234560005"),
                FailureReason.LIMIT_EXCEEDED,
                code="LIMIT_EXCEEDED",
            ),
        ],
        inquiry_match=_request("001090012350", "Đặng Thị Hoa", "9876543210"),
        inquiry_mismatch=_request("001090012351", "Bùi Văn Giang", "9876540004"),
        inquiry_unknown=_request("001090012352", "Đỗ Thị Hạnh", "9876540001"),
        inquiry_near=_request("001090012353", "Nguyễn Văn An", NEAR_ACCOUNT),
        tamper=GenericTamperer(),
    )


class TestGenericContract(ProviderContractSuite):
    contract = generic_contract()
