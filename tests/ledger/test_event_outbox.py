"""The event outbox: every status event reaches the backend, signed per Standard Webhooks,
retried with backoff, its delivery state kept in the ledger (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from asxh_pay.errors import ConfigurationError
from asxh_pay.events import EventSender
from asxh_pay.ledger.base import Ledger
from asxh_pay.models import EventSource
from asxh_pay.status import PayoutStatus
from tests.ledger.test_ledger_contract import created

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


class Backend:
    """The integrator's endpoint: verifies every delivery, fails the first ``down`` requests."""

    def __init__(self, down: int) -> None:
        self.down = down
        self.requests = 0
        self.received: dict[str, dict[str, object]] = {}
        self.ids: list[str] = []
        self.webhook = Webhook(SECRET)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        body = self.webhook.verify(request.content, dict(request.headers))  # raises if forged
        self.ids.append(request.headers["webhook-id"])
        if self.requests <= self.down:
            return httpx.Response(503)
        self.received[request.headers["webhook-id"]] = body
        return httpx.Response(204)


async def test_every_event_is_delivered_signed_and_retried_until_acknowledged(ledger: Ledger) -> None:
    p = await created(ledger, 1)
    await ledger.transition(p, PayoutStatus.SUBMITTED, source=EventSource.SYSTEM, count_attempt=True)
    p2 = await ledger.get(p.id)
    assert p2 is not None
    await ledger.transition(p2, PayoutStatus.SUCCEEDED, source=EventSource.CALLBACK, provider_ref="T1")
    events = await ledger.events(p.id)
    assert await ledger.outbox_pending() == len(events) == 3  # recorded with the events themselves

    now = [time.time()]  # the backend checks the signature time against its own clock
    backend = Backend(down=3)
    sender = EventSender(
        ledger,
        "https://backend.example/asxh",
        SECRET,
        transport=httpx.MockTransport(backend.handle),
        clock=lambda: now[0],
    )
    try:
        assert await sender.deliver_due() == 0  # the backend is down: every event kept, with why
        assert await ledger.outbox_pending() == 3
        assert await sender.deliver_due() == 0  # not due yet: nothing is sent before its next try
        assert backend.requests == 3
        now[0] += 3  # past the first backoff (2 s)
        assert await sender.deliver_due() == 3
        assert await ledger.outbox_pending() == 0
        now[0] += 7200
        assert await sender.deliver_due() == 0 and backend.requests == 6  # acknowledged: never again
    finally:
        await sender.aclose()
    # A retry carries the same webhook-id, so the backend can de-duplicate.
    assert sorted(set(backend.ids)) == sorted(backend.received) and len(backend.ids) == 6
    bodies = sorted(backend.received.values(), key=lambda b: b["data"]["seq"])  # type: ignore[index]
    assert [b["data"]["status"] for b in bodies] == ["created", "submitted", "succeeded"]  # type: ignore[index]
    assert all(b["type"] == "payout.status_changed" for b in bodies)
    raw = json.dumps(bodies, ensure_ascii=False)
    assert p.request.beneficiary.cccd not in raw and "Nguyễn" not in raw  # ids and states only


async def test_a_secret_that_is_not_a_standard_webhooks_secret_is_refused(ledger: Ledger) -> None:
    with pytest.raises(ConfigurationError, match="ASXH_PAY_EVENTS__SECRET") as err:
        EventSender(ledger, "https://backend.example", "not base64 at all!")
    assert "not base64" not in str(err.value)


def test_the_events_secret_is_never_in_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from asxh_pay.config import load_settings

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "asxh-pay.toml"
    path.write_text(f'[events]\nurl = "https://backend.example"\nsecret = "{SECRET}"\n')
    with pytest.raises(ConfigurationError, match="ASXH_PAY_EVENTS__SECRET"):
        load_settings(path)
    path.write_text('[events]\nurl = "https://backend.example"\n')
    monkeypatch.setenv("ASXH_PAY_EVENTS__SECRET", SECRET)
    s = load_settings(path)
    assert s.events.secret is not None and SECRET not in json.dumps(s.masked())
