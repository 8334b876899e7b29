"""The ``asxh-pay`` command.

Why argparse and one module: an official runs this from a terminal with no Python
knowledge, so each subcommand has plain help, clear errors and stable exit codes:

* 0 done; 1 done but something needs a person (failures, breaks, held payouts);
* 2 bad usage or bad input; 3 the ledger or configuration refused; 4 interrupted.

Subcommands register themselves through ``COMMANDS`` so features stay in their own
modules; this file only wires them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn, cast

from asxh_pay import __version__
from asxh_pay.cli import output
from asxh_pay.cli.output import (  # exit codes and output helpers, re-exported
    DEFAULT_LEDGER,
    EXIT_ATTENTION,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    _interrupt,
    _print_json,
    date_arg,
    emit,
    in_words,
    lang_option,
    period_arg,
    positive_int,
    report_error,
    run_interruptible,
)
from asxh_pay.errors import AsxhPayError, ConfigurationError, LedgerError, Message, ValidationError

__all__ = [
    "COMMANDS",
    "DEFAULT_LEDGER",
    "EXIT_ATTENTION",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "build_parser",
    "date_arg",
    "emit",
    "in_words",
    "lang_option",
    "main",
    "period_arg",
    "positive_int",
    "report_error",
    "run_interruptible",
]


Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error under ``--json`` is a JSON object on stdout (exit 2), and
    its "error:" is in the invocation's language (argparse's own sentences stay English)."""

    json_errors = False  # set by main() when the command line asks for --json

    def error(self, message: str) -> NoReturn:
        if _Parser.json_errors:
            _print_json(
                {"ok": False, "error": message, "exit_code": EXIT_USAGE, "usage": self.format_usage()}
            )
            sys.exit(EXIT_USAGE)
        from asxh_pay.vocab import phrase

        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, phrase("usage_error", output._lang, prog=self.prog, message=message) + "\n")


# Argument types: bad values are usage errors (exit 2) with the value and the expected form.


# ---------------------------------------------------------------------- ledger verify


def _register_ledger(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("ledger", help="inspect the durable ledger")
    lsub = p.add_subparsers(dest="ledger_command", required=True)
    v = lsub.add_parser(
        "verify",
        help="check that no status event was edited or removed (hash chains, signed anchors)",
        description="Recompute every payout's hash-chained history and report any break. With "
        "--anchor, also check that the history pinned by a signed anchor is still there unchanged: "
        "this catches a history rewritten by someone who recomputed its chain.",
    )
    v.add_argument("--ledger", default=DEFAULT_LEDGER, help="ledger URL (default: %(default)s)")
    v.add_argument("--anchor", default=None, help="an anchor file written by 'asxh-pay ledger anchor'")
    v.add_argument("--public-key", default=None, help="PEM public key of the anchor's signer")
    v.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="payroll folder whose operator roster is checked too (default: the SQLite ledger's folder)",
    )
    v.add_argument("--json", action="store_true", help="machine-readable output")
    lang_option(v)
    v.set_defaults(func=_cmd_ledger_verify)
    a = lsub.add_parser(
        "anchor",
        help="sign the ledger's chain heads into a file kept outside the database",
        description="Write every payout's chain head (of one run, or of the whole ledger) to a file "
        "signed with an Ed25519 key. Keep it away from the database (with the month's reports): "
        "'asxh-pay ledger verify --anchor' then detects any later rewrite of that history.",
    )
    a.add_argument("--ledger", default=DEFAULT_LEDGER, help="ledger URL (default: %(default)s)")
    a.add_argument("--run", default=None, help="anchor one run's payouts (default: all)")
    a.add_argument("--key", required=True, help="the signer's Ed25519 private key (PEM)")
    a.add_argument(
        "--password-env", default=None, help="name of the environment variable holding the key's password"
    )
    a.add_argument("--operator", required=True, help="who signs (recorded in the anchor)")
    a.add_argument("--out", required=True, help="where to write the anchor")
    a.add_argument("--json", action="store_true", help="machine-readable output")
    lang_option(a)
    a.set_defaults(func=_cmd_ledger_anchor)


def _cmd_ledger_verify(args: argparse.Namespace) -> int:
    from asxh_pay.ledger import open_ledger
    from asxh_pay.ledger.anchor import AnchorReport, verify_anchor

    if (args.anchor is None) != (args.public_key is None):
        return report_error(args, EXIT_USAGE, Message("anchor_needs_key"))
    public = _ed25519_public(args.public_key) if args.public_key else None

    async def run() -> tuple[Any, AnchorReport | None]:
        async with open_ledger(args.ledger, exclusive=False, read_only=True) as ledger:
            chains = await ledger.verify_chain()
            anchored = await verify_anchor(ledger, args.anchor, public) if public is not None else None
            return chains, anchored

    report, anchored = asyncio.run(run())
    roster_problems, roster_data = _check_roster(args, anchored)
    ok = report.ok and (anchored is None or anchored.ok) and not roster_problems
    from asxh_pay.vocab import phrase

    lang = args.lang
    text = phrase(
        "ledger_ok" if ok else "ledger_broken",
        lang,
        payouts=report.payouts_checked,
        events=report.events_checked,
    )
    problems = list(report.problems)
    data: dict[str, Any] = {
        "ok": ok,
        "payouts": report.payouts_checked,
        "events": report.events_checked,
        "problems": report.problems,
    }
    if anchored is not None:
        problems += anchored.problems
        text += "\n" + phrase(
            "anchor_checked",
            lang,
            taken_at=anchored.taken_at,
            operator=anchored.operator,
            fingerprint=anchored.key_fingerprint,
            payouts=anchored.payouts_checked,
            grown=anchored.grown,
            problems=len(anchored.problems),
        )
        data["anchor"] = {
            "ok": anchored.ok,
            "run_id": anchored.run_id,
            "operator": anchored.operator,
            "taken_at": anchored.taken_at,
            "key_fingerprint": anchored.key_fingerprint,
            "payouts": anchored.payouts_checked,
            "grown": anchored.grown,
            "problems": anchored.problems,
        }
    if roster_data is not None:
        data["roster"] = roster_data
        if roster_data.get("entries"):
            text += "\n" + phrase(
                "roster_checked", lang, entries=roster_data["entries"], fingerprint=roster_data["office"]
            )
    problems += [p.render(lang) for p in roster_problems]
    if problems:
        text += "\n" + "\n".join(f"  - {p}" for p in problems[:50])
        if len(problems) > 50:
            text += "\n" + phrase("more_problems", lang, n=len(problems) - 50)
    emit(args, data, text)
    return EXIT_OK if ok else EXIT_ATTENTION


def _check_roster(args: argparse.Namespace, anchored: Any) -> tuple[list[Message], dict[str, Any] | None]:
    """The payroll's operator roster next to the ledger: its signed history must verify, and
    an anchor must be signed by a key it trusts (or trusted) for the anchor's operator.

    The problems are :class:`Message` s: the screen shows them in ``--lang``, JSON in English."""
    from asxh_pay.errors import message_of
    from asxh_pay.payroll.roster import RosterError, load_roster, roster_path

    data_dir: Path | None = args.data_dir
    if data_dir is None:
        if args.ledger.startswith(("postgresql://", "postgres://")):
            return [], None
        data_dir = Path(args.ledger.removeprefix("sqlite:///").removeprefix("sqlite://")).parent
        if not roster_path(data_dir).exists():
            return [], None  # a ledger without a payroll folder (library use)
    try:
        roster = load_roster(data_dir)
    except RosterError as exc:
        return [Message("roster_problem", problem=message_of(exc))], {"ok": False, "problem": str(exc)}
    problems: list[Message] = []
    if anchored is not None:
        op = roster.operators.get(anchored.operator)
        if op is None or anchored.key_fingerprint not in op.history:
            problems.append(
                Message(
                    "anchor_key_untrusted", fingerprint=anchored.key_fingerprint, operator=anchored.operator
                )
            )
    return problems, {
        "ok": not problems,
        "problems": [str(p) for p in problems],
        "entries": roster.entries,
        "office": roster.office_fingerprint,
        "head": roster.head,
    }


def _ed25519_public(path: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from asxh_pay.signing import load_public_key

    key = load_public_key(Path(path))
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ConfigurationError(Message("anchor_public_not_ed25519", path=path))
    return key


def _cmd_ledger_anchor(args: argparse.Namespace) -> int:
    import os

    from cryptography.hazmat.primitives.asymmetric import ed25519

    from asxh_pay.ledger import open_ledger
    from asxh_pay.ledger.anchor import write_anchor
    from asxh_pay.signing import load_private_key

    password = None
    if args.password_env:
        password = os.environ.get(args.password_env)
        if password is None:
            raise ConfigurationError(Message("env_not_set", name=args.password_env))
    key = load_private_key(Path(args.key), password)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ConfigurationError(Message("anchor_private_not_ed25519", path=args.key))

    async def run() -> Any:
        async with open_ledger(args.ledger, exclusive=False, read_only=True) as ledger:
            return await write_anchor(ledger, args.out, key, operator=args.operator, run_id=args.run)

    from asxh_pay.vocab import phrase

    done = asyncio.run(run())
    emit(
        args,
        {"path": str(done.path), "payouts": done.payouts, "events": done.events, "root": done.root},
        phrase(
            "anchor_written",
            args.lang,
            payouts=done.payouts,
            events=done.events,
            path=done.path,
            root=done.root,
        ),
    )
    return EXIT_OK


# ---------------------------------------------------------------------- sandbox serve


class _Sandboxes(Mapping[str, Callable[[], Any]]):
    """The sandboxes ``sandbox serve`` can run: every registered provider's (asxh_pay.plugins).

    Read from the ``asxh_pay.providers`` entry points at each use, so a provider package
    installed as its own distribution is served like a built-in one.
    """

    def __getitem__(self, name: str) -> Callable[[], Any]:
        from asxh_pay.plugins import load_provider

        return load_provider(name).served_sandbox

    def __contains__(self, name: object) -> bool:
        from asxh_pay.plugins import canonical, provider_names

        return isinstance(name, str) and canonical(name) in provider_names()

    def __iter__(self) -> Iterator[str]:
        from asxh_pay.plugins import provider_names

        return iter(provider_names())

    def __len__(self) -> int:
        from asxh_pay.plugins import provider_names

        return len(provider_names())


SANDBOXES: Mapping[str, Callable[[], Any]] = _Sandboxes()


def _register_sandbox(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sandbox", help="run a provider sandbox")
    ssub = p.add_subparsers(dest="sandbox_command", required=True)
    s = ssub.add_parser(
        "serve",
        help="serve a provider sandbox over HTTP on localhost",
        description="Serve a stateful fake provider on 127.0.0.1 until Ctrl-C.",
    )
    # Any registered provider (asxh_pay.plugins), built in or installed as its own package:
    # no ``choices``, so that listing them imports nothing; an unknown name is exit 2.
    s.add_argument(
        "provider",
        help="which provider's sandbox, or 'register': the population register's JSON API (docs/register.md)",
    )
    s.add_argument("--port", type=int, default=8080, help="TCP port on 127.0.0.1 (default: %(default)s)")
    s.add_argument("--latency-ms", type=float, default=None, help="delay every answer by this much")
    s.add_argument("--settle-after-s", type=float, default=None, help="settle payments after this delay")
    s.add_argument(
        "--faults",
        type=float,
        default=0.0,
        help="rate (0..1) of each HTTP-level fault: 429, 5xx, timeouts before/after booking",
    )
    s.add_argument(
        "--hang-s",
        type=float,
        default=2.0,
        help="how long a timeout fault holds the answer (exceed the client's timeout)",
    )
    s.add_argument("--seed", type=int, default=0, help="fault random seed")
    s.add_argument(
        "--callback-url",
        default=None,
        help="POST the sandbox's signed callbacks to this URL (e.g. http://127.0.0.1:8000/callbacks/momo, "
        "served by 'asxh-pay serve')",
    )
    s.add_argument(
        "--registry-db",
        type=Path,
        default=Path("asxh-pay-data/registry.db"),
        help="register only: the sandbox register's SQLite file (default: %(default)s)",
    )
    lang_option(s)
    s.set_defaults(func=_cmd_sandbox_serve)


def _serve_register(args: argparse.Namespace) -> int:
    from asxh_pay.localserver import serve
    from asxh_pay.payroll.register_http import SANDBOX_TOKEN, RegisterService
    from asxh_pay.payroll.registry import SandboxPopulationRegistry

    registry = SandboxPopulationRegistry(args.registry_db)
    server = serve(RegisterService(registry, SANDBOX_TOKEN).handle, port=args.port)
    from asxh_pay.vocab import phrase

    listening = phrase(
        "register_listening", args.lang, url=server.url, n=registry.count(), db=args.registry_db
    )
    print(listening, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        registry.close()
    return EXIT_OK


def _callback_poster(url: str) -> Callable[[Any], Any]:
    """A sandbox callback sink that POSTs each signed callback, bytes and headers unchanged, to ``url``."""
    import httpx

    holder: dict[str, httpx.AsyncClient] = {}

    async def sink(request: httpx.Request) -> httpx.Response:
        http = holder.get("client")
        if http is None:
            http = holder["client"] = httpx.AsyncClient(timeout=10.0, trust_env=False)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        response = await http.post(url, content=request.content, headers=headers)
        if response.status_code >= 500 or response.status_code == 429:
            raise RuntimeError(f"receiver answered {response.status_code}")  # the sandbox resends later
        return response

    return sink


def _cmd_sandbox_serve(args: argparse.Namespace) -> int:
    import asyncio as _asyncio

    from asxh_pay.localserver import serve
    from asxh_pay.plugins import UnknownProvider
    from asxh_pay.sandbox.served import HttpFaults, ServedSandbox, served_fault_plan

    if args.provider == "register":
        return _serve_register(args)
    try:
        make = SANDBOXES[args.provider]
    except UnknownProvider as exc:  # a name nobody registered is bad usage; a broken plugin is refused (3)
        return report_error(args, EXIT_USAGE, exc)
    sandbox = make()
    if args.latency_ms is not None:
        sandbox.latency_s = args.latency_ms / 1000
    if args.settle_after_s is not None:
        sandbox.settle_after_s = args.settle_after_s
    if args.faults:
        sandbox.faults = served_fault_plan(args.faults, seed=args.seed)
    served = ServedSandbox(sandbox, HttpFaults.every_kind(args.faults, hang_s=args.hang_s, seed=args.seed))
    server = serve(served.handle, port=args.port)
    if args.callback_url:
        # Settlements and callbacks run on the server's own loop, beside the requests.
        sandbox.callback_sink = _callback_poster(args.callback_url)
        _asyncio.run_coroutine_threadsafe(sandbox.run(interval_s=0.1), server._event_loop())
    from asxh_pay.vocab import phrase

    print(phrase("sandbox_listening", args.lang, provider=args.provider, url=server.url), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return EXIT_OK


# ---------------------------------------------------------------------- wiring


def _register_scaleout(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``db upgrade``, ``enqueue`` and ``worker`` (PostgreSQL scale-out; see asxh_pay.cli.scaleout)."""
    from asxh_pay.cli.scaleout import register_db, register_enqueue, register_worker

    for register in (register_db, register_enqueue, register_worker):
        register(sub)


# ``reconcile`` is registered by the payroll commands: one command for a run's books and
# for ISO 20022 report files (asxh_pay.reconcile).
def _register_config(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from asxh_pay.cli.config import register_config

    register_config(sub)


def _register_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from asxh_pay.cli.serve import register_serve

    register_serve(sub)


COMMANDS: list[Register] = [
    _register_ledger,
    _register_sandbox,
    _register_scaleout,
    _register_config,
    _register_serve,
]


def _register_optional() -> None:
    """Feature modules add their subcommands here (payroll, database, workers...)."""
    payroll_register: Register | None
    try:
        from asxh_pay.cli.payroll import (  # type: ignore[import-not-found,unused-ignore]
            register as payroll_register,
        )
    except ImportError:
        payroll_register = None
    if payroll_register is not None and payroll_register not in COMMANDS:
        COMMANDS.append(payroll_register)


#: ``asxh-pay --help`` lists the commands in the order of the month: set up keys, prepare,
#: approve, pay, reconcile, report, look back; then the tools (ledger, sandboxes, scale-out).
WORKFLOW_ORDER = (
    "keys",
    "prepare",
    "approve",
    "run",
    "reconcile",
    "report",
    "status",
    "ledger",
    "registry",
    "demo",
    "sandbox",
    "db",
    "enqueue",
    "worker",
)


def _in_workflow_order(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rank = {name: i for i, name in enumerate(WORKFLOW_ORDER)}
    actions = sub._choices_actions
    actions[:] = sorted(actions, key=lambda a: rank.get(a.dest, len(rank)))


def build_parser(lang: str = "vi") -> argparse.ArgumentParser:
    """The ``asxh-pay`` parser, its help in ``lang`` (Vietnamese by default, see :mod:`asxh_pay.help_vi`)."""
    from asxh_pay.help_vi import localise

    parser = _Parser(
        prog="asxh-pay",
        description=(
            "Pay social benefits (ASXH) without cash: prepare, approve and run the monthly payroll, "
            "reconcile with providers, and report per commune and province."
        ),
    )
    parser.add_argument("--version", action="version", version=f"asxh-pay {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log more detail (personal data stays masked)"
    )
    parser.add_argument(
        "--config",
        default=None,
        metavar="PATH",
        help="the configuration file asxh-pay.toml (default: $ASXH_PAY_CONFIG, else ./asxh-pay.toml if "
        "present, else the embedded sandboxes)",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=None,
        help="log lines as text or JSON (default: log_format of the configuration, else text)",
    )
    sub = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", required=True, metavar="COMMAND"),
    )
    _register_optional()
    for register in COMMANDS:
        register(sub)
    _in_workflow_order(sub)
    return localise(parser, lang)


def _apply_config(args: argparse.Namespace) -> Any:
    """What the configuration sets for the whole process: the log format and the roster's place.

    Returns the log format (``--log-format`` first). A file that cannot be loaded is left
    for the command that needs it to report (``ledger verify`` must work without one).
    """
    from asxh_pay.config import load_settings
    from asxh_pay.payroll import roster

    try:
        settings = load_settings(getattr(args, "config", None))
    except ConfigurationError:
        settings = None
    roster.set_location(settings.roster if settings is not None else None)
    if args.log_format is not None:
        return args.log_format
    return settings.log_format if settings is not None else "text"


def _quiet_broken_pipe() -> int:
    """The reader went away (``asxh-pay status | head``): stop without a traceback.

    Why dup2: Python flushes stdout again at exit, which would raise once more.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    from asxh_pay.help_vi import lang_from_argv

    command_line = sys.argv[1:] if argv is None else list(argv)
    output._lang = lang_from_argv(command_line)
    parser = build_parser(output._lang)
    _Parser.json_errors = "--json" in command_line
    output._arg_lang = "en" if _Parser.json_errors else output._lang
    args = parser.parse_args(argv)
    output._lang = getattr(args, "lang", output._lang)
    from asxh_pay.logs import configure_logging

    configure_logging(_apply_config(args), level=logging.INFO if args.verbose else logging.WARNING)
    from asxh_pay.heap import tune_collector

    tune_collector()  # a month keeps 100,000s of objects alive: see asxh_pay.heap
    # SIGTERM stops a run like Ctrl-C. SIGINT gets our own handler too: with the default one,
    # asyncio.run() installs a functools.partial holding the main task, and Python 3.11's
    # signal.getsignal() then formats repr(task), i.e. the repr of a finished run's whole
    # result, twice per asyncio.run (seconds for a month of payouts).
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        with output.signals_as_interrupt():
            code: int = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handlers below
        return code
    except KeyboardInterrupt:
        return _report_interrupt(args)
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except ValidationError as exc:
        return report_error(args, EXIT_USAGE, exc)
    except (ConfigurationError, LedgerError) as exc:
        return report_error(args, EXIT_REFUSED, exc)
    except AsxhPayError as exc:
        return report_error(args, EXIT_ATTENTION, exc, prefix=f"{type(exc).__name__}: ")


def _report_interrupt(args: argparse.Namespace) -> int:
    # A second Ctrl-C while this is printed must not end in a traceback either.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from asxh_pay.vocab import phrase

    try:
        if getattr(args, "json", False):
            message = phrase("interrupted", "en")  # --json keeps stable English
            _print_json({"ok": False, "interrupted": True, "error": message, "exit_code": EXIT_INTERRUPTED})
        else:
            print(phrase("interrupted", output._lang), file=sys.stderr)
    except BrokenPipeError:
        _quiet_broken_pipe()
    return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
