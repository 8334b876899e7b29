"""The file-shaped contract kit run against the bank's pain.001 files, VNPost's manifests
and MoMo's batches, each through the core engine (issue 15, item 3)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC
from pathlib import Path

from asxh_pay.client import AsyncPayoutClient, PollPolicy, ProviderSetup
from asxh_pay.engine.manifests import ManifestSender
from asxh_pay.engine.treasury import TreasuryChannel
from asxh_pay.ledger import SqliteLedger
from asxh_pay.models import Payout, StatusEvent
from asxh_pay.providers.base import SubmitShape
from asxh_pay.providers.momo import PATH_BATCH, MomoProvider
from asxh_pay.providers.treasury import BatchStore, end_to_end_id, render_pain001
from asxh_pay.providers.vnpost import VNPostProvider, build_manifests
from asxh_pay.retry import RetryBudget, RetryPolicy
from asxh_pay.signing import generate_ec_key
from asxh_pay.testing import Harness
from asxh_pay.testing.files import FaultyTransport, FileContract, FileContractSuite, FileRig
from tests.contract.test_momo_contract import momo_contract, momo_request
from tests.treasury.conftest import FAST, RUN_AT, Keys, make_adapter, make_sandbox, treasury_request
from tests.vnpost.vnpost_support import PICKUP, make_env, request

QUICK = RetryPolicy(max_attempts=4, base_delay_s=0.001, max_delay_s=0.005, deadline_s=10.0)


def _budget() -> RetryBudget:
    return RetryBudget(ratio=1.0, min_per_s=1000.0, capacity=100.0)


class _Hooks:
    """Forwards to the rig's hook once the rig exists (the engine is built first)."""

    rig: FileRig | None = None

    def __call__(self, payout: Payout, event: StatusEvent) -> None:
        if self.rig is not None:
            self.rig.hook(payout, event)


# ---------------------------------------------------------------------- the bank


@asynccontextmanager
async def treasury_rig(tmp_path: Path) -> AsyncIterator[FileRig]:
    keys = Keys(generate_ec_key(), generate_ec_key())
    bank = make_sandbox(keys)
    uploads = FaultyTransport(bank.transport(), lambda r: r.url.path == "/h2h/v1/files")
    hooks = _Hooks()
    async with SqliteLedger(tmp_path / "ledger.db") as ledger:
        store = BatchStore(tmp_path / "store")
        adapter = make_adapter(keys, store, max_txs_per_file=2)  # 3 payouts: two files
        channel = TreasuryChannel(
            adapter,
            ledger,
            store,
            transport=uploads,
            retry=FAST,
            clock=lambda: RUN_AT.astimezone(UTC),
            hooks=[hooks],
            retry_budget=_budget(),
        )

        async def payouts(n: int) -> list[Payout]:
            return await channel.record(treasury_request(i) for i in range(n))

        async def send(ps: Sequence[Payout]) -> None:
            await channel.submit(ps)

        async def resend(ps: Sequence[Payout]) -> None:
            # A restart that never recorded the bank's acknowledgement: the stored files
            # are uploaded again, byte for byte.
            for manifest in store.manifests():
                manifest.state = "prepared"
                store.save(manifest)
            await channel.resume()

        async def settle() -> None:
            await channel.poll()
            bank.advance(RUN_AT.date())
            await channel.poll()

        def build(ps: Sequence[Payout]) -> bytes:
            return render_pain001(adapter.config, "KBCONTRACT1", RUN_AT, RUN_AT.date(), ps)[0]

        def delivered() -> dict[str, int]:
            instructed = Counter(e for f in bank.files.values() for e in f.transfers)
            return {key: instructed[end_to_end_id(key)] for key in keys_of(store)}

        rig = FileRig(adapter, ledger, payouts, send, resend, settle, build, delivered, uploads)
        hooks.rig = rig
        try:
            yield rig
        finally:
            await channel.aclose()


def keys_of(store: BatchStore) -> set[str]:
    return {e2e for m in store.manifests() for e2e, *_ in m.rows}


# ---------------------------------------------------------------------- MoMo batches


@asynccontextmanager
async def momo_batch_rig(tmp_path: Path) -> AsyncIterator[FileRig]:
    h = Harness(momo_contract(), tmp_path)
    adapter = h.adapter
    assert isinstance(adapter, MomoProvider)
    uploads = FaultyTransport(h.transport(), lambda r: r.url.path == PATH_BATCH)
    hooks = _Hooks()
    client = AsyncPayoutClient(
        SqliteLedger(tmp_path / "ledger.db"),
        [ProviderSetup(adapter, transport=uploads, timeout_s=5.0, retry_budget=_budget())],
        poll=PollPolicy(initial_s=0.01, multiplier=1.5, max_s=0.05, deadline_s=10.0),
        retry=QUICK,
        hooks=[hooks],
    )

    async def payouts(n: int) -> list[Payout]:
        reqs = [momo_request(f"0010900{i:05d}", "Nguyễn Văn An", f"09012{i:05d}") for i in range(10, 10 + n)]
        return [(await client.ledger.create_or_get(client.new_payout(r)))[0] for r in reqs]

    async def send(ps: Sequence[Payout]) -> None:
        await client.submit_batches(ps)

    async def settle() -> None:
        await client.resume()  # what a batch left unknown is settled one payout at a time

    def build(ps: Sequence[Payout]) -> bytes:
        return adapter.build_batch(ps).content

    def delivered() -> dict[str, int]:
        return {k: len(h.sandbox.bookings(k)) for k in h.sandbox.payments}

    async with client:
        rig = FileRig(adapter, client.ledger, payouts, send, send, settle, build, delivered, uploads)
        hooks.rig = rig
        yield rig


# ---------------------------------------------------------------------- VNPost manifests


@asynccontextmanager
async def vnpost_manifest_rig(tmp_path: Path) -> AsyncIterator[FileRig]:
    envs = make_env(tmp_path, require_manifest=True)
    env = await anext(envs)
    adapter = env.client.adapter("vnpost")
    assert isinstance(adapter, VNPostProvider)
    uploads = FaultyTransport(
        env.sandbox.transport(), lambda r: r.method == "POST" and r.url.path == "/api/v1/manifests"
    )
    hooks = _Hooks()
    env.client.hooks.append(hooks)
    sender = ManifestSender(
        adapter,
        transport=uploads,
        retry=QUICK,
        retry_budget=_budget(),
        ledger=env.client.ledger,
        hooks=[hooks],
    )

    async def payouts(n: int) -> list[Payout]:
        reqs = [request(PICKUP, i=i) for i in range(n)]
        return (await env.client.pay_many(reqs, keep_payouts=True)).payouts

    async def send(ps: Sequence[Payout]) -> None:
        for manifest in build_manifests(ps):
            await sender.submit(manifest)

    sent: list[Payout] = []

    async def send_and_note(ps: Sequence[Payout]) -> None:
        sent.extend(ps)
        await send(ps)

    async def settle() -> None:
        await env.advance(1)
        for p in sent:
            record = env.sandbox.postal[p.idempotency_key]
            assert record.pickup_code is not None
            env.sandbox.pickup(record.pickup_code, p.request.beneficiary.cccd)
        await env.advance(0.1)
        for manifest in build_manifests(sent):
            await sender.apply(await sender.status(manifest.manifest_no))

    def build(ps: Sequence[Payout]) -> bytes:
        return b"".join(adapter.build_manifest_submit(m).content for m in build_manifests(ps))

    def delivered() -> dict[str, int]:
        return {k: len(env.sandbox.bookings(k)) for k in env.sandbox.payments}

    rig = FileRig(adapter, env.client.ledger, payouts, send_and_note, send, settle, build, delivered, uploads)
    hooks.rig = rig
    try:
        yield rig
    finally:
        await sender.aclose()
        await envs.aclose()


class TestTreasuryFileContract(FileContractSuite):
    file_contract = FileContract("treasury", SubmitShape.FILE, treasury_rig)


class TestMomoBatchContract(FileContractSuite):
    file_contract = FileContract("momo-batch", SubmitShape.BATCH, momo_batch_rig)


class TestVNPostManifestContract(FileContractSuite):
    file_contract = FileContract("vnpost-manifest", SubmitShape.FILE, vnpost_manifest_rig)
