"""asxh-pay serve: health, readiness, metrics and provider callbacks over HTTP; the ASGI adapter
mounted in an integrator's own Starlette application."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.routing import Mount

from asxh_pay.client import AsyncPayoutClient
from asxh_pay.config import load_settings
from asxh_pay.ledger import SqliteLedger, open_ledger
from asxh_pay.localserver import serve
from asxh_pay.payroll.configured import rails_from_settings
from asxh_pay.payroll.served_stack import free_port
from asxh_pay.sandbox.generic import GenericSandbox
from asxh_pay.serve import build_app, callback_app
from asxh_pay.status import PayoutStatus
from tests.conftest import FAST_POLL, FAST_RETRY, generic_setup, make_request
from tests.contract.test_momo_contract import momo_request

ROOT = Path(__file__).resolve().parents[1]


async def test_the_callback_handler_mounted_in_an_integrators_starlette_app(tmp_path: Path) -> None:
    sandbox = GenericSandbox(settle_after_s=30)
    captured: list[httpx.Request] = []

    async def sink(req: httpx.Request) -> None:
        captured.append(req)

    sandbox.callback_sink = sink
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"), [generic_setup(sandbox)], retry=FAST_RETRY, poll=FAST_POLL
    ) as client:
        payout = await client.pay(make_request(1), wait=False)
        sandbox.clock.advance(31)
        sandbox.settle_due()
        await sandbox.deliver_callbacks()
        good = captured[0]
        app = Starlette(routes=[Mount("/integrator/asxh", app=callback_app(client, ["generic"]))])
        headers = {k: v for k, v in good.headers.items() if k.lower() not in ("content-length", "host")}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as http:
            forged = await http.post(
                "/integrator/asxh/generic",
                content=good.content.replace(b"succeeded", b"failed"),
                headers=headers,
            )
            assert forged.status_code == 401
            assert (await client.status(payout.id)).status is PayoutStatus.PROCESSING
            first = await http.post("/integrator/asxh/generic", content=good.content, headers=headers)
            again = await http.post("/integrator/asxh/generic", content=good.content, headers=headers)
            unknown = await http.post("/integrator/asxh/momo", content=good.content, headers=headers)
        assert first.status_code == 200
        assert again.status_code == 200 and again.json()["duplicate"] is True
        assert unknown.status_code == 404
        assert (await client.status(payout.id)).status is PayoutStatus.SUCCEEDED


async def test_readiness_follows_the_ledger(tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_text("x")
    settings = load_settings(None)
    app = build_app(settings, tmp_path / "data", ledger_url=f"sqlite:///{tmp_path / 'not-a-dir' / 'l.db'}")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as http,
    ):
        assert (await http.get("/healthz")).status_code == 200  # alive, whatever the ledger
        ready = await http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
    app = build_app(settings, tmp_path / "data", ledger_url=f"sqlite:///{tmp_path / 'l.db'}")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as http,
    ):
        assert (await http.get("/readyz")).json() == {"status": "ready", "ledger": "ok"}


# --------------------------------------------------------------------------- over HTTP, separate processes


def _start(argv: list[str], cwd: Path, ready: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "asxh_pay", *argv, "--lang", "en"],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    line = ""
    for _ in range(5):  # notes may come first
        line = proc.stdout.readline()
        if ready in line or not line:
            break
    if ready not in line:
        proc.kill()
        proc.wait()
    assert ready in line, line
    return proc


def _wait_http(url: str) -> None:
    for _ in range(100):
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{url} never answered")


EVENTS_SECRET = "whsec_" + base64.b64encode(b"backend-shared-secret-32-bytes!!").decode()


class Backend:
    """The integrator's backend: takes signed payout events (refuses forged ones)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.webhook = Webhook(EVENTS_SECRET)

    def handle(self, request: httpx.Request) -> httpx.Response:
        try:
            body = self.webhook.verify(request.content, dict(request.headers))
        except Exception:
            return httpx.Response(401)
        self.events.append({"id": request.headers["webhook-id"], **body})
        return httpx.Response(204)


@pytest.fixture
def backend() -> Iterator[tuple[Backend, str]]:
    b = Backend()
    with serve(b.handle) as server:
        yield b, server.url


@pytest.fixture
def served_momo_and_serve(
    tmp_path: Path, backend: tuple[Backend, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, str]]:
    serve_port, momo_port = free_port(), free_port()
    config = tmp_path / "asxh-pay.toml"
    config.write_text(
        f'ledger_url = "sqlite:///{tmp_path / "ledger.db"}"\n'
        f'[rails.momo]\nsandbox = true\nbase_url = "http://127.0.0.1:{momo_port}"\n'
        f'callback_url = "http://127.0.0.1:{serve_port}/callbacks/momo"\n'
        f'[events]\nurl = "{backend[1]}/hooks"\n',
        "utf-8",
    )
    monkeypatch.setenv("ASXH_PAY_EVENTS__SECRET", EVENTS_SECRET)  # serve's secret from its environment
    procs = [
        _start(
            [
                "sandbox",
                "serve",
                "momo",
                "--port",
                str(momo_port),
                "--settle-after-s",
                "0.5",
                "--callback-url",
                f"http://127.0.0.1:{serve_port}/callbacks/momo",
            ],
            tmp_path,
            "listening",
        ),
        _start(["--config", str(config), "serve", "--port", str(serve_port)], tmp_path, "asxh-pay serve on"),
    ]
    try:
        _wait_http(f"http://127.0.0.1:{serve_port}/healthz")
        yield config, f"http://127.0.0.1:{serve_port}"
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)


async def test_serve_receives_a_signed_callback_over_http_and_reports_it(
    served_momo_and_serve: tuple[Path, str], tmp_path: Path, backend: tuple[Backend, str]
) -> None:
    config, serve_url = served_momo_and_serve
    settings = load_settings(config)
    rails = rails_from_settings(settings, tmp_path / "data")
    assert settings.ledger_url is not None
    async with AsyncPayoutClient(
        open_ledger(settings.ledger_url, exclusive=False), rails.setups, router=rails.router, retry=FAST_RETRY
    ) as client:
        payout = await client.pay(momo_request("001203012345", "Nguyễn Văn An", "0912345678"), wait=False)
        assert payout.status is not PayoutStatus.SUCCEEDED  # the wallet settles later, by callback
        async with httpx.AsyncClient(base_url=serve_url) as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            assert (await http.get("/readyz")).status_code == 200
            for _ in range(100):  # the sandbox settles after 0.5 s and posts its IPN to serve
                if (await client.ledger.get(payout.id)).status is PayoutStatus.SUCCEEDED:  # type: ignore[union-attr]
                    break
                await asyncio.sleep(0.1)
            done = await client.ledger.get(payout.id)
            assert done is not None and done.status is PayoutStatus.SUCCEEDED
            events = await client.ledger.events(payout.id)
            assert events[-1].source.value == "callback"
            metrics = (await http.get("/metrics")).text
    assert 'asxh_pay_payouts{rail="momo",state="succeeded"} 1.0' in metrics
    assert 'asxh_pay_callbacks_total{rail="momo",result="2xx"}' in metrics
    assert "asxh_pay_payout_retries" in metrics and "asxh_pay_send_seconds" in metrics
    # No events URL: every event is kept in the outbox for a sender configured later.
    pending = [line for line in metrics.splitlines() if line.startswith("asxh_pay_events_pending ")]
    assert pending and float(pending[0].split()[1]) >= 3
    assert "0912345678" not in metrics and "001203012345" not in metrics
    # The backend got the payout's every state change, signed, with no personal data.
    # Events are sent concurrently (the backend orders them by seq): wait for all of them,
    # not for the last state, which may arrive before the one before it.
    received = backend[0]
    for _ in range(100):
        seqs = {e["data"]["seq"] for e in received.events if e["data"]["payout_id"] == payout.id}
        if len(seqs) >= len(events):
            break
        await asyncio.sleep(0.1)
    mine = sorted(
        (e for e in received.events if e["data"]["payout_id"] == payout.id), key=lambda e: e["data"]["seq"]
    )
    assert [e["data"]["status"] for e in mine] == [ev.to_status.value for ev in events]
    assert len({e["id"] for e in mine}) == len(mine)
    assert "001203012345" not in json.dumps(received.events, ensure_ascii=False)
