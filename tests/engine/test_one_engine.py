"""Issue 15: every rail's sends go through the one engine loop, and its results through
the one apply step with hooks.

Each test here fails on the code before the engine: the bank channel had its own loop
(no retry budget, no shared backoff), the VNPost manifest sender retried without backoff
and called a lost answer "not sent", bank transitions skipped the hooks, and nothing
sent MoMo batches.
"""

from __future__ import annotations

import random
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
import pytest

import asxh_pay.retry as retry_module
from asxh_pay.client import AsyncPayoutClient, ProviderSetup
from asxh_pay.engine.manifests import ManifestSender, ManifestStore
from asxh_pay.engine.treasury import TreasuryChannel
from asxh_pay.errors import OutcomeUnknown, RequestNotSent
from asxh_pay.ledger import SqliteLedger
from asxh_pay.models import Payout, StatusEvent
from asxh_pay.providers.base import SubmitShape
from asxh_pay.providers.momo import PATH_PAY, MomoProvider
from asxh_pay.providers.treasury import BatchStore
from asxh_pay.providers.vnpost import VNPostProvider, build_manifests
from asxh_pay.retry import RetryBudget, RetryPolicy
from asxh_pay.signing import generate_ec_key
from asxh_pay.status import FailureReason, PayoutStatus
from asxh_pay.testing import Harness
from asxh_pay.testing.files import FaultyTransport as FlakyTransport
from tests.contract.test_momo_contract import momo_contract, momo_request
from tests.treasury.conftest import RUN_AT, Keys, make_adapter, make_sandbox, treasury_request
from tests.vnpost.vnpost_support import PICKUP, make_env, request

POLICY = RetryPolicy(max_attempts=4, base_delay_s=0.001, max_delay_s=0.004, deadline_s=10.0)


def _budget() -> RetryBudget:
    return RetryBudget(ratio=1.0, min_per_s=1000.0, capacity=100.0)


@pytest.fixture
def backoffs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every backoff the engine's loop computes: (which rail's policy, attempt)."""
    seen: list[tuple[str, int]] = []
    real = retry_module.backoff_delay

    def spy(policy: RetryPolicy, attempt: int, rng: random.Random | None = None) -> float:
        seen.append(("policy" if policy is POLICY else "other", attempt))
        return real(policy, attempt, rng)

    monkeypatch.setattr(retry_module, "backoff_delay", spy)
    return seen


def _keys() -> Keys:
    return Keys(generate_ec_key(), generate_ec_key())


def _channel(
    keys: Keys, ledger: SqliteLedger, transport: httpx.AsyncBaseTransport, root: Path, **kw: Any
) -> TreasuryChannel:
    store = BatchStore(root)
    return TreasuryChannel(
        make_adapter(keys, store),
        ledger,
        store,
        transport=transport,
        retry=POLICY,
        clock=lambda: RUN_AT.astimezone(UTC),
        **kw,
    )


def _is_upload(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path in ("/h2h/v1/files", "/api/v1/manifests")


def _is_pay(request: httpx.Request) -> bool:
    return request.url.path == PATH_PAY


async def _wallet_payout(
    tmp_path: Path, faults: list[str], budget: RetryBudget
) -> tuple[Payout, list[PayoutStatus], int]:
    """A wallet payout through the client: it, its recorded statuses, how many pay requests."""
    h = Harness(momo_contract(), tmp_path)
    flaky = FlakyTransport(h.transport(), _is_pay)
    flaky.faults = list(faults)
    client = AsyncPayoutClient(
        SqliteLedger(tmp_path / "wallet.db"),
        [ProviderSetup(h.adapter, transport=flaky, retry_budget=budget)],
        retry=POLICY,
    )
    async with client:
        payout = await client.pay(momo_request("001090000010", "Nguyễn Văn An", "0901200010"), wait=False)
        events = await client.ledger.events(payout.id)
    return payout, [e.to_status for e in events], flaky.seen


async def test_bank_files_and_manifests_are_retried_like_a_wallet_payout(
    tmp_path: Path, backoffs: list[tuple[str, int]]
) -> None:
    """Two "not sent" faults before the upload gets through: each rail backs off twice by
    the same full-jitter rule and takes two tokens from its retry budget, and the bank and
    VNPost each receive the file once."""
    faults = ["connect", "unavailable"]

    wallet_budget = _budget()
    payout, _, _ = await _wallet_payout(tmp_path / "w", faults, wallet_budget)
    assert payout.status in (PayoutStatus.PROCESSING, PayoutStatus.SUCCEEDED)
    wallet_backoffs = list(backoffs)
    assert wallet_backoffs == [("policy", 1), ("policy", 2)]
    assert wallet_budget.retries == 2

    keys = _keys()
    bank = make_sandbox(keys)
    bank_flaky = FlakyTransport(bank.transport(), _is_upload)
    bank_flaky.faults = list(faults)
    bank_budget = _budget()
    backoffs.clear()
    async with SqliteLedger(tmp_path / "bank.db") as ledger:
        channel = _channel(keys, ledger, bank_flaky, tmp_path / "store", retry_budget=bank_budget)
        payouts = await channel.record(treasury_request(i) for i in range(3))
        report = await channel.submit(payouts)
        await channel.aclose()
    assert not report.not_uploaded and len(report.batches) == 1
    assert channel.store.get(report.batches[0]).state == "uploaded"
    assert backoffs == wallet_backoffs and bank_budget.retries == 2
    assert bank_flaky.seen == 3 and len(bank.files) == 1

    manifest_budget = _budget()
    backoffs.clear()
    async for env in make_env(tmp_path / "v", require_manifest=True):
        summary = await env.client.pay_many([request(PICKUP, i=i) for i in range(2)], keep_payouts=True)
        manifest = build_manifests(summary.payouts)[0]
        adapter = env.client.adapter("vnpost")
        assert isinstance(adapter, VNPostProvider)
        flaky = FlakyTransport(env.sandbox.transport(), _is_upload)
        flaky.faults = list(faults)
        async with ManifestSender(
            adapter, transport=flaky, retry=POLICY, retry_budget=manifest_budget
        ) as sender:
            status = await sender.submit(manifest)
        assert status.state == "dispatched"
        assert backoffs == wallet_backoffs and manifest_budget.retries == 2
        assert flaky.seen == 3


async def test_not_sent_and_unknown_are_told_apart_on_every_rail(tmp_path: Path) -> None:
    """When every attempt fails: a refused connection is "not sent" on every rail; a lost
    answer leaves a wallet payout ``unknown`` (resolved by asking, never resent blind)
    and is reported as an unknown outcome for a manifest, never as "not sent"."""
    payout, statuses, sent = await _wallet_payout(tmp_path / "w", ["lost"], _budget())
    assert PayoutStatus.UNKNOWN in statuses and sent == 1  # resolved by asking, not resent
    assert payout.status is PayoutStatus.SUCCEEDED

    keys = _keys()
    bank = make_sandbox(keys)
    bank_flaky = FlakyTransport(bank.transport(), _is_upload)
    bank_flaky.always = "connect"
    async with SqliteLedger(tmp_path / "bank.db") as ledger:
        channel = _channel(keys, ledger, bank_flaky, tmp_path / "store")
        payouts = await channel.record(treasury_request(i) for i in range(2))
        report = await channel.submit(payouts)
        await channel.aclose()
    assert [why.split(":")[0] for _b, why in report.not_uploaded] == ["RequestNotSent"]
    assert bank_flaky.seen == POLICY.max_attempts and not bank.files

    async for env in make_env(tmp_path / "v", require_manifest=True):
        summary = await env.client.pay_many([request(PICKUP, i=i) for i in range(2)], keep_payouts=True)
        manifest = build_manifests(summary.payouts)[0]
        adapter = env.client.adapter("vnpost")
        assert isinstance(adapter, VNPostProvider)
        flaky = FlakyTransport(env.sandbox.transport(), _is_upload)
        flaky.always = "lost"
        async with ManifestSender(adapter, transport=flaky, retry=POLICY, retry_budget=_budget()) as sender:
            with pytest.raises(OutcomeUnknown):
                await sender.submit(manifest)
            assert flaky.seen == POLICY.max_attempts  # same manifest number each time
            flaky.always = "connect"
            with pytest.raises(RequestNotSent):
                await sender.submit(manifest)
        # The lost answers were about one manifest: VNPost dispatched it once.
        assert {r.manifest_no for r in env.sandbox.postal.values()} == {manifest.manifest_no}


async def test_a_lost_bank_upload_is_sent_again_identical(tmp_path: Path) -> None:
    """The bank recognises a resent file by its MsgId, as the adapter declares, so the
    engine sends a file whose answer was lost again (the same bytes): uploaded once."""
    keys = _keys()
    bank = make_sandbox(keys)
    flaky = FlakyTransport(bank.transport(), _is_upload)
    flaky.faults = ["lost"]
    async with SqliteLedger(tmp_path / "bank.db") as ledger:
        channel = _channel(keys, ledger, flaky, tmp_path / "store")
        declared = channel.adapter.capabilities.submission(SubmitShape.FILE)
        assert declared is not None and declared.resend_recognised
        report = await channel.submit(await channel.record(treasury_request(i) for i in range(3)))
        await channel.aclose()
    assert not report.not_uploaded and flaky.seen == 2
    assert len(bank.files) == 1 and len(bank.transfers) == 3


async def test_hooks_fire_for_bank_transitions(tmp_path: Path) -> None:
    """The client's hooks see a bank payout move as they see a wallet payout: accepted
    by pain.002, then booked on the value date."""
    keys = _keys()
    bank = make_sandbox(keys)
    seen: list[tuple[str, PayoutStatus]] = []

    def hook(payout: Payout, event: StatusEvent) -> None:
        seen.append((payout.id, event.to_status))

    async with SqliteLedger(tmp_path / "bank.db") as ledger:
        channel = _channel(keys, ledger, bank.transport(), tmp_path / "store", hooks=[hook])
        payouts = await channel.record(treasury_request(i) for i in range(3))
        await channel.submit(payouts)
        await channel.poll()
        bank.advance(RUN_AT.date())
        await channel.poll()
        await channel.aclose()
    ids = {p.id for p in payouts}
    assert {pid for pid, s in seen if s is PayoutStatus.PROCESSING} == ids
    assert {pid for pid, s in seen if s is PayoutStatus.SUCCEEDED} == ids


async def test_momo_batches_go_through_the_engine(tmp_path: Path) -> None:
    """MoMo's batch API, unused before: payouts recorded, grouped within the declared
    limit, sent as batches, each item applied with hooks; resent, nobody is paid twice."""
    h = Harness(momo_contract(), tmp_path)
    client = h.new_client()
    seen: list[PayoutStatus] = []
    client.hooks.append(lambda p, e: seen.append(e.to_status))
    adapter = h.adapter
    assert isinstance(adapter, MomoProvider)
    adapter.capabilities = adapter.capabilities.__class__(  # type: ignore[misc]
        **{
            **{f: getattr(adapter.capabilities, f) for f in adapter.capabilities.__dataclass_fields__},
            "submissions": (adapter.capabilities.submissions[0], _batch_of(4)),
        }
    )
    requests = [momo_request(f"0010900{i:05d}", "Nguyễn Văn An", f"09012{i:05d}") for i in range(10, 15)]
    requests.append(momo_request("001090099999", "Trần Thị Bình", "0901230001"))  # invalid receiver
    async with client:
        payouts = [(await client.ledger.create_or_get(client.new_payout(r)))[0] for r in requests]
        done = {p.id: p for p in await client.submit_batches(payouts)}
        assert len(done) == 6
        statuses = [done[p.id].status for p in payouts]
        assert statuses == [PayoutStatus.SUCCEEDED] * 5 + [PayoutStatus.FAILED]
        assert done[payouts[5].id].failure_reason is FailureReason.INVALID_ACCOUNT
        assert len(h.sandbox.paid()) == 5
        assert seen.count(PayoutStatus.SUCCEEDED) == 5 and seen.count(PayoutStatus.FAILED) == 1
        # Two batches (4 + 2): the declared limit, each payout's attempt recorded first.
        events = await client.ledger.events(payouts[0].id)
        assert [e.to_status for e in events][:2] == [PayoutStatus.CREATED, PayoutStatus.SUBMITTED]
        again = await client.submit_batches(payouts)  # already settled: nothing leaves
        assert {p.status for p in again} == {PayoutStatus.SUCCEEDED, PayoutStatus.FAILED}
        assert len(h.sandbox.paid()) == 5


async def test_a_lost_momo_batch_answer_is_resolved_by_asking(tmp_path: Path) -> None:
    """MoMo does not declare that it recognises a resent batch: a lost answer leaves the
    batch's payouts ``unknown``, and resume() settles each by a status query, paying none twice."""
    h = Harness(momo_contract(), tmp_path)
    client = h.new_client()
    requests = [momo_request(f"0010900{i:05d}", "Nguyễn Văn An", f"09012{i:05d}") for i in range(20, 23)]
    async with client:
        payouts = [(await client.ledger.create_or_get(client.new_payout(r)))[0] for r in requests]
        h.fault_next("timeout_after_commit")
        done = await client.submit_batches(payouts)
        assert {p.status for p in done} == {PayoutStatus.UNKNOWN}
        await client.resume()
        assert {(await client.status(p.id)).status for p in payouts} == {PayoutStatus.SUCCEEDED}
    assert len(h.sandbox.paid()) == 3


def _batch_of(n: int) -> Any:
    from asxh_pay.providers.base import Submission

    return Submission(SubmitShape.BATCH, max_items=n)


async def test_a_manifest_is_recorded_before_it_leaves_and_resumed_as_recorded(tmp_path: Path) -> None:
    """Write-ahead for manifests: one that never got through (an outage) is on disk, and
    resume() after a restart sends it as recorded; VNPost dispatches its cash once."""
    async for env in make_env(tmp_path / "v", require_manifest=True):
        summary = await env.client.pay_many([request(PICKUP, i=i) for i in range(2)], keep_payouts=True)
        manifest = build_manifests(summary.payouts)[0]
        adapter = env.client.adapter("vnpost")
        assert isinstance(adapter, VNPostProvider)
        store = ManifestStore(tmp_path / "manifests")
        down = FlakyTransport(env.sandbox.transport(), _is_upload)
        down.always = "connect"
        async with ManifestSender(adapter, transport=down, retry=POLICY, store=store) as sender:
            with pytest.raises(RequestNotSent):
                await sender.submit(manifest)
        assert store.pending() == [manifest] and store.state(manifest.manifest_no) == "prepared"
        assert all(r.manifest_no is None for r in env.sandbox.postal.values())

        up = FlakyTransport(env.sandbox.transport(), _is_upload)
        up.faults = ["lost"]  # and the first answer after the restart is lost too
        async with ManifestSender(adapter, transport=up, retry=POLICY, store=store) as restarted:
            [status] = await restarted.resume()
            assert status.state == "dispatched" and up.seen == 2
            assert await restarted.resume() == []  # acknowledged: nothing left to send
        assert {r.manifest_no for r in env.sandbox.postal.values()} == {manifest.manifest_no}
        assert store.state(manifest.manifest_no) == "dispatched"


def test_submissions_are_declared_as_checked_data() -> None:
    """A declaration the engine could not honour is refused when it is made."""
    from asxh_pay.errors import ConfigurationError
    from asxh_pay.providers.base import Capabilities, Submission

    with pytest.raises(ConfigurationError):
        Submission(SubmitShape.PER_PAYOUT, max_items=2)
    with pytest.raises(ConfigurationError):
        Submission(SubmitShape.BATCH, max_items=0)
    with pytest.raises(ConfigurationError):
        Capabilities(destinations=frozenset({"bank"}), submissions=())
    caps = MomoProvider.capabilities
    batch = caps.submission(SubmitShape.BATCH)
    assert batch is not None and batch.max_items == 1000 and caps.submission(SubmitShape.FILE) is None


def test_grouping_keeps_declared_groups_and_limits(tmp_path: Path) -> None:
    """Payouts that must travel apart (another period) never share a batch, and no batch
    exceeds the declared limit; the same payouts give the same batches."""
    from asxh_pay.engine.batches import group_within
    from asxh_pay.errors import ConfigurationError
    from asxh_pay.providers.base import Submission

    h = Harness(momo_contract(), tmp_path)
    reqs = [momo_request(f"0010900{i:05d}", "Nguyễn Văn An", f"09012{i:05d}") for i in range(5)]
    payouts = [h.payout(r) for r in reqs]
    payouts += [h.payout(r.model_copy(update={"period": "2026-12"})) for r in reqs[:2]]
    declared = Submission(SubmitShape.BATCH, max_items=2, group_by=("period",))
    groups = group_within(payouts, declared)
    assert [len(g) for g in groups] == [2, 2, 1, 2]
    assert all(len({p.request.period for p in g}) == 1 for g in groups)
    assert group_within(payouts, declared) == groups
    with pytest.raises(ConfigurationError):
        group_within(payouts, Submission(SubmitShape.FILE, max_items=2, group_by=("commune",)))
