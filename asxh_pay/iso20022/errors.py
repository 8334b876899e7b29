"""Errors raised while reading or checking ISO 20022 files.

Why a family of its own: the caller of a reader must tell apart a file that is
*dangerous* (refuse it, alert security), one that is *too large* (refuse, ask the
bank), one that is *the wrong message* (a camt.053 dropped into the pain.002
inbox: route it elsewhere) and one that is *broken* (truncated upload: fetch it
again). All of them derive from :class:`~asxh_pay.errors.AsxhPayError`.
"""

from __future__ import annotations

from collections.abc import Sequence

from asxh_pay.errors import AsxhPayError


class Iso20022Error(AsxhPayError):
    """Base of every error about an ISO 20022 file."""


class UnsafeXmlError(Iso20022Error):
    """The file declares a DOCTYPE or entities: refused before anything is expanded."""


class MessageTooLarge(Iso20022Error):
    """The file is (or declares itself) larger than the configured maximum."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class UnexpectedMessage(Iso20022Error):
    """The root namespace or message element is not the one this reader handles."""


class MalformedMessage(Iso20022Error):
    """Not well-formed XML (for example truncated), or a value we cannot interpret safely."""


class SchemaValidationError(Iso20022Error):
    """A document we produced (or were asked to check) breaks the official XSD.

    ``errors`` holds the first few messages from libxml2, with line numbers.
    """

    def __init__(self, message: str, errors: Sequence[str]) -> None:
        super().__init__(message)
        self.errors = tuple(errors)
