"""Support for the VNPost tests: a frozen sandbox clock at the start of a pay month,
the VNPost sandbox wired to a client over an in-process transport, callbacks delivered
to the client, and synthetic beneficiaries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx

from asxh_pay.client import AsyncPayoutClient, PollPolicy, ProviderSetup
from asxh_pay.errors import WebhookVerificationError
from asxh_pay.ledger import SqliteLedger
from asxh_pay.models import Beneficiary, PayoutRequest, Recipient
from asxh_pay.providers.vnpost import VN_TZ
from asxh_pay.retry import RetryPolicy
from asxh_pay.sandbox.base import SandboxClock
from asxh_pay.sandbox.vnpost import CashSimulation, VNPostSandbox, vnpost_sandbox_provider

PERIOD = "2026-11"
DAY = 86_400.0
# 1 November 2026, 08:00 in Vietnam: before the commune window (days 2-10) opens.
START = datetime(2026, 11, 1, 8, 0, tzinfo=VN_TZ).timestamp()

BENEFICIARY_CCCD = "001045012345"  # born 1945, aged 80+
AUTHORISED_CCCD = "001085054321"
STRANGER_CCCD = "001090099999"


def beneficiary(i: int = 0, *, commune: str = "26101") -> Beneficiary:
    cccd = BENEFICIARY_CCCD if i == 0 else f"0010{45 + i % 50:02d}{i:06d}"
    return Beneficiary(cccd=cccd, full_name="Nguyễn Văn An", commune_code=commune)


def authorised(*, valid_until: date | None = date(2027, 12, 31), ref: str = "UQ-2026-0042") -> Recipient:
    return Recipient(
        kind="authorised",
        cccd=AUTHORISED_CCCD,
        full_name="Trần Thị Bình",
        relation="con gái",
        authorisation_ref=ref,
        authorisation_valid_until=valid_until,
    )


def request(destination: dict[str, Any], *, i: int = 0, amount: int = 1_500_000, **kw: Any) -> PayoutRequest:
    return PayoutRequest(
        programme="BTXH",
        period=PERIOD,
        beneficiary=beneficiary(i),
        destination=destination,
        amount=amount,
        **kw,
    )


PICKUP = {"kind": "cash_pickup", "payment_point": "26101", "point_type": "commune"}
POST_OFFICE = {"kind": "cash_pickup", "payment_point": "BC100000", "point_type": "post_office"}
HOME = {
    "kind": "cash_home",
    "address": "Thôn 3, xã Hòa Bình",
    "phone": "0912345678",
    "special_case": "aged 80+",
}


@dataclass
class Env:
    client: AsyncPayoutClient
    sandbox: VNPostSandbox
    clock: SandboxClock
    callbacks: list[httpx.Response]

    async def advance(self, days: float) -> None:
        """Move the sandbox clock, let VNPost act, and deliver its callbacks."""
        self.clock.advance(days * DAY)
        self.sandbox.settle_due()
        await self.sandbox.deliver_callbacks()

    async def callbacks_now(self) -> None:
        await self.sandbox.deliver_callbacks()


async def make_env(tmp_path: Path, **sandbox_kw: Any) -> AsyncIterator[Env]:
    clock = SandboxClock(START, frozen=True)
    sandbox = VNPostSandbox(clock=clock, **sandbox_kw)
    client = AsyncPayoutClient(
        SqliteLedger(tmp_path / "ledger.db"),
        [ProviderSetup(vnpost_sandbox_provider(), transport=sandbox.transport())],
        poll=PollPolicy(initial_s=0.0, deadline_s=0.0),
        retry=RetryPolicy(base_delay_s=0.001, max_delay_s=0.01, max_attempts=10),
    )
    acks: list[httpx.Response] = []

    async def sink(req: httpx.Request) -> None:
        # What a receiver answers: a verified repeat ("replayed") is acknowledged, so VNPost
        # stops resending it; anything else refused is an error the provider will retry.
        try:
            acks.append(await client.handle_callback("vnpost", req))
        except WebhookVerificationError as exc:
            if exc.code != "replayed":
                raise
            acks.append(httpx.Response(200, json={"result": "OK", "duplicate": True}))

    sandbox.callback_sink = sink
    async with client:
        yield Env(client, sandbox, clock, acks)


__all__ = ["CashSimulation"]
