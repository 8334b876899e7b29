"""What is safe to retry, how long to wait, and how much retrying a provider may take.

Why these rules (AWS Builders' Library, Stripe, ActiveMerchant): only a request that
provably never reached the provider, or that the provider refused to process (429,
502/503/504, "try again"), is sent again, with the *same* idempotency key and bytes.
Everything ambiguous becomes ``unknown`` and is resolved by a status query instead.
Backoff is capped exponential with full jitter so that thousands of payouts do not
retry in lockstep, and a per-provider budget turns an outage into a slowdown rather
than a retry storm. Retrying happens in this one layer only: the one send-and-retry
loop (:class:`asxh_pay.engine.sending.Lane`) applies these rules to every send of every
rail, a single payout, a MoMo batch, a pain.001 file or a VNPost manifest.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

from tenacity import RetryCallState

from asxh_pay.errors import (
    ProviderUnavailable,
    RateLimited,
    RequestNotSent,
    RetryBudgetExhausted,
)


@dataclass(frozen=True)
class RetryPolicy:
    """Per-send retry rules. ``deadline_s`` bounds the whole submit of one payout."""

    max_attempts: int = 8
    base_delay_s: float = 0.2
    max_delay_s: float = 30.0
    deadline_s: float = 300.0
    max_retry_after_s: float = 120.0


def is_safe_to_retry(exc: BaseException) -> bool:
    """True only when the provider provably did not process the request."""
    return isinstance(exc, RequestNotSent | RateLimited | ProviderUnavailable)


def backoff_delay(policy: RetryPolicy, attempt: int, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**(attempt-1))]."""
    ceiling = min(policy.max_delay_s, policy.base_delay_s * (2 ** max(0, attempt - 1)))
    return (rng or random).uniform(0.0, ceiling)


class FullJitterWait:
    """tenacity wait strategy: full jitter, but never sooner than a Retry-After."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, state: RetryCallState) -> float:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        # attempt_number counts attempts inside tenacity, which starts after the first send.
        return self._delay(state.attempt_number + 1, exc)

    def first_delay(self, exc: BaseException | None) -> float:
        """Delay after the first, untracked attempt (the engine's fast path)."""
        return self._delay(1, exc)

    def _delay(self, attempt: int, exc: BaseException | None) -> float:
        delay = backoff_delay(self.policy, attempt)
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, self.policy.max_retry_after_s))
        return delay


class RetryBudget:
    """A token bucket of retries for one provider.

    Each first attempt deposits ``ratio`` tokens (so retries stay a bounded share of
    traffic), tokens also trickle in at ``min_per_s`` so a quiet provider can still
    retry, and each retry withdraws one. When the bucket is empty a retry *waits*
    for a token rather than being sent: an outage slows the run down instead of
    multiplying its load, and no payout is dropped. ``acquire`` gives up at the
    payout's deadline.
    """

    def __init__(self, *, ratio: float = 0.2, min_per_s: float = 5.0, capacity: float = 100.0) -> None:
        self.ratio = ratio
        self.min_per_s = min_per_s
        self.capacity = capacity
        self._tokens = capacity
        self._last = time.monotonic()
        self.retries = 0
        self.waited = 0

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.min_per_s)
        self._last = now

    def deposit(self) -> None:
        self._tokens = min(self.capacity, self._tokens + self.ratio)

    async def acquire(self, deadline: float) -> None:
        while True:
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                self.retries += 1
                return
            wait = (1.0 - self._tokens) / self.min_per_s if self.min_per_s > 0 else 1.0
            if time.monotonic() + wait > deadline:
                raise RetryBudgetExhausted("retry budget exhausted before the payout's deadline")
            self.waited += 1
            await asyncio.sleep(wait)


class RateLimiter:
    """Async token bucket: at most ``rate_per_s`` requests per second, bursts of ``burst``."""

    def __init__(self, rate_per_s: float | None, burst: int | None = None) -> None:
        self.rate = rate_per_s
        self.burst = float(burst if burst is not None else max(1, int(rate_per_s or 1)))
        self._tokens = self.burst
        self._last = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        if self.rate is None:
            return
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self._tokens) / self.rate)
