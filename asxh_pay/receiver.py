"""An HTTP endpoint for provider callbacks, in front of ``AsyncPayoutClient.handle_callback``.

Why a separate piece: the client raises on a refused callback (that is the right
API for code), but a provider on the other end of HTTP needs status codes. The rule
follows Standard Webhooks: a verified callback, or a repeat of one already processed
(``handle_callback`` raises ``WebhookVerificationError`` with code ``replayed`` for it,
having changed nothing), is answered 2xx so the provider stops retrying; anything
forged, stale or malformed, or about a payout that is not that provider's or names
another reference or amount, is answered 4xx and changes nothing.

Serve it on localhost with :func:`asxh_pay.localserver.serve`, or mount the handler
in any web framework that can hand over the raw body bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import httpx

from asxh_pay.client import AsyncPayoutClient
from asxh_pay.errors import AsxhPayError, WebhookVerificationError
from asxh_pay.masking import get_logger
from asxh_pay.status import IllegalTransition

log = get_logger("asxh_pay.receiver")

CallbackHandler = Callable[[httpx.Request], Awaitable[httpx.Response]]

#: HTTP status for each refusal code of :class:`WebhookVerificationError`.
REFUSAL_STATUS = {
    "bad_signature": 401,
    "missing_signature": 401,
    "stale": 401,
    "future": 401,
    "too_large": 413,
    # Verified, but about a payout this provider never had, or about another payment of it
    # (issue 13, hazard 4): refused, nothing changed.
    "foreign_payout": 403,
    "reference_mismatch": 409,
    "amount_mismatch": 409,
}


def callback_handler(client: AsyncPayoutClient, routes: Mapping[str, str]) -> CallbackHandler:
    """A handler for ``routes`` (URL path -> provider name), e.g. ``{"/callbacks/momo": "momo"}``."""

    async def handle(request: httpx.Request) -> httpx.Response:
        provider = routes.get(request.url.path)
        if provider is None or request.method != "POST":
            return httpx.Response(404, json={"error": "no such callback endpoint"})
        try:
            return await client.handle_callback(provider, request)
        except WebhookVerificationError as exc:
            if exc.code == "replayed":
                return httpx.Response(200, json={"ok": True, "duplicate": True})
            log.warning("refused a %s callback: %s", provider, exc.code)
            return httpx.Response(REFUSAL_STATUS.get(exc.code, 400), json={"error": exc.code})
        except (AsxhPayError, IllegalTransition) as exc:  # a contradiction, say
            log.error("could not apply a %s callback: %s", provider, type(exc).__name__)
            return httpx.Response(409, json={"error": type(exc).__name__})

    return handle
