"""The provider adapter contract.

Why adapters are pure translators (as Omnipay's ``getData``/``sendData`` split and
httpx's ``Auth`` flows): an adapter builds an ``httpx.Request`` and parses an
``httpx.Response``; it never sends, sleeps, retries or touches the ledger. The core
owns those, once, for every provider, so a provider module is small (its wire
format, its signing, its error table) and one implementation serves sync and async
callers alike.

Outcomes of parsing, by design:
* a business decline (invalid account, name mismatch, limit) is a normal
  :class:`ProviderResult` with ``outcome=FAILED`` and a typed reason, not an exception;
* a response that says "try again" raises :class:`~asxh_pay.errors.RateLimited` or
  :class:`~asxh_pay.errors.ProviderUnavailable` (nothing was processed);
* a response that cannot be understood raises
  :class:`~asxh_pay.errors.ProviderProtocolError`: for a submit the outcome is then
  unknown and the core resolves it with a status query.
"""

from __future__ import annotations

import ipaddress
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

import httpx

from asxh_pay.errors import (
    AuthenticationError,
    ConfigurationError,
    ProviderProtocolError,
    ProviderUnavailable,
    RateLimited,
)
from asxh_pay.identity import NameMatch
from asxh_pay.masking import scrub
from asxh_pay.models import Payout
from asxh_pay.status import FailureReason
from asxh_pay.webhooks import CallbackVerifier

MAX_RESPONSE_BYTES = 1 << 20  # a provider answer larger than 1 MiB is refused, not parsed


class ProviderOutcome(StrEnum):
    ACCEPTED = "accepted"  # received, not final yet: poll or await the callback
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    RETURNED = "returned"  # paid, then reversed by the bank or wallet
    NOT_FOUND = "not_found"  # the provider has no record of this idempotency key


@dataclass(frozen=True)
class ProviderResult:
    """What a provider said about one payout, in the library's words."""

    outcome: ProviderOutcome
    provider_ref: str | None = None
    reason: FailureReason | None = None
    code: str | None = None  # the provider's own code, kept for the audit trail
    message: str | None = None
    detail: Mapping[str, str] = field(default_factory=dict)  # rail-specific sub-state (postal...)
    #: The amount the provider says it paid or holds (whole VND), when its answer carries
    #: one. The core compares it with the amount sent: a difference is a
    #: :class:`~asxh_pay.errors.ProviderProtocolError`, never a success.
    amount: int | None = None


@dataclass(frozen=True)
class InquiryResult:
    """Answer to an account/name inquiry before paying."""

    exists: bool
    holder_name: str | None = None
    name_match: NameMatch | None = None
    reason: FailureReason | None = None
    code: str | None = None

    @property
    def accepted(self) -> bool:
        return self.exists and (self.name_match is None or self.name_match.is_accepted)


@dataclass(frozen=True)
class CallbackEvent:
    """A verified callback: which payout it is about, what it says, how to answer it."""

    callback_id: str
    idempotency_key: str | None
    provider_ref: str | None
    result: ProviderResult
    ack: httpx.Response = field(default_factory=lambda: httpx.Response(200, json={"ok": True}))


#: How long a "not found" after an ambiguous send must persist before the payout is sent
#: again, unless the provider declares otherwise (:attr:`Capabilities.not_found_grace_s`).
DEFAULT_NOT_FOUND_GRACE_S = 10.0


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do, declared as data (never detected by probing methods).

    Every flag, what it means and what is safe by default, is in ``docs/providers.md``.
    ``not_found_grace_s``: after a send whose outcome is unknown (timeout, reset, 500),
    a "not found" from the status endpoint is evidence, not proof (read replicas,
    eventually consistent indexes). The payout is sent again only after "not found"
    has been answered by repeated queries over this many seconds after the send (and,
    for a send another driver may still have in flight, after its timeout too). Several
    seconds by default; a provider that documents read-after-write consistency for its
    status endpoint may declare less, never zero.
    ``dedupes_by_key`` says the provider answers a repeated key with the original
    payment; it no longer shortens the wait above (a dedupe can race, see issue 13).
    """

    destinations: frozenset[str]
    wallet_providers: frozenset[str] = frozenset()  # for wallet destinations: which wallets
    inquiry: bool = False
    batch: bool = False
    max_batch: int = 1
    cancel: bool = False
    callbacks: bool = False
    dedupes_by_key: bool = True  # the provider returns the original for a repeated key
    min_amount: int = 1
    max_amount: int = 500_000_000
    not_found_grace_s: float = DEFAULT_NOT_FOUND_GRACE_S

    def __post_init__(self) -> None:
        grace = self.not_found_grace_s
        if not (isinstance(grace, int | float) and 0 < grace < float("inf")):
            raise ConfigurationError("not_found_grace_s must be a positive number of seconds")


class ProviderAdapter(ABC):
    """Base of every provider adapter. Subclasses set ``name`` and ``capabilities``."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._endpoints: dict[str, httpx.URL] = {}

    def endpoint(self, path: str) -> httpx.URL:
        """The URL of a fixed endpoint (no per-payout part), parsed once.

        Why: httpx parses and validates a URL string on every request, which costs
        about as much as building the rest of a payout request.
        """
        url = self._endpoints.get(path)
        if url is None:
            url = self._endpoints[path] = httpx.URL(self.base_url + path)
        return url

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.base_url}>"

    def refuse_sandbox_credentials(self, *credentials: object) -> None:
        """Refuse the sandboxes' published credentials outside a sandbox address.

        Why: their secrets and private keys ship with the library, so anyone could sign
        (or forge a provider's callbacks) with them. Adapters take no credential defaults;
        the sandbox factories (``asxh_pay.sandbox.*``) pass these, and only a sandbox
        address (loopback, ``localhost``, ``*.invalid``) may receive them. Compared by
        value, whatever the Python type (``str``, ``bytes``, ``SecretStr``, key objects).
        """
        from asxh_pay.sandbox.keys import is_published

        if is_sandbox_url(self.base_url):
            return
        if any(is_published(c) for c in credentials):
            raise ConfigurationError(
                f"{type(self).__name__}: the sandbox's published credentials may only be used with a "
                f"sandbox (a *.invalid, localhost or loopback address), not {httpx.URL(self.base_url).host}; "
                "pass the provider's own credentials"
            )

    # -- signing -------------------------------------------------------------

    def auth(self) -> httpx.Auth | None:
        """The ``httpx.Auth`` that signs every request (no I/O: serves sync and async)."""
        return None

    # -- operations ----------------------------------------------------------

    @abstractmethod
    def build_submit(self, payout: Payout) -> httpx.Request:
        """The pay request. Must carry ``payout.idempotency_key`` in the provider's own
        idempotency field and be byte-identical for the same payout on every retry."""

    @abstractmethod
    def parse_submit(self, payout: Payout, response: httpx.Response) -> ProviderResult: ...

    @abstractmethod
    def build_status(self, payout: Payout) -> httpx.Request: ...

    @abstractmethod
    def parse_status(self, payout: Payout, response: httpx.Response) -> ProviderResult: ...

    def build_inquiry(self, payout: Payout) -> httpx.Request:
        raise ConfigurationError(f"provider {self.name} offers no account/name inquiry")

    def parse_inquiry(self, payout: Payout, response: httpx.Response) -> InquiryResult:
        raise ConfigurationError(f"provider {self.name} offers no account/name inquiry")

    def build_cancel(self, payout: Payout) -> httpx.Request:
        raise ConfigurationError(f"provider {self.name} cannot cancel a payout")

    def parse_cancel(self, payout: Payout, response: httpx.Response) -> ProviderResult:
        raise ConfigurationError(f"provider {self.name} cannot cancel a payout")

    def parse_callback(self, request: httpx.Request) -> CallbackEvent:
        """Verify (over the raw body bytes) and parse a provider callback.

        Raises :class:`~asxh_pay.errors.WebhookVerificationError` for anything forged,
        stale, replayed or malformed; nothing may change in that case.
        """
        raise ConfigurationError(f"provider {self.name} sends no callbacks")

    def forget_callback(self, callback_id: str) -> None:
        """Let a redelivery of this callback through again: processing it failed.

        Why: the replay guard remembers a verified callback's id at once; if applying it
        then failed (a ledger error), the provider's retry must not be refused as a replay.
        """
        verifier = getattr(self, "_callbacks", None)  # adapters keep their verifier there
        if isinstance(verifier, CallbackVerifier) and verifier.replay_guard is not None:
            verifier.replay_guard.forget(callback_id)

    # -- helpers for subclasses ----------------------------------------------

    def supports(self, payout: Payout) -> bool:
        dest = payout.request.destination
        caps = self.capabilities
        if dest.kind not in caps.destinations:
            return False
        if dest.kind != "wallet" or not caps.wallet_providers:
            return True
        return dest.provider in caps.wallet_providers


AdapterT = TypeVar("AdapterT", bound=ProviderAdapter)


def with_capabilities(adapter: AdapterT, **changes: Any) -> AdapterT:
    """``adapter`` declaring other capabilities than its class does (this instance only).

    Why: a deployment whose provider contract documents more than the adapter assumes
    (read-after-write consistency on its status endpoint, say, which allows a shorter
    ``not_found_grace_s``) declares it without subclassing; tests and the contract kit
    shorten confirmation windows the same way, to run in seconds.
    """
    declared = replace(type(adapter).capabilities, **changes)
    adapter.capabilities = declared  # type: ignore[misc]
    return adapter


def is_sandbox_url(url: str) -> bool:
    """A sandbox's address: the reserved ``.invalid`` domain (in-process) or loopback (served).

    Decided on the parsed host, never on the text: ``https://127.0.0.1.evil.example`` and
    ``https://localhost@evil.example`` are someone else's machines.
    """
    try:
        host = httpx.URL(url).host.lower().rstrip(".")
    except (httpx.InvalidURL, TypeError):
        return False
    if host == "localhost" or host.endswith(".invalid"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def raise_for_transport_status(response: httpx.Response, *, provider: str) -> None:
    """Map HTTP-level statuses that mean "nothing was processed" or "not allowed".

    Why 500 is not here: a 500 may come after the provider committed the payment;
    adapters treat it as a protocol error, so a submit ends ``unknown`` and is
    resolved by a status query rather than retried blind.
    """
    status = response.status_code
    if status == 429:
        raise RateLimited(
            f"{provider}: rate limited (429)",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            http_status=429,
        )
    if status in (502, 503, 504):
        raise ProviderUnavailable(f"{provider}: unavailable ({status})", http_status=status)
    if status in (401, 403):
        raise AuthenticationError(f"{provider}: authentication refused ({status})", http_status=status)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        from datetime import UTC, datetime
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, min(seconds, 3600.0))


def read_json(response: httpx.Response, *, provider: str) -> dict[str, Any]:
    """The JSON object of a response, or a :class:`ProviderProtocolError` saying why not.

    Bounded: an enormous body is refused without being parsed.
    """
    body = response.content
    if len(body) > MAX_RESPONSE_BYTES:
        raise ProviderProtocolError(
            f"{provider}: response of {len(body)} bytes exceeds {MAX_RESPONSE_BYTES}",
            http_status=response.status_code,
        )
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProviderProtocolError(
            f"{provider}: malformed JSON in response ({exc.__class__.__name__})",
            http_status=response.status_code,
        ) from None
    if not isinstance(data, dict):
        raise ProviderProtocolError(
            f"{provider}: response is not a JSON object", http_status=response.status_code
        )
    return data


def echoed_amount(data: Mapping[str, Any], key: str, *, provider: str) -> int | None:
    """The whole-VND amount a provider echoed under ``key``; None when its answer has none.

    Put in :attr:`ProviderResult.amount`, where the core compares it with the amount
    sent. Anything but a whole number (a float, a string, a boolean) is a protocol error:
    an amount that cannot be read cannot be confirmed.
    """
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProviderProtocolError(f"{provider}: field {key!r} is not a whole amount")
    return value


def require(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], *, provider: str) -> Any:
    """A required field of a provider message, with a specific error when missing or mistyped."""
    if key not in data:
        raise ProviderProtocolError(f"{provider}: field {key!r} missing", body=scrub(dict(data)))
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ProviderProtocolError(f"{provider}: field {key!r} has the wrong type", body=scrub(dict(data)))
    return value
