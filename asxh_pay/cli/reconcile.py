"""``asxh-pay reconcile [RUN_ID] FILE...``: the command line of the three-way reconciliation.

The CLI's side of :mod:`asxh_pay.reconcile`: options, exit codes and output; the
reconciliation itself never imports the CLI.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from asxh_pay.errors import Message, ValidationError
from asxh_pay.iso20022 import Iso20022Error
from asxh_pay.reconcile import ReconciliationReport, load_files, reconcile

__all__ = ["add_file_options", "reconcile_files_command"]


def add_file_options(p: argparse.ArgumentParser) -> None:
    """Options of ``asxh-pay reconcile`` when it is given report files (see payroll.commands)."""
    p.add_argument("--provider", help="only payouts of this provider are expected on the statements")
    p.add_argument(
        "--apply",
        action="store_true",
        help="record what the bank proves (late returns, lagging statuses) in the ledger",
    )
    p.add_argument(
        "--account",
        action="append",
        default=None,
        metavar="ACCOUNT",
        help="the bank rail's debtor account; bookings on other accounts are breaks, and nothing "
        "from the statements is applied without it (may be repeated)",
    )
    p.add_argument(
        "--return-code",
        action="append",
        default=[],
        metavar="CODE",
        help="a proprietary bank transaction code (BkTxCd/Prtry/Cd) your bank uses for returned "
        "payments, besides RtrInf and the ISO RRTN sub-family (may be repeated)",
    )
    p.add_argument(
        "--out",
        action="append",
        default=[],
        metavar="PATH",
        help="write the report (.csv, .xlsx or .json); may be repeated",
    )
    p.add_argument("--breaks-only", action="store_true", help="leave matched lines out of the report")


def reconcile_files_command(args: argparse.Namespace) -> int:
    """``asxh-pay reconcile [RUN_ID] FILE...``: three-way against report files; exit 1 on breaks."""
    from asxh_pay.cli.output import EXIT_ATTENTION, EXIT_OK, emit
    from asxh_pay.ledger import open_ledger

    for out in args.out:
        if Path(out).suffix.lower() not in (".csv", ".xlsx", ".json"):
            raise ValidationError(Message("out_suffix", out=out), field="out")
    try:
        entries, statuses, names = load_files(args.files, return_codes=args.return_code)
    except (OSError, Iso20022Error) as exc:
        raise ValidationError(Message("report_files_unreadable", detail=str(exc)), field="files") from None

    async def run() -> ReconciliationReport:
        async with open_ledger(args.ledger, exclusive=args.apply, read_only=not args.apply) as ledger:
            return await reconcile(
                ledger,
                entries=entries,
                statuses=statuses,
                files=names,
                provider=args.provider,
                run_id=args.run_id,
                apply=args.apply,
                include_matched=not args.breaks_only,
                debtor_accounts=args.account,
            )

    report = asyncio.run(run())
    for out in args.out:
        report.write(out)
    summary = report.summary()
    from asxh_pay import vocab
    from asxh_pay.vocab import phrase

    lang = getattr(args, "lang", "vi")
    text_lines = [
        phrase(
            "recon_files",
            lang,
            payouts=report.payouts_checked,
            files=len(names),
            entries=report.entries_read,
            statuses=report.statuses_read,
        ),
        *(f"  {vocab.term(vocab.BREAKS, k, lang)} ({k}): {v}" for k, v in summary["counts"].items()),
        phrase("recon_unexplained", lang, n=summary["unexplained"]),
    ]
    for b in report.unexplained[:20]:
        text_lines.append(f"  - {b.category.value} {b.key or '-'} {b.detail} [{b.files}]")
    emit(args, summary, "\n".join(text_lines))
    return EXIT_ATTENTION if report.unexplained else EXIT_OK
