"""A transport that injects transport faults into chosen requests (shared by the engine tests)."""

from __future__ import annotations

from collections.abc import Callable

import httpx


class FlakyTransport(httpx.AsyncBaseTransport):
    """Wraps a sandbox's transport; the next matching requests meet the queued faults.

    * ``"connect"``: the request never leaves (``ConnectError``): provably not sent;
    * ``"unavailable"``: a 503 before anything is processed;
    * ``"lost"``: the request is processed, then its answer is lost (``ReadTimeout``).
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, match: Callable[[httpx.Request], bool]) -> None:
        self.inner = inner
        self.match = match
        self.faults: list[str] = []
        self.always: str | None = None
        self.seen = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.match(request):
            return await self.inner.handle_async_request(request)
        self.seen += 1
        fault = self.faults.pop(0) if self.faults else self.always
        if fault == "connect":
            raise httpx.ConnectError("injected: connection refused", request=request)
        if fault == "unavailable":
            return httpx.Response(503, request=request)
        response = await self.inner.handle_async_request(request)
        if fault == "lost":
            await response.aread()
            raise httpx.ReadTimeout("injected: answer lost", request=request)
        return response
