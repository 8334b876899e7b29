"""``asxh-pay serve``: provider callbacks, health, readiness and metrics over ASGI.

Why ASGI (Starlette on uvicorn): the callback endpoint faces the providers' webhook
workers on the internet; it must be a real server with timeouts, keep-alive and
graceful shutdown, and an integrator who already runs a web application wants to mount
the handler there instead (:func:`callback_app`).

Routes of :func:`build_app`:

* ``POST /callbacks/{rail}`` for every configured rail that sends callbacks. The
  request's raw bytes go to :func:`asxh_pay.receiver.callback_handler`, the same
  verification and status-code rules as everywhere else (signature, freshness, replay;
  a verified repeat is 200, anything forged 4xx and changes nothing);
* ``GET /healthz``: the process is up (no dependency checked);
* ``GET /readyz``: the ledger answers a query (503 otherwise), for a load balancer;
* ``GET /metrics``: Prometheus text format. ``asxh_pay_payouts{rail,state}`` and
  ``asxh_pay_payout_retries{rail}`` (sends beyond the first, from the ledger's attempt
  counters, so every process's sends count) are read from the ledger at most every
  ``metrics_ttl_s``; ``asxh_pay_send_seconds{rail}`` (request latency to the rail) and
  ``asxh_pay_callbacks_total{rail,result}`` are this process's own.

The ASGI adapter for integrators::

    from starlette.applications import Starlette
    from starlette.routing import Mount
    from asxh_pay.serve import callback_app

    client = AsyncPayoutClient(ledger, setups, router=router)   # opened at startup
    app = Starlette(routes=[Mount("/asxh/callbacks", app=callback_app(client, ["momo", "vnpost"]))])
    # MoMo then posts to https://your.host/asxh/callbacks/momo
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from asxh_pay.masking import get_logger

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from asxh_pay.client import AsyncPayoutClient
    from asxh_pay.config import Settings
    from asxh_pay.ledger.base import Ledger

log = get_logger("asxh_pay.serve")

#: The largest callback body accepted (providers send a few hundred bytes).
MAX_CALLBACK_BYTES = 64 * 1024
_SEND_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _need_extra() -> None:
    try:
        import prometheus_client  # noqa: F401
        import starlette  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the extra
        from asxh_pay.errors import ConfigurationError, Message

        raise ConfigurationError(Message("serve_extra")) from exc


class Metrics:
    """The served process's Prometheus metrics, in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = registry or CollectorRegistry()
        self.payouts = Gauge(
            "asxh_pay_payouts",
            "Payouts in the ledger by rail and state",
            ["rail", "state"],
            registry=self.registry,
        )
        self.retries = Gauge(
            "asxh_pay_payout_retries",
            "Sends beyond the first, by rail (from the ledger's attempt counters)",
            ["rail"],
            registry=self.registry,
        )
        self.send_seconds = Histogram(
            "asxh_pay_send_seconds",
            "Latency of requests to a rail from this process",
            ["rail"],
            buckets=_SEND_BUCKETS,
            registry=self.registry,
        )
        self.events_pending = Gauge(
            "asxh_pay_events_pending",
            "Payout events the backend has not acknowledged yet (the ledger's outbox)",
            registry=self.registry,
        )
        self.callbacks = Counter(
            "asxh_pay_callbacks",
            "Provider callbacks received, by rail and HTTP status class",
            ["rail", "result"],
            registry=self.registry,
        )
        self._refreshed = 0.0

    async def refresh(self, ledger: Ledger, ttl_s: float) -> None:
        """Re-read the payouts by rail and state (at most every ``ttl_s`` seconds)."""
        now = time.monotonic()
        if self._refreshed and now - self._refreshed < ttl_s:
            return
        states: Counter[tuple[str, str]] = Counter()
        retries: Counter[str] = Counter()
        async for p in ledger.iter_payouts():
            rail = p.provider or "unrouted"
            states[(rail, p.status.value)] += 1
            retries[rail] += max(0, p.attempts - 1)
        self.payouts.clear()
        for (rail, state), n in states.items():
            self.payouts.labels(rail=rail, state=state).set(n)
        self.retries.clear()
        for rail, n in retries.items():
            self.retries.labels(rail=rail).set(n)
        with contextlib.suppress(NotImplementedError):
            self.events_pending.set(await ledger.outbox_pending())
        self._refreshed = now


class MeteredTransport(httpx.AsyncBaseTransport):
    """Times every request to a rail into ``asxh_pay_send_seconds{rail}``."""

    def __init__(self, inner: httpx.AsyncBaseTransport, rail: str, metrics: Metrics) -> None:
        self.inner = inner
        self.rail = rail
        self.metrics = metrics

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.metrics.send_seconds.labels(rail=self.rail).observe(time.perf_counter() - started)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _to_httpx(request: Request, path: str) -> httpx.Request | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_CALLBACK_BYTES:
            return None
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
    headers = [(k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")]
    return httpx.Request(request.method, f"http://asxh-pay{path}", headers=headers, content=body)


def callback_app(
    client: AsyncPayoutClient, rails: Iterable[str], *, metrics: Metrics | None = None
) -> Starlette:
    """An ASGI app answering ``POST /{rail}`` for each rail, to mount anywhere.

    The raw body and headers are handed to :func:`asxh_pay.receiver.callback_handler`
    unchanged: the signature checks are the receiver's, over the exact bytes received.
    ``client`` must be opened (``await client.open()``) before the first callback.
    """
    _need_extra()
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from asxh_pay.logs import log_context
    from asxh_pay.receiver import callback_handler

    names = list(rails)
    handler = callback_handler(client, {f"/callbacks/{r}": r for r in names})

    async def endpoint(request: Request) -> Response:
        rail = request.path_params["rail"]
        if rail not in names:
            return JSONResponse({"error": "no such callback endpoint"}, status_code=404)
        with log_context(rail=rail):
            req = await _to_httpx(request, f"/callbacks/{rail}")
            if req is None:
                if metrics is not None:
                    metrics.callbacks.labels(rail=rail, result="4xx").inc()
                return JSONResponse({"error": "too_large"}, status_code=413)
            answer = await handler(req)
        if metrics is not None:
            metrics.callbacks.labels(rail=rail, result=f"{answer.status_code // 100}xx").inc()
        headers = {k: v for k, v in answer.headers.items() if k.lower() not in ("content-length",)}
        return Response(answer.content, status_code=answer.status_code, headers=headers)

    return Starlette(routes=[Route("/{rail}", endpoint, methods=["POST"])])


def build_app(
    settings: Settings,
    data_dir: Path,
    *,
    ledger_url: str,
    metrics_ttl_s: float = 5.0,
    callback_rails: Iterable[str] | None = None,
) -> Starlette:
    """The whole served application for a configuration (``asxh-pay serve``)."""
    _need_extra()
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Mount, Route

    from asxh_pay.client import AsyncPayoutClient, ProviderSetup
    from asxh_pay.ledger import open_ledger
    from asxh_pay.payroll.configured import rails_from_settings

    metrics = Metrics()
    rails = rails_from_settings(settings, data_dir)
    setups = [
        ProviderSetup(
            s.adapter,
            transport=MeteredTransport(
                s.transport or httpx.AsyncHTTPTransport(trust_env=False), s.name, metrics
            ),
            concurrency=s.concurrency,
            rate_per_s=s.rate_per_s,
            timeout_s=s.timeout_s,
            retry_budget=s.retry_budget,
        )
        for s in rails.setups
    ]
    ledger = open_ledger(ledger_url, exclusive=False)
    client = AsyncPayoutClient(ledger, setups, router=rails.router, retry=rails.retry)
    names = (
        list(callback_rails)
        if callback_rails is not None
        else [s.name for s in setups if s.adapter.capabilities.callbacks]
    )

    async def opened() -> bool:
        """Open the client (and the ledger) if it is not yet: a ledger down at startup must not
        stop the process, only keep it unready until the ledger answers."""
        try:
            await client.open()
        except Exception as exc:  # reported by /readyz; the type only, no data
            log.warning("the ledger is not reachable yet (%s)", type(exc).__name__)
            return False
        return True

    sender = None
    if settings.events.url:
        from asxh_pay.config import require_secret
        from asxh_pay.events import EventSender

        sender = EventSender(
            ledger,
            settings.events.url,
            require_secret(settings.events.secret, "events", "secret"),
            timeout_s=settings.events.timeout_s,
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await opened()
        stop = asyncio.Event()
        task = asyncio.create_task(sender.run(stop)) if sender is not None else None
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
                assert sender is not None
                await sender.aclose()
            with contextlib.suppress(Exception):
                await client.close()
            for s in setups:
                assert s.transport is not None
                await s.transport.aclose()
            rails.close()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            if not await opened():
                raise ConnectionError("ledger not open")
            await ledger.counts()
        except Exception as exc:  # any failure to answer is "not ready"; the type only, no data
            return JSONResponse({"status": "unavailable", "ledger": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ready", "ledger": "ok"})

    async def metrics_endpoint(request: Request) -> Response:
        try:
            await metrics.refresh(ledger, metrics_ttl_s)
        except Exception as exc:
            log.warning("metrics: the ledger did not answer (%s)", type(exc).__name__)
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Mount("/callbacks", app=callback_app(client, names, metrics=metrics)),
        ],
        lifespan=lifespan,
    )
    app.state.client = client
    app.state.metrics = metrics
    app.state.callback_rails = names
    return app
