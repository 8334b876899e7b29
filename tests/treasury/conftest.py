"""Fixtures for the treasury rail: keys, a sandbox bank, a channel on a fresh ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from asxh_pay.calendar_vn import VN_TZ, VietnamCalendar
from asxh_pay.iso20022 import Party
from asxh_pay.ledger import SqliteLedger
from asxh_pay.models import PayoutRequest
from asxh_pay.providers.treasury import BatchStore, TreasuryConfig, TreasuryProvider
from asxh_pay.retry import RetryPolicy
from asxh_pay.sandbox.treasury import SANDBOX_URL, TreasurySandbox
from asxh_pay.signing import EcdsaSigner, EcdsaVerifier, generate_ec_key
from asxh_pay.treasury_channel import TreasuryChannel
from tests.conftest import cccd_for

DEBTOR_ACCOUNT = "0011001234567"
CLIENT_ID = "district-001"
#: Banks used for the synthetic beneficiaries (all in asxh_pay.banks.BANKS).
BINS = ("970405", "970415", "970436", "970418", "970422", "999888")
#: Monday 2 November 2026, 09:00 in Hanoi: before the cut-off on a business day.
RUN_AT = datetime(2026, 11, 2, 9, 0, tzinfo=VN_TZ)
FAST = RetryPolicy(max_attempts=4, base_delay_s=0.001, max_delay_s=0.005, deadline_s=10)


@dataclass
class Keys:
    client: ec.EllipticCurvePrivateKey
    bank: ec.EllipticCurvePrivateKey


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(generate_ec_key(), generate_ec_key())


def treasury_request(
    i: int, *, amount: int = 1_500_000, account: str | None = None, **kw: Any
) -> PayoutRequest:
    """A valid request paying a bank account; BINs rotate over several banks."""
    return PayoutRequest(
        programme=kw.pop("programme", "NCC" if i % 3 else "BTXH"),
        period=kw.pop("period", "2026-11"),
        beneficiary={"cccd": cccd_for(i), "full_name": "Nguyễn Văn An", "commune_code": "00001"},
        destination={
            "kind": "bank",
            "bank_bin": BINS[i % len(BINS)],
            "account_number": account or f"12{i:07d}9",
        },
        amount=amount,
        **kw,
    )


def make_sandbox(keys: Keys, **kw: Any) -> TreasurySandbox:
    kw.setdefault("business_date", RUN_AT.date())
    return TreasurySandbox(
        clients={CLIENT_ID: (EcdsaVerifier(keys.client.public_key()), DEBTOR_ACCOUNT)},
        bank_signer=EcdsaSigner(keys.bank),
        **kw,
    )


def make_config(**kw: Any) -> TreasuryConfig:
    return TreasuryConfig(
        debtor=Party("Phòng LĐTBXH huyện Đông Anh", DEBTOR_ACCOUNT, bank_bin="970415"),
        initiating_party="Phòng LĐTBXH huyện Đông Anh",
        client_id=CLIENT_ID,
        calendar=kw.pop("calendar", VietnamCalendar(cutoff=time(15, 30))),
        **kw,
    )


def make_adapter(keys: Keys, store: BatchStore | None = None, **kw: Any) -> TreasuryProvider:
    return TreasuryProvider(
        make_config(**kw),
        EcdsaSigner(keys.client),
        base_url=SANDBOX_URL,
        bank_verifier=EcdsaVerifier(keys.bank.public_key()),
        store=store,
    )


ChannelFactory = Callable[..., TreasuryChannel]


@pytest.fixture
def sandbox(keys: Keys) -> TreasurySandbox:
    return make_sandbox(keys)


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[SqliteLedger]:
    async with SqliteLedger(tmp_path / "ledger.db") as led:
        yield led


def make_channel(
    keys: Keys,
    ledger: SqliteLedger,
    sandbox: TreasurySandbox,
    root: Path,
    *,
    at: datetime = RUN_AT,
    **kw: Any,
) -> TreasuryChannel:
    store = BatchStore(root)
    return TreasuryChannel(
        make_adapter(keys, store, **kw),
        ledger,
        store,
        transport=sandbox.transport(),
        retry=FAST,
        clock=lambda: at.astimezone(UTC),
    )


def day(text: str) -> date:
    return date.fromisoformat(text)
