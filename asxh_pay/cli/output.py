"""Exit codes and output helpers of the ``asxh-pay`` command, shared by its subcommands.

Why a module of its own: every subcommand module of the CLI package (payroll,
scale-out, reconciliation) prints, exits and parses arguments the same way, and
importing these from here, not from the package that wires the subcommands, keeps the
package free of import cycles. The core never imports any of it.

* 0 done; 1 done but something needs a person (failures, breaks, held payouts);
* 2 bad usage or bad input; 3 the ledger or configuration refused; 4 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import re
import sys
from collections.abc import Coroutine, Iterator
from datetime import date
from typing import Any, TypeVar

from asxh_pay.errors import Message, in_language

EXIT_OK = 0
EXIT_ATTENTION = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_INTERRUPTED = 4
DEFAULT_LEDGER = "sqlite:///asxh-pay-data/ledger.db"


def _print_json(data: dict[str, Any]) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _bad_argument(message: Message) -> argparse.ArgumentTypeError:
    """A refused argument value, worded in the invocation's language (English for ``--json``)."""
    return argparse.ArgumentTypeError(message.render(_arg_lang))


def date_arg(text: str) -> date:
    """A calendar date YYYY-MM-DD (``2026-13-45`` is refused, not a traceback)."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise _bad_argument(Message("not_a_date", text=text)) from None


def period_arg(text: str) -> str:
    """A pay period YYYY-MM."""
    text = text.strip()
    if not re.fullmatch(r"20\d\d-(0[1-9]|1[0-2])", text):
        raise _bad_argument(Message("not_a_period", text=text))
    return text


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _bad_argument(Message("not_whole_number", text=text)) from None
    if value < 1:
        raise _bad_argument(Message("at_least_one", value=value))
    return value


def lang_option(p: argparse.ArgumentParser) -> None:
    """``--lang``: every command speaks Vietnamese by default, English on request."""
    p.add_argument(
        "--lang",
        choices=("vi", "en"),
        default="vi",
        help="language of messages, help and reports: vi (default) or en",
    )


def emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    """Print ``text`` for a person, or ``data`` as JSON with ``--json``."""
    if getattr(args, "json", False):
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print(text)


_T = TypeVar("_T")


_running: tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]] | None = None


_interrupted = False
_signalled = False


@contextlib.contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """Once Ctrl-C or SIGTERM arrived, whatever error ends the command is that interrupt.

    Why: our handler raises KeyboardInterrupt at the next bytecode, and that bytecode may
    run inside a library's C code that called back into Python: pydantic's JSON serializer
    then reports ``PydanticSerializationError("...KeyboardInterrupt")`` and sqlite3 an
    ``OperationalError("interrupted")``. The operator asked for a stop; they must get the
    one-line "stopped" message and exit 4, never a traceback of a wrapped interrupt.
    """
    try:
        yield
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        if _signalled:
            raise KeyboardInterrupt from exc
        raise


def run_interruptible(coro: Coroutine[Any, Any, _T]) -> _T:
    """``asyncio.run`` for long work (a payroll run): Ctrl-C or SIGTERM *cancels* it.

    Why: a KeyboardInterrupt raised at an arbitrary bytecode inside the event loop can stop
    the ledger's group commit half-way, and asyncio then waits forever for the tasks that
    awaited it. Cancelling the main task unwinds every await in order (what asyncio's own
    runner does for Ctrl-C); KeyboardInterrupt is raised once the loop is closed. A second
    Ctrl-C stops at once.
    """
    global _running

    async def main() -> _T:
        global _running
        task = asyncio.current_task()
        assert task is not None
        _running = (asyncio.get_running_loop(), task)
        return await coro

    try:
        result = asyncio.run(main())
    except asyncio.CancelledError:
        if _interrupted:
            raise KeyboardInterrupt from None
        raise
    finally:
        _running = None
    if _interrupted:  # the work caught the cancellation and returned early
        raise KeyboardInterrupt
    return result


def _interrupt(signum: int, frame: object) -> None:
    global _interrupted, _signalled
    _signalled = True
    # Tasks ended by the interrupt would each be logged by asyncio with a traceback; the
    # stop is on purpose and the ledger consistent, so only the one-line message is printed.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL + 1)
    running = _running
    if running is None or _interrupted:
        raise KeyboardInterrupt
    _interrupted = True
    loop, task = running
    loop.call_soon_threadsafe(task.cancel)


def report_error(
    args: argparse.Namespace, code: int, message: str | Message | BaseException, *, prefix: str = ""
) -> int:
    """An error, as JSON on stdout with --json (scripts read one place), else on stderr
    ("Lỗi: ..." by default, "error: ..." with --lang en).

    ``message``: a :class:`~asxh_pay.errors.Message` or an exception raised with one is shown
    in the reader's language; JSON keeps the English text (stable for scripts) and the
    message's key."""
    from asxh_pay.vocab import phrase

    words = message if isinstance(message, Message) else getattr(message, "message", None)
    if getattr(args, "json", False):
        data: dict[str, Any] = {"ok": False, "error": prefix + str(message), "exit_code": code}
        if isinstance(words, Message):
            data["message_key"] = words.key
        _print_json(data)
    else:
        lang = getattr(args, "lang", _lang)
        if isinstance(message, BaseException):
            text = in_words(args, message)
        else:
            text = message.render(lang) if isinstance(message, Message) else message
        print(f"{phrase('error', lang)}: {prefix}{text}", file=sys.stderr)
    return code


#: The language of this invocation's messages (set by :func:`main` from ``--lang``).
_lang = "vi"
#: The language of refused argument values (set by :func:`main` before parsing: English for --json).
_arg_lang = "vi"


def in_words(args: argparse.Namespace, exc: BaseException) -> str:
    """An error's message in the reader's language.

    Raised with a :class:`~asxh_pay.errors.Message`, the whole sentence is rendered in
    ``--lang``. Otherwise the library's English text, led in Vietnamese by what its code means
    ("Không có đợt chi này: ..."): the official reads the first words."""
    from asxh_pay import vocab

    lang = getattr(args, "lang", _lang)
    worded = in_language(exc, lang)
    if worded is not None:
        return worded
    code = getattr(exc, "code", None)
    if lang != "en" and isinstance(code, str) and code in vocab.REASONS and code != "invalid":
        return f"{vocab.reason(code, lang)}: {exc}"
    return str(exc)
