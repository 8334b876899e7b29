"""Retry rules as data: what is safe to retry, how long to wait, how much is allowed."""

from __future__ import annotations

import random

import pytest
from tenacity import RetryCallState

from asxh_pay.errors import (
    AuthenticationError,
    OutcomeUnknown,
    PayoutDeclined,
    ProviderProtocolError,
    ProviderUnavailable,
    RateLimited,
    RequestNotSent,
)
from asxh_pay.providers.base import parse_retry_after
from asxh_pay.retry import FullJitterWait, RetryPolicy, backoff_delay, is_safe_to_retry


@pytest.mark.parametrize(
    ("exc", "safe"),
    [
        (RequestNotSent("refused"), True),
        (RateLimited("429", retry_after=1.0), True),
        (ProviderUnavailable("503"), True),
        (OutcomeUnknown("read timeout"), False),  # may have reached the provider
        (ProviderProtocolError("garbled"), False),
        (PayoutDeclined("invalid account"), False),
        (AuthenticationError("401"), False),
    ],
)
def test_only_provably_unprocessed_requests_are_retried(exc: Exception, safe: bool) -> None:
    assert is_safe_to_retry(exc) is safe


def test_full_jitter_stays_within_the_capped_exponential() -> None:
    policy = RetryPolicy(base_delay_s=0.1, max_delay_s=2.0)
    rng = random.Random(1)
    for attempt in range(1, 12):
        ceiling = min(2.0, 0.1 * 2 ** (attempt - 1))
        delays = [backoff_delay(policy, attempt, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > 0.8 * ceiling  # jitter spreads over the whole range


def test_retry_after_is_a_floor_but_capped() -> None:
    policy = RetryPolicy(base_delay_s=0.001, max_delay_s=0.002, max_retry_after_s=5.0)
    wait = FullJitterWait(policy)
    assert wait.first_delay(RateLimited("429", retry_after=1.5)) >= 1.5
    assert wait.first_delay(RateLimited("429", retry_after=600)) == 5.0
    assert wait.first_delay(ProviderUnavailable("503")) <= 0.002


def test_wait_strategy_counts_the_untracked_first_attempt() -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=100.0)
    state = RetryCallState(None, None, (), {})  # type: ignore[arg-type]
    state.attempt_number = 1  # tenacity's first retry is the engine's second attempt
    assert FullJitterWait(policy)(state) <= 2.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), ("0.5", 0.5), (None, None), ("", None), ("soon", None), ("-4", 0.0), ("99999", 3600.0)],
)
def test_retry_after_header(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_retry_after_http_date() -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    seconds = parse_retry_after(when)
    assert seconds is not None and 25 <= seconds <= 31
