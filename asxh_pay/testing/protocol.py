"""What the contract kit needs from a provider's sandbox, as a protocol.

Why a protocol: a provider written outside this repository brings its own sandbox
(its wire format, its keys), and must not have to read the built-in sandbox's
internals to learn what the kit touches. Everything the kit uses is here. Subclassing
:class:`asxh_pay.sandbox.base.SandboxProvider` gives all of it; a sandbox written from
scratch implements these members and the kit runs against it unchanged.

The faults are configured, not called: ``make_sandbox`` receives a
:class:`~asxh_pay.sandbox.base.FaultPlan` (``faults=``) and must honour the fields the
kit uses: ``timeout_after_commit`` and the other transport faults, ``stale_read`` /
``stale_read_window_s``, ``dedupe_race`` / ``dedupe_race_window_s`` and
``wrong_amount``. It also receives ``clock=`` (a
:class:`~asxh_pay.sandbox.base.SandboxClock`): settlement, stale-read windows and
dedupe-race windows run on that clock; signatures and their freshness windows on wall
time (a real provider signs with its own wall clock, which a test cannot move).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import httpx

if TYPE_CHECKING:
    from asxh_pay.sandbox.base import SandboxProvider

__all__ = ["Booking", "KitSandbox"]


class Booking(Protocol):
    """One payment in the sandbox's own books."""

    @property
    def key(self) -> str:
        """The idempotency key it was booked under."""

    @property
    def ref(self) -> str:
        """The provider's reference for it."""

    @property
    def amount(self) -> int:
        """Whole VND booked."""


@runtime_checkable
class KitSandbox(Protocol):
    """The members of a sandbox the contract kit uses, and what each must mean."""

    @property
    def request_counts(self) -> Mapping[str, int]:
        """Requests that reached the sandbox and were authenticated, by operation kind;
        the kit reads ``"pay"`` and ``"status"`` (name your operations so)."""

    @property
    def fault_counts(self) -> Mapping[str, int]:
        """How many times each :class:`FaultPlan` fault happened, by its field name."""

    @property
    def payments(self) -> Mapping[str, Booking]:
        """The first booking of each idempotency key."""

    async def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request, as the provider would (the kit wraps it in a transport)."""

    def fault_next(self, fault: str) -> None:
        """Make the next request, of any kind, meet this one fault (a ``FaultPlan`` field
        name such as ``"timeout_after_commit"``) and no other."""

    def settle_due(self) -> int:
        """Settle what is due on the sandbox clock and queue its callbacks; how many."""

    async def deliver_callbacks(self) -> int:
        """Send the queued callbacks to the ``callback_sink`` given at construction."""

    def paid(self) -> Mapping[str, Booking]:
        """First bookings whose money is at the beneficiary, by key."""

    def bookings(self, key: str) -> Sequence[Booking]:
        """Every payment booked under ``key``: more than one is the provider paying twice."""

    def succeed_after_failure(self, key: str) -> object:
        """Deliver now the payment of ``key`` that settled failed, as a provider that
        reports money delivered after a failure does; queue the callback saying so.
        Raise ``ValueError`` when there is no failed payment under ``key``."""


def _base_sandbox_conforms(sandbox: SandboxProvider) -> KitSandbox:
    """Checked by mypy: the built-in sandbox base gives every member of the protocol."""
    return sandbox
