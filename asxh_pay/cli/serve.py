"""``asxh-pay serve``: the command line of the callback server (:mod:`asxh_pay.serve`).

The CLI's side only (options, output, running uvicorn); the app itself is built by
:func:`asxh_pay.serve.build_app`, which never imports the CLI.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from asxh_pay.cli.output import lang_option
from asxh_pay.serve import _need_extra, build_app
from asxh_pay.vocab import phrase

__all__ = ["register_serve"]


def register_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the provider callbacks, health, readiness and metrics (ASGI, uvicorn)",
        description="Run the callback endpoint of every configured rail (POST /callbacks/RAIL), "
        "/healthz, /readyz (the ledger answers) and /metrics (Prometheus) until Ctrl-C.",
    )
    p.add_argument("--config", default=argparse.SUPPRESS, help="the configuration file")
    p.add_argument("--data-dir", type=Path, default=Path("asxh-pay-data"), help="the data folder")
    p.add_argument(
        "--ledger", default=None, help="ledger URL (default: the configuration's, else the data folder's)"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default: %(default)s)")
    lang_option(p)
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    from asxh_pay.cli.output import EXIT_OK
    from asxh_pay.config import load_settings

    _need_extra()
    import uvicorn

    settings = load_settings(getattr(args, "config", None))
    ledger_url = args.ledger or settings.ledger_url or f"sqlite:///{args.data_dir / 'ledger.db'}"
    app = build_app(settings, args.data_dir, ledger_url=ledger_url)
    if not ledger_url.startswith(("postgresql://", "postgres://")):
        # The SQLite ledger caches the rows of the payouts a run drives: another writer during a
        # run would make that cache lie. Callbacks then wait (the providers resend) or use PostgreSQL.
        print(phrase("serve_sqlite_note", args.lang), flush=True)
    rails = ", ".join(app.state.callback_rails) or phrase("no_rail", args.lang)
    print(phrase("serve_listening", args.lang, host=args.host, port=args.port, rails=rails), flush=True)
    # log_config=None: uvicorn logs through the root logger, masked and formatted by the CLI's setup.
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)
    return EXIT_OK
