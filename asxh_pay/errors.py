"""One exception tree for everything asxh_pay raises.

Why a tree: callers decide by *kind* (retry it? ask a person? page someone?), never by
parsing messages. The transport branch encodes the one fact that matters most in
payments: whether the request may have reached the provider. ``RequestNotSent`` is
safe to retry; ``OutcomeUnknown`` must be resolved by a status query, never by
sending again blind.

Messages never carry personal data or secrets: values are masked before they get here.

Why :class:`Message`: the operator reads an error in Vietnamese (``asxh-pay``'s default) while
``str(exc)`` stays English for logs and library users. A raise site that an official commonly
meets passes a :class:`Message` (a key of :data:`asxh_pay.vocab.MESSAGES` and its fields)
instead of a string; the exception's text is its English rendering, and the CLI renders the
same sentence in the reader's language (:func:`in_language`). No message is ever parsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asxh_pay.reasons import FailureReason


class Message:
    """A sentence of the shared vocabulary with its fields, rendered in any language.

    ``str(message)`` is the English text (what ``str(exc)`` has always said); a field may
    itself be a :class:`Message` (a wrapped refusal, a hint), rendered in the same language.
    """

    __slots__ = ("fields", "key")

    def __init__(self, key: str, /, **fields: Any) -> None:
        self.key = key
        self.fields: Mapping[str, Any] = fields

    def render(self, lang: str = "en") -> str:
        from asxh_pay.vocab import phrase

        values = {k: v.render(lang) if isinstance(v, Message) else v for k, v in self.fields.items()}
        return phrase(self.key, lang, **values)

    def __str__(self) -> str:
        return self.render("en")

    def __repr__(self) -> str:
        return f"Message({self.key!r}, **{dict(self.fields)!r})"


class AsxhPayError(Exception):
    """Base of every error raised by asxh_pay.

    Raised with a :class:`Message` as its first argument, the exception keeps it in
    :attr:`message` and its text (``args[0]``, ``str(exc)``) is the English rendering.
    """

    #: The message as a sentence of the vocabulary (None: an English text only).
    message: Message | None = None

    def __init__(self, *args: Any) -> None:
        if args and isinstance(args[0], Message):
            self.message = args[0]
            args = (str(args[0]), *args[1:])
        super().__init__(*args)


def message_of(exc: BaseException) -> Message | str:
    """What to raise again when wrapping ``exc`` in another error: its :class:`Message` when
    it has one (the wrapper then speaks every language too), else its text."""
    message = getattr(exc, "message", None)
    return message if isinstance(message, Message) else str(exc)


def in_language(exc: BaseException, lang: str) -> str | None:
    """``exc``'s message in ``lang`` (a :class:`ValidationError`'s field first), or None when it
    was raised with an English text only."""
    message = getattr(exc, "message", None)
    if not isinstance(message, Message):
        return None
    text = message.render(lang)
    field = getattr(exc, "field", None)
    return f"{field}: {text}" if isinstance(field, str) else text


class ConfigurationError(AsxhPayError):
    """The library was set up wrongly (missing key, unknown provider, bad URL)."""


class ValidationError(AsxhPayError, ValueError):
    """Input refused before anything was sent or written.

    ``field`` names the offending field so that list imports can report the column.
    """

    def __init__(self, message: str | Message, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message if field is None else f"{field}: {message}")
        if isinstance(message, Message):
            self.message = message
        self.field = field
        self.code = code
        self.detail = message if isinstance(message, str) else str(message)  # a vocab.Detail stays one


class IdempotencyConflict(AsxhPayError):
    """The same idempotency key was used with a different payload.

    Raised instead of paying a second time: the first payout stands.
    """

    def __init__(self, key_masked: str, payout_id: str) -> None:
        super().__init__(
            f"idempotency key {key_masked} already used for payout {payout_id} with a different payload"
        )
        self.payout_id = payout_id


class LedgerError(AsxhPayError):
    """The durable ledger could not record or read something."""


class LeaseLost(LedgerError):
    """This worker's lease on a payout expired and another worker may hold it: do not send."""


class LedgerNotFound(LedgerError, ValidationError):
    """A read-only command was pointed at a ledger that is not there, or at a file that is
    not an asxh-pay ledger: bad input (exit 2), and nothing was created."""

    def __init__(self, message: str | Message) -> None:
        ValidationError.__init__(self, message, code="ledger_not_found")


class LedgerIntegrityError(LedgerError):
    """The hash chain of the status history does not verify: an event was edited or removed."""


class SignatureError(AsxhPayError):
    """A signature or MAC did not verify, or a key could not be used."""


class WebhookVerificationError(SignatureError):
    """A callback was refused (bad signature, stale timestamp, replay, malformed body).

    Nothing in the ledger changes when this is raised.
    """

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


class TransportError(AsxhPayError):
    """The exchange with the provider did not complete."""

    retryable: bool = False


class RequestNotSent(TransportError):
    """The request provably never reached the provider: safe to send again."""

    retryable = True


class OutcomeUnknown(TransportError):
    """The request may have reached the provider: ask, never resend blind."""


class ProviderError(AsxhPayError):
    """The provider answered, and the answer is an error.

    Carries the HTTP status, the provider's own code and a scrubbed body so that
    support can act without seeing personal data.
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        provider_code: str | None = None,
        reason: FailureReason | None = None,
        retryable: bool | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.provider_code = provider_code
        self.reason = reason if reason is not None else FailureReason.TECHNICAL
        if retryable is not None:
            self.retryable = retryable
        self.body = body


class AuthenticationError(ProviderError):
    """Credentials refused by the provider; retrying will not help."""


class RateLimited(ProviderError):
    """HTTP 429 or the provider's own throttling code."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ProviderUnavailable(ProviderError):
    """502/503/504 or a provider "try again" code: the request was not processed."""

    retryable = True


class ProviderProtocolError(ProviderError):
    """The provider's answer could not be understood (malformed JSON, missing field,
    unknown result code, bad signature on a response). Treated as an unknown outcome
    for a submit: the payout is resolved by a status query."""


class PayoutDeclined(ProviderError):
    """A business decline (invalid account, name mismatch, limit...): final, typed reason."""


class RetryBudgetExhausted(AsxhPayError):
    """The provider's retry budget is spent: an outage must not become a retry storm."""


class FallbackCheckFailed(AsxhPayError):
    """``before_fallback`` could not answer (a register that is down): the cash fallback
    stays unsent, and is asked about again the next time it is driven (``resume``)."""
