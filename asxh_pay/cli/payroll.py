"""The payroll's ``asxh-pay`` subcommands: keys, prepare, approve, run, status, report,
reconcile, registry and demo.

The monthly cycle at a paying unit (a commune, or a province paying centrally), as commands::

    asxh-pay keys init-office --out /media/usb/office.pem   # once, at setup
    asxh-pay keys generate --operator lan          # once per operator, then:
    asxh-pay keys enroll --operator lan --public-key asxh-pay-data/keys/lan.pub.pem \\
        --signed-by office --key /media/usb/office.pem
    asxh-pay prepare lists/ --period 2026-11 --operator lan --province 08   # or --commune 02215
    asxh-pay approve RUN_ID --operator hung         # another operator
    asxh-pay run RUN_ID                             # Ctrl-C is safe: run RUN_ID --resume
    asxh-pay reconcile RUN_ID
    asxh-pay report RUN_ID [--lang en]

Exit codes (see :mod:`asxh_pay.cli.output`): 0 done; 1 done but something needs a person; 2 bad
usage or input; 3 refused (approval, signature, ledger); 4 interrupted.
Everything lives under ``--data-dir`` (default ``./asxh-pay-data``): the SQLite ledger,
operator keys, runs, the sandbox population register and the sandboxes' books.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from asxh_pay import vocab
from asxh_pay.cli.output import (
    EXIT_ATTENTION,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    date_arg,
    emit,
    in_words,
    lang_option,
    period_arg,
    positive_int,
    report_error,
    run_interruptible,
    signals_as_interrupt,
)
from asxh_pay.errors import Message, ValidationError
from asxh_pay.ledger import open_ledger
from asxh_pay.money import format_vnd
from asxh_pay.vocab import phrase

SubParsers = "argparse._SubParsersAction[argparse.ArgumentParser]"


# --------------------------------------------------------------------------- shared options


def _common(p: argparse.ArgumentParser) -> None:
    """The options every payroll command takes. ``--lang`` is on every command: messages,
    summaries and reports are Vietnamese by default, English with ``--lang en``."""
    p.add_argument(
        "--data-dir",
        type=Path,
        default=Path("asxh-pay-data"),
        help="where the ledger, keys, runs and reports are kept (default: %(default)s)",
    )
    p.add_argument("--ledger", default=None, help="ledger URL (default: sqlite:///<data-dir>/ledger.db)")
    p.add_argument("--json", action="store_true", help="machine-readable output for scripts")
    p.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        help="the configuration file (default: $ASXH_PAY_CONFIG, else ./asxh-pay.toml, else the "
        "embedded sandboxes)",
    )
    lang_option(p)


def _settings(args: argparse.Namespace) -> Any:
    """The configuration (``--config``, ``ASXH_PAY_CONFIG``, ./asxh-pay.toml, or the embedded default)."""
    from asxh_pay.config import load_settings

    cached = getattr(args, "_settings", None)
    if cached is None:
        cached = load_settings(getattr(args, "config", None))
        args._settings = cached
    return cached


def _ledger_url(args: argparse.Namespace) -> str:
    if args.ledger:
        return str(args.ledger)
    configured = _settings(args).ledger_url
    return str(configured or f"sqlite:///{args.data_dir / 'ledger.db'}")


def _registry(args: argparse.Namespace) -> Any:
    """The population register the configuration names (embedded SQLite by default)."""
    from asxh_pay.payroll.configured import registry_from_settings

    return registry_from_settings(_settings(args), args.data_dir)


def _sandbox_registry(args: argparse.Namespace) -> Any:
    """The sandbox register's file, for ``asxh-pay registry`` (the sandbox's own admin commands)."""
    from asxh_pay.payroll.registry import SandboxPopulationRegistry

    return SandboxPopulationRegistry(getattr(args, "registry_db", None) or args.data_dir / "registry.db")


def _rails(args: argparse.Namespace) -> Any:
    """The rails the configuration names; the embedded sandboxes only when it names them."""
    from asxh_pay.payroll.configured import rails_from_settings

    return rails_from_settings(_settings(args), args.data_dir)


def _refused(args: argparse.Namespace, exc: Exception, words: Message | None = None) -> int:
    """Exit 3 with the refusal in the reader's language (JSON: the library's English).

    ``words``: the sentence to show in Vietnamese when the exception carries none of its own
    (English keeps the exception's text, which may say more)."""
    lang = getattr(args, "lang", "vi")
    text = words.render(lang) if words is not None and lang != "en" else in_words(args, exc)
    data: dict[str, Any] = {"ok": False, "refused": str(exc)}
    own = getattr(exc, "message", None)
    key = own if isinstance(own, Message) else words
    if key is not None:
        data["message_key"] = key.key
    emit(args, data, f"{phrase('refused', lang)}: {text}")
    return EXIT_REFUSED


def _guard(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Map the payroll's refusals to exit code 3 with a plain message."""

    def wrapped(args: argparse.Namespace) -> int:
        from asxh_pay.payroll.approval import ApprovalError
        from asxh_pay.payroll.execute import AlreadyStarted
        from asxh_pay.payroll.roster import RosterError

        try:
            return fn(args)
        except ValidationError as exc:  # bad input (an unknown run, a missing key): exit 2
            return report_error(args, EXIT_USAGE, exc)
        except AlreadyStarted as exc:  # raised with an English text only (payroll.execute)
            return _refused(args, exc, Message("already_started", run_id=getattr(args, "run_id", "")))
        except (ApprovalError, RosterError) as exc:
            return _refused(args, exc)

    return wrapped


# --------------------------------------------------------------------------- keys


def _cmd_keys_generate(args: argparse.Namespace) -> int:
    from asxh_pay.payroll.approval import generate_operator_key

    priv, pub = generate_operator_key(
        args.data_dir, args.operator, private_path=args.out, overwrite=args.force
    )
    emit(
        args,
        {"operator": args.operator, "private_key": str(priv), "public_key": str(pub), "trusted": False},
        phrase("key_generated", args.lang, operator=args.operator, private=priv, public=pub),
    )
    return EXIT_OK


def _cmd_keys_init_office(args: argparse.Namespace) -> int:
    from asxh_pay.payroll.roster import PIN_ENV, init_office, roster_path

    fp = init_office(args.data_dir, args.out)
    emit(
        args,
        {"office_fingerprint": fp, "office_key": str(args.out), "roster": str(roster_path(args.data_dir))},
        phrase("office_key_created", args.lang, path=args.out, fingerprint=fp, pin=f"export {PIN_ENV}={fp}"),
    )
    return EXIT_OK


def _cmd_keys_change(args: argparse.Namespace) -> int:
    from asxh_pay.payroll.approval import export_trusted, keys_dir
    from asxh_pay.payroll.roster import OFFICE, change, load_operator_public_key

    action = "revoke" if args.keys_command == "revoke" else "replace" if args.replace else "enroll"
    if args.key:
        signer_key = Path(args.key)
    elif args.signed_by.strip().casefold() == OFFICE:
        return report_error(args, EXIT_USAGE, Message("office_needs_key"))
    else:
        signer_key = keys_dir(args.data_dir) / f"{args.signed_by}.pem"
    public = load_operator_public_key(Path(args.public_key)) if action != "revoke" else None
    entry = change(
        args.data_dir,
        action,
        args.operator,
        signed_by=args.signed_by,
        signer_key_path=signer_key,
        public_key=public,
    )
    export_trusted(args.data_dir)
    emit(
        args,
        {"ok": True, **{k: entry[k] for k in ("seq", "action", "operator", "signed_by", "hash")}},
        phrase(
            f"roster_{action}",
            args.lang,
            operator=args.operator,
            seq=entry["seq"],
            signed_by=entry["signed_by"],
        ),
    )
    return EXIT_OK


def _cmd_keys_roster(args: argparse.Namespace) -> int:
    from asxh_pay.payroll.roster import load_roster

    r = load_roster(args.data_dir)
    ops = [
        {
            "operator": o.name,
            "fingerprint": o.fingerprint,
            "state": "trusted" if o.key is not None else "revoked",
            "by": o.enrolled_by,
            "sponsors": sorted(o.sponsors),
        }
        for o in sorted(r.operators.values(), key=lambda o: o.name)
    ]
    lang = args.lang
    lines = [phrase("roster_head", lang, path=r.path, entries=r.entries, fingerprint=r.office_fingerprint)]
    lines += [
        f"  {o['operator']:<20} {phrase('roster_' + str(o['state']), lang):<14} "
        f"{o['fingerprint'] or '-':<32}  {phrase('roster_by', lang, by=o['by'])}"
        for o in ops
    ]
    emit(
        args,
        {"ok": True, "office_fingerprint": r.office_fingerprint, "head": r.head, "operators": ops},
        "\n".join(lines),
    )
    return EXIT_OK


# --------------------------------------------------------------------------- prepare / approve


def _key_path(args: argparse.Namespace) -> Path:
    from asxh_pay.payroll.approval import keys_dir

    return Path(args.key) if args.key else keys_dir(args.data_dir) / f"{args.operator}.pem"


def _reasons_text(title: str, reasons: list[tuple[str, int, str]], lang: str = "vi") -> list[str]:
    """Rows per reason, most frequent first: the reason in the shared vocabulary, its code,
    and the first row's own words."""
    if not reasons:
        return []
    lines = [f"  {title}:"]
    for code, n, example in reasons:
        lines.append(f"    {n:>6}  {vocab.reason(code, lang)} ({code}): {example[:160]}")
    return lines


def _prepared_text(prep: Any, lang: str = "vi") -> str:
    from asxh_pay.payroll.console import prepared_text

    return prepared_text(prep, lang)


def _usage_error(args: argparse.Namespace, message: str | Message, code: str, reasons: Any = ()) -> int:
    """Exit 2 with the reason on screen (stderr), or as JSON with --json (English)."""
    if getattr(args, "json", False):
        emit(
            args,
            {"ok": False, "error": code, "message": str(message), "top_reasons": [list(r) for r in reasons]},
            "",
        )
    else:
        # What went wrong in the official's words (a Message is the whole sentence; an English
        # text is led by its code's meaning), then the most frequent reasons (count, reason in
        # words, code, an example).
        lang = getattr(args, "lang", "vi")
        if isinstance(message, Message):
            head = f"{phrase('error', lang)}: {message.render(lang)}"
        else:
            head = f"{phrase('error', lang)}: {vocab.reason(code, lang)}: {message}"
        lines = [head, *_reasons_text(phrase("top_reasons", lang), list(reasons), lang)]
        print("\n".join(lines), file=sys.stderr)
    return EXIT_USAGE


@_guard
def _cmd_prepare(args: argparse.Namespace) -> int:
    from asxh_pay import units
    from asxh_pay.payroll.lists import ListDefaults, import_bar
    from asxh_pay.payroll.prepare import PrepareError, prepare_run

    if args.district is not None:
        return _usage_error(args, Message("district_gone"), "district")
    unit = None
    if args.commune or args.province:
        try:
            unit = units.paying_unit(commune_code=args.commune, province_code=args.province)
        except units.UnitError as exc:
            return _usage_error(args, exc.message or exc.detail, exc.code)
    defaults = ListDefaults(
        programme=args.programme,
        period=args.period,
        commune_code=unit.code if unit and unit.level == "commune" else None,
        province_code=unit.province_code if unit else None,
    )
    registry = _registry(args)
    rails = _rails(args)
    try:
        with signals_as_interrupt(), import_bar(not args.json and sys.stderr.isatty(), lang=args.lang) as bar:
            prep = asyncio.run(
                prepare_run(
                    [Path(p) for p in args.lists],
                    data_dir=args.data_dir,
                    operator=args.operator,
                    key_path=_key_path(args),
                    defaults=defaults,
                    registry=registry,
                    rails=rails,
                    ledger_url=_ledger_url(args),
                    run_id=args.run_id,
                    verify_accounts=not args.no_account_check,
                    encoding=args.encoding,
                    lang=args.lang,
                    unit=unit,
                    codes=args.codes,
                    progress=bar,
                )
            )
    except PrepareError as exc:
        return _usage_error(args, exc.message or str(exc), exc.code, exc.top_reasons)
    except KeyboardInterrupt:
        # Ctrl-C or SIGTERM (see cli.main): prepare_run removed its staging folder and
        # temporary file on the way out, so there is nothing half-done to clean up.
        emit(args, {"ok": False, "interrupted": True}, phrase("prepare_interrupted", args.lang))
        return EXIT_INTERRUPTED
    finally:
        rails.close()
        registry.close()
    emit(
        args,
        {
            "run_id": prep.run_id,
            "dir": str(prep.dir),
            **prep.manifest["counts"],
            "paying_unit": prep.manifest["paying_unit"],
            "held_by_code": prep.manifest["held_by_code"],
            "rejected_by_code": prep.manifest["rejected_by_code"],
            "unit_mapping": prep.manifest["units"]["rows_by_mapping"],
        },
        _prepared_text(prep, args.lang),
    )
    return EXIT_OK if not prep.held and not prep.imported.rejected else EXIT_ATTENTION


@_guard
def _cmd_approve(args: argparse.Namespace) -> int:
    from asxh_pay.payroll.approval import approve
    from asxh_pay.payroll.console import approved_text

    block = approve(args.data_dir, args.run_id, args.operator, _key_path(args))
    emit(
        args,
        {
            "run_id": args.run_id,
            "approved_by": block["operator"],
            "payouts": block["payouts"],
            "total_vnd": block["total_vnd"],
            "run_hash": block["run_hash"],
        },
        approved_text(args.run_id, block, args.lang),
    )
    return EXIT_OK


# --------------------------------------------------------------------------- run


def _phase_done(args: argparse.Namespace, name: str) -> None:
    """Give the memory of the phase that just ended back; for the demo, record how long it
    took and the process's peak memory so far.

    Why: ``bench/payroll_demo.py`` reports where a province-scale month spends its time and
    memory (the demo's ``--json`` carries these as ``phases``); a command other than the
    demo records nothing.
    """
    from asxh_pay.heap import release_free_memory

    release_free_memory()  # the next phase starts from what is live, not from this one's peak
    phases = getattr(args, "_phases", None)
    if phases is None:
        return
    import resource

    now = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    phases.append({"phase": name, "s": round(now - args._phase_at, 2), "peak_rss_mb": round(peak_mb, 1)})
    args._phase_at = now


async def _run_and_report(
    args: argparse.Namespace,
    run_id: str,
    *,
    resume: bool,
    registry: Any,
    rails: Any,
    progress: bool,
    reconcile: bool = False,
) -> tuple[Any, Any, Any]:
    from asxh_pay.payroll.approval import read_manifest, run_dir
    from asxh_pay.payroll.console import Phase, Progress
    from asxh_pay.payroll.execute import execute_run
    from asxh_pay.payroll.reports import write_reports

    manifest = read_manifest(run_dir(args.data_dir, run_id))
    total = int(manifest["counts"]["payouts"])
    lang = getattr(args, "lang", "vi")
    from asxh_pay.logs import log_context

    with Progress(progress, lang) as bars, log_context(run_id=run_id):
        # One bar per phase: paying, the month close (bank days, cash window, fallbacks), the
        # reports and, for the demo, the reconciliation.
        pay = bars.start("progress_pay", total)
        close: list[Phase] = []

        def on_close(done: int, rounds: int) -> None:
            if not close:
                pay.done()
                close.append(bars.start("progress_close", rounds))
            close[0].update(done, rounds)

        result = await execute_run(
            args.data_dir,
            run_id,
            ledger_url=_ledger_url(args),
            registry=registry,
            rails=rails,
            resume=resume,
            concurrency=args.concurrency,
            on_update=pay.tally,
            on_close=on_close,
        )
        pay.done()
        for bar in close:
            bar.done()
        _phase_done(args, "pay_and_close")
        async with open_ledger(_ledger_url(args), exclusive=False) as ledger:
            with bars.phase("progress_reports") as rep:
                files = await write_reports(
                    ledger,
                    run_id,
                    run_dir(args.data_dir, run_id) / "reports",
                    lang=lang,
                    manifest=manifest,
                    on_step=lambda done, steps: rep.update(done, steps),
                )
            _phase_done(args, "reports")
            # Same ledger object: the payouts it already read are not parsed again.
            recon = None
            if reconcile:
                with bars.phase("progress_reconcile"):
                    recon = await _reconciler(ledger, args, run_id, rails)
                _phase_done(args, "reconcile")
    return result, files, recon


def _outcomes(files: Any) -> Counter[str]:
    return Counter(e.outcome for e in files.figures.entitlements)


def _run_text(result: Any, files: Any, lang: str = "vi") -> str:
    from asxh_pay.payroll.console import run_text

    return run_text(result, files, lang)


def _run_json(result: Any, files: Any) -> dict[str, Any]:
    from asxh_pay.payroll.execute import describe

    ents = files.figures.entitlements
    return {
        **describe(result),
        "outcomes": dict(_outcomes(files)),
        "paid_amount": sum(e.paid_amount for e in ents),
        "paid_into_account": sum(1 for e in ents if e.paid_into_account),
        "reports": str(files.directory),
        "xlsx": str(files.xlsx),
    }


@_guard
def _cmd_run(args: argparse.Namespace) -> int:
    registry = _registry(args)
    rails = _rails(args)
    try:
        result, files, _ = run_interruptible(
            _run_and_report(
                args,
                args.run_id,
                resume=args.resume,
                registry=registry,
                rails=rails,
                progress=not args.json and not args.no_progress and sys.stderr.isatty(),
            )
        )
    finally:
        rails.close()
        registry.close()
    emit(args, _run_json(result, files), _run_text(result, files, args.lang))
    out = _outcomes(files)
    return EXIT_ATTENTION if (result.errors or out["failed"] or out["pending"] or out["stopped"]) else EXIT_OK


# --------------------------------------------------------------------------- status / report / reconcile


@_guard
def _cmd_status(args: argparse.Namespace) -> int:
    from asxh_pay.payroll.approval import known_runs, read_manifest, run_dir

    runs_root = args.data_dir / "runs"
    run_ids = [args.run_id] if args.run_id else sorted(known_runs(runs_root))

    twice: dict[str, list[dict[str, object]]] = {}

    async def counts() -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        db = args.data_dir / "ledger.db"
        if args.ledger is None and not db.exists():
            return {r: {} for r in run_ids}
        async with open_ledger(_ledger_url(args), exclusive=False, read_only=True) as ledger:
            for r in run_ids:
                out[r] = {s.value: n for s, n in (await ledger.counts(r)).items()}
                # Late truth after the cash fallback left (issue 13): both references, for recovery.
                twice[r] = [
                    {
                        "payout": c.electronic.id,
                        "reference": c.electronic.provider_ref,
                        "fallback": c.fallback.id,
                        "fallback_reference": c.fallback.provider_ref,
                        "fallback_status": c.fallback.status.value,
                        "amount_vnd": c.electronic.amount,
                    }
                    for c in await ledger.paid_twice(run_id=r)
                ]
        return out

    ledger_counts = asyncio.run(counts())
    data = []
    lines = []
    for r in run_ids:
        rdir = run_dir(args.data_dir, r)
        m = read_manifest(rdir)
        approved = (rdir / "approval.json").exists()
        c = ledger_counts.get(r, {})
        state = "approved" if approved else "prepared"
        if c:
            state = "paid" if set(c) <= {"succeeded", "failed", "cancelled", "returned"} else "in_progress"
        data.append(
            {
                "run_id": r,
                "state": state,
                "payouts": m["counts"]["payouts"],
                "total_vnd": m["counts"]["total_vnd"],
                "ledger": c,
                "paid_twice": twice.get(r, []),
            }
        )
        lang = args.lang
        lines.append(
            phrase(
                "status_line",
                lang,
                run_id=r,
                state=phrase(f"state_{state}", lang),
                payouts=m["counts"]["payouts"],
                amount=format_vnd(m["counts"]["total_vnd"]),
            )
            + (
                ", ".join(f"{vocab.status(k, lang)}={v}" for k, v in sorted(c.items()))
                or phrase("nothing_in_ledger", lang)
            )
        )
        for case in twice.get(r, []):
            fallback_status = vocab.status(str(case["fallback_status"]), lang)
            lines.append(phrase("paid_twice_line", lang, **{**case, "fallback_status": fallback_status}))
    emit(args, {"runs": data}, "\n".join(lines) or phrase("no_runs", args.lang, dir=runs_root))
    return EXIT_OK


@_guard
def _cmd_report(args: argparse.Namespace) -> int:
    from asxh_pay.payroll.approval import keys_dir, read_manifest, run_dir
    from asxh_pay.payroll.console import report_text
    from asxh_pay.payroll.reports import write_reports

    rdir = run_dir(args.data_dir, args.run_id)
    manifest = read_manifest(rdir)
    out_dir = Path(args.out) if args.out else rdir / ("reports" if args.lang == "vi" else "reports-en")

    signer: str | None = args.sign_as

    async def go() -> tuple[Any, Any]:
        async with open_ledger(_ledger_url(args), exclusive=False, read_only=True) as ledger:
            files = await write_reports(ledger, args.run_id, out_dir, lang=args.lang, manifest=manifest)
            if signer is None:
                return files, None
            key_path = Path(args.key) if args.key else keys_dir(args.data_dir) / f"{signer}.pem"
            return files, await _anchor_run(ledger, args, args.run_id, signer, key_path, out_dir)

    files, anchor = asyncio.run(go())
    out = _outcomes(files)
    data = {
        "run_id": args.run_id,
        "xlsx": str(files.xlsx),
        "csv": [str(p) for p in files.csv],
        "details": [str(p) for p in files.details],
        "outcomes": dict(out),
    }
    text = report_text(args.run_id, files, args.lang)
    if signer is not None:
        data["anchor"] = _anchor_json(anchor, signer)
        text += "\n" + _anchor_text(args, anchor, signer)
    emit(args, data, text)
    return EXIT_OK


ANCHOR_FILE = "ledger-anchor.jsonl"


async def _demo_anchor(args: argparse.Namespace, run_id: str, operator: str, out_dir: Path) -> Any:
    from asxh_pay.payroll.approval import keys_dir

    async with open_ledger(_ledger_url(args), exclusive=False) as ledger:
        return await _anchor_run(
            ledger, args, run_id, operator, keys_dir(args.data_dir) / f"{operator}.pem", out_dir
        )


async def _anchor_run(
    ledger: Any, args: argparse.Namespace, run_id: str, operator: str, key_path: Path, out_dir: Path
) -> Any:
    """Sign the run's chain heads with ``operator``'s trusted key, next to the reports.

    Why with the reports: they leave the district for the province, so a copy of the
    anchor exists where nobody with access to this database can reach it.
    """
    from asxh_pay.ledger.anchor import write_anchor
    from asxh_pay.payroll.approval import operator_key

    key = operator_key(args.data_dir, operator, key_path)
    return await write_anchor(ledger, out_dir / ANCHOR_FILE, key, operator=operator, run_id=run_id)


def _anchor_json(anchor: Any, operator: str) -> dict[str, Any]:
    return {"path": str(anchor.path), "payouts": anchor.payouts, "root": anchor.root, "operator": operator}


def _anchor_text(args: argparse.Namespace, anchor: Any, operator: str) -> str:
    from asxh_pay.payroll.approval import trusted_key_path

    command = (
        f"asxh-pay ledger verify --ledger {_ledger_url(args)} "
        f"--anchor {anchor.path} --public-key {trusted_key_path(args.data_dir, operator)}"
    )
    return phrase(
        "anchored",
        getattr(args, "lang", "vi"),
        payouts=anchor.payouts,
        operator=operator,
        path=anchor.path,
        command=command,
    )


async def _reconciler(ledger: Any, args: argparse.Namespace, run_id: str | None, rails: Any = None) -> Any:
    """The bank rail three ways (ISO 20022 reports), the other rails against their books."""
    from asxh_pay.payroll.books import reconcile_rails

    own = rails is None
    rails = rails or _rails(args)
    try:
        return await reconcile_rails(ledger, rails, run_id)
    finally:
        if own:
            rails.close()


def _provider_report_files(files: list[str]) -> dict[str, str]:
    """The files that are wallet/postal settlement reports (by their header): path -> provider."""
    from asxh_pay.providers.reports import detect

    found: dict[str, str] = {}
    for f in files:
        with open(f, "rb") as fh:
            provider = detect(fh.read(4096))
        if provider is not None:
            found[f] = provider
    return found


def _group_reports(reports: dict[str, str]) -> dict[str, list[Any]]:
    """Every line of the given report files, by provider (a month is several daily files)."""
    from asxh_pay.errors import ProviderProtocolError
    from asxh_pay.providers.reports import parse_report

    out: dict[str, list[Any]] = {}
    for path, provider in reports.items():
        try:
            out.setdefault(provider, []).extend(parse_report(provider, Path(path).read_bytes()))
        except ProviderProtocolError as exc:
            raise ValidationError(
                Message("settlement_report_unreadable", path=path, detail=str(exc))
            ) from None
    return out


@_guard
def _cmd_reconcile(args: argparse.Namespace) -> int:
    files = [t for t in args.targets if Path(t).is_file()]
    runs = [t for t in args.targets if t not in files]
    if len(runs) > 1:
        raise ValidationError(Message("one_run_at_most", n=len(runs)))
    args.run_id = runs[0] if runs else None
    if args.run_id is not None and (args.data_dir / "runs").is_dir():
        from asxh_pay.payroll.approval import read_manifest, run_dir

        read_manifest(run_dir(args.data_dir, args.run_id))  # an unknown run: exit 2, with the known ones
    reports = _provider_report_files(files)
    files = [f for f in files if f not in reports]
    if files and reports:
        raise ValidationError(Message("separate_reconcile"))
    if files:
        from asxh_pay.cli.reconcile import reconcile_files_command

        args.files = files
        args.ledger = _ledger_url(args)
        if args.account is None:
            # The statements of this tool's bank rail are of its one debtor account.
            from asxh_pay.payroll.rails import DEBTOR_ACCOUNT

            bank = _settings(args).rails.get("treasury")
            args.account = [
                bank.debtor_account if bank is not None and bank.debtor_account else DEBTOR_ACCOUNT
            ]
        return reconcile_files_command(args)

    async def go() -> Any:
        rails = _rails(args)
        for name, entries in _group_reports(reports).items():
            rails.report_files[name] = entries
        try:
            async with open_ledger(_ledger_url(args), exclusive=False, read_only=True) as ledger:
                return await _reconciler(ledger, args, args.run_id, rails)
        finally:
            rails.close()

    from asxh_pay.payroll.console import Progress, recon_text

    progress = not args.json and sys.stderr.isatty()
    with Progress(progress, args.lang) as bars, bars.phase("progress_reconcile"):
        res = asyncio.run(go())
    lines = [recon_text(res, args.lang)]
    emit(
        args,
        {
            "ok": res.ok,
            "checked": res.checked,
            "matched": res.matched,
            "pending": res.pending,
            "breaks": [b.as_dict() for b in res.breaks],
            "provider_totals": res.provider_totals,
            "ledger_totals": res.ledger_totals,
            "not_reconciled": res.not_reconciled,
        },
        "\n".join(lines),
    )
    return EXIT_OK if res.ok and not res.pending else EXIT_ATTENTION


# --------------------------------------------------------------------------- registry (sandbox)


def _cmd_registry(args: argparse.Namespace) -> int:
    from asxh_pay.identity import normalize_cccd
    from asxh_pay.payroll.lists import import_lists
    from asxh_pay.payroll.registry import PersonRecord

    reg = _sandbox_registry(args)
    try:
        if args.registry_command == "mark-dead":
            cccd = normalize_cccd(args.cccd)
            on: date | None = args.on
            if not reg.mark_dead(cccd, on):
                emit(args, {"ok": False}, phrase("no_such_cccd", args.lang))
                return EXIT_USAGE
            emit(args, {"ok": True}, phrase("death_recorded", args.lang))
        elif args.registry_command == "stop":
            reg.stop_entitlement(normalize_cccd(args.cccd), args.programme.upper(), args.note or "")
            emit(args, {"ok": True}, phrase("entitlement_ended", args.lang, programme=args.programme.upper()))
        else:  # seed
            result = import_lists([Path(p) for p in args.lists])
            people: dict[str, PersonRecord] = {}
            for row in result.rows:
                b = row.request.beneficiary
                people[b.cccd] = PersonRecord(b.cccd, b.full_name, b.birth_date)
                r = row.request.recipient
                if r.cccd and r.full_name and r.cccd not in people:
                    people[r.cccd] = PersonRecord(r.cccd, r.full_name, None)
            n = reg.add(people.values())
            emit(args, {"ok": True, "people": n}, phrase("register_seeded", args.lang, n=n))
    finally:
        reg.close()
    return EXIT_OK


# --------------------------------------------------------------------------- demo


@_guard
def _cmd_demo(args: argparse.Namespace) -> int:
    from asxh_pay.payroll import demo
    from asxh_pay.payroll.approval import setup_office

    if args.beneficiaries < 10:
        print(f"{phrase('error', args.lang)}: {phrase('demo_min', args.lang)}", file=sys.stderr)
        return EXIT_USAGE
    started = time.perf_counter()
    args._phases, args._phase_at = [], started
    base = args.data_dir
    data_dir = demo.demo_dir(base)
    args.data_dir = data_dir
    args.ledger = None
    # The demo is the zero-setup path: its own embedded sandboxes and ledger, whatever is configured.
    from asxh_pay.config import embedded_default
    from asxh_pay.payroll import roster

    args._settings = embedded_default()
    roster.set_location(None)  # the demo's operators are enrolled in the demo's own folder
    period = args.period

    def say(message: str) -> None:
        if not args.json:
            print(message, flush=True)

    from asxh_pay import units

    unit = units.paying_unit(province_code=demo.PROVINCE)
    province = demo.make_province(args.beneficiaries, period=period, communes=args.communes)
    say(
        phrase(
            "demo_province",
            args.lang,
            dir=data_dir,
            unit=vocab.detail(unit.describe(), args.lang),
            n=len(province.communes),
        )
    )
    files = demo.write_lists(province, data_dir / "lists")
    say(
        phrase(
            "demo_lists",
            args.lang,
            files=len(files),
            n=province.beneficiaries,
            bad=province.bad_rows,
            dup=province.duplicates,
            conflicts=province.conflicts,
            old=province.old_coded_rows,
        )
    )
    registry = demo.seed_registry(province, data_dir / "registry.db")
    # Only the lists on disk matter from here: a province-scale month must not carry the
    # generator's rows (nor, below, the preparation's) through the paying run.
    die_after_prepare = list(province.die_after_prepare)
    del province
    _phase_done(args, "lists")
    maker, checker = "lap.nguyen", "hung.tran"
    # The office key enrolls both operators, as at a real setup (kept in the demo folder
    # here; an office keeps it away from the operators' machines).
    setup_office(data_dir, [maker, checker], office_key=data_dir / "keys" / "office.pem")
    say(phrase("demo_office", args.lang, maker=maker, checker=checker))
    from asxh_pay.payroll.rails import embedded_rails
    from asxh_pay.sandbox.vnpost import CashSimulation

    stack_cm: Any = contextlib.nullcontext(None)
    if args.served:
        from asxh_pay.payroll.served_stack import served_stack

        # SQLite: serve starts once the run has stopped writing (one writer at a time).
        stack_cm = served_stack(
            data_dir / "served",
            registry_db=data_dir / "registry.db",
            ledger_url=_ledger_url(args),
            start_serve=False,
        )
    with stack_cm as stack:
        if stack is None:
            # The month as it goes: 2% of cash recipients never come, one home visit in five fails,
            # and a few booked bank transfers come back from the beneficiary's bank a day later.
            cash = CashSimulation(auto=True, no_show_rate=0.02, delivery_failure_rate=0.2, seed=2026)
            rails = embedded_rails(data_dir, cash=cash, bank_return_rate=0.003)
            checks: Any = registry
        else:
            from asxh_pay.config import load_settings
            from asxh_pay.payroll.configured import rails_from_settings, registry_from_settings

            args._settings = load_settings(stack.config)
            rails = rails_from_settings(args._settings, data_dir)
            checks = registry_from_settings(args._settings, data_dir)
            say(phrase("demo_served", args.lang, config=stack.config, logs=stack.workdir / "logs"))
        return _demo_month(
            args,
            say,
            stack,
            die_after_prepare,
            unit,
            prep_registry=checks,
            registry=registry,
            rails=rails,
            started=started,
        )


def _demo_month(
    args: argparse.Namespace,
    say: Callable[[str], None],
    stack: Any,
    die_after_prepare: list[str],
    unit: Any,
    *,
    prep_registry: Any,
    registry: Any,
    rails: Any,
    started: float,
) -> int:
    """Prepare, approve, pay, reconcile and report the demo's month (embedded or served)."""
    from asxh_pay.payroll.approval import approve
    from asxh_pay.payroll.lists import ListDefaults
    from asxh_pay.payroll.prepare import prepare_run

    data_dir, period = args.data_dir, args.period
    maker, checker = "lap.nguyen", "hung.tran"
    try:
        prep = asyncio.run(
            prepare_run(
                [data_dir / "lists"],
                data_dir=data_dir,
                operator=maker,
                key_path=data_dir / "keys" / f"{maker}.pem",
                defaults=ListDefaults(period=period),
                unit=unit,
                registry=prep_registry,
                rails=rails,
                ledger_url=_ledger_url(args),
                lang=args.lang,
            )
        )
        say("  " + _prepared_text(prep, args.lang).replace("\n", "\n  ").rsplit("\n", 1)[0])
        run_id, manifest, prep_dir = prep.run_id, prep.manifest, prep.dir
        del prep
        _phase_done(args, "prepare")
        approve(data_dir, run_id, checker, data_dir / "keys" / f"{checker}.pem")
        _phase_done(args, "approve")
        say(phrase("demo_approved", args.lang, checker=checker, maker=maker))
        for cccd in die_after_prepare:
            registry.mark_dead(cccd, date(2026, 11, 2))
        say(phrase("demo_deaths", args.lang, n=len(die_after_prepare)))
        result, report_files, recon = run_interruptible(
            _run_and_report(
                args,
                run_id,
                resume=False,
                registry=prep_registry,
                rails=rails,
                progress=not args.json and sys.stderr.isatty(),
                reconcile=stack is None,
            )
        )
        if stack is not None:
            report_files, recon = _served_month_end(args, say, stack, run_id, rails)
            if not _outcomes(report_files)["pending"]:
                # The cash the run left open was settled by serve since: not an error any more.
                result.errors = [e for e in result.errors if "still open after" not in e]
        anchor = asyncio.run(_demo_anchor(args, run_id, checker, report_files.xlsx.parent))
        _phase_done(args, "anchor")
    finally:
        rails.close()
        registry.close()
        if prep_registry is not registry:
            prep_registry.close()
    elapsed = time.perf_counter() - started
    data = {
        "data_dir": str(data_dir),
        "run_id": run_id,
        "prepared": manifest["counts"],
        "paying_unit": manifest["paying_unit"],
        "communes": sorted(manifest["totals"]["commune"]),
        "programmes": sorted(manifest["totals"]["programme"]),
        "unit_mapping": manifest["units"]["rows_by_mapping"],
        "old_coded_files": manifest["units"]["old_coded_files"],
        "run": _run_json(result, report_files),
        "reconciliation": {"ok": recon.ok, "breaks": len(recon.breaks), "matched": recon.matched},
        "anchor": _anchor_json(anchor, checker),
        "phases": args._phases,
        "elapsed_s": round(elapsed, 2),
    }
    text = "\n".join(
        [
            _run_text(result, report_files, args.lang),
            "  "
            + phrase(
                "recon_demo",
                args.lang,
                verdict=phrase("recon_ok_short" if recon.ok else "recon_breaks_short", args.lang),
                matched=recon.matched,
                breaks=len(recon.breaks),
            ),
            f"  {phrase('monthly_report', args.lang)}: {report_files.xlsx}",
            _anchor_text(args, anchor, checker),
            phrase(
                "demo_rejected", args.lang, rejected=prep_dir / "rejected.csv", held=prep_dir / "held.csv"
            ),
            phrase("demo_done", args.lang, seconds=f"{elapsed:.1f}", dir=data_dir),
        ]
    )
    emit(args, data, text)
    out = _outcomes(report_files)
    return EXIT_OK if recon.ok and not out["pending"] and not result.errors else EXIT_ATTENTION


def _served_month_end(
    args: argparse.Namespace, say: Callable[[str], None], stack: Any, run_id: str, rails: Any
) -> tuple[Any, Any]:
    """The served demo's month end: serve takes the callbacks while the post office's month
    passes, then the reports are written and reconciled against the providers' reports."""
    from asxh_pay.payroll.approval import read_manifest, run_dir
    from asxh_pay.payroll.reports import write_reports

    stack.start_serve()
    days = stack.pass_cash_window()
    say(phrase("demo_serve_month", args.lang, url=stack.urls["serve"], days=days))
    final = {"succeeded", "failed", "cancelled", "returned"}

    async def finish() -> tuple[Any, Any]:
        deadline = time.monotonic() + 300
        while True:
            async with open_ledger(_ledger_url(args), exclusive=False, read_only=True) as ledger:
                still = {s.value for s, n in (await ledger.counts(run_id)).items() if n} - final
            if not still or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        manifest = read_manifest(run_dir(args.data_dir, run_id))
        async with open_ledger(_ledger_url(args), exclusive=False) as ledger:
            files = await write_reports(
                ledger, run_id, run_dir(args.data_dir, run_id) / "reports", lang=args.lang, manifest=manifest
            )
            return files, await _reconciler(ledger, args, run_id, rails)

    return asyncio.run(finish())


# --------------------------------------------------------------------------- registration


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the payroll subcommands to ``asxh-pay``."""
    d = sub.add_parser(
        "demo",
        help="run a whole synthetic month for a province (20,000 beneficiaries) in one go",
        description="Make a synthetic province paying six communes centrally (lists of NCC, BTXH and the "
        "social pension, one still in pre-2025 codes; population register; two operators), then prepare, "
        "approve, pay, reconcile and report the month on the built-in sandboxes. Each demo uses a "
        "fresh folder under <data-dir>/demo/.",
    )
    _common(d)
    d.add_argument("-n", "--beneficiaries", type=int, default=20_000, help="how many (default: %(default)s)")
    d.add_argument(
        "--period", type=period_arg, default="2026-11", help="pay period YYYY-MM (default: %(default)s)"
    )
    d.add_argument(
        "--communes",
        type=int,
        default=None,
        help="how many of the province's communes pay (default: 6; 0: all, a province-scale run)",
    )
    d.add_argument("--concurrency", type=positive_int, default=128, help=argparse.SUPPRESS)
    d.add_argument(
        "--served",
        action="store_true",
        help="run every sandbox, the population register and 'asxh-pay serve' as separate processes "
        "over HTTP on 127.0.0.1, configured by a generated asxh-pay.toml (started and stopped by the demo)",
    )
    d.set_defaults(func=_cmd_demo)

    k = sub.add_parser("keys", help="operator signing keys (for preparing and approving runs)")
    ksub = k.add_subparsers(dest="keys_command", required=True)
    kg = ksub.add_parser(
        "generate",
        help="create an operator's key pair",
        description="Create an Ed25519 key pair for an operator: the private key signs the runs "
        "they prepare or approve; the public key goes to <data-dir>/keys/trusted.",
    )
    _common(kg)
    kg.add_argument("--operator", required=True, help="the operator's short name, e.g. lan.nguyen")
    kg.add_argument("--out", type=Path, default=None, help="where to write the private key")
    kg.add_argument(
        "--force", action="store_true", help="replace an existing key file (never a key the roster trusts)"
    )
    kg.set_defaults(func=_guard(_cmd_keys_generate))
    ki = ksub.add_parser(
        "init-office",
        help="once, at setup: create the office key and the operator roster",
        description="Create the office's Ed25519 key, which signs enrolments when no operator can, "
        "and start the signed operator roster (<data-dir>/keys/roster.jsonl).",
    )
    _common(ki)
    ki.add_argument("--out", type=Path, required=True, help="where to write the office's private key")
    ki.set_defaults(func=_guard(_cmd_keys_init_office))
    for name, text in (
        ("enroll", "trust an operator's public key (signed by another operator or the office)"),
        ("revoke", "stop trusting an operator (signed by another operator or the office)"),
    ):
        kc = ksub.add_parser(
            name, help=text, description=text.capitalize() + ". Appended to the signed roster."
        )
        _common(kc)
        kc.add_argument("--operator", required=True, help="whose key")
        if name == "enroll":
            kc.add_argument(
                "--public-key", required=True, help="the operator's public key (from keys generate)"
            )
            kc.add_argument("--replace", action="store_true", help="replace the enrolled operator's key")
        kc.add_argument("--signed-by", required=True, help="another enrolled operator, or 'office'")
        kc.add_argument(
            "--key", default=None, help="the signer's private key (default: <data-dir>/keys/SIGNER.pem)"
        )
        kc.set_defaults(func=_guard(_cmd_keys_change))
    kr = ksub.add_parser("roster", help="verify and show the operator roster")
    _common(kr)
    kr.set_defaults(func=_guard(_cmd_keys_roster))

    p = sub.add_parser(
        "prepare",
        help="read the commune lists, check them and freeze a run for approval",
        description="Read the lists (CSV or Excel), reject bad rows, merge duplicates, check every person "
        "against the population register and every account with its provider, then freeze the run "
        "and sign it as the preparer. Nothing is paid. Reports of rejected and held rows are written "
        "to the run folder.",
    )
    _common(p)
    p.add_argument("lists", nargs="+", help="list files (.csv, .xlsx) or folders of them")
    p.add_argument("--period", required=True, help="pay period YYYY-MM, e.g. 2026-11")
    p.add_argument("--operator", required=True, help="who prepares the run (signs it)")
    p.add_argument(
        "--key", default=None, help="the operator's private key (default: <data-dir>/keys/OPERATOR.pem)"
    )
    p.add_argument(
        "--programme",
        default=None,
        help="NCC, BTXH or HTXH (or one of programmes.json) when the lists have none",
    )
    p.add_argument(
        "--commune", default=None, help="the paying commune's 2025 code (5 digits); rows without one are its"
    )
    p.add_argument(
        "--province",
        default=None,
        help="the 2025 province code (2 digits): a province paying centrally for its communes "
        "(default: the unit the lists name)",
    )
    p.add_argument("--district", default=None, help=argparse.SUPPRESS)  # refused with an explanation
    p.add_argument(
        "--codes",
        choices=("auto", "2025", "pre2025"),
        default="auto",
        help="unit codes of the lists: auto (default: a district column or an old-only code marks a "
        "list as pre-2025), 2025, or pre2025 (map every list's old codes)",
    )
    p.add_argument("--run-id", default=None, help=argparse.SUPPRESS)
    p.add_argument("--encoding", default=None, help="force the CSV encoding (utf-8, cp1258...)")
    p.add_argument(
        "--no-account-check", action="store_true", help="skip the account/name inquiry with the providers"
    )
    p.set_defaults(func=_cmd_prepare)

    a = sub.add_parser(
        "approve",
        help="approve a prepared run (a different operator than the preparer)",
        description="Check the frozen run and its preparer's signature, then sign it as approver.",
    )
    _common(a)
    a.add_argument("run_id", help="the run to approve")
    a.add_argument("--operator", required=True, help="who approves (must not be the preparer)")
    a.add_argument(
        "--key", default=None, help="the approver's private key (default: <data-dir>/keys/OPERATOR.pem)"
    )
    a.set_defaults(func=_cmd_approve)

    r = sub.add_parser(
        "run",
        help="pay an approved run (safe to stop; continue with --resume)",
        description="Pay exactly the approved payouts. Each beneficiary is paid at most once, whatever "
        "happens: "
        "after a crash or Ctrl-C, run again with --resume. Failed electronic payouts are paid in cash "
        "through the postal service.",
    )
    _common(r)
    r.add_argument("run_id", help="the approved run")
    r.add_argument("--resume", action="store_true", help="continue a run that was interrupted")
    r.add_argument(
        "--concurrency", type=positive_int, default=128, help="payouts in flight (default: %(default)s)"
    )
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.set_defaults(func=_cmd_run)

    s = sub.add_parser("status", help="show prepared, approved and paid runs")
    _common(s)
    s.add_argument("run_id", nargs="?", default=None, help="one run (default: all)")
    s.set_defaults(func=_cmd_status)

    rp = sub.add_parser(
        "report",
        help="write the commune/province reports of a run (CSV and Excel)",
        description="Recompute every figure from the ledger and write the reports, including the "
        "monthly report for the province and the postal service's cash list.",
    )
    _common(rp)
    rp.add_argument("run_id")
    rp.add_argument("--out", default=None, help="folder for the reports (default: the run's folder)")
    rp.add_argument(
        "--sign-as",
        default=None,
        metavar="OPERATOR",
        help=f"also sign the run's ledger history into {ANCHOR_FILE} with this operator's key "
        "(checked later by 'asxh-pay ledger verify --anchor')",
    )
    rp.add_argument(
        "--key", default=None, help="the signer's private key (default: <data-dir>/keys/OPERATOR.pem)"
    )
    rp.set_defaults(func=_cmd_report)

    rc = sub.add_parser(
        "reconcile",
        help="compare the ledger with what providers and banks say was paid",
        description=(
            "With a run id only: compare the run's payouts with the providers' settlement reports "
            "(downloaded from each rail, or given as files: MoMo and VNPost CSV, Viettel Money JSON). "
            "With ISO 20022 files (pain.002, camt.053/camt.054, provider status lists as JSON/CSV): "
            "three-way reconciliation of the ledger, the status reports and the bank statements. "
            "Exit code 1 when a break needs a person."
        ),
    )
    _common(rc)
    rc.add_argument(
        "targets",
        nargs="*",
        metavar="RUN_ID|FILE",
        help="a run id (default: everything) and/or report files to reconcile against",
    )
    from asxh_pay.cli.reconcile import add_file_options

    add_file_options(rc)
    rc.set_defaults(func=_cmd_reconcile)

    g = sub.add_parser("registry", help="the sandbox population register (deaths, entitlements)")
    gsub = g.add_subparsers(dest="registry_command", required=True)
    gd = gsub.add_parser("mark-dead", help="record a death (stops that person's payouts)")
    _common(gd)
    gd.add_argument("cccd")
    gd.add_argument("--on", type=date_arg, default=None, help="date of death YYYY-MM-DD (default: today)")
    gd.set_defaults(func=_cmd_registry)
    gs = gsub.add_parser("stop", help="end a person's entitlement to a programme")
    _common(gs)
    gs.add_argument("cccd")
    gs.add_argument("--programme", required=True)
    gs.add_argument("--note", default="")
    gs.set_defaults(func=_cmd_registry)
    ge = gsub.add_parser("seed", help="add the people named in lists to the sandbox register")
    _common(ge)
    ge.add_argument("lists", nargs="+")
    ge.set_defaults(func=_cmd_registry)
