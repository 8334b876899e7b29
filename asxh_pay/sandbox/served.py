"""A sandbox served over real HTTP to many worker processes, with HTTP-level faults.

Why a wrapper: in-process sandboxes inject transport faults by *raising* httpx
exceptions inside the client's transport, which cannot cross a real socket. When
several worker processes share one sandbox (they must: the exactly-once check needs
one set of books), the faults have to be ones a real network produces:

* ``hang_before_commit``: the answer is held past the client's timeout, and the
  request was never processed (the client sees a timeout: outcome unknown);
* ``hang_after_commit``: the payment is booked, then the answer is held past the
  client's timeout (the dangerous one: resending blind would pay twice);
* ``error_after_commit``: the payment is booked and the answer is a bare 500.

plus the sandbox's own 429/502/503/504 and per-request latency. ``GET /_sandbox/books``
returns the sandbox's books so a test can compare them with the ledger entry by
entry; beneficiaries appear only as a hash of the entitlement, never as a CCCD.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from asxh_pay.sandbox.base import FaultPlan, SandboxProvider

ADMIN_PREFIX = "/_sandbox/"


@dataclass(frozen=True)
class HttpFaults:
    """Probabilities (0..1) per request of the HTTP-level faults; ``hang_s`` should
    exceed the client's timeout."""

    hang_before_commit: float = 0.0
    hang_after_commit: float = 0.0
    error_after_commit: float = 0.0
    hang_s: float = 2.0
    seed: int = 0

    @classmethod
    def every_kind(cls, rate: float, *, hang_s: float = 2.0, seed: int = 0) -> HttpFaults:
        return cls(rate, rate, rate, hang_s, seed)


def served_fault_plan(rate: float, *, seed: int = 0, retry_after_s: float = 0.05) -> FaultPlan:
    """The part of a :class:`FaultPlan` that survives a real socket: 5xx and 429."""
    return FaultPlan(server_error=rate, rate_limited=rate, retry_after_s=retry_after_s, seed=seed)


def entitlement_digest(programme: str, period: str, beneficiary_id: str) -> str:
    """What identifies an entitlement in the books dump, without showing the CCCD."""
    return hashlib.sha256(f"{programme}|{period}|{beneficiary_id}".encode()).hexdigest()[:24]


class ServedSandbox:
    """An ``httpx`` handler around a sandbox: HTTP-level faults plus an admin endpoint."""

    def __init__(self, sandbox: SandboxProvider, faults: HttpFaults | None = None) -> None:
        self.sandbox = sandbox
        self.faults = faults or HttpFaults()
        self._rng = random.Random(self.faults.seed)
        self.counts: Counter[str] = Counter()

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith(ADMIN_PREFIX):
            if request.method == "POST" and request.url.path == ADMIN_PREFIX + "pass-cash-window":
                return httpx.Response(200, json={"days": await pass_cash_window(self.sandbox)})
            return self._admin(request)
        f = self.faults
        draw = self._rng.random()
        if draw < f.hang_before_commit:
            self.counts["hang_before_commit"] += 1
            await asyncio.sleep(f.hang_s)
            return self.sandbox.render_unavailable(503)
        pay_key = _pay_key(request)
        if pay_key is not None:
            self.counts["pay_requests"] += 1
            if pay_key in self.sandbox.payments:
                self.counts["pay_repeated_key"] += 1
        response = await self.sandbox.handle(request)
        draw -= f.hang_before_commit
        if draw < f.hang_after_commit:
            self.counts["hang_after_commit"] += 1
            await asyncio.sleep(f.hang_s)
        elif draw - f.hang_after_commit < f.error_after_commit:
            self.counts["error_after_commit"] += 1
            return httpx.Response(500, text="internal error")
        return response

    def _admin(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == ADMIN_PREFIX + "books":
            return httpx.Response(200, json=self.books())
        return httpx.Response(404, json={"error": "no_route"})

    def books(self) -> dict[str, Any]:
        """Every payment the sandbox booked, by idempotency key, and its counters."""
        self.sandbox.settle_due()
        payments = {}
        for key, p in self.sandbox.payments.items():
            meta = p.attributes.get("metadata") or {}
            payments[key] = {
                "ref": p.ref,
                "amount": p.amount,
                "state": p.state.value,
                "entitlement": entitlement_digest(
                    str(meta.get("programme")), str(meta.get("period")), str(meta.get("beneficiary_id"))
                ),
            }
        return {
            "payments": payments,
            "request_counts": dict(self.sandbox.request_counts),
            "fault_counts": {**self.sandbox.fault_counts, **self.counts},
        }


async def pass_cash_window(sandbox: SandboxProvider) -> int:
    """Move a served VNPost sandbox's clock past its last open payment window, a day at a time.

    Why: a served sandbox runs on wall time, and cash takes its month (pickups at the
    commune, then the post office, home visits, no-shows). A test or ``demo --served``
    lets that month pass in seconds; every change goes out as a signed callback to the
    ``--callback-url``, in order. Returns the days passed (0: nothing open, or not VNPost).
    """
    from asxh_pay.providers.vnpost import PostalState, day_start
    from asxh_pay.sandbox.vnpost import VNPostSandbox

    if not isinstance(sandbox, VNPostSandbox):
        return 0
    final = (PostalState.PAID, PostalState.EXPIRED, PostalState.RETURNED, PostalState.REJECTED)
    open_until = [
        r.window_to for r in sandbox.postal.values() if r.window_to is not None and r.state not in final
    ]
    if not open_until:
        return 0
    target = day_start(max(open_until)) + 86_400 + 3600
    days = 0
    while sandbox.clock.now() < target:
        sandbox.clock.advance(min(86_400.0, target - sandbox.clock.now()))
        sandbox.settle_due()
        await sandbox.deliver_callbacks()
        days += 1
    return days


def _pay_key(request: httpx.Request) -> str | None:
    if request.method != "POST" or request.url.path != "/v1/payouts":
        return None
    try:
        body = json.loads(request.content)
    except ValueError:
        return None
    ref = body.get("reference") if isinstance(body, dict) else None
    return ref if isinstance(ref, str) else None
