"""asxh_pay's contract kit run against SenPay's adapter and sandbox, and the plugin's registration."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from senpay.adapter import SenPayProvider
from senpay.sandbox import SenPaySandbox, senpay_sandbox_provider

from asxh_pay.errors import ConfigurationError
from asxh_pay.models import Beneficiary, PayoutRequest
from asxh_pay.plugins import load_provider
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


def request(cccd: str, name: str, account: str, amount: int = 1_500_000) -> PayoutRequest:
    return PayoutRequest(
        programme="NCC",
        period="2026-11",
        amount=amount,
        beneficiary=Beneficiary(cccd=cccd, full_name=name),
        destination={"kind": "bank", "bank_bin": "970405", "account_number": account},
    )


def sandbox(**kwargs: Any) -> SenPaySandbox:
    made = SenPaySandbox(**kwargs)
    made.holders[NEAR_ACCOUNT] = "Nguyễn Văn Anh"
    return made


class SenPayTamperer:
    def response(self, sandbox: SenPaySandbox, response: httpx.Response, kind: TamperKind) -> httpx.Response:
        if kind == "signature":
            return response_with(response, headers={"Sen-Sign": flip_text(response.headers["Sen-Sign"])})
        if kind == "timestamp":  # validly signed, an hour old
            stale = str(int(time.time()) - 3600)
            sign = sandbox.key.sign(f"{stale}.".encode() + response.content).hex()
            return response_with(response, headers={"Sen-Time": stale, "Sen-Sign": sign})
        return response_with(response, content=flip_digit(response.content))

    def callback(self, sandbox: SenPaySandbox, request: httpx.Request, kind: TamperKind) -> httpx.Request:
        if kind == "signature":
            return request_with(request, headers={"Sen-Sign": flip_text(request.headers["Sen-Sign"])})
        if kind == "timestamp":
            stale = int(time.time()) - 3600
            sign = sandbox.key.sign(
                signed_payload(request.headers["Sen-Event"], stale, request.content)
            ).hex()
            return request_with(request, headers={"Sen-Time": str(stale), "Sen-Sign": sign})
        return request_with(request, content=flip_digit(request.content))


def decline(name: str, cccd: str, account: str, reason: FailureReason, code: str) -> DeclineCase:
    return DeclineCase(name, request(cccd, "Trần Thị Bình", account), reason, retryable=False, code=code)


class TestSenPayContract(ProviderContractSuite):
    contract = ProviderContract(
        name="senpay",
        make_adapter=senpay_sandbox_provider,
        make_sandbox=sandbox,
        make_forged_adapter=lambda: senpay_sandbox_provider(secret="not-the-sandbox-secret"),
        success=request("001090012345", "Nguyễn Văn An", "1234567890"),
        declines=[
            decline(
                "bad_account", "001090012346", "1234560001", FailureReason.INVALID_ACCOUNT, "BAD_ACCOUNT"
            ),
            decline("closed", "001090012347", "1234560002", FailureReason.ACCOUNT_CLOSED, "CLOSED"),
            decline("frozen", "001090012348", "1234560003", FailureReason.ACCOUNT_BLOCKED, "FROZEN"),
        ],
        inquiry_match=request("001090012350", "Đặng Thị Hoa", "9876543210"),
        inquiry_mismatch=request("001090012351", "Bùi Văn Giang", "9876540004"),
        inquiry_unknown=request("001090012352", "Đỗ Thị Hạnh", "9876540001"),
        inquiry_near=request("001090012353", "Nguyễn Văn An", NEAR_ACCOUNT),
        tamper=SenPayTamperer(),
    )


def test_the_entry_point_is_installed() -> None:
    """``pip install`` of this package registered it: asxh_pay finds it by name."""
    plugin = load_provider("senpay")
    assert plugin.adapter is SenPayProvider and plugin.sandbox is SenPaySandbox
    assert plugin.configure is not None
    adapter = plugin.configure("https://api.senpay.example", {"secret_key": "s3cret", "partner_code": "M1"})
    assert adapter.name == "senpay"
    with pytest.raises(ConfigurationError, match="set secret_key"):
        plugin.configure("https://api.senpay.example", {"secret_key": None, "partner_code": "M1"})
    with pytest.raises(ConfigurationError, match="published credentials"):
        senpay_sandbox_provider("https://api.senpay.example")


def test_a_payroll_rail_names_senpay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``[rails.senpay]`` in asxh-pay.toml: the payroll's rails include SenPay's, with its sandbox
    in process (embedded) and the wallet destination routed to it."""
    from asxh_pay.config import load_settings
    from asxh_pay.payroll.configured import rails_from_settings

    monkeypatch.chdir(tmp_path)
    config = tmp_path / "asxh-pay.toml"
    config.write_text('[rails.senpay]\nsandbox = true\ndestinations = ["wallet:senpay"]\n', "utf-8")
    rails = rails_from_settings(load_settings(config), tmp_path)
    try:
        assert rails.router.routes["wallet:senpay"] == "senpay"
        assert isinstance(rails.sandboxes["senpay"], SenPaySandbox)
        assert "senpay" in [setup.adapter.name for setup in rails.setups]
    finally:
        rails.close()
