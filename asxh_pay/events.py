"""Payout state changes sent to the integrator's backend, signed per Standard Webhooks.

Why an outbox in the ledger: an event must reach the ASXH backend even if the process
that changed the payout dies a moment later, and the backend must never have to poll.
Every status event gets an ``event_outbox`` row in the same transaction as the event
itself (a trigger, migrations ``0002``/``0003``); :class:`EventSender` delivers due rows,
records each delivery (or failure, with the next try) back in the ledger, and retries
with exponential backoff (capped at an hour, forever: an event is never dropped).
``asxh-pay serve`` runs the sender when ``[events] url`` is configured.

The wire (https://www.standardwebhooks.com, signed with the ``standardwebhooks``
package): ``POST {url}`` with headers ``webhook-id`` (``evt_<payout>_<seq>``, the same
for every retry of one event: the backend de-duplicates on it), ``webhook-timestamp``
and ``webhook-signature`` (``v1,<base64 HMAC-SHA256>`` with the shared ``whsec_`` secret,
``ASXH_PAY_EVENTS__SECRET``). Body::

    {"type": "payout.status_changed", "timestamp": "2026-11-02T08:00:00+07:00",
     "data": {"payout_id", "seq", "run_id", "status", "previous_status", "reason",
              "source", "provider", "amount", "programme", "period", "parent_id"}}

No personal data: the backend already has the beneficiaries; it gets ids and states.
A 2xx answer acknowledges; anything else (or no answer within ``timeout_s``) is retried.
Events are sent ``concurrency`` at a time and a retried one comes late: a payout's events
may arrive out of order, and the backend orders them by ``seq``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from asxh_pay.errors import ConfigurationError
from asxh_pay.ledger.base import Ledger, OutboxEvent
from asxh_pay.masking import get_logger

log = get_logger("asxh_pay.events")

EVENT_TYPE = "payout.status_changed"


def event_body(e: OutboxEvent) -> dict[str, Any]:
    return {
        "type": EVENT_TYPE,
        "timestamp": e.at,
        "data": {
            "payout_id": e.payout_id,
            "seq": e.seq,
            "run_id": e.run_id,
            "status": e.to_status,
            "previous_status": e.from_status,
            "reason": e.reason,
            "source": e.source,
            "provider": e.provider,
            "amount": e.amount,
            "programme": e.programme,
            "period": e.period,
            "parent_id": e.parent_id,
        },
    }


def message_id(e: OutboxEvent) -> str:
    return f"evt_{e.payout_id}_{e.seq}"


class EventSender:
    """Deliver the ledger's outbox to ``url``; see the module docstring."""

    def __init__(
        self,
        ledger: Ledger,
        url: str,
        secret: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 10.0,
        batch: int = 200,
        concurrency: int = 16,
        base_delay_s: float = 2.0,
        max_delay_s: float = 3600.0,
        clock: Any = time.time,
    ) -> None:
        from standardwebhooks.webhooks import Webhook

        try:
            key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
            if not secret.startswith("whsec_") or len(key) < 24:
                raise ValueError
            self._webhook = Webhook(secret)
        except Exception:  # the library's message may quote the secret: never pass it on
            raise ConfigurationError(
                "the events secret (ASXH_PAY_EVENTS__SECRET) is not a Standard Webhooks secret "
                "(whsec_ and at least 24 bytes in base64)"
            ) from None
        self.ledger = ledger
        self.url = url
        self.batch = batch
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self._clock = clock
        self._sem = asyncio.Semaphore(concurrency)
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout_s, trust_env=False)
        self.delivered = 0
        self.failed = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    def _request(self, e: OutboxEvent, now: float) -> httpx.Request:
        body = json.dumps(event_body(e), ensure_ascii=False, separators=(",", ":"))
        msg_id = message_id(e)
        sent_at = datetime.fromtimestamp(int(now), UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now)),
            "webhook-signature": self._webhook.sign(msg_id, sent_at, body),
        }
        return httpx.Request("POST", self.url, content=body.encode(), headers=headers)

    async def _one(self, e: OutboxEvent) -> bool:
        async with self._sem:
            now = self._clock()
            try:
                response = await self._http.send(self._request(e, now))
                ok = 200 <= response.status_code < 300
                why = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                ok, why = False, type(exc).__name__
            if ok:
                await self.ledger.outbox_delivered(e.id)
                self.delivered += 1
                return True
            delay = min(self.max_delay_s, self.base_delay_s * (2 ** min(e.attempts, 20)))
            await self.ledger.outbox_retry(e.id, now + delay, why)
            self.failed += 1
            log.warning(
                "event %s for payout %s not delivered (%s); next try in %.0fs", e.seq, e.payout_id, why, delay
            )
            return False

    async def deliver_due(self) -> int:
        """Send every due event once; returns how many were acknowledged."""
        done = 0
        while True:
            due = await self.ledger.outbox_due(self.batch, self._clock())
            if not due:
                return done
            results = await asyncio.gather(*(self._one(e) for e in due))
            done += sum(results)
            if not any(results):
                return done  # everything due failed: wait for the next round

    async def run(self, stop: asyncio.Event, *, interval_s: float = 1.0) -> None:
        """Deliver until ``stop`` is set (``asxh-pay serve``'s background task)."""
        while not stop.is_set():
            try:
                await self.deliver_due()
            except Exception as exc:  # the ledger away for a moment: try again next round
                log.warning("event delivery round failed (%s)", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
