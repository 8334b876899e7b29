"""Verification of provider callbacks (IPN / webhooks), following Standard Webhooks practice.

Why this order of checks, which is the whole point of the module:

1. size (``too_large``) first, so an attacker cannot make us hash gigabytes;
2. presence of a signature (``missing_signature``);
3. the signature over the **raw body bytes** (``bad_signature``): never over a re-serialised
   object, whose bytes differ from what the provider signed;
4. the timestamp window (``stale`` / ``future``), which limits how long a captured callback
   stays usable;
5. the replay guard (``replayed``) last, so an id is remembered only for a callback whose
   signature verified: forged callbacks can neither fill the guard nor "burn" the id of a
   genuine callback that has not arrived yet.

Trust note: ``timestamp`` and ``callback_id`` are only meaningful if they are authenticated.
With ``signed_prefix=True`` (Standard Webhooks: ``"{id}.{timestamp}." + body`` is signed) they
may come from headers. Otherwise take them from *inside* the signed body (MoMo's ``requestId``
and ``responseTime``, for example); values from unsigned headers can be chosen by anyone.

Nothing in the ledger changes when :class:`~asxh_pay.errors.WebhookVerificationError` is raised.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from asxh_pay.errors import ConfigurationError, SignatureError, WebhookVerificationError
from asxh_pay.masking import get_logger
from asxh_pay.signing import Verifier

__all__ = ["DEFAULT_MAX_BODY_BYTES", "CallbackVerifier", "ReplayGuard", "signed_payload"]

logger = get_logger(__name__)

DEFAULT_MAX_BODY_BYTES = 1 << 20
_MAX_ID_CHARS = 256
_WARN_EVERY_S = 60.0


def _format_timestamp(timestamp: float) -> str:
    """Whole seconds print without ``.0`` so ``1700000000.0`` signs as ``1700000000``, the form
    every provider sends; fractional timestamps keep Python's shortest round-trip form."""
    return str(int(timestamp)) if float(timestamp).is_integer() else repr(float(timestamp))


def signed_payload(callback_id: str, timestamp: float, body: bytes) -> bytes:
    """The Standard Webhooks string-to-sign: ``f"{id}.{timestamp}.".encode() + body``."""
    return f"{callback_id}.{_format_timestamp(timestamp)}.".encode() + body


class ReplayGuard:
    """Remembers ids of verified callbacks for ``ttl_s`` seconds, at most ``max_entries``.

    In memory and per process: enough for one receiver; a multi-instance deployment also needs
    the ledger's own idempotency (which it has), this guard only stops replays cheaply.

    ``ttl_s`` should exceed the verifier's tolerance window (``past`` + ``future``) so that an
    id is still remembered for as long as its timestamp would pass. When more than
    ``max_entries`` ids are live, the oldest is dropped, with a warning at most once a minute
    that counts the drops: memory stays bounded, and since only *verified* callbacks are
    remembered, only real traffic can fill it. Thread-safe.
    """

    def __init__(self, *, max_entries: int = 100_000, ttl_s: float = 3600.0) -> None:
        if max_entries < 1:
            raise ConfigurationError("ReplayGuard max_entries must be at least 1")
        if not ttl_s > 0:
            raise ConfigurationError("ReplayGuard ttl_s must be positive")
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._dropped = 0  # ids dropped before their TTL because the guard was full
        self._warned_at: float | None = None

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)

    def _purge(self, now: float) -> None:
        # Entries are in insertion order, which is time order unless the clock stepped back;
        # then some entries merely live a little longer, which errs on the safe side.
        while self._seen:
            oldest_id, seen_at = next(iter(self._seen.items()))
            if now - seen_at < self.ttl_s:
                break
            del self._seen[oldest_id]

    def check_and_remember(self, callback_id: str, now: float) -> None:
        """Raise ``WebhookVerificationError(code="replayed")`` if ``callback_id`` was seen
        within the TTL; otherwise remember it. Atomic: two threads delivering the same id
        concurrently cannot both pass."""
        with self._lock:
            self._purge(now)
            if callback_id in self._seen:
                raise WebhookVerificationError("callback id already seen (replay)", code="replayed")
            self._seen[callback_id] = now
            if len(self._seen) > self.max_entries:
                self._seen.popitem(last=False)
                self._dropped += 1
                if self._warned_at is None or now - self._warned_at >= _WARN_EVERY_S:
                    # Once a minute, not per id: a province's payday overflows the guard by
                    # hundreds of thousands of ids, and a warning each was most of its log.
                    logger.warning(
                        "replay guard full (%d ids): %d ids dropped before their TTL so far; the "
                        "ledger's callback record still refuses their replays",
                        self.max_entries,
                        self._dropped,
                    )
                    self._warned_at = now

    def forget(self, callback_id: str) -> None:
        """Drop ``callback_id`` so the provider's retry is accepted.

        Call this when processing a verified callback failed (database down, ...): otherwise
        the provider's legitimate redelivery would be refused as a replay and the update lost.
        """
        with self._lock:
            self._seen.pop(callback_id, None)


class CallbackVerifier:
    """Checks one callback: size, signature over raw bytes, timestamp window, replay.

    * ``verifier``: the provider's key (``HmacKey`` for MoMo IPN, ``EcdsaVerifier`` for
      Viettel's ``X-Signature``, ...).
    * ``tolerance_s``: accepted clock difference, both into the past (``stale``) and the future
      (``future``), as in Standard Webhooks (5 minutes).
    * ``replay_guard``: when given, ``callback_id`` is required and remembered after a
      successful check.
    * ``signed_prefix``: sign ``"{callback_id}.{timestamp}." + body`` instead of the bare body.
    * ``require_timestamp``: refuse callbacks without a timestamp (default). Turn off only for
      a provider that sends none, and then rely on the replay guard plus ledger idempotency.
    * ``max_body_bytes``: refuse larger bodies before hashing anything (``too_large``).
    """

    def __init__(
        self,
        verifier: Verifier,
        *,
        tolerance_s: float = 300,
        replay_guard: ReplayGuard | None = None,
        clock: Callable[[], float] = time.time,
        signed_prefix: bool = False,
        require_timestamp: bool = True,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if not (math.isfinite(tolerance_s) and tolerance_s > 0):
            raise ConfigurationError("tolerance_s must be a positive number of seconds")
        if max_body_bytes < 1:
            raise ConfigurationError("max_body_bytes must be positive")
        self.verifier = verifier
        self.tolerance_s = float(tolerance_s)
        self.replay_guard = replay_guard
        self.clock = clock
        self.signed_prefix = signed_prefix
        self.require_timestamp = require_timestamp or signed_prefix
        self.max_body_bytes = max_body_bytes

    def verify(
        self, body: bytes, signature: bytes, *, timestamp: float | None, callback_id: str | None
    ) -> None:
        """Return ``None`` if the callback is authentic, fresh and new; raise
        ``WebhookVerificationError`` with ``code`` one of ``too_large``, ``missing_signature``,
        ``invalid`` (missing/malformed timestamp or id), ``bad_signature``, ``stale``,
        ``future``, ``replayed`` otherwise.

        ``signature`` is the decoded signature bytes (hex/Base64 decoding is the caller's,
        because each provider encodes differently). ``timestamp`` is Unix seconds.
        """
        if len(body) > self.max_body_bytes:
            raise WebhookVerificationError(
                f"callback body of {len(body)} bytes exceeds {self.max_body_bytes}", code="too_large"
            )
        if not signature:
            raise WebhookVerificationError("callback carries no signature", code="missing_signature")
        if timestamp is not None and not math.isfinite(timestamp):
            raise WebhookVerificationError("callback timestamp is not a finite number", code="invalid")
        if timestamp is None and self.require_timestamp:
            raise WebhookVerificationError("callback carries no timestamp", code="invalid")
        needs_id = self.signed_prefix or self.replay_guard is not None
        if needs_id and not callback_id:
            raise WebhookVerificationError("callback carries no id", code="invalid")
        if callback_id is not None and len(callback_id) > _MAX_ID_CHARS:
            raise WebhookVerificationError("callback id is too long", code="invalid")

        if self.signed_prefix:
            assert callback_id is not None and timestamp is not None  # checked above
            message = signed_payload(callback_id, timestamp, body)
        else:
            message = body
        try:
            self.verifier.verify(message, signature)
        except SignatureError:
            raise WebhookVerificationError(
                "callback signature does not verify", code="bad_signature"
            ) from None

        now = self.clock()
        if timestamp is not None:
            if timestamp < now - self.tolerance_s:
                raise WebhookVerificationError("callback timestamp is too old", code="stale")
            if timestamp > now + self.tolerance_s:
                raise WebhookVerificationError("callback timestamp is in the future", code="future")

        if self.replay_guard is not None:
            assert callback_id is not None  # checked above
            self.replay_guard.check_and_remember(callback_id, now)

    def __repr__(self) -> str:
        return (
            f"CallbackVerifier(algorithm={self.verifier.algorithm!r}, tolerance_s={self.tolerance_s}, "
            f"signed_prefix={self.signed_prefix}, replay_guard={self.replay_guard is not None})"
        )
