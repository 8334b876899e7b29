"""What a provider declares to the contract suite, and the harness that runs it.

Why a declaration and not per-provider tests: the rules that keep public money safe
(never pay twice, resolve an unknown outcome by asking, refuse anything forged, map
every decline to a typed reason) are the same for every rail. A provider module
states *its* facts once (how to build its adapter and sandbox, which sample payouts
succeed or decline with which code, how its signatures can be tampered with) and the
suite in :mod:`asxh_pay.testing.suite` proves the rules against its own sandbox.

The API here is kept stable: other provider branches depend on it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx

from asxh_pay.client import AsyncPayoutClient, PollPolicy, ProviderSetup
from asxh_pay.identity import fold
from asxh_pay.ledger import SqliteLedger
from asxh_pay.ledger.base import Ledger
from asxh_pay.models import Payout, PayoutRequest
from asxh_pay.providers.base import ProviderAdapter, raise_for_transport_status, with_capabilities
from asxh_pay.retry import RetryBudget, RetryPolicy
from asxh_pay.sandbox.base import FaultPlan, SandboxClock
from asxh_pay.status import FailureReason
from asxh_pay.testing.protocol import KitSandbox

__all__ = [
    "DeclineCase",
    "Harness",
    "ProviderContract",
    "TamperKind",
    "Tamperer",
    "flip_digit",
    "flip_text",
    "personal_strings",
    "request_with",
    "response_with",
]

TamperKind = Literal["signature", "timestamp", "body"]
TAMPER_KINDS: tuple[TamperKind, ...] = ("signature", "timestamp", "body")


@dataclass(frozen=True)
class DeclineCase:
    """One documented provider error and what the library must make of it.

    * ``request``: a payout request that makes the sandbox answer with this error.
    * ``reason``: the typed :class:`FailureReason` it must map to.
    * ``retryable``: ``False`` for a final decline (the payout ends ``failed`` with
      ``reason``); ``True`` for "nothing was done, try later" (the adapter raises a
      retryable :class:`~asxh_pay.errors.ProviderError` carrying ``reason``, and the
      payout is never marked failed).
    * ``code``: the provider's own code, checked when given.
    """

    name: str
    request: PayoutRequest
    reason: FailureReason
    retryable: bool = False
    code: str | None = None


class Tamperer(Protocol):
    """How to damage a provider's signed messages, one way at a time.

    Each method returns the damaged message, or ``None`` when that kind does not apply
    to the provider (e.g. no timestamp on its responses): the suite then skips it.
    ``"timestamp"`` should give a message whose time is outside the accepted window,
    validly re-signed with ``sandbox``'s keys where possible (so the check proven is the
    freshness check, not the signature).
    """

    def response(self, sandbox: Any, response: httpx.Response, kind: TamperKind) -> httpx.Response | None:
        """``sandbox`` is the provider's own sandbox (its concrete type: it holds the keys)."""

    def callback(self, sandbox: Any, request: httpx.Request, kind: TamperKind) -> httpx.Request | None: ...


#: Called with the keyword arguments ``settle_after_s``, ``faults``, ``clock`` and
#: ``callback_sink`` (plus ``sandbox_kwargs``); returns a :class:`KitSandbox`.
SandboxFactory = Callable[..., KitSandbox]


@dataclass
class ProviderContract:
    """Everything the suite needs to know about one provider.

    ``make_sandbox`` is called with the keyword arguments of
    :class:`~asxh_pay.sandbox.base.SandboxProvider` (``settle_after_s``, ``faults``,
    ``clock``, ``callback_sink``) and must pass them on. What the kit uses of the
    sandbox it returns is :class:`~asxh_pay.testing.protocol.KitSandbox`; subclassing
    ``SandboxProvider`` gives all of it.
    ``make_forged_adapter`` builds an adapter holding the *wrong* credentials: the
    sandbox must refuse what it signs.
    """

    name: str
    make_adapter: Callable[[], ProviderAdapter]
    make_sandbox: SandboxFactory
    make_forged_adapter: Callable[[], ProviderAdapter]
    success: PayoutRequest
    declines: Sequence[DeclineCase]
    inquiry_match: PayoutRequest
    inquiry_mismatch: PayoutRequest
    inquiry_unknown: PayoutRequest
    tamper: Tamperer
    inquiry_near: PayoutRequest | None = None
    #: The provider itself answers an over-limit amount with a limit decline (checked
    #: by sending past the client's own check).
    provider_enforces_limits: bool = True
    #: Extra strings that must never appear in logs (beyond those of the sample requests).
    extra_personal: Sequence[str] = ()
    callbacks: bool = True
    #: For providers that sign inside the body (MoMo): the built request with its
    #: signature removed. Header-signing providers leave it None: the suite then just
    #: sends without the adapter's ``auth()``.
    strip_signature: Callable[[httpx.Request], httpx.Request] | None = None
    sandbox_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def min_amount(self) -> int:
        return self.make_adapter().capabilities.min_amount

    @property
    def max_amount(self) -> int:
        return self.make_adapter().capabilities.max_amount

    def all_requests(self) -> list[PayoutRequest]:
        reqs = [self.success, self.inquiry_match, self.inquiry_mismatch, self.inquiry_unknown]
        reqs += [c.request for c in self.declines]
        if self.inquiry_near is not None:
            reqs.append(self.inquiry_near)
        return reqs


def personal_strings(request: PayoutRequest) -> set[str]:
    """Every spelling of the personal data in ``request`` that a log must not contain."""
    out: set[str] = set()
    for person in (request.beneficiary, request.recipient):
        cccd = getattr(person, "cccd", None)
        name = getattr(person, "full_name", None)
        if cccd:
            out.add(cccd)
        if name:
            out |= {name, fold(name), fold(name).upper()}
    dest = request.destination
    phone = getattr(dest, "phone", None)
    if phone:
        out |= {phone, "0" + phone[2:], "+" + phone}
    account = getattr(dest, "account_number", None)
    if account:
        out.add(account)
    return {s for s in out if len(s) >= 6}


class Harness:
    """One provider's adapter, its sandbox and a client with a fresh ledger.

    The transport between them can inject one fault into the next request
    (:meth:`fault_next`), hold the next request back (:meth:`delay_next`) or damage the
    next response (``tamper_next_response``); callbacks the sandbox sends are collected
    in :attr:`callbacks` for the test to deliver (or damage) itself.

    ``grace_s``: the confirmation window the adapter declares here (its
    ``not_found_grace_s``), short so the kit runs in seconds; the checks of stale reads
    and dedupe races use windows shorter than it, as a provider's declaration must.
    """

    def __init__(
        self,
        contract: ProviderContract,
        workdir: Path,
        *,
        settle_after_s: float = 0.0,
        frozen_clock: bool = False,
        faults: FaultPlan | None = None,
        grace_s: float = 0.3,
    ) -> None:
        self.contract = contract
        self.workdir = workdir
        self.clock = SandboxClock(frozen=frozen_clock)
        self.callbacks: list[httpx.Request] = []
        self.sandbox = contract.make_sandbox(
            settle_after_s=settle_after_s,
            faults=faults,
            clock=self.clock,
            callback_sink=self._sink,
            **contract.sandbox_kwargs,
        )
        self.grace_s = grace_s
        self.adapter = with_capabilities(contract.make_adapter(), not_found_grace_s=grace_s)
        self.tamper_next_response: Callable[[httpx.Response], httpx.Response | None] | None = None
        self._delay_next: float | None = None
        self.clients: list[AsyncPayoutClient] = []

    # -- wiring ----------------------------------------------------------------

    async def _sink(self, request: httpx.Request) -> None:
        self.callbacks.append(request)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        delay, self._delay_next = self._delay_next, None
        if delay is not None:
            await asyncio.sleep(delay)
        response = await self.sandbox.handle(request)
        tamper, self.tamper_next_response = self.tamper_next_response, None
        if tamper is not None:
            await response.aread()
            damaged = tamper(response)
            if damaged is not None:
                return damaged
        return response

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def fault_next(self, fault: str) -> None:
        """Inject one :class:`FaultPlan` fault (field name, e.g. ``"timeout_after_commit"``)
        into the next request only."""
        if fault not in FaultPlan.__dataclass_fields__:
            raise ValueError(f"unknown fault {fault!r}")
        self.sandbox.fault_next(fault)

    def delay_next(self, seconds: float) -> None:
        """Hold the next request back this long before the sandbox sees it (a slow send)."""
        self._delay_next = seconds

    def new_client(
        self, *, adapter: ProviderAdapter | None = None, ledger: Ledger | None = None, timeout_s: float = 5.0
    ) -> AsyncPayoutClient:
        """A client on this harness's sandbox (not opened), with its own fresh ledger unless
        one is given (two clients on one ledger play two processes)."""
        ledger = ledger or SqliteLedger(self.workdir / f"ledger-{uuid.uuid4().hex[:8]}.db")
        setup = ProviderSetup(
            adapter or self.adapter,
            transport=self.transport(),
            timeout_s=timeout_s,
            retry_budget=RetryBudget(ratio=1.0, min_per_s=1000, capacity=1000),
        )
        client = AsyncPayoutClient(
            ledger,
            [setup],
            poll=PollPolicy(
                initial_s=0.01, multiplier=1.5, max_s=0.05, deadline_s=10.0
            ),  # the confirmation window is the adapter's own (``grace_s``)
            retry=RetryPolicy(max_attempts=3, base_delay_s=0.001, max_delay_s=0.01, deadline_s=10.0),
        )
        self.clients.append(client)
        return client

    @asynccontextmanager
    async def client(self) -> AsyncIterator[AsyncPayoutClient]:
        client = self.new_client()
        async with client:
            yield client

    # -- direct exchanges (adapter <-> sandbox, no client, no ledger) -----------

    def payout(self, request: PayoutRequest) -> Payout:
        """The payout the client would make for ``request`` (not recorded anywhere)."""
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        return Payout(
            id=f"po_contract_{uuid.uuid4().hex[:12]}",
            idempotency_key=request.key(),
            payload_hash=request.payload_hash(),
            request=request,
            provider=self.adapter.name,
            created_at=now,
            updated_at=now,
        )

    async def send(
        self, request: httpx.Request, *, signed: bool = True, adapter: ProviderAdapter | None = None
    ) -> httpx.Response:
        """Send one built request to the sandbox (signed by ``adapter``'s auth unless told not)."""
        auth = (adapter or self.adapter).auth() if signed else None
        async with httpx.AsyncClient(transport=self.transport(), base_url=self.adapter.base_url) as http:
            return await http.send(request, auth=auth or httpx.USE_CLIENT_DEFAULT)

    async def exchange(self, request: httpx.Request, parse: Callable[[httpx.Response], Any]) -> Any:
        """Send, map transport statuses (429/5xx/401) and parse: what the client does once."""
        response = await self.send(request)
        raise_for_transport_status(response, provider=self.adapter.name)
        return parse(response)

    # -- time --------------------------------------------------------------------

    async def settle(self, seconds: float = 3600.0) -> list[httpx.Request]:
        """Move the sandbox clock on, settle what is due and collect the callbacks sent."""
        self.clock.advance(seconds)
        self.sandbox.settle_due()
        before = len(self.callbacks)
        await self.sandbox.deliver_callbacks()
        return self.callbacks[before:]


# ---------------------------------------------------------------------- tamper helpers


def flip_digit(data: bytes, *, occurrence: int = 0) -> bytes:
    """``data`` with one ASCII digit changed (the ``occurrence``-th digit, 0-based).

    Changing a digit keeps JSON well-formed, so what a test proves is the signature
    check, not the JSON parser.
    """
    seen = 0
    for i, byte in enumerate(data):
        if 0x30 <= byte <= 0x39:
            if seen == occurrence:
                return data[:i] + bytes([0x30 + (byte - 0x30 + 1) % 10]) + data[i + 1 :]
            seen += 1
    raise ValueError("no digit to flip")


def flip_text(value: str) -> str:
    """A signature string with its first character changed (hex, Base64 or anything)."""
    if not value:
        return "AA"
    first = value[0].lower()
    # A digit is valid in hex and Base64 alike, and differs from the first character even
    # to a case-insensitive comparison (hex "a" -> "A" would still verify).
    return ("1" if first == "0" else "0") + value[1:]


def response_with(
    response: httpx.Response, *, content: bytes | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A copy of ``response`` with another body and/or some headers replaced."""
    new_headers = dict(response.headers)
    new_headers.pop("content-length", None)
    new_headers.update(headers or {})
    return httpx.Response(
        response.status_code,
        content=response.content if content is None else content,
        headers=new_headers,
        request=response.request if response._request is not None else None,
    )


def request_with(
    request: httpx.Request, *, content: bytes | None = None, headers: dict[str, str] | None = None
) -> httpx.Request:
    """A copy of ``request`` with another body and/or some headers replaced."""
    new_headers = dict(request.headers)
    new_headers.pop("content-length", None)
    new_headers.update(headers or {})
    return httpx.Request(
        request.method,
        request.url,
        content=request.content if content is None else content,
        headers=new_headers,
    )
