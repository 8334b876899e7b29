"""VNPost's manifests through the core engine: a file per (period, commune, payment point).

Why a manifest goes through the engine (issue 15): it was sent by a second sender
with a loop of its own, without backoff, that called a timeout "not sent". It now
leaves through the one send-and-retry loop (:class:`~asxh_pay.engine.sending.Lane`)
under the same rules as a wallet payout: full-jitter backoff, the retry budget, the
deadline, and "not sent" kept apart from "unknown". A manifest's number is a function
of its content and VNPost answers the same manifest again with its record (another
content under that number is refused, 409), so an upload whose outcome is unknown is
sent again as it is (the declared ``resend_recognised``); when the retries are spent,
the last error is raised as it is: :class:`~asxh_pay.errors.OutcomeUnknown` after a
timeout, :class:`~asxh_pay.errors.RequestNotSent` only when nothing left.

Write-ahead: given a :class:`ManifestStore`, each manifest is recorded on disk before
it leaves, and :meth:`ManifestSender.resume` sends every recorded manifest VNPost has
not acknowledged again, rebuilt from the record by the pure adapter: the same bytes,
even when the payouts it was built from have moved on meanwhile.

The payouts themselves go through the per-payout client; a manifest's status report
(the postal state of each of its payouts) can be applied to the ledger through the one
apply step (:meth:`ManifestSender.apply`), with the client's hooks.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

from asxh_pay.engine.applying import OUTCOME_STATUS, Applier, Hook
from asxh_pay.engine.sending import Lane, ProviderSetup
from asxh_pay.errors import ConfigurationError, ValidationError
from asxh_pay.ledger.base import Ledger
from asxh_pay.models import EventSource
from asxh_pay.providers.base import ProviderOutcome
from asxh_pay.providers.vnpost import Manifest, ManifestItem, ManifestStatus, VNPostProvider
from asxh_pay.retry import RetryBudget, RetryPolicy
from asxh_pay.status import IllegalTransition

__all__ = ["ManifestSender", "ManifestStore"]


class ManifestStore:
    """Manifests recorded before they leave, and VNPost's acknowledgement of each."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, manifest_no: str) -> Path:
        if not manifest_no.isalnum():
            raise ValidationError(f"not a manifest number: {manifest_no!r}", field="manifest")
        return self.root / f"{manifest_no}.json"

    def put(self, manifest: Manifest) -> None:
        """Record ``manifest`` (state ``prepared``) unless it is recorded already; another
        content under a recorded number is refused."""
        path = self._path(manifest.manifest_no)
        if path.exists():
            if self.get(manifest.manifest_no) != manifest:
                raise ValidationError(
                    f"manifest {manifest.manifest_no} is recorded with other content", field="manifest"
                )
            return
        self._write(path, {"state": "prepared", "manifest": asdict(manifest)})

    def get(self, manifest_no: str) -> Manifest:
        data = json.loads(self._path(manifest_no).read_text("utf-8"))["manifest"]
        items = tuple(ManifestItem(**i) for i in data.pop("items"))
        return Manifest(items=items, **data)

    def state(self, manifest_no: str) -> str:
        return str(json.loads(self._path(manifest_no).read_text("utf-8"))["state"])

    def acknowledge(self, manifest: Manifest, state: str) -> None:
        self._write(self._path(manifest.manifest_no), {"state": state, "manifest": asdict(manifest)})

    def pending(self) -> list[Manifest]:
        """Recorded manifests VNPost has not acknowledged, in number order."""
        out = []
        for path in sorted(self.root.glob("*.json")):
            if json.loads(path.read_text("utf-8"))["state"] == "prepared":
                out.append(self.get(path.stem))
        return out

    @staticmethod
    def _write(path: Path, data: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class ManifestSender:
    """Sends manifests, reads their status and applies it, with the engine's shared parts."""

    def __init__(
        self,
        adapter: VNPostProvider,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
        attempts: int = 3,
        retry: RetryPolicy | None = None,
        retry_budget: RetryBudget | None = None,
        ledger: Ledger | None = None,
        hooks: Sequence[Hook] = (),
        store: ManifestStore | None = None,
    ) -> None:
        """``attempts`` is kept for callers of the old sender (the policy's ``max_attempts``
        when no ``retry`` is given); ``retry_budget`` should be VNPost's own, shared with
        the client's per-payout sends; ``ledger`` is needed for :meth:`apply` only; ``store``
        records each manifest before it leaves (write-ahead, see :meth:`resume`)."""
        self.adapter = adapter
        self.store = store
        self.retry = retry or RetryPolicy(max_attempts=max(1, attempts), base_delay_s=0.2, max_delay_s=5.0)
        self._lane = Lane(
            ProviderSetup(
                adapter,
                transport=transport,
                concurrency=4,
                timeout_s=timeout_s,
                retry_budget=retry_budget or RetryBudget(),
            ),
            self.retry,
        )
        self._applier = Applier(ledger, hooks) if ledger is not None else None

    async def __aenter__(self) -> ManifestSender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._lane.aclose()

    async def _exchange(
        self, build: Callable[[], httpx.Request], parse: Callable[[httpx.Response], ManifestStatus]
    ) -> ManifestStatus:
        # Parsed outside the loop: a refused or unverifiable answer is not asked for again.
        response = await self._lane.send_with_retry(build, _as_is, repeatable=True)
        return parse(response)

    async def submit(self, manifest: Manifest) -> ManifestStatus:
        if self.store is not None:
            self.store.put(manifest)  # before it leaves
        status = await self._exchange(
            lambda: self.adapter.build_manifest_submit(manifest),
            lambda r: self.adapter.parse_manifest(manifest.manifest_no, r),
        )
        if self.store is not None:
            self.store.acknowledge(manifest, status.state)
        return status

    async def resume(self) -> list[ManifestStatus]:
        """Send again every recorded manifest VNPost has not acknowledged (after a crash or
        an outage), as recorded: VNPost recognises it by its number and dispatches once."""
        if self.store is None:
            raise ConfigurationError("ManifestSender.resume needs a store: pass store= when creating it")
        return [await self.submit(m) for m in self.store.pending()]

    async def status(self, manifest_no: str) -> ManifestStatus:
        return await self._exchange(
            lambda: self.adapter.build_manifest_status(manifest_no),
            lambda r: self.adapter.parse_manifest(manifest_no, r),
        )

    async def apply(self, status: ManifestStatus) -> Counter[str]:
        """Apply a manifest's results to the ledger (final and in-progress postal states),
        through the one apply step; how many transitions of each status were recorded.

        A partner reference the ledger does not know, or a result the state machine
        refuses, is counted under ``"unknown"`` / ``"contradiction"`` and never applied.
        """
        if self._applier is None:
            raise ConfigurationError("ManifestSender.apply needs the ledger: pass ledger= when creating it")
        ledger = self._applier.ledger
        counts: Counter[str] = Counter()
        for key, result in status.items.items():
            if result.outcome is ProviderOutcome.NOT_FOUND:
                continue
            payout = await ledger.get_by_key(key)
            if payout is None or payout.provider != self.adapter.name:
                counts["unknown"] += 1
                continue
            try:
                done = await self._applier.apply(
                    payout,
                    OUTCOME_STATUS[result.outcome],
                    source=EventSource.POLL,
                    reason=result.reason,
                    detail=result.message or f"manifest {status.manifest_no}",
                    provider_ref=result.provider_ref,
                )
            except IllegalTransition:
                counts["contradiction"] += 1
                continue
            for res in done:
                if res.changed:
                    counts[res.payout.status.value] += 1
        return counts


def _as_is(response: httpx.Response) -> httpx.Response:
    return response
