"""``asxh-pay db upgrade``, ``asxh-pay enqueue`` and ``asxh-pay worker``: running a payroll on many machines.

Why providers are named on the command line this way: providers are configured in
code (keys, certificates, routes), so a worker either loads a factory from the
deployment's own module (``--providers package.module:function``), or, for trials
and tests, talks to the generic provider at a URL (``--provider-url``, e.g. a sandbox
served by ``asxh-pay sandbox serve generic``) or to an in-process sandbox
(``--sandbox generic``; per process, so not for several workers sharing books).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from asxh_pay.cli.output import lang_option, positive_int
from asxh_pay.errors import ConfigurationError, Message
from asxh_pay.vocab import phrase

DEFAULT_PROVIDER = "generic"


def _add_ledger_args(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    p.add_argument("--ledger", required=required, help="ledger URL, e.g. postgresql://user@host:5432/db")
    p.add_argument(
        "--schema", default=None, help="PostgreSQL schema holding the ledger (default: search_path)"
    )


# ---------------------------------------------------------------------- db upgrade


def register_db(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("db", help="manage the ledger database schema")
    dsub = p.add_subparsers(dest="db_command", required=True)
    u = dsub.add_parser(
        "upgrade",
        help="apply pending schema migrations",
        description="Apply the versioned SQL migrations not yet applied. Safe to run from several "
        "machines at once (PostgreSQL: an advisory lock serialises them).",
    )
    _add_ledger_args(u)
    u.add_argument("--json", action="store_true", help="machine-readable output")
    lang_option(u)
    u.set_defaults(func=_cmd_db_upgrade)


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from asxh_pay.cli.output import EXIT_OK, emit

    url: str = args.ledger
    if url.startswith(("postgresql://", "postgres://")):
        applied = asyncio.run(_pg_upgrade(url, args.schema))
    else:
        from asxh_pay.ledger import open_ledger

        async def sqlite_upgrade() -> list[int]:
            async with open_ledger(url, exclusive=False):  # SQLite migrates on open
                return []

        applied = asyncio.run(sqlite_upgrade())
    text = (
        phrase("migrations_applied", args.lang, applied=applied)
        if applied
        else phrase("schema_up_to_date", args.lang)
    )
    emit(args, {"applied": applied}, text)
    return EXIT_OK


async def _pg_upgrade(url: str, schema: str | None) -> list[int]:
    from asxh_pay.ledger.postgres import PostgresLedger, ensure_schema, upgrade

    ledger = PostgresLedger(url, schema=schema, auto_migrate=False)
    import psycopg

    try:
        async with await psycopg.AsyncConnection.connect(url, **ledger._conn_kwargs()) as conn:
            if schema:
                await ensure_schema(conn, schema)
            return await upgrade(conn)
    except psycopg.OperationalError as exc:
        from asxh_pay.errors import LedgerError

        raise LedgerError(Message("pg_connect")) from exc


# ---------------------------------------------------------------------- providers from the command line


def _add_provider_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("provider (one of; none: the rails of the configuration, asxh-pay.toml)")
    g.add_argument(
        "--providers",
        metavar="MODULE:FUNCTION",
        help="a function returning a list of ProviderSetup, or (list, Router)",
    )
    g.add_argument("--provider-url", help="the generic JSON provider at this URL (e.g. a served sandbox)")
    p.add_argument(
        "--provider-secret-env",
        default=None,
        metavar="VAR",
        help="environment variable holding the --provider-url provider's HMAC secret "
        "(without it, the sandbox's published secret: sandbox addresses only)",
    )
    g.add_argument("--sandbox", choices=["generic"], help="an in-process sandbox (one process only)")
    p.add_argument("--provider-name", default=DEFAULT_PROVIDER, help="provider name (default: %(default)s)")
    p.add_argument("--provider-timeout-s", type=float, default=30.0, help="HTTP timeout per request")
    p.add_argument(
        "--provider-not-found-grace-s",
        type=float,
        default=None,
        help="the provider's confirmation window: how long 'not found' must persist after an "
        "ambiguous send before it is sent again (default: the adapter's, 10 s); declare less "
        "only for a provider that documents read-after-write consistency",
    )
    p.add_argument("--sandbox-latency-ms", type=float, default=0.0, help="in-process sandbox latency")
    p.add_argument("--faults", type=float, default=0.0, help="in-process sandbox fault rate per kind (0..1)")


def _configured_providers(args: argparse.Namespace) -> tuple[list[Any], Any]:
    """The rails the configuration names (``--config``, ``ASXH_PAY_CONFIG``, ./asxh-pay.toml).

    Embedded sandboxes are refused here: each worker process would pay into its own
    books, so the exactly-once check across workers would mean nothing.
    """
    from pathlib import Path

    from asxh_pay.config import load_settings
    from asxh_pay.payroll.configured import rails_from_settings

    settings = load_settings(getattr(args, "config", None))
    if settings.embedded:
        raise ConfigurationError(Message("no_provider_named"))
    rails = rails_from_settings(settings, Path(getattr(args, "data_dir", None) or "asxh-pay-data"))
    return list(rails.setups), rails.router


def build_providers(args: argparse.Namespace, concurrency: int) -> tuple[list[Any], Any]:
    """ProviderSetups (and a Router or None) named by the command line."""
    from asxh_pay.client import ProviderSetup
    from asxh_pay.providers.base import with_capabilities
    from asxh_pay.retry import RetryBudget
    from asxh_pay.sandbox.generic import generic_sandbox_provider

    chosen = [x for x in (args.providers, args.provider_url, args.sandbox) if x]
    if len(chosen) > 1:
        raise ConfigurationError(Message("one_provider_option"))
    if not chosen:
        return _configured_providers(args)
    budget = RetryBudget(ratio=1.0, min_per_s=100)
    if args.providers:
        module_name, _, func_name = args.providers.partition(":")
        if not func_name:
            raise ConfigurationError(Message("providers_needs_function"))
        try:
            factory = getattr(importlib.import_module(module_name), func_name)
        except (ImportError, AttributeError) as exc:
            raise ConfigurationError(
                Message("provider_factory", spec=args.providers, detail=str(exc))
            ) from None
        made = factory()
        if isinstance(made, tuple):
            return list(made[0]), made[1]
        return list(made), None
    if args.provider_url:
        secret_env = getattr(args, "provider_secret_env", None)
        if secret_env:
            import os

            from asxh_pay.providers.generic import GenericProvider

            secret = os.environ.get(secret_env)
            if not secret:
                raise ConfigurationError(Message("env_not_set", name=secret_env))
            adapter: Any = GenericProvider(args.provider_url, secret=secret, name=args.provider_name)
        else:
            adapter = generic_sandbox_provider(args.provider_url, name=args.provider_name)
        grace = getattr(args, "provider_not_found_grace_s", None)
        if grace is not None:
            adapter = with_capabilities(adapter, not_found_grace_s=grace)
        setup = ProviderSetup(
            adapter, concurrency=concurrency, timeout_s=args.provider_timeout_s, retry_budget=budget
        )
        return [setup], None
    from asxh_pay.sandbox.base import FaultPlan
    from asxh_pay.sandbox.generic import GenericSandbox

    sandbox = GenericSandbox(
        settle_after_s=0.0, latency_s=args.sandbox_latency_ms / 1000, faults=FaultPlan.every_kind(args.faults)
    )
    setup = ProviderSetup(
        generic_sandbox_provider(name=args.provider_name),
        transport=sandbox.transport(),
        concurrency=concurrency,
        timeout_s=args.provider_timeout_s,
        retry_budget=budget,
    )
    return [setup], None


# ---------------------------------------------------------------------- worker


def register_worker(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "worker",
        help="pay payouts from a shared PostgreSQL ledger (run many, on many machines)",
        description="Claim batches of unfinished payouts under a lease and pay them, until the run has "
        "none left (or forever with --follow). SIGTERM/SIGINT: finish in-flight payouts briefly, "
        "then hand the leases back.",
    )
    _add_ledger_args(p)
    p.add_argument("--run-id", default=None, help="only payouts of this run")
    p.add_argument("--worker-id", default=None, help="default: host:pid")
    p.add_argument(
        "--concurrency", type=positive_int, default=64, help="payouts in flight (default: %(default)s)"
    )
    p.add_argument(
        "--batch-size", type=positive_int, default=100, help="payouts per claim (default: %(default)s)"
    )
    p.add_argument("--lease-s", type=float, default=30.0, help="lease length (default: %(default)s)")
    p.add_argument("--follow", action="store_true", help="keep waiting for new payouts")
    p.add_argument("--grace-s", type=float, default=5.0, help="on stop, time in-flight payouts get")
    p.add_argument("--poll-initial-s", type=float, default=0.5, help="first status poll after acceptance")
    p.add_argument("--retry-base-s", type=float, default=0.2, help="first retry backoff ceiling")
    _add_provider_args(p)
    lang_option(p)
    p.set_defaults(func=_cmd_worker)


def _cmd_worker(args: argparse.Namespace) -> int:
    from asxh_pay.cli.output import EXIT_INTERRUPTED, EXIT_OK
    from asxh_pay.client import PollPolicy
    from asxh_pay.retry import RetryPolicy
    from asxh_pay.worker import default_worker_id, run_worker

    providers, router = build_providers(args, args.concurrency)
    worker_id = args.worker_id or default_worker_id()
    stopped_by: list[int] = []

    async def main() -> Any:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal(sig: int) -> None:
            stopped_by.append(sig)
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal, sig)
        return await run_worker(
            args.ledger,
            providers,
            router,
            worker_id=worker_id,
            batch_size=args.batch_size,
            concurrency=args.concurrency,
            stop_event=stop,
            run_id=args.run_id,
            lease_s=args.lease_s,
            follow=args.follow,
            shutdown_grace_s=args.grace_s,
            schema=args.schema,
            poll=PollPolicy(initial_s=args.poll_initial_s),
            retry=RetryPolicy(base_delay_s=args.retry_base_s, max_delay_s=5.0, max_attempts=12),
        )

    stats = asyncio.run(main())
    print(json.dumps(stats.as_dict()), flush=True)
    return EXIT_INTERRUPTED if stopped_by else EXIT_OK


# ---------------------------------------------------------------------- enqueue


def register_enqueue(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "enqueue",
        help="record payout requests in the ledger without paying them (workers pay them)",
        description="Load payout requests (JSON lines, one PayoutRequest per line) into the ledger. "
        "Loading the same list twice records nothing new.",
    )
    _add_ledger_args(p)
    p.add_argument("--run-id", default=None, help="tag every payout with this run id")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--file", type=Path, help="JSON lines of payout requests")
    src.add_argument("--synthetic", type=int, metavar="N", help="N synthetic demo beneficiaries")
    p.add_argument("--period", default="2026-11", help="pay period for --synthetic")
    p.add_argument("--provider-name", default=DEFAULT_PROVIDER, help="provider the workers pay through")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    lang_option(p)
    p.set_defaults(func=_cmd_enqueue)


def _read_jsonl(path: Path) -> Iterator[Any]:
    from asxh_pay.models import PayoutRequest

    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    yield PayoutRequest.model_validate_json(line)
                except ValueError as exc:
                    raise ConfigurationError(
                        Message("not_payout_request", path=path, line=lineno, kind=type(exc).__name__)
                    ) from None


def _cmd_enqueue(args: argparse.Namespace) -> int:
    from asxh_pay.cli.output import EXIT_ATTENTION, EXIT_OK, emit
    from asxh_pay.client import AsyncPayoutClient, ProviderSetup
    from asxh_pay.ledger import open_ledger
    from asxh_pay.sandbox.generic import generic_sandbox_provider
    from asxh_pay.worker import enqueue

    async def main() -> Any:
        if args.ledger.startswith(("postgresql://", "postgres://")):
            from asxh_pay.ledger.postgres import PostgresLedger

            ledger: Any = PostgresLedger(args.ledger, schema=args.schema)
        else:
            ledger = open_ledger(args.ledger)
        client = AsyncPayoutClient(ledger, [ProviderSetup(generic_sandbox_provider(name=args.provider_name))])
        if args.synthetic is not None:
            from asxh_pay.synthetic import synthetic_requests

            requests: Any = synthetic_requests(args.synthetic, period=args.period)
        else:
            requests = _read_jsonl(args.file)
        async with ledger:
            return await enqueue(client, requests, run_id=args.run_id)

    summary = asyncio.run(main())
    counts = {"created": summary.created, "existing": summary.existing, "refused": len(summary.conflicts)}
    emit(args, summary.as_dict(), phrase("enqueued", args.lang, **counts))
    for msg in summary.conflicts[:20]:
        print(f"  {phrase('refused', args.lang)}: {msg}", file=sys.stderr)
    return EXIT_ATTENTION if summary.conflicts else EXIT_OK
