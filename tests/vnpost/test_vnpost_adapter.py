"""The VNPost adapter's wire rules, bad input, the seeded simulation and the served sandbox."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import httpx
import pydantic
import pytest
from vnpost_support import HOME, PERIOD, PICKUP, Env, authorised, beneficiary, make_env, request

from asxh_pay.cli import SANDBOXES
from asxh_pay.errors import ProviderProtocolError, ValidationError
from asxh_pay.localserver import serve
from asxh_pay.models import Payout, PayoutRequest
from asxh_pay.providers.base import ProviderOutcome
from asxh_pay.providers.vnpost import (
    REASONS,
    STATE_OUTCOME,
    PaymentWindows,
    PostalState,
    check_request,
)
from asxh_pay.sandbox.vnpost import CashSimulation, VNPostSandbox, vnpost_sandbox_provider
from asxh_pay.status import FailureReason, PayoutStatus


def payout_of(req: PayoutRequest) -> Payout:
    now = datetime.now().astimezone()
    return Payout(
        id="po_test",
        idempotency_key=req.key(),
        payload_hash=req.payload_hash(),
        request=req,
        provider="vnpost",
        created_at=now,
        updated_at=now,
    )


def test_cash_home_without_an_address_is_refused_before_anything_exists() -> None:
    for bad in ({"kind": "cash_home"}, {"kind": "cash_home", "address": "   "}):
        with pytest.raises(pydantic.ValidationError) as info:
            request(bad)
        assert "address" in str(info.value)


async def test_cash_home_without_an_address_is_refused_on_the_wire(env: Env) -> None:
    """A partner whose own checks are missing gets ADDRESS_REQUIRED, and nothing is booked."""
    adapter = vnpost_sandbox_provider()
    built = adapter.build_submit(payout_of(request(HOME)))
    body = json.loads(built.content)
    body["delivery"]["address"] = ""
    forged = httpx.Request("POST", built.url, content=json.dumps(body).encode(), headers=dict(built.headers))
    forged.headers.pop("content-length")
    async with httpx.AsyncClient(transport=env.sandbox.transport()) as http:
        response = await http.send(forged, auth=adapter.auth())
    result = adapter.parse_submit(payout_of(request(HOME)), response)
    assert result.outcome is ProviderOutcome.FAILED and result.code == "ADDRESS_REQUIRED"
    assert env.sandbox.payments == {} and env.sandbox.postal == {}


def test_check_request_names_the_problem() -> None:
    check_request(request(PICKUP, recipient=authorised()))
    with pytest.raises(ValidationError) as expired:
        check_request(request(PICKUP, recipient=authorised(valid_until=date(2026, 11, 1))))
    assert expired.value.code == "authorisation_expired"
    with pytest.raises(ValidationError) as bank:
        check_request(request({"kind": "bank", "bank_bin": "970405", "account_number": "1234567890"}))
    assert bank.value.code == "destination_unsupported"
    # Valid on the 1st of the month is enough for an account credit, not for cash from the 2nd.
    check_request(
        request(
            {"kind": "postal_account", "account_number": "123456789"},
            recipient=authorised(valid_until=date(2026, 11, 1)),
        )
    )


def test_windows_are_configurable_and_checked() -> None:
    windows = PaymentWindows(commune=(3, 12), post_office=(13, 27))
    assert windows.window(PERIOD, "commune") == (date(2026, 11, 3), date(2026, 11, 12))
    adapter = vnpost_sandbox_provider(windows=windows)
    body = json.loads(adapter.build_submit(payout_of(request(PICKUP))).content)
    assert body["window"] == {"from": "2026-11-03", "to": "2026-11-12"}
    with pytest.raises(ValidationError):
        PaymentWindows(commune=(10, 2))
    with pytest.raises(ValidationError):
        PaymentWindows(post_office=(11, 31))


def test_submit_body_per_destination_is_deterministic() -> None:
    adapter = vnpost_sandbox_provider()
    home = payout_of(request(HOME, recipient=authorised()))
    a, b = adapter.build_submit(home), adapter.build_submit(home)
    assert a.content == b.content and a.headers["X-Idempotency-Key"] == home.idempotency_key
    body = json.loads(a.content)
    assert body["service"] == "CASH_HOME" and body["delivery"]["special_case"] == "AGED_80_PLUS"
    assert body["receiver"] == {
        "type": "AUTHORISED",
        "id_no": "001085054321",
        "full_name": "Trần Thị Bình",
        "authorisation_ref": "UQ-2026-0042",
        "authorisation_valid_until": "2027-12-31",
    }
    assert body["window"] == {"from": "2026-11-02", "to": "2026-11-25"}
    account = json.loads(
        adapter.build_submit(
            payout_of(request({"kind": "postal_account", "account_number": "1234567890"}))
        ).content
    )
    assert account["service"] == "ACCOUNT_CREDIT" and "window" not in account


def test_every_postal_state_maps_without_widening_the_core() -> None:
    adapter = vnpost_sandbox_provider()
    seen = set()
    for state in PostalState:
        result = adapter.result({"state": state.value, "txn_id": "VNP1", "reason_code": "NOT_COLLECTED"})
        assert result.outcome is STATE_OUTCOME[state]
        assert result.detail["postal_state"] == state.value
        seen.add(result.outcome)
    assert seen == {ProviderOutcome.ACCEPTED, ProviderOutcome.SUCCEEDED, ProviderOutcome.FAILED}
    assert REASONS["NOT_COLLECTED"] is FailureReason.NOT_COLLECTED
    assert REASONS["DELIVERY_FAILED"] is FailureReason.DELIVERY_FAILED
    with pytest.raises(ProviderProtocolError):
        adapter.result({"state": "lost_in_the_mail", "txn_id": "VNP1"})


def test_proof_naming_another_person_is_flagged() -> None:
    adapter = vnpost_sandbox_provider()
    payout = payout_of(request(PICKUP))
    proof = {"receiver_id_no": "001090099999", "proof_ref": "SIG-1", "at": "2026-11-04T08:00:00+07:00"}
    result = adapter.result({"state": "paid", "txn_id": "VNP1", "proof": proof}, payout)
    assert result.detail["proof_cccd_matches"] == "no"
    assert "001090099999" not in result.detail["proof_cccd"]
    assert "001090099999" not in (result.message or "")


async def run_month(tmp_path: Path, seed: int) -> tuple[dict[str, PayoutStatus], dict[str, str]]:
    sim = CashSimulation(auto=True, no_show_rate=0.2, delivery_failure_rate=0.5, seed=seed)
    async for env in make_env(tmp_path, simulation=sim):
        reqs = [request(PICKUP if i % 4 else HOME, i=i) for i in range(80)]
        payouts = (await env.client.pay_many(reqs, keep_payouts=True)).payouts
        for _ in range(26):
            await env.advance(1)
        final = {p.idempotency_key: (await env.client.status(p.id)).status for p in payouts}
        reasons = {p.idempotency_key: str((await env.client.status(p.id)).failure_reason) for p in payouts}
        assert len(env.sandbox.paid()) == list(final.values()).count(PayoutStatus.SUCCEEDED)
        return final, reasons
    raise AssertionError("unreachable")


async def test_simulated_month_is_seeded_and_ends_every_payout(tmp_path: Path) -> None:
    first, reasons = await run_month(tmp_path / "a", seed=7)
    second, _ = await run_month(tmp_path / "b", seed=7)
    assert first == second  # same seed, same month
    counts = {s: list(first.values()).count(s) for s in set(first.values())}
    assert set(counts) == {PayoutStatus.SUCCEEDED, PayoutStatus.FAILED}  # nothing left in between
    assert 0.6 < counts[PayoutStatus.SUCCEEDED] / 80 < 0.95
    assert {reasons[k] for k, s in first.items() if s is PayoutStatus.FAILED} <= {
        "not_collected",
        "delivery_failed",
    }


def test_served_sandbox_speaks_the_same_wire(tmp_path: Path) -> None:
    """`asxh-pay sandbox serve vnpost` serves this sandbox: pay and ask over real HTTP."""
    sandbox = SANDBOXES["vnpost"]()
    assert isinstance(sandbox, VNPostSandbox)
    server = serve(sandbox.handle, port=0).start()
    try:
        adapter = vnpost_sandbox_provider(server.url)
        this_month = datetime.now().astimezone()
        req = PayoutRequest(
            programme="BTXH",
            period=this_month.strftime("%Y-%m"),
            beneficiary=beneficiary(0),
            destination=PICKUP,
            amount=1_000_000,
        )
        payout = payout_of(req)
        with httpx.Client(trust_env=False) as http:
            submitted = adapter.parse_submit(
                payout, http.send(adapter.build_submit(payout), auth=adapter.auth())
            )
            status = adapter.parse_status(
                payout, http.send(adapter.build_status(payout), auth=adapter.auth())
            )
        assert submitted.outcome is ProviderOutcome.ACCEPTED
        assert (
            status.detail["postal_state"] == "ready_for_pickup"
            and len(status.detail["pickup_code_last4"]) == 4
        )
    finally:
        server.stop()
