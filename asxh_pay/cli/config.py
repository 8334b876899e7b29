"""``asxh-pay config show`` and ``asxh-pay config check``.

``show`` prints the effective configuration (file, environment, secrets directory
merged) with every secret masked: what an operator pastes into a support ticket.
``check`` validates it and asks each configured rail and the register one harmless
question (a status inquiry for a reference that does not exist; the register's health),
reporting per rail; exit 1 when any fails, 3 when the configuration itself is refused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from asxh_pay.cli.output import EXIT_ATTENTION, EXIT_OK, emit, lang_option
from asxh_pay.vocab import phrase


def register_config(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("config", help="show or check the configuration (asxh-pay.toml)")
    csub = p.add_subparsers(dest="config_command", required=True)
    for name, helptext, func in (
        ("show", "print the effective configuration, secrets masked", _cmd_show),
        ("check", "validate the configuration and contact every rail and the register", _cmd_check),
    ):
        c = csub.add_parser(name, help=helptext, description=helptext)
        c.add_argument("--config", default=argparse.SUPPRESS, help="the configuration file")
        c.add_argument("--data-dir", type=Path, default=Path("asxh-pay-data"), help="the data folder")
        c.add_argument("--json", action="store_true", help="machine-readable output")
        lang_option(c)
        c.set_defaults(func=func)


def _cmd_show(args: argparse.Namespace) -> int:
    from asxh_pay.config import load_settings

    settings = load_settings(getattr(args, "config", None))
    data = settings.masked()
    if args.json:
        source = str(settings.source) if settings.source else phrase("config_no_file", "en")
        emit(args, {"source": source, "config": data}, "")
    else:
        source = str(settings.source) if settings.source else phrase("config_no_file", args.lang)
        print(phrase("config_effective", args.lang, source=source))
        print(json.dumps(data, ensure_ascii=False, indent=2))
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    from asxh_pay.config import load_settings
    from asxh_pay.payroll.configured import check_settings

    settings = load_settings(getattr(args, "config", None))
    results = asyncio.run(check_settings(settings, args.data_dir))
    ok = all(good for good, _ in results.values())
    lang = args.lang
    lines = [
        f"{phrase('check_ok' if good else 'check_fail', lang):<4} {what}: {detail}"
        for what, (good, detail) in results.items()
    ]
    lines.append(phrase("config_ok" if ok else "config_failing", lang))
    emit(
        args,
        {"ok": ok, "checks": {what: {"ok": good, "detail": d} for what, (good, d) in results.items()}},
        "\n".join(lines),
    )
    return EXIT_OK if ok else EXIT_ATTENTION
