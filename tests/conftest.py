"""Shared fixtures: synthetic beneficiaries and the path to ../shared (optional)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("ASXH_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))


@pytest.fixture
def shared_dir() -> Path:
    """../shared when present; tests that only add checks from it skip otherwise."""
    if not SHARED.is_dir():
        pytest.skip(f"../shared not found at {SHARED}: reference data checks skipped")
    return SHARED


# ---------------------------------------------------------------------- synthetic data

from collections.abc import AsyncIterator, Iterator  # noqa: E402
from typing import Any  # noqa: E402

from asxh_pay.client import AsyncPayoutClient, PollPolicy, ProviderSetup  # noqa: E402
from asxh_pay.ledger import SqliteLedger  # noqa: E402
from asxh_pay.models import Beneficiary, PayoutRequest  # noqa: E402
from asxh_pay.providers.base import with_capabilities  # noqa: E402
from asxh_pay.retry import RetryBudget, RetryPolicy  # noqa: E402
from asxh_pay.sandbox.generic import GenericSandbox, generic_sandbox_provider  # noqa: E402


def cccd_for(i: int) -> str:
    """A structurally valid CCCD (Hanoi, male, born 1950) unique per i."""
    return f"0010{50 + (i // 1_000_000) % 40}{i % 1_000_000:06d}"


def make_request(
    i: int = 0,
    *,
    account: str | None = None,
    amount: int = 1_500_000,
    programme: str = "NCC",
    period: str = "2026-11",
    name: str = "Nguyễn Văn An",
    commune: str | None = "00001",
    **extra: Any,
) -> PayoutRequest:
    return PayoutRequest(
        programme=programme,
        period=period,
        beneficiary=Beneficiary(cccd=cccd_for(i), full_name=name, commune_code=commune),
        destination={"kind": "bank", "bank_bin": "970405", "account_number": account or f"12{i:07d}9"},
        amount=amount,
        **extra,
    )


def many_requests(n: int, start: int = 0) -> Iterator[PayoutRequest]:
    for i in range(start, start + n):
        yield make_request(i)


FAST_RETRY = RetryPolicy(base_delay_s=0.001, max_delay_s=0.01, max_attempts=30, deadline_s=60)
FAST_POLL = PollPolicy(initial_s=0.0, max_s=0.01, deadline_s=30, not_found_grace_s=0.05)


#: The confirmation window the tests' generic provider declares (the default is seconds).
TEST_GRACE_S = 0.05


def generic_setup(sandbox: GenericSandbox, *, grace_s: float = TEST_GRACE_S, **kw: Any) -> ProviderSetup:
    kw.setdefault("retry_budget", RetryBudget(ratio=5.0, min_per_s=10_000, capacity=10_000))
    adapter = with_capabilities(generic_sandbox_provider(), not_found_grace_s=grace_s)
    return ProviderSetup(adapter, transport=sandbox.transport(), **kw)


@pytest.fixture
def sandbox() -> GenericSandbox:
    return GenericSandbox()


@pytest.fixture
async def client(tmp_path: Path, sandbox: GenericSandbox) -> AsyncIterator[AsyncPayoutClient]:
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "ledger.db"), [generic_setup(sandbox)], retry=FAST_RETRY, poll=FAST_POLL
    ) as c:
        yield c
