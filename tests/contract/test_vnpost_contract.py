"""The contract kit run against the VNPost adapter and its sandbox.

The kit drives a payout to its end within seconds, so its "success" sample is a postal
account credit (settled by VNPost the same way as a transfer); the cash destinations'
lives, measured in days of a payment window, are proven in tests/vnpost/. Declines
cover both: account codes, and cash instructions VNPost refuses outright.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import httpx

from asxh_pay.models import Beneficiary, PayoutRequest, Recipient
from asxh_pay.providers.vnpost import EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from asxh_pay.sandbox.base import SandboxProvider
from asxh_pay.sandbox.vnpost import VNPostSandbox, vnpost_sandbox_provider
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


def _request(
    cccd: str, name: str, destination: dict[str, Any], *, recipient: Recipient | None = None
) -> PayoutRequest:
    return PayoutRequest(
        programme="BTXH",
        period="2026-11",
        beneficiary=Beneficiary(cccd=cccd, full_name=name, commune_code="26101"),
        destination=destination,
        amount=1_500_000,
        **({"recipient": recipient} if recipient else {}),
    )


def _account(number: str) -> dict[str, Any]:
    return {"kind": "postal_account", "account_number": number}


def _sandbox(**kwargs: Any) -> VNPostSandbox:
    sandbox = VNPostSandbox(**kwargs)
    sandbox.holders[NEAR_ACCOUNT] = "Nguyễn Văn Anh"
    return sandbox


class VNPostTamperer:
    def response(
        self, sandbox: SandboxProvider, response: httpx.Response, kind: TamperKind
    ) -> httpx.Response:
        if kind == "signature":
            return response_with(
                response, headers={SIGNATURE_HEADER: flip_text(response.headers[SIGNATURE_HEADER])}
            )
        if kind == "timestamp":
            old = str(int(response.headers[TIMESTAMP_HEADER]) - 3600)
            return response_with(response, headers={TIMESTAMP_HEADER: old})
        return response_with(response, content=flip_digit(response.content))

    def callback(self, sandbox: SandboxProvider, request: httpx.Request, kind: TamperKind) -> httpx.Request:
        if kind == "signature":
            return request_with(
                request, headers={SIGNATURE_HEADER: flip_text(request.headers[SIGNATURE_HEADER])}
            )
        if kind == "timestamp":
            assert isinstance(sandbox, VNPostSandbox)
            stale = int(time.time()) - 3600
            sig = sandbox._key.sign(
                signed_payload(request.headers[EVENT_ID_HEADER], stale, request.content)
            ).hex()
            return request_with(request, headers={TIMESTAMP_HEADER: str(stale), SIGNATURE_HEADER: sig})
        return request_with(request, content=flip_digit(request.content))


def vnpost_contract() -> ProviderContract:
    expired = Recipient(
        kind="authorised",
        cccd="001085054321",
        full_name="Trần Thị Bình",
        authorisation_ref="UQ-2026-0042",
        authorisation_valid_until=date(2026, 10, 31),
    )
    return ProviderContract(
        name="vnpost",
        make_adapter=vnpost_sandbox_provider,
        make_sandbox=_sandbox,
        make_forged_adapter=lambda: vnpost_sandbox_provider(secret="not-the-shared-secret"),
        success=_request("001045012345", "Nguyễn Văn An", _account("1234567890")),
        declines=[
            DeclineCase(
                "account_not_found",
                _request("001045012346", "Trần Thị Bình", _account("1234560001")),
                FailureReason.NO_ACCOUNT,
                code="ACCOUNT_NOT_FOUND",
            ),
            DeclineCase(
                "account_closed",
                _request("001045012347", "Lê Văn Cường", _account("1234560002")),
                FailureReason.ACCOUNT_CLOSED,
                code="ACCOUNT_CLOSED",
            ),
            DeclineCase(
                "account_blocked",
                _request("001045012348", "Phạm Thị Dung", _account("1234560003")),
                FailureReason.ACCOUNT_BLOCKED,
                code="ACCOUNT_BLOCKED",
            ),
            DeclineCase(
                "authorisation_expired",
                _request(
                    "001045012349",
                    "Hoàng Văn Em",
                    {"kind": "cash_pickup", "payment_point": "26101", "point_type": "commune"},
                    recipient=expired,
                ),
                FailureReason.AUTHORISATION_INVALID,
                code="AUTHORISATION_EXPIRED",
            ),
            DeclineCase(
                "payment_point_unknown",
                _request(
                    "001045012350",
                    "Đỗ Thị Hạnh",
                    {"kind": "cash_pickup", "payment_point": "BC109999", "point_type": "post_office"},
                ),
                FailureReason.REJECTED_BY_PROVIDER,
                code="PAYMENT_POINT_UNKNOWN",
            ),
        ],
        inquiry_match=_request("001045012351", "Đặng Thị Hoa", _account("9876543210")),
        inquiry_mismatch=_request("001045012352", "Bùi Văn Giang", _account("9876540004")),
        inquiry_unknown=_request("001045012353", "Đỗ Thị Hạnh", _account("9876540001")),
        inquiry_near=_request("001045012354", "Nguyễn Văn An", _account(NEAR_ACCOUNT)),
        tamper=VNPostTamperer(),
    )


class TestVNPostContract(ProviderContractSuite):
    contract = vnpost_contract()
