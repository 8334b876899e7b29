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

The payouts themselves go through the per-payout client; a manifest's status report
(the postal state of each of its payouts) can be applied to the ledger through the one
apply step (:meth:`ManifestSender.apply`), with the client's hooks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import httpx

from asxh_pay.engine.applying import OUTCOME_STATUS, Applier, Hook
from asxh_pay.engine.sending import Lane, ProviderSetup
from asxh_pay.errors import ConfigurationError
from asxh_pay.ledger.base import Ledger
from asxh_pay.models import EventSource
from asxh_pay.providers.base import ProviderOutcome
from asxh_pay.providers.vnpost import Manifest, ManifestStatus, VNPostProvider
from asxh_pay.retry import RetryBudget, RetryPolicy
from asxh_pay.status import IllegalTransition

__all__ = ["ManifestSender"]


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
    ) -> None:
        """``attempts`` is kept for callers of the old sender (the policy's ``max_attempts``
        when no ``retry`` is given); ``retry_budget`` should be VNPost's own, shared with
        the client's per-payout sends; ``ledger`` is needed for :meth:`apply` only."""
        self.adapter = adapter
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
        return await self._exchange(
            lambda: self.adapter.build_manifest_submit(manifest),
            lambda r: self.adapter.parse_manifest(manifest.manifest_no, r),
        )

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
