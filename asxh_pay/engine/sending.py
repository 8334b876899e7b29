"""The one send-and-retry loop, shared by every rail and every shape of submission.

Why one loop (issue 15): a wallet payout, a MoMo batch, a pain.001 file to the bank
and a VNPost manifest all leave the process the same way. A :class:`Lane` is one
provider's outgoing path: its transport, a semaphore (concurrency), a rate limiter,
the provider's retry budget and the retry policy. :meth:`Lane.send_with_retry`
builds the request from the adapter (a pure function of what is sent, so every
retry carries the same bytes and the same idempotency key), sends it, parses the
answer, and retries only what is safe:

* "not sent" (:class:`~asxh_pay.errors.RequestNotSent`, 429, 502/503/504) is
  retried with full-jitter backoff, within the retry budget and the deadline;
* "unknown" (a timeout after the request left, a reset, an unreadable answer) is
  retried only when the caller says the request is *repeatable*: a read, or a
  batch or file the receiver recognises by its id when it comes again (the same
  bytes under the same MsgId or manifest number). Otherwise it is raised as
  :class:`~asxh_pay.errors.OutcomeUnknown` and resolved by a status query.

The last error is raised as it is, so a caller never labels a timeout "not sent".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, stop_after_delay

from asxh_pay.errors import OutcomeUnknown, ProviderProtocolError, RequestNotSent
from asxh_pay.masking import get_logger
from asxh_pay.providers.base import ProviderAdapter, raise_for_transport_status
from asxh_pay.retry import FullJitterWait, RateLimiter, RetryBudget, RetryPolicy, is_safe_to_retry

__all__ = ["Lane", "ProviderSetup", "is_retryable"]

log = get_logger("asxh_pay")

R = TypeVar("R")


@dataclass
class ProviderSetup:
    """One configured provider: its adapter, its transport and its limits."""

    adapter: ProviderAdapter
    transport: httpx.AsyncBaseTransport | None = None
    concurrency: int = 32
    rate_per_s: float | None = None
    timeout_s: float = 30.0
    retry_budget: RetryBudget = field(default_factory=RetryBudget)

    @property
    def name(self) -> str:
        return self.adapter.name


def is_retryable(exc: BaseException, *, repeatable: bool) -> bool:
    """Whether the loop may send again after ``exc``: provably not processed, or an
    unknown outcome of a request whose repetition the receiver recognises."""
    return is_safe_to_retry(exc) or (repeatable and isinstance(exc, OutcomeUnknown | ProviderProtocolError))


class Lane:
    """One provider's outgoing path: transport, semaphore, rate limit, budget, policy."""

    def __init__(self, setup: ProviderSetup, retry: RetryPolicy | None = None) -> None:
        self.setup = setup
        self.retry = retry or RetryPolicy()
        # Straight to the transport, not through httpx.AsyncClient: a payment API has
        # no business setting cookies or redirecting a signed request elsewhere, and
        # skipping the client's cookie jar and redirect loop halves the per-request cost.
        self.transport: httpx.AsyncBaseTransport = setup.transport or httpx.AsyncHTTPTransport(
            limits=httpx.Limits(
                max_connections=setup.concurrency, max_keepalive_connections=setup.concurrency
            ),
            trust_env=False,
            retries=0,  # retries are decided here, never below
        )
        self.timeout: dict[str, float | None] = httpx.Timeout(setup.timeout_s).as_dict()
        self.semaphore = asyncio.Semaphore(setup.concurrency)
        self.limiter = RateLimiter(setup.rate_per_s)

    @property
    def name(self) -> str:
        return self.setup.name

    async def aclose(self) -> None:
        if self.setup.transport is None:  # ours to close; a caller's transport is theirs
            await self.transport.aclose()

    async def send_with_retry(
        self,
        build: Callable[[], httpx.Request],
        parse: Callable[[httpx.Response], R],
        *,
        before_send: Callable[[], Awaitable[None]] | None = None,
        repeatable: bool = False,
    ) -> R:
        """Build, send and parse, retrying only what is safe (see the module docstring).

        The request is rebuilt for each attempt from the same input, so its bytes and
        idempotency key are identical. ``before_send`` runs before every attempt (the
        write-ahead record of a payout's attempt). Each retry after the first takes a
        token from the provider's retry budget; the deadline counts from the first send.
        """
        policy = self.retry
        deadline = time.monotonic() + policy.deadline_s
        budget = self.setup.retry_budget

        async def attempt_once() -> R:
            if before_send is not None:
                await before_send()
            response = await self.send_once(build())
            raise_for_transport_status(response, provider=self.setup.name)
            return parse(response)

        def retryable(exc: BaseException) -> bool:
            return is_retryable(exc, repeatable=repeatable)

        # Fast path: most sends succeed first time, and building a tenacity loop for each
        # would cost more than the send itself at zero latency.
        try:
            return await attempt_once()
        except Exception as exc:
            if not retryable(exc) or policy.max_attempts <= 1:
                raise
            first_error = exc

        first_wait = FullJitterWait(policy).first_delay(first_error)
        if time.monotonic() + first_wait > deadline:
            raise first_error
        await asyncio.sleep(first_wait)
        retrying = AsyncRetrying(
            retry=retry_if_exception(retryable),
            wait=FullJitterWait(policy),
            stop=stop_after_attempt(policy.max_attempts - 1)
            | stop_after_delay(max(0.0, deadline - time.monotonic())),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await budget.acquire(deadline)
                return await attempt_once()
        raise AssertionError("unreachable")  # pragma: no cover

    async def send_once(self, request: httpx.Request) -> httpx.Response:
        """One exchange within the semaphore and the rate limit; transport errors are
        sorted into "not sent" and "unknown" here, once."""
        async with self.semaphore:
            if self.limiter.rate is not None:
                await self.limiter.acquire()
            try:
                # A whole exchange never outlives the provider's timeout (httpx's own apply
                # per read or write): that bound is what lets another driver know, from the
                # recorded attempt, when this send can no longer be in flight.
                async with asyncio.timeout(self.setup.timeout_s):
                    response = await self._exchange(request)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                raise RequestNotSent(f"{self.setup.name}: request not sent ({type(exc).__name__})") from None
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                raise OutcomeUnknown(f"{self.setup.name}: outcome unknown ({type(exc).__name__})") from None
            except TimeoutError:
                raise OutcomeUnknown(f"{self.setup.name}: outcome unknown (over its timeout)") from None
            saturated = self.semaphore.locked()
        if saturated:
            # Requests are queued for the slot just freed: let the next one leave before
            # this one is parsed and recorded, so a provider slot never idles behind
            # bookkeeping (at a provider's concurrency limit, that idle time is throughput).
            await asyncio.sleep(0)
        return response

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        """One request through the transport, signed by the adapter's ``httpx.Auth`` flow.

        The auth flow is driven as httpx drives it (it may look at the response and send
        again, as challenge-response schemes do); redirects are answered as they are.
        """
        request.extensions = {**request.extensions, "timeout": self.timeout}
        auth = self.setup.adapter.auth()
        if auth is None:
            return await self._transmit(request)
        flow = auth.async_auth_flow(request)
        outgoing = await anext(flow)
        while True:
            response = await self._transmit(outgoing)
            try:
                outgoing = await flow.asend(response)
            except StopAsyncIteration:
                return response
            await response.aclose()

    async def _transmit(self, request: httpx.Request) -> httpx.Response:
        response = await self.transport.handle_async_request(request)
        response.request = request
        try:
            await response.aread()
        finally:
            await response.aclose()
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s %s -> %s (%d bytes)",
                self.setup.name,
                request.method,
                request.url.path,
                response.status_code,
                len(response.content),
            )
        return response
