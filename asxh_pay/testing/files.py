"""The contract kit, file-shaped: for rails that submit a batch per request or a file per batch.

Why a variant (issue 15): the per-payout kit sends one payout and checks one answer; a
bank takes pain.001 files and answers days later with pain.002 and statements, MoMo's
batch API answers for a thousand wallets at once, VNPost pays cash from manifests per
commune and payment point. What must hold is the same, checked per file or batch:

* the adapter declares the shape and its limits as data, and builds the same bytes for
  the same payouts (so a resend is the identical batch or file), without I/O beyond
  its module, and its module imports neither the ledger, the client nor the engine;
* through the engine, every payout is paid once and its result recorded, with hooks;
* "not sent" faults before an upload are retried by the engine's loop;
* a lost answer and a resend of the same batch or file pay nobody twice.

A rail registers a :class:`FileContract` whose ``rig`` wires adapter, sandbox, ledger
and the engine's path for it (:class:`FileRig`), and inherits :class:`FileContractSuite`.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import httpx

from asxh_pay.errors import AsxhPayError
from asxh_pay.ledger.base import Ledger
from asxh_pay.models import Payout, StatusEvent
from asxh_pay.providers.base import ProviderAdapter, SubmitShape
from asxh_pay.status import PayoutStatus

__all__ = ["FaultyTransport", "FileContract", "FileContractSuite", "FileRig"]

#: Modules an adapter's module must never import: it builds and parses, nothing more.
FORBIDDEN_IMPORTS = ("asxh_pay.ledger", "asxh_pay.client", "asxh_pay.engine")


class FaultyTransport(httpx.AsyncBaseTransport):
    """Wraps a sandbox's transport; the next matching requests meet the queued faults.

    * ``"connect"``: the request never leaves (``ConnectError``): provably not sent;
    * ``"unavailable"``: a 503 before anything is processed;
    * ``"lost"``: the request is processed, then its answer is lost (``ReadTimeout``);
    * ``"forged"``: the request is processed, and one digit of its answer is changed
      (the signature no longer covers it).
    """

    def __init__(
        self, inner: httpx.AsyncBaseTransport, match: Callable[[httpx.Request], bool] = lambda r: True
    ) -> None:
        self.inner = inner
        self.match = match
        self.faults: list[str] = []
        self.always: str | None = None
        self.seen = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.match(request):
            return await self.inner.handle_async_request(request)
        self.seen += 1
        fault = self.faults.pop(0) if self.faults else self.always
        if fault == "connect":
            raise httpx.ConnectError("injected: connection refused", request=request)
        if fault == "unavailable":
            return httpx.Response(503, request=request)
        response = await self.inner.handle_async_request(request)
        if fault == "lost":
            await response.aread()
            raise httpx.ReadTimeout("injected: answer lost", request=request)
        if fault == "forged":
            body = bytearray(await response.aread())
            at = next((i for i, b in enumerate(body) if 0x30 <= b <= 0x39), None)
            if at is not None:
                body[at] = 0x30 + (body[at] - 0x30 + 1) % 10
            return httpx.Response(response.status_code, headers=response.headers, content=bytes(body))
        return response


@dataclass
class FileRig:
    """One rail's batch or file path, wired to its sandbox through the engine.

    * ``payouts(n)``: ``n`` payouts recorded in ``ledger``, ready for this path;
    * ``send`` / ``resend``: hand them to the engine as batches or files; send the same
      ones again (what a restart after a lost answer does);
    * ``settle``: let the provider act, fetch its reports and apply them;
    * ``build``: the bytes the adapter builds for these payouts (no sending);
    * ``delivered()``: the provider's side, how many times each idempotency key was paid
      or instructed;
    * ``uploads``: the faulty transport in front of the uploads (batches, files);
    * ``hooks``: what the engine's hooks were told, (payout id, new status).
    """

    adapter: ProviderAdapter
    ledger: Ledger
    payouts: Callable[[int], Awaitable[list[Payout]]]
    send: Callable[[Sequence[Payout]], Awaitable[None]]
    resend: Callable[[Sequence[Payout]], Awaitable[None]]
    settle: Callable[[], Awaitable[None]]
    build: Callable[[Sequence[Payout]], bytes]
    delivered: Callable[[], Mapping[str, int]]
    uploads: FaultyTransport
    hooks: list[tuple[str, PayoutStatus]] = field(default_factory=list)
    final: PayoutStatus = PayoutStatus.SUCCEEDED

    def hook(self, payout: Payout, event: StatusEvent) -> None:
        """Give this to the engine's hooks."""
        self.hooks.append((payout.id, event.to_status))


@dataclass(frozen=True)
class FileContract:
    """A rail's declaration to the file-shaped kit."""

    name: str
    shape: SubmitShape
    rig: Callable[[Path], AbstractAsyncContextManager[FileRig]]
    size: int = 3  # payouts per check; more than ``max_items`` tests the grouping


class FileContractSuite:
    """Base class of a file or batch rail's contract tests (not collected: no ``Test`` prefix)."""

    file_contract: ClassVar[FileContract]

    async def _final(self, rig: FileRig, payouts: Sequence[Payout]) -> list[PayoutStatus]:
        out: list[PayoutStatus] = []
        for p in payouts:
            fresh = await rig.ledger.get(p.id)
            assert fresh is not None
            out.append(fresh.status)
        return out

    async def test_declares_its_shape_and_limits_as_data(self, tmp_path: Path) -> None:
        """The engine groups by the declaration, never by probing the adapter."""
        async with self.file_contract.rig(tmp_path) as rig:
            declared = rig.adapter.capabilities.submission(self.file_contract.shape)
            assert declared is not None, (
                f"{rig.adapter.name} declares no {self.file_contract.shape} submission"
            )
            assert 1 <= declared.max_items <= 100_000

    async def test_the_adapter_builds_the_same_bytes_and_stays_pure(self, tmp_path: Path) -> None:
        """A resend must be the identical batch or file; the adapter's module never reaches
        for the ledger, the client or the engine (it builds and parses only)."""
        async with self.file_contract.rig(tmp_path) as rig:
            payouts = await rig.payouts(self.file_contract.size)
            assert rig.build(payouts) == rig.build(list(payouts))
            source = Path(inspect.getfile(type(rig.adapter))).read_text("utf-8")
            for node in ast.walk(ast.parse(source)):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                for name in names:
                    assert not name.startswith(FORBIDDEN_IMPORTS), f"adapter module imports {name}"

    async def test_each_payout_is_paid_once_and_recorded_with_hooks(self, tmp_path: Path) -> None:
        async with self.file_contract.rig(tmp_path) as rig:
            payouts = await rig.payouts(self.file_contract.size)
            await rig.send(payouts)
            await rig.settle()
            assert await self._final(rig, payouts) == [rig.final] * len(payouts)
            delivered = rig.delivered()
            assert all(delivered.get(p.idempotency_key) == 1 for p in payouts), delivered
            told = {pid for pid, status in rig.hooks if status is rig.final}
            assert told == {p.id for p in payouts}

    async def test_not_sent_is_retried_by_the_engine(self, tmp_path: Path) -> None:
        async with self.file_contract.rig(tmp_path) as rig:
            payouts = await rig.payouts(self.file_contract.size)
            rig.uploads.faults = ["connect", "unavailable"]
            await rig.send(payouts)
            await rig.settle()
            assert rig.uploads.seen >= 3 and not rig.uploads.faults
            assert await self._final(rig, payouts) == [rig.final] * len(payouts)
            assert all(rig.delivered().get(p.idempotency_key) == 1 for p in payouts)

    async def test_a_forged_answer_applies_nothing(self, tmp_path: Path) -> None:
        """An answer to an upload that its signature does not cover is never believed: no
        payout is settled by it (a rail may report it as an error); the truth comes later
        from verified reports or status queries, and nobody is paid twice."""
        async with self.file_contract.rig(tmp_path) as rig:
            payouts = await rig.payouts(self.file_contract.size)
            before = await self._final(rig, payouts)
            rig.uploads.faults = ["forged"]
            with contextlib.suppress(AsxhPayError):
                await rig.send(payouts)
            after = await self._final(rig, payouts)
            settled = {PayoutStatus.SUCCEEDED, PayoutStatus.FAILED}
            assert not [s for s, b in zip(after, before, strict=True) if s in settled and s is not b]
            await rig.settle()
            assert await self._final(rig, payouts) == [rig.final] * len(payouts)
            assert all(rig.delivered().get(p.idempotency_key) == 1 for p in payouts), rig.delivered()

    async def test_a_lost_answer_and_a_resend_pay_nobody_twice(self, tmp_path: Path) -> None:
        async with self.file_contract.rig(tmp_path) as rig:
            payouts = await rig.payouts(self.file_contract.size)
            rig.uploads.faults = ["lost"]
            await rig.send(payouts)
            await rig.resend(payouts)
            await rig.settle()
            assert await self._final(rig, payouts) == [rig.final] * len(payouts)
            assert all(rig.delivered().get(p.idempotency_key) == 1 for p in payouts), rig.delivered()
