"""Grouping within declared limits, and batch-per-request sends (MoMo's batch API).

Why in the engine: an adapter declares *that* it takes batches and how large
(:class:`~asxh_pay.providers.base.Submission`), and builds and parses one; deciding
which payouts go together, recording them before they leave, sending and retrying,
and recording what came back are the engine's, the same for every provider.

A batch follows the per-payout rules item by item:

* write-ahead: each payout's attempt is recorded ``submitted`` (compare-and-set on
  its attempt count, so no other driver is sending it) before the batch leaves;
* the batch leaves through the provider's :class:`~asxh_pay.engine.sending.Lane`, the
  loop a single payout uses: same semaphore, rate limit, retry budget and backoff;
* an unknown outcome (a timeout, an unreadable or refused answer) leaves every payout
  of the batch ``unknown``, resolved one by one by a status query (``client.resume``),
  unless the provider declares it recognises the same batch sent again;
* each item's result goes through the one apply step (hooks, "a return implies a success").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from asxh_pay.engine.applying import OUTCOME_STATUS, Applier
from asxh_pay.engine.sending import Lane
from asxh_pay.errors import (
    ConfigurationError,
    OutcomeUnknown,
    ProviderError,
    ProviderProtocolError,
    TransportError,
)
from asxh_pay.masking import get_logger
from asxh_pay.models import EventSource, Payout
from asxh_pay.providers.base import ProviderOutcome, ProviderResult, Submission, SubmitShape
from asxh_pay.status import PayoutStatus

__all__ = ["BatchOutcome", "batch_reference", "group_within", "send_batch"]

log = get_logger("asxh_pay")

#: Payout attributes a declaration may group by without the caller saying how to read them.
GROUP_ATTRIBUTES: Mapping[str, Callable[[Payout], str]] = {
    "period": lambda p: p.request.period,
    "programme": lambda p: p.request.programme,
    "provider": lambda p: p.provider or "",
}


def group_within(
    payouts: Sequence[Payout],
    submission: Submission,
    *,
    keys: Mapping[str, Callable[[Payout], str]] | None = None,
) -> list[list[Payout]]:
    """Payouts in groups that share every ``group_by`` attribute, each at most ``max_items``.

    Deterministic: groups in first-seen order, payouts in the order given, so the same
    payouts give the same batches. ``keys`` says how to read attributes the engine does
    not know (``"value_date"``, ``"commune"``); an undeclared one is a configuration error.
    """
    readers: list[Callable[[Payout], str]] = []
    for name in submission.group_by:
        reader = (keys or {}).get(name) or GROUP_ATTRIBUTES.get(name)
        if reader is None:
            raise ConfigurationError(f"no way to read the grouping attribute {name!r}: pass it in keys=")
        readers.append(reader)
    groups: dict[tuple[str, ...], list[Payout]] = {}
    for p in payouts:
        groups.setdefault(tuple(r(p) for r in readers), []).append(p)
    size = submission.max_items
    return [members[i : i + size] for members in groups.values() for i in range(0, len(members), size)]


def batch_reference(payouts: Sequence[Payout]) -> str:
    """A name for a batch in the audit trail, from its payouts' keys (same batch, same name)."""
    digest = hashlib.sha256("|".join(sorted(p.idempotency_key for p in payouts)).encode()).hexdigest()
    return "B" + digest[:20]


@dataclass
class BatchOutcome:
    """What one batch send did to its payouts (their latest copies)."""

    reference: str
    payouts: list[Payout] = field(default_factory=list)
    skipped: list[Payout] = field(default_factory=list)  # another driver holds them
    error: str | None = None  # not sent after retries (left ``submitted`` for resume)


async def send_batch(
    lane: Lane,
    applier: Applier,
    payouts: Sequence[Payout],
    *,
    vet: Callable[[Payout, ProviderResult], ProviderResult] = lambda p, r: r,
) -> BatchOutcome:
    """Record, send and apply one batch of ``created``/resendable payouts of one provider."""
    adapter = lane.setup.adapter
    submission = adapter.capabilities.submission(SubmitShape.BATCH)
    if submission is None:
        raise ConfigurationError(f"provider {adapter.name} declares no batch submission")
    if len(payouts) > submission.max_items:
        raise ConfigurationError(
            f"{len(payouts)} payouts exceed {adapter.name}'s batch of {submission.max_items}"
        )
    ledger = applier.ledger
    outcome = BatchOutcome(batch_reference(payouts))
    recorded: list[Payout] = []
    for p in payouts:
        if p.status is not PayoutStatus.CREATED:
            outcome.skipped.append(p)  # sent before: resume() resolves it one by one
            continue
        # Write-ahead, compare-and-set on the attempt count, as a single payout's send.
        res = await ledger.transition(
            p,
            PayoutStatus.SUBMITTED,
            source=EventSource.SYSTEM,
            provider=adapter.name,
            detail=f"batch {outcome.reference}",
            count_attempt=True,
            expect_attempts=p.attempts,
        )
        if res.recorded and res.payout.status is PayoutStatus.SUBMITTED:
            recorded.append(res.payout)
        else:
            outcome.skipped.append(res.payout)
    if not recorded:
        return outcome
    lane.setup.retry_budget.deposit()
    try:
        results = await lane.send_with_retry(
            lambda: adapter.build_batch(recorded),
            lambda r: adapter.parse_batch(recorded, r),
            repeatable=submission.resend_recognised,
        )
        checked: dict[str, ProviderResult | Exception] = {}
        for p in recorded:
            try:
                checked[p.idempotency_key] = vet(p, results[p.idempotency_key])
            except (KeyError, ProviderProtocolError) as exc:
                checked[p.idempotency_key] = exc
    except (OutcomeUnknown, ProviderProtocolError) as exc:
        checked = dict.fromkeys((p.idempotency_key for p in recorded), exc)
    except (TransportError, ProviderError) as exc:
        # Provably not processed, but the retries are spent: left for resume(), as a payout.
        log.warning("batch %s not sent after retries: %s", outcome.reference, type(exc).__name__)
        outcome.error = f"{type(exc).__name__}: {exc}"
        outcome.payouts = recorded
        return outcome
    for p in recorded:
        got = checked[p.idempotency_key]
        if isinstance(got, Exception) or got.outcome is ProviderOutcome.NOT_FOUND:
            detail = f"batch {outcome.reference}: " + (
                type(got).__name__ if isinstance(got, Exception) else "answered not found"
            )
            res = await ledger.transition(p, PayoutStatus.UNKNOWN, source=EventSource.RESPONSE, detail=detail)
            outcome.payouts.append(res.payout)
            continue
        done = await applier.apply(
            p,
            OUTCOME_STATUS[got.outcome],
            source=EventSource.RESPONSE,
            reason=got.reason,
            detail=got.message or (f"code {got.code}" if got.code else None),
            provider_ref=got.provider_ref,
            durable=False,
        )
        outcome.payouts.append(done[-1].payout)
    return outcome
