"""What ``asxh-pay`` prints for a person: summaries and progress bars, Vietnamese by default.

Why a module of its own: the words are the workbook's (:mod:`asxh_pay.vocab`), so an
official reads "Chuyển chi tiền mặt" on screen and in the report alike; the command
functions only choose what to show. ``--json`` output is not here: it stays in stable
English keys for scripts.

Progress bars (rich) are drawn on standard error, only on a terminal and never with
``--json``: preparing, paying, the month close, reconciliation and reports each get one.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from asxh_pay import vocab
from asxh_pay.masking import mask_text
from asxh_pay.money import format_vnd
from asxh_pay.payroll.reports import ACCOUNT_TARGET, TARGET_PERCENT
from asxh_pay.vocab import label, phrase

__all__ = [
    "Progress",
    "approved_text",
    "prepared_text",
    "recon_text",
    "report_text",
    "run_text",
    "top_reasons",
]

# Width of the label column: the longest Vietnamese label of a summary fits.
_W = 28


def _line(text: str, value: Any, width: int = _W) -> str:
    return f"  {text:<{width}} {value:>9}"


def top_reasons(by_code: Mapping[str, int], lang: str, n: int = 3) -> list[str]:
    """``"Số CCCD không đủ 12 chữ số (cccd_length): 4"``, most frequent first."""
    ranked = sorted(by_code.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [f"{vocab.reason(code, lang)} ({code}): {count}" for code, count in ranked]


def _reasons(
    title: str,
    items: Sequence[tuple[str, str]],
    lang: str,
    n: int = 5,
    *,
    counts: Mapping[str, int] | None = None,
) -> list[str]:
    """The most frequent codes with their count, in words, and one example of the checker's detail
    (a :class:`~asxh_pay.vocab.Detail`, rendered in ``lang``).

    ``counts``: the full counts by code (the manifest's) when ``items`` holds only the first
    rows (a big list keeps the first 1,000 in memory)."""
    if not items:
        return []
    counts = Counter(counts) if counts else Counter(code for code, _ in items)
    example: dict[str, str] = {}
    for code, text in items:
        example.setdefault(code, text)
    lines = [f"  {phrase(title, lang)}:"]
    for code, count in counts.most_common(n):
        lines.append(
            f"    {count:>6}  {vocab.reason(code, lang)} ({code}): "
            f"{mask_text(vocab.detail(example.get(code, code), lang))[:140]}"
        )
    return lines


def prepared_text(prep: Any, lang: str) -> str:
    """The summary after ``prepare``: the paying unit, the counts, the methods, the unit mapping of
    lists in pre-2025 codes and the top reasons for rejected and held rows."""
    m = prep.manifest
    c = m["counts"]
    unit = m.get("paying_unit") or {}
    where = (
        phrase("paying_centrally", lang)
        if unit.get("level") == "province"
        else (f", {unit['province_name']}" if unit.get("province_name") else "")
    )
    if (m.get("units") or {}).get("paying_unit_inferred"):
        where += phrase("from_lists", lang)
    lines = [phrase("prepared_head", lang, run_id=prep.run_id, dir=prep.dir)]
    if unit:
        lines.append(
            "  "
            + phrase(
                "paying_unit_line", lang, name=unit.get("name", "-"), code=unit.get("code", "-"), where=where
            )
        )
    lines += [
        _line(phrase("rows_read", lang), c["rows_read"]),
        _line(phrase("rows_rejected", lang), c["rows_rejected"]),
        _line(phrase("duplicates_merged", lang), c["duplicates_merged"]),
        _line(phrase("held", lang), c["held"]),
        _line(phrase("warnings", lang), c["warnings"]),
        _line(phrase("payouts", lang), c["payouts"]),
        f"  {phrase('total', lang):<{_W}} {format_vnd(c['total_vnd'])}",
    ]
    for f in m.get("inputs", []):  # rows read per file: a list cut short shows here
        lines.append("    " + phrase("rows_read_file", lang, file=f["file"], rows=f["rows"]))
    for kind, v in m["totals"]["method"].items():
        lines.append(
            f"    {vocab.method(kind, lang):<{_W - 2}} {v['count']:>9}  {format_vnd(v['amount']):>22}"
        )
    placement = getattr(prep, "placement", None)
    if placement is not None and placement.mappings:
        by: Counter[str] = Counter()
        for mp in placement.mappings:
            by[mp.status] += mp.rows
        counts = ", ".join(
            phrase("rows_status", lang, n=n, status=vocab.term(vocab.MAPPINGS, k, lang))
            for k, n in sorted(by.items())
        )
        files = ", ".join(placement.old_coded_files)
        lines.append(
            "  " + phrase("old_coded", lang, files=files, counts=counts, path=prep.dir / "unit-mapping.csv")
        )
        for mp in placement.mappings[:8]:
            status = vocab.term(vocab.MAPPINGS, mp.status, lang)
            lines.append(
                "    "
                + phrase(
                    "mapping_line",
                    lang,
                    listed=mp.listed,
                    status=status,
                    n=mp.rows,
                    code=mp.new_code,
                    name=mp.new_name,
                )
            )
    imported = getattr(prep, "imported", None)
    if imported is not None:
        rejected = [(r.code, r.reason) for r in imported.rejected]
        held = [(h.code, h.reason) for h in getattr(prep, "held", [])]
        lines += _reasons("rejected_top", rejected, lang, counts=m.get("rejected_by_code"))
        lines += _reasons("held_top", held, lang, counts=m.get("held_by_code"))
    else:
        for title, key in (("rejected_top", "rejected_by_code"), ("held_top", "held_by_code")):
            reasons = top_reasons(m.get(key) or {}, lang)
            if reasons:
                lines.append(f"  {phrase(title, lang)}:")
                lines.extend(f"    {r}" for r in reasons)
    lines.append(phrase("next_approve", lang, run_id=prep.run_id))
    return "\n".join(lines)


def approved_text(run_id: str, block: Mapping[str, Any], lang: str) -> str:
    return "\n".join(
        [
            phrase(
                "approved",
                lang,
                run_id=run_id,
                operator=block["operator"],
                payouts=block["payouts"],
                amount=format_vnd(block["total_vnd"]),
            ),
            phrase("next_run", lang, run_id=run_id),
        ]
    )


def run_text(result: Any, files: Any, lang: str) -> str:
    """The summary after a run: the outcomes in the workbook's words, the account share and its verdict."""
    ents = files.figures.entitlements
    out = Counter(e.outcome for e in ents)
    acc = sum(1 for e in ents if e.paid_into_account)
    paid_amount = sum(e.paid_amount for e in ents)
    share = 100.0 * acc / max(1, len(ents))
    head = phrase("run_head", lang, run_id=result.run_id, n=len(ents), seconds=f"{result.elapsed_s:.1f}")
    if result.resumed:
        head += " " + phrase("resumed", lang, n=result.resumed)
    met = vocab.target_met(share >= ACCOUNT_TARGET * 100, lang)
    lines = [
        head,
        *(
            _line(vocab.outcome(k, lang), out[k])
            for k in ("paid", "paid_fallback", "failed", "stopped", "pending")
        ),
        f"  {phrase('amount_paid', lang):<{_W}} {format_vnd(paid_amount):>22}",
        f"  {label('paid_account', lang):<{_W}} "
        + phrase("account_share_line", lang, n=acc, share=f"{share:.1f}", target=TARGET_PERCENT, met=met),
        f"  {phrase('reports_in', lang)}: {files.directory}",
    ]
    if result.errors:
        lines.append("  " + phrase("errors", lang, n=len(result.errors), first=result.errors[0]))
    return "\n".join(lines)


def report_text(run_id: str, files: Any, lang: str) -> str:
    lines = [
        phrase("reports_for", lang, run_id=run_id),
        f"  {phrase('monthly_report', lang)}: {files.xlsx}",
        f"  {phrase('detail_lists', lang)}:",
        *(f"    {p}" for p in getattr(files, "details", [])),
        "  CSV:",
        *(f"    {p}" for p in files.csv),
    ]
    return "\n".join(lines)


def recon_text(res: Any, lang: str, limit: int = 20) -> str:
    verdict = phrase("recon_ok" if res.ok else "recon_breaks", lang)
    counts = phrase(
        "recon_counts",
        lang,
        checked=res.checked,
        matched=res.matched,
        pending=res.pending,
        breaks=len(res.breaks),
    )
    lines = [f"{verdict}: {counts}"]
    for kind, n in sorted(res.by_kind().items()):
        lines.append(f"  {vocab.term(vocab.BREAKS, kind, lang)} ({kind}): {n}")
    if getattr(res, "not_reconciled", None):
        lines.append("  " + phrase("recon_not_reconciled", lang, names=", ".join(res.not_reconciled)))
    for b in res.breaks[:limit]:
        lines.append(
            f"    {vocab.term(vocab.BREAKS, b.kind, lang)} {b.payout_id or '-'} @ {b.provider}: "
            f"{label('status', lang)} {vocab.status(b.ledger_status or '-', lang)} {b.ledger_amount}, "
            f"{b.provider_state} {b.provider_amount}"
        )
    return "\n".join(lines)


class Progress:
    """Rich progress bars for the phases of a command; does nothing when ``enabled`` is false.

    ``with Progress(on, lang) as bars: with bars.phase("progress_prepare", total=6) as step: ...``;
    a phase without a total shows a moving bar and the time spent, which is still better than
    a silent terminal for a phase of a minute.
    """

    def __init__(self, enabled: bool, lang: str = "vi") -> None:
        self.enabled = enabled
        self.lang = lang
        self._p: Any = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress
            from rich.table import Column

            # The bar and the counts keep their width; the states beside them give way on a
            # narrow terminal (cut with an ellipsis, never pushing the bar off the line).
            self._p = RichProgress(
                TextColumn("{task.description}", table_column=Column(width=20, no_wrap=True)),
                BarColumn(bar_width=24),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn(
                    "{task.fields[states]}",
                    table_column=Column(max_width=28, no_wrap=True, overflow="ellipsis"),
                ),
                console=Console(stderr=True),
                transient=False,
            )

    def __enter__(self) -> Progress:
        if self._p is not None:
            self._p.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._p is not None:
            self._p.stop()

    def start(self, key: str, total: int | None = None) -> Phase:
        """A new bar for phase ``key`` (a :data:`asxh_pay.vocab.PHRASES` key); finish it with ``done()``."""
        task = None
        if self._p is not None:
            task = self._p.add_task(phrase(key, self.lang), total=total, states="")
        return Phase(self._p, task, total, self.lang)

    @contextmanager
    def phase(self, key: str, total: int | None = None) -> Iterator[Phase]:
        bar = self.start(key, total)
        try:
            yield bar
        finally:
            bar.done()


class Phase:
    """One bar: ``advance()``, ``update(done, total)`` or ``tally(counter, total)`` (throttled)."""

    def __init__(self, progress: Any, task: Any, total: int | None, lang: str = "vi") -> None:
        self._p = progress
        self.lang = lang
        self._task = task
        self.total = total
        self.completed = 0
        self._last = 0.0
        self._finished = False

    def advance(self, n: int = 1) -> None:
        self.update(self.completed + n)

    def update(self, completed: int, total: int | None = None, states: str = "") -> None:
        self.completed = completed
        if total is not None:
            self.total = total
        if self._p is None:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and (self.total is None or completed < self.total):
            return
        self._last = now
        self._p.update(self._task, completed=completed, total=self.total, states=states)

    def tally(self, counts: Counter[str], total: int) -> None:
        """For the paying run's ``on_update``: the bar moves with the payouts done, states beside it."""
        states = " ".join(f"{self._state(k)}={v}" for k, v in sorted(counts.items()))
        self.update(sum(counts.values()), total, states)

    def _state(self, key: str) -> str:
        """``succeeded(cash)`` -> ``Thành công (tiền mặt)``: the ledger status in words, the rail after it."""
        base, _, rail = key.partition("(")
        table = next(
            (t for t in (vocab.STATUSES, vocab.OUTCOMES, vocab.PHRASES) if base in t), vocab.STATUSES
        )
        text = vocab.term(table, base, self.lang)
        rail = rail.rstrip(")")
        return f"{text} ({vocab.term(vocab.RAILS, rail, self.lang)})" if rail else text

    def done(self) -> None:
        if self._p is None or self._finished:
            return
        self._finished = True
        total = self.total if self.total is not None else max(1, self.completed)
        self._p.update(self._task, completed=total, total=total)
