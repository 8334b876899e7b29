"""Reports per commune and province, computed from the ledger, as documents an official prints.

Why from the ledger: it is the source of truth (every status change is recorded there
before anything else happens); a report built from what a run *remembers* would be wrong
after a crash and resume. Every figure here is recomputed by reading the ledger's payouts
for the run.

Definitions (one beneficiary = one root payout of the run; a cash fallback is a child
payout of the same entitlement):

* ``paid``: the root payout succeeded; ``paid in cash (fallback)``: the root failed or was
  returned and its fallback succeeded; ``failed``: nothing succeeded and nothing is pending;
  ``stopped``: cancelled before sending (deceased, entitlement ended); ``pending``: still
  in flight (run ``asxh-pay run --resume``).
* account share: beneficiaries paid into an account (bank, wallet, postal account) divided
  by all beneficiaries of the run; the provincial target is at least 30%.

What is written, and for whom (:data:`OUTPUTS` declares which identifiers each may hold):

* the monthly report, one XLSX workbook for the province (``bao-cao-thang-PERIOD.xlsx``):
  a cover page with the national heading, the paying unit and the agencies, then summary
  sheets (by commune and programme, by method, by provider, account share with a chart
  against the 30% target). It holds counts and amounts only, no personal data, and prints
  on a few landscape pages;
* the detail lists, each its own file, never inside the monthly report: the payouts that
  failed (identifiers masked, for the communes to follow up) and the cash list, the one file
  with full CCCDs and names, meant only for the postal service that pays in cash;
* every table also as CSV (UTF-8 with BOM, so Excel shows Vietnamese correctly).

Words come from :mod:`asxh_pay.vocab` (the console uses the same); Vietnamese by default,
English with ``lang="en"``. Every cell goes through :mod:`asxh_pay.cells` (no formula
injection from a name, an address or a list file name).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from copy import copy
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from sys import intern
from typing import Any

from asxh_pay import units, vocab
from asxh_pay.cells import write_csv_file, xlsx_text, xlsx_value
from asxh_pay.ledger.base import Ledger
from asxh_pay.masking import mask_cccd, mask_name, mask_text
from asxh_pay.models import CASH_KINDS, ELECTRONIC_KINDS, Payout
from asxh_pay.programmes import Programmes, load_programmes, programmes_of_run
from asxh_pay.status import FailureReason, PayoutStatus
from asxh_pay.vocab import label

ACCOUNT_TARGET = 0.30
TARGET_PERCENT = int(ACCOUNT_TARGET * 100)

# Kept for callers of the earlier API: the same pairs as the shared vocabulary.
LABELS = vocab.LABELS
METHOD_LABELS = vocab.METHODS
STATUS_LABELS = vocab.STATUSES

# --------------------------------------------------------------------------- who may read what

CCCD, PHONE, ACCOUNT, NAME = "cccd", "phone", "account", "name"
IDENTIFIERS = frozenset({CCCD, PHONE, ACCOUNT, NAME})

OUTPUTS: dict[str, frozenset[str]] = {
    # The run folder, kept at the paying unit.
    "runs/*/payouts.jsonl": IDENTIFIERS,  # the frozen run itself: what is paid, to whom
    "runs/*/manifest.json": frozenset(),
    "runs/*/approval.json": frozenset(),
    "runs/*/rejected.csv": frozenset(),  # back to the commune: row numbers, not the data
    "runs/*/held.csv": frozenset(),
    "runs/*/warnings.csv": frozenset(),
    "runs/*/unit-mapping.csv": frozenset(),  # old unit codes and what they became
    # The postal service's own file: the only report with full identifiers.
    "runs/*/reports*/danh-sach-tien-mat-buu-dien*": frozenset({CCCD, NAME}),
    "runs/*/reports*/cash-list-postal*": frozenset({CCCD, NAME}),
    # Everything else in the reports goes to the province or is published.
    "runs/*/reports*/*": frozenset(),
    # The paying unit's own stores (never sent anywhere).
    "ledger.db*": IDENTIFIERS,
    "registry.db*": IDENTIFIERS,
    "tmp/*": IDENTIFIERS,  # prepare's working copy of the lists, removed when it ends
    "keys/*": frozenset(),
    "keys/trusted/*": frozenset(),
    # The bank rail: the credit transfers sent to the bank and its answers (the bank needs
    # the account and the holder's name; the CCCD never leaves in them).
    "treasury/batches/*": frozenset({ACCOUNT, NAME}),
    "treasury/inbox/*": frozenset({ACCOUNT, NAME}),
    "treasury/*": frozenset(),
    # The embedded providers' books and keys (what each provider itself holds).
    "sandbox/*": IDENTIFIERS,
    # demo --served: the generated asxh-pay.toml (no secret), the served processes' logs
    # (masked), the served bank's client key.
    "served/*": frozenset(),
}
"""Every file the payroll writes, by path under the data folder (fnmatch patterns, first
match wins), and the personal identifiers it may carry in full. A test runs a month on a
small list and fails for any file not declared here or holding more than it may."""


def allowed_identifiers(relative_path: str) -> frozenset[str] | None:
    """What a written file may carry (None: the file is not declared, which is a bug)."""
    from fnmatch import fnmatch

    for pattern, kinds in OUTPUTS.items():
        if fnmatch(relative_path, pattern):
            return kinds
    return None


# --------------------------------------------------------------------------- names beside codes

UnitNames = Callable[[str], str | None]


def _no_names(code: str) -> str | None:
    return None


def unit_names(code: str) -> str | None:
    """Today's (2025) commune or province name of a code, from :mod:`asxh_pay.units`.

    A province the data names bare ("Tuyên Quang") gets its kind, as a heading writes it
    ("Tỉnh Tuyên Quang"); cities keep theirs ("Thành phố Hà Nội").
    """
    name = units.unit_name(code)
    if name and units.province(code) is not None and not name.startswith(("Tỉnh ", "Thành phố ")):
        name = "Tỉnh " + name
    return name or None


def with_name(code: str, names: UnitNames) -> str:
    """``"00004 - Phường Ba Đình"``: the code an office types, the name an official reads."""
    name = names(code) if code and code != "-" else None
    return f"{code} - {name}" if name else code


# --------------------------------------------------------------------------- collecting


@dataclass(slots=True)
class PayoutFacts:
    """What the reports need of one payout: a tenth of a :class:`Payout`'s memory.

    Why: a province paying centrally reports on 300,000 entitlements and their fallbacks
    in one go; as full payouts (request, beneficiary, destination, each a model) that is
    over a gigabyte. The person's name, the recipient and the cash address are kept only
    where a detail list shows them (cash payouts, payouts that did not succeed); the codes
    shared by thousands of payouts are interned.
    """

    id: str
    parent_id: str | None
    status: PayoutStatus
    amount: int
    provider: str | None
    provider_ref: str | None
    failure_reason: FailureReason | None
    failure_detail: str | None
    programme: str
    province_code: str | None
    commune_code: str | None
    kind: str
    cccd: str
    full_name: str = ""
    recipient_name: str = ""
    payment_point: str = ""
    address: str = ""
    source: str = ""

    @classmethod
    def of(cls, p: Payout) -> PayoutFacts:
        req = p.request
        dest = req.destination
        b = req.beneficiary
        kind = intern(str(dest.kind))
        shown = kind in CASH_KINDS or p.status is not PayoutStatus.SUCCEEDED
        return cls(
            p.id,
            p.parent_id,
            p.status,
            p.amount,
            intern(p.provider) if p.provider else None,
            p.provider_ref,
            p.failure_reason,
            p.failure_detail if p.status is not PayoutStatus.SUCCEEDED else None,
            intern(req.programme),
            intern(b.province_code) if b.province_code else None,
            intern(b.commune_code) if b.commune_code else None,
            kind,
            b.cccd,
            b.full_name if shown else "",
            req.recipient_name if shown else "",
            str(getattr(dest, "payment_point", "") or "") if shown else "",
            str(getattr(dest, "address", "") or "") if shown else "",
            intern(req.source) if req.source else "",
        )


@dataclass(slots=True)
class Entitlement:
    root: PayoutFacts
    fallback: PayoutFacts | None = None

    @property
    def outcome(self) -> str:
        root = self.root
        if root.status is PayoutStatus.SUCCEEDED:
            return "paid"
        if root.status is PayoutStatus.CANCELLED and self.fallback is None:
            return "stopped"
        if not root.status.is_terminal:
            return "pending"
        if self.fallback is not None:
            if self.fallback.status is PayoutStatus.SUCCEEDED:
                return "paid_fallback"
            if not self.fallback.status.is_terminal:
                return "pending"
        return "failed"

    @property
    def paid_amount(self) -> int:
        return self.root.amount if self.outcome in ("paid", "paid_fallback") else 0

    @property
    def paid_into_account(self) -> bool:
        return self.outcome == "paid" and self.root.kind in ELECTRONIC_KINDS


@dataclass
class RunFigures:
    """Everything the reports need, read from the ledger once (as :class:`PayoutFacts`)."""

    run_id: str
    payouts: list[PayoutFacts]
    entitlements: list[Entitlement]

    def counts_by_status(self) -> Counter[str]:
        return Counter(p.status.value for p in self.payouts)


async def collect(ledger: Ledger, run_id: str) -> RunFigures:
    """Read the run's payouts a page at a time, keeping only their facts."""
    payouts = [PayoutFacts.of(p) async for p in ledger.iter_payouts(run_id=run_id)]
    roots = {p.id: Entitlement(p) for p in payouts if p.parent_id is None}
    for p in payouts:
        if p.parent_id is not None and p.parent_id in roots:
            current = roots[p.parent_id].fallback
            if current is None or p.id > current.id:
                roots[p.parent_id].fallback = p
    return RunFigures(run_id, payouts, list(roots.values()))


# --------------------------------------------------------------------------- tables


@dataclass
class Table:
    """One report table: a CSV file, a sheet of the monthly report or a detail file of its own."""

    name: str  # file stem
    columns: list[str]  # vocabulary LABELS keys
    rows: list[list[Any]] = field(default_factory=list)
    sheet: str = ""  # sheet name (readable, <= 31 characters)
    title: str = ""  # the heading line above the table
    totals: list[Any] | None = None  # the totals row, printed bold after the rows
    strong: set[int] = field(default_factory=set)  # indexes of subtotal rows (bold)
    chart: bool = False  # the account share against the target, drawn under the table

    def all_rows(self) -> list[list[Any]]:
        return [*self.rows, *([self.totals] if self.totals is not None else [])]


def _place(e: Entitlement) -> tuple[str, str]:
    """(province, commune) of an entitlement: the two tiers a report rolls up (no district since 2025)."""
    b = e.root
    province = b.province_code
    if not province and b.commune_code:
        c = units.commune(b.commune_code)
        province = c.province_code if c else None
    return (province or "-", b.commune_code or "-")


#: Report levels: (label key, how many parts of :func:`_place` make the group key).
LEVELS: tuple[tuple[str, int], ...] = (("province", 1), ("commune", 2))


def _share(account: int, n: int) -> float:
    return round(100.0 * account / n, 2) if n else 0.0


def _figures(ents: Sequence[Entitlement]) -> list[Any]:
    """The summary's numbers for a group: counts, amounts, share, target and verdict."""
    outcomes = Counter(e.outcome for e in ents)
    n = len(ents)
    account = sum(1 for e in ents if e.paid_into_account)
    return [
        n,
        sum(e.root.amount for e in ents),
        outcomes["paid"] + outcomes["paid_fallback"],
        sum(e.paid_amount for e in ents),
        account,
        outcomes["paid_fallback"],
        outcomes["failed"],
        outcomes["stopped"],
        outcomes["pending"],
        _share(account, n),
        TARGET_PERCENT,
    ]


SUMMARY_COLUMNS = [
    "level",
    "place",
    "place_name",
    "programme",
    "agency",
    "beneficiaries",
    "amount_due",
    "paid",
    "paid_amount",
    "paid_account",
    "paid_fallback",
    "failed",
    "stopped",
    "pending",
    "account_share",
    "target",
    "target_met",
]


def _summary_row(
    level: str,
    code: str,
    names: UnitNames,
    programme: str,
    agency: str,
    ents: Sequence[Entitlement],
    lang: str,
) -> list[Any]:
    figures = _figures(ents)
    met = figures[-2] >= ACCOUNT_TARGET * 100
    return [level, code, names(code) or "", programme, agency, *figures, vocab.target_met(met, lang)]


def summary_table(
    fig: RunFigures, lang: str, names: UnitNames = unit_names, programmes: Programmes | None = None
) -> Table:
    """Each commune per programme with its subtotal, then the province per programme, then the total;
    names beside codes, and each programme's responsible agency (:mod:`asxh_pay.programmes`)."""
    progs = programmes or load_programmes()
    t = Table(
        "tong-hop" if lang != "en" else "summary",
        SUMMARY_COLUMNS,
        sheet=vocab.phrase("sheet_summary", lang),
        title=vocab.phrase("title_summary", lang),
    )
    all_label = label("all_programmes", lang)

    def by_programme(ents: Sequence[Entitlement]) -> dict[str, list[Entitlement]]:
        out: dict[str, list[Entitlement]] = defaultdict(list)
        for e in ents:
            out[e.root.programme].append(e)
        return dict(sorted(out.items()))

    communes: dict[tuple[str, str], list[Entitlement]] = defaultdict(list)
    provinces: dict[str, list[Entitlement]] = defaultdict(list)
    for e in fig.entitlements:
        province, commune = _place(e)
        communes[(province, commune)].append(e)
        provinces[province].append(e)
    for (_, commune), ents in sorted(communes.items()):
        for prog, group in by_programme(ents).items():
            t.rows.append(
                _summary_row(
                    label("commune", lang), commune, names, prog, progs.agency(prog, lang), group, lang
                )
            )
        t.strong.add(len(t.rows))
        t.rows.append(_summary_row(label("commune", lang), commune, names, all_label, "", ents, lang))
    for province, ents in sorted(provinces.items()):
        for prog, group in by_programme(ents).items():
            t.rows.append(
                _summary_row(
                    label("province", lang), province, names, prog, progs.agency(prog, lang), group, lang
                )
            )
        if len(provinces) > 1:
            t.strong.add(len(t.rows))
            t.rows.append(_summary_row(label("province", lang), province, names, all_label, "", ents, lang))
    t.totals = _summary_row(label("total", lang), "", _no_names, all_label, "", fig.entitlements, lang)
    t.totals[1] = ""
    return t


def method_table(fig: RunFigures, lang: str, names: UnitNames = unit_names) -> Table:
    """Per commune, programme and chosen method: beneficiaries, amounts and what happened to them.

    One row per method with the outcomes side by side (not one row per outcome): the sheet of a
    province's month then prints on a page or two.
    """
    t = Table(
        "theo-hinh-thuc" if lang != "en" else "by-method",
        [
            "commune",
            "programme",
            "method",
            "beneficiaries",
            "amount_due",
            "paid",
            "paid_fallback",
            "failed",
            "stopped",
            "pending",
            "paid_amount",
        ],
        sheet=vocab.phrase("sheet_method", lang),
        title=vocab.phrase("title_method", lang),
    )
    groups: dict[tuple[str, str, str], list[Entitlement]] = defaultdict(list)
    for e in fig.entitlements:
        groups[(_place(e)[1], e.root.programme, e.root.kind)].append(e)

    def figures(ents: Sequence[Entitlement]) -> list[int]:
        out = Counter(e.outcome for e in ents)
        return [
            len(ents),
            sum(e.root.amount for e in ents),
            out["paid"] + out["paid_fallback"],  # as in the summary: paid in the end, cash included
            out["paid_fallback"],
            out["failed"],
            out["stopped"],
            out["pending"],
            sum(e.paid_amount for e in ents),
        ]

    for (commune, prog, kind), ents in sorted(groups.items()):
        t.rows.append([with_name(commune, names), prog, vocab.method(kind, lang), *figures(ents)])
    t.totals = [label("total", lang), "", "", *figures(fig.entitlements)]
    return t


def provider_table(fig: RunFigures, lang: str) -> Table:
    """Per provider and ledger status, every payout (fallbacks included)."""
    t = Table(
        "theo-don-vi-chi-tra" if lang != "en" else "by-provider",
        ["provider", "programme", "status", "count", "amount"],
        sheet=vocab.phrase("sheet_provider", lang),
        title=vocab.phrase("title_provider", lang),
    )
    agg: Counter[tuple[str, str, str]] = Counter()
    amt: Counter[tuple[str, str, str]] = Counter()
    for p in fig.payouts:
        key = (p.provider or "-", p.programme, p.status.value)
        agg[key] += 1
        amt[key] += p.amount
    for key in sorted(agg):
        t.rows.append([key[0], key[1], vocab.status(key[2], lang), agg[key], amt[key]])
    t.totals = [label("total", lang), "", "", sum(agg.values()), sum(amt.values())]
    return t


def failures_table(fig: RunFigures, lang: str, names: UnitNames = unit_names) -> Table:
    """Every payout that did not succeed, its reason and what happened next; identifiers masked."""
    t = Table(
        "that-bai" if lang != "en" else "failures",
        [
            "payout_id",
            "commune",
            "programme",
            "cccd",
            "full_name",
            "method",
            "provider",
            "status",
            "code",
            "reason",
            "detail",
            "fallback",
            "source",
        ],
        sheet=vocab.phrase("sheet_failures", lang),
        title=vocab.phrase("title_failures", lang),
    )
    for e in fig.entitlements:
        for p in (e.root, e.fallback):
            if p is None or p.status is PayoutStatus.SUCCEEDED or not p.status.is_terminal:
                continue
            fb = ""
            if p is e.root and e.fallback is not None:
                fb = f"{e.fallback.id} ({vocab.status(e.fallback.status.value, lang)})"
            code = p.failure_reason.value if p.failure_reason else ""
            t.rows.append(
                [
                    p.id,
                    with_name(_place(e)[1], names),
                    p.programme,
                    mask_cccd(p.cccd),
                    mask_name(p.full_name),
                    vocab.method(p.kind, lang),
                    p.provider or "-",
                    vocab.status(p.status.value, lang),
                    code,
                    vocab.reason(code, lang) if code else "",
                    mask_text(p.failure_detail or ""),
                    fb,
                    p.source,
                ]
            )
    return t


def cash_table(fig: RunFigures, lang: str, names: UnitNames = unit_names) -> Table:
    """The list the postal service pays in cash from: cash methods and cash fallbacks.

    It carries full names and CCCDs on purpose: the postal service needs them to pay the
    right person. It is the one report that must go only to the postal service, so it is
    a file of its own and never a sheet of the monthly report.
    """
    t = Table(
        "danh-sach-tien-mat-buu-dien" if lang != "en" else "cash-list-postal",
        [
            "payout_id",
            "commune",
            "programme",
            "cccd",
            "full_name",
            "recipient",
            "method",
            "payment_point",
            "address",
            "amount",
            "status",
            "fallback",
        ],
        sheet=vocab.phrase("sheet_cash", lang),
        title=vocab.phrase("title_cash", lang),
    )
    for e in fig.entitlements:
        for p in (e.root, e.fallback):
            if p is None:
                continue
            if p.kind not in CASH_KINDS:
                continue
            t.rows.append(
                [
                    p.id,
                    with_name(_place(e)[1], names),
                    p.programme,
                    p.cccd,
                    p.full_name,
                    p.recipient_name,
                    vocab.method(p.kind, lang),
                    p.payment_point,
                    p.address,
                    p.amount,
                    vocab.status(p.status.value, lang),
                    "x" if p.parent_id else "",
                ]
            )
    t.totals = [label("total", lang), "", "", "", "", "", "", "", "", sum(r[9] for r in t.rows), "", ""]
    return t


def share_table(fig: RunFigures, lang: str, names: UnitNames = unit_names) -> Table:
    """Each commune's share of beneficiaries paid into an account, against the target."""
    t = Table(
        "ty-le-tai-khoan" if lang != "en" else "account-share",
        ["place", "place_name", "beneficiaries", "paid_account", "account_share", "target", "target_met"],
        sheet=vocab.phrase("sheet_share", lang),
        title=vocab.phrase("title_share", lang, target=TARGET_PERCENT),
        chart=True,
    )

    def line(code: str, name: str, ents: Sequence[Entitlement]) -> list[Any]:
        n = len(ents)
        acc = sum(1 for e in ents if e.paid_into_account)
        share = _share(acc, n)
        met = vocab.target_met(share >= ACCOUNT_TARGET * 100, lang)
        return [code, name, n, acc, share, TARGET_PERCENT, met]

    groups: dict[str, list[Entitlement]] = defaultdict(list)
    for e in fig.entitlements:
        groups[_place(e)[1]].append(e)
    for code in sorted(groups):
        t.rows.append(line(code, names(code) or code, groups[code]))
    t.totals = line(label("total", lang), "", fig.entitlements)
    return t


def summary_tables(
    fig: RunFigures, lang: str = "vi", names: UnitNames = unit_names, programmes: Programmes | None = None
) -> list[Table]:
    """The sheets of the monthly report (no personal data)."""
    return [
        summary_table(fig, lang, names, programmes),
        method_table(fig, lang, names),
        provider_table(fig, lang),
        share_table(fig, lang, names),
    ]


def paid_twice_table(fig: RunFigures, lang: str, names: UnitNames = unit_names) -> Table:
    """Entitlements paid twice: the electronic payout was found delivered (late truth,
    issue 13) after its cash fallback left. Both references, to recover one payment."""
    t = Table(
        "chi-trung" if lang != "en" else "paid-twice",
        [
            "payout_id",
            "commune",
            "programme",
            "cccd",
            "provider",
            "reference",
            "fallback",
            "fallback_reference",
            "amount",
        ],
        sheet=vocab.phrase("sheet_paid_twice", lang),
        title=vocab.phrase("title_paid_twice", lang),
    )
    for e in fig.entitlements:
        fb = e.fallback
        if e.root.status is PayoutStatus.SUCCEEDED and fb is not None and fb.status in _LEFT:
            t.rows.append(
                [
                    e.root.id,
                    with_name(_place(e)[1], names),
                    e.root.programme,
                    mask_cccd(e.root.cccd),
                    e.root.provider or "-",
                    e.root.provider_ref or "",
                    f"{fb.id} ({vocab.status(fb.status.value, lang)})",
                    fb.provider_ref or "",
                    e.root.amount,
                ]
            )
    return t


_LEFT = (PayoutStatus.SUBMITTED, PayoutStatus.UNKNOWN, PayoutStatus.PROCESSING, PayoutStatus.SUCCEEDED)


def detail_tables(fig: RunFigures, lang: str = "vi", names: UnitNames = unit_names) -> list[Table]:
    """The detail lists, each written to a file of its own."""
    twice = paid_twice_table(fig, lang, names)  # a file only when a case needs recovering
    return [failures_table(fig, lang, names), cash_table(fig, lang, names), *([twice] if twice.rows else [])]


def all_tables(fig: RunFigures, lang: str = "vi", names: UnitNames = unit_names) -> list[Table]:
    return [*summary_tables(fig, lang, names), *detail_tables(fig, lang, names)]


# --------------------------------------------------------------------------- writing

FORMAT_INT = "#,##0"
FORMAT_SHARE = "0.00"
FORMAT_TEXT = "@"
INT_COLUMNS = frozenset(
    {
        "beneficiaries",
        "amount_due",
        "paid",
        "paid_amount",
        "paid_account",
        "paid_fallback",
        "failed",
        "stopped",
        "pending",
        "count",
        "amount",
        "row",
        "target",
    }
)
SHARE_COLUMNS = frozenset({"account_share"})
MAX_WIDTH = 42
# Short words read best centred ("Đạt", "NCC", "Xã").
CENTER_COLUMNS = frozenset({"level", "programme", "target_met", "fallback"})
# Widths where the content alone would mislead.
FIXED_WIDTHS: dict[str, float] = {"agency": 20}


def number_format(column: str) -> str | None:
    if column in INT_COLUMNS:
        return FORMAT_INT
    if column in SHARE_COLUMNS:
        return FORMAT_SHARE
    return None


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]], lang: str = "vi") -> Path:
    """CSV in UTF-8 with BOM (Excel opens Vietnamese correctly); headers in ``lang``; cells neutralised."""
    write_csv_file(path, [label(c, lang) for c in columns], rows)
    return path


def _shown(value: Any, column: str) -> int:
    """How many characters a value takes once formatted (what the column width must hold)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return 9
    if isinstance(value, int) and column in INT_COLUMNS:
        return len(f"{value:,}")
    if isinstance(value, float):
        return len(f"{value:,.2f}")
    return max((len(part) for part in str(value).splitlines()), default=0)


def column_widths(table: Table, lang: str) -> list[float]:
    """Wide enough for the longest formatted value (so numbers never print as ``###`` or
    ``3.99E+09``), the header wrapping onto two lines, and never wider than ``MAX_WIDTH``."""
    widths: list[float] = []
    sample = table.all_rows()[:5000]
    for i, col in enumerate(table.columns):
        if col in FIXED_WIDTHS:
            widths.append(FIXED_WIDTHS[col])
            continue
        header = label(col, lang)
        longest_word = max((len(w) for w in header.split()), default=4)
        need = max([min(len(header), 14), longest_word, *(_shown(r[i], col) for r in sample if i < len(r))])
        widths.append(float(min(MAX_WIDTH, need + 2)))
    return widths


class _Styles:
    """The few styles of an official table (built once: openpyxl shares them by value)."""

    def __init__(self) -> None:
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        thin = Side(style="thin", color="808080")
        self.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.bold = Font(name="Times New Roman", size=11, bold=True)
        self.normal = Font(name="Times New Roman", size=11)
        self.title = Font(name="Times New Roman", size=13, bold=True)
        self.italic = Font(name="Times New Roman", size=11, italic=True)
        self.header_fill = PatternFill("solid", fgColor="D9E1F2")
        self.total_fill = PatternFill("solid", fgColor="F2F2F2")
        self.header_align = Alignment(horizontal="center", vertical="center", wrap_text=True)
        self.wrap = Alignment(vertical="top", wrap_text=True)
        self.top = Alignment(vertical="top")
        self.center = Alignment(horizontal="center", vertical="top")


def _print_setup(ws: Any, header_row: int, lang: str) -> None:
    """Landscape A4, every column on the page width, the header repeated on every page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4 if hasattr(ws, "PAPERSIZE_A4") else "9"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.oddFooter.center.text = vocab.phrase("page_footer", lang)
    ws.oddFooter.center.size = 9


def _write_table(ws: Any, table: Table, lang: str, heading: Sequence[str], st: _Styles) -> int:
    """Heading lines, a bold frozen header, formatted rows and a bold totals row; returns the header row."""
    from openpyxl.utils import get_column_letter

    widths = column_widths(table, lang)
    for i, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = w
    n_cols = len(table.columns)
    formats = [number_format(c) for c in table.columns]
    wrap = [c == "agency" for c in table.columns]
    center = [c in CENTER_COLUMNS for c in table.columns]

    # Styling a cell through openpyxl's descriptors hashes every style object, for every cell
    # (seconds for a cash list of thousands of rows): style one cell per combination and copy
    # its style indexes (valid within this workbook) to the others.
    styles: dict[tuple[Any, ...], Any] = {}

    def cell(
        value: Any,
        font: Any,
        fmt: str | None = None,
        align: Any = None,
        fill: Any = None,
        border: bool = False,
    ) -> Any:
        c = xlsx_value(ws, value)
        if fmt is not None and not (isinstance(value, int | float) and not isinstance(value, bool)):
            fmt = None
        key = (id(font), fmt, id(align), id(fill), border)
        cached = styles.get(key)
        if cached is not None:
            c._style = copy(cached)
            return c
        c.font = font
        if align is not None:
            c.alignment = align
        if fill is not None:
            c.fill = fill
        if fmt is not None:
            c.number_format = fmt
        if border:
            c.border = st.border
        styles[key] = copy(c._style)
        return c

    lines = [table.title, *heading]
    header_row = len(lines) + 2
    # Before the first row: a streamed (write-only) sheet writes its views and properties then.
    ws.freeze_panes = f"A{header_row + 1}"
    _print_setup(ws, header_row, lang)
    for i, text in enumerate(lines):
        ws.append([cell(text, st.title if i == 0 else st.italic)])
    ws.append([])
    head = [
        cell(label(c, lang), st.bold, align=st.header_align, fill=st.header_fill, border=True)
        for c in table.columns
    ]
    ws.append(head)
    # Headers wrap onto as many lines as their longest one needs; set the height so none is cut.
    lines_needed = max(
        (-(-len(label(c, lang)) // max(1, int(w) - 1)) for c, w in zip(table.columns, widths, strict=True)),
        default=1,
    )
    ws.row_dimensions[header_row].height = 15 * max(1, lines_needed) + 3
    total_index = len(table.rows) if table.totals is not None else -1
    for index, row in enumerate(table.all_rows()):
        strong = index == total_index or index in table.strong
        font = st.bold if strong else st.normal
        fill = st.total_fill if strong else None
        cells = []
        for i in range(n_cols):
            value = row[i] if i < len(row) else None
            align = st.wrap if wrap[i] else st.center if center[i] else st.top
            cells.append(cell(None if value == "" else value, font, formats[i], align, fill, border=True))
        ws.append(cells)
    last = get_column_letter(n_cols)
    ws.auto_filter.ref = f"A{header_row}:{last}{header_row + max(1, len(table.rows))}"
    return header_row


def _share_chart(ws: Any, table: Table, header_row: int, lang: str) -> None:
    """Bars: each commune's account share; a line: the target, so a shortfall is seen at once."""
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.chart.label import DataLabelList
    from openpyxl.chart.series import SeriesLabel

    n = len(table.rows)
    if n == 0:
        return
    col = {c: i + 1 for i, c in enumerate(table.columns)}
    first, last = header_row + 1, header_row + n
    cats = Reference(ws, min_col=col["place_name"], min_row=first, max_row=last)
    bar = BarChart()
    bar.type = "col"
    bar.title = vocab.phrase("chart_title", lang)
    bar.add_data(
        Reference(ws, min_col=col["account_share"], min_row=header_row, max_row=last), titles_from_data=True
    )
    bar.set_categories(cats)
    # Values only: LibreOffice otherwise prints series and category names on every bar.
    bar.dataLabels = DataLabelList(
        showVal=True, showSerName=False, showCatName=False, showLegendKey=False, showPercent=False
    )
    bar.y_axis.scaling.min = 0
    bar.y_axis.scaling.max = 100
    bar.y_axis.majorUnit = 10
    bar.y_axis.title = "%"
    bar.y_axis.number_format = "0"
    bar.y_axis.delete = False
    bar.x_axis.delete = False
    bar.legend.position = "b"
    target = LineChart()
    target.add_data(Reference(ws, min_col=col["target"], min_row=first, max_row=last), titles_from_data=False)
    target.set_categories(cats)
    target.series[0].tx = SeriesLabel(v=vocab.phrase("chart_target", lang, target=TARGET_PERCENT))
    target.series[0].graphicalProperties.line.solidFill = "C00000"
    target.series[0].graphicalProperties.line.width = 28575
    target.series[0].smooth = False
    bar += target
    bar.width = 24
    bar.height = 10
    ws.add_chart(bar, f"A{last + 4}")


@dataclass
class ReportHeading:
    """What the document says about itself: who pays, for which period, under which agencies."""

    run_id: str
    period: str
    unit: str  # "code - name" of the paying unit (commune, or province paying centrally)
    agencies: list[str]  # "NCC: Sở Nội vụ"...
    issuer: str = ""  # the cover's top-left line: "UBND THÀNH PHỐ HÀ NỘI"

    def lines(self, lang: str) -> list[str]:
        parts = [f"{label('period', lang)}: {self.period}", f"{label('paying_unit', lang)}: {self.unit}"]
        return ["; ".join(parts)]


def _cover(ws: Any, heading: ReportHeading, figures: list[tuple[str, Any]], lang: str, st: _Styles) -> None:
    """The first page: national heading, title, the key figures and the signature block."""
    from openpyxl.styles import Alignment, Font

    for col, w in zip("ABCD", (46, 22, 6, 46), strict=True):
        ws.column_dimensions[col].width = w
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)

    def put(ref: str, text: str, font: Any, merge: str | None = None) -> None:
        cell = ws[ref]
        cell.value = text
        xlsx_text(cell)
        cell.font = font
        cell.alignment = center
        if merge:
            ws.merge_cells(merge)

    underlined = Font(name="Times New Roman", size=12, bold=True, underline="single")
    put("A1", heading.issuer or heading.unit or label("paying_unit", lang).upper(), st.bold, "A1:B1")
    put("A2", "; ".join(heading.agencies), st.normal, "A2:B2")
    if heading.unit:
        put("A3", f"{label('place', lang)}: {heading.unit}", st.italic, "A3:B3")
    put("C1", vocab.phrase("nation", lang), st.bold, "C1:D1")
    put("C2", vocab.phrase("motto", lang), underlined, "C2:D2")
    put("C3", vocab.phrase("place_date", lang, year=date.today().year), st.italic, "C3:D3")
    put("A5", vocab.phrase("report_title", lang), Font(name="Times New Roman", size=14, bold=True), "A5:D5")
    put("A6", vocab.phrase("report_subtitle", lang, period=heading.period), st.bold, "A6:D6")
    put("A7", f"{label('run_id', lang)}: {heading.run_id}", st.italic, "A7:D7")
    ws.row_dimensions[1].height = 30
    ws.row_dimensions[2].height = 30
    start = 9
    for col, key in (("A", "figure"), ("B", "value")):
        cell = ws[f"{col}{start}"]
        cell.value = label(key, lang)
        cell.font, cell.fill, cell.border, cell.alignment = (
            st.bold,
            st.header_fill,
            st.border,
            st.header_align,
        )
    for i, (name, value) in enumerate(figures, start + 1):
        a, b = ws[f"A{i}"], ws[f"B{i}"]
        a.value, b.value = name, value
        xlsx_text(a)
        xlsx_text(b)
        a.font = b.font = st.normal
        a.border = b.border = st.border
        if isinstance(value, float):
            b.number_format = FORMAT_SHARE
        elif isinstance(value, int):
            b.number_format = FORMAT_INT
    sign = start + len(figures) + 3
    for col, who, hint in (
        ("A", "signature_maker", "signature_hint"),
        ("D", "signature_head", "signature_hint_seal"),
    ):
        put(f"{col}{sign}", label(who, lang), st.bold)
        put(f"{col}{sign + 1}", label(hint, lang), st.italic)
    ws.print_options.horizontalCentered = True
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def write_xlsx(
    path: Path,
    tables: Sequence[Table],
    lang: str = "vi",
    *,
    heading: ReportHeading | None = None,
    figures: list[tuple[str, Any]] | None = None,
    chart: bool = True,
) -> Path:
    """The monthly report: a cover page, then one formatted, printable sheet per table.

    An ordinary (not write-only) workbook: the report holds summaries only, and the cover
    needs merged cells. The detail lists, which can be long, go through :func:`write_detail_xlsx`.
    """
    from openpyxl import Workbook

    st = _Styles()
    wb = Workbook()
    for default in list(wb.worksheets):
        wb.remove(default)
    if heading is not None:
        _cover(wb.create_sheet(vocab.phrase("sheet_cover", lang)), heading, figures or [], lang, st)
    lines = heading.lines(lang) if heading is not None else []
    for t in tables:
        ws = wb.create_sheet((t.sheet or t.name)[:31])
        header_row = _write_table(ws, t, lang, lines, st)
        if chart and t.chart:
            _share_chart(ws, t, header_row, lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_detail_xlsx(
    path: Path, table: Table, lang: str = "vi", *, heading: ReportHeading | None = None
) -> Path:
    """One detail list as its own workbook (streamed: a cash list may have thousands of rows)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet((table.sheet or table.name)[:31])
    _write_table(ws, table, lang, heading.lines(lang) if heading is not None else [], _Styles())
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


@dataclass
class ReportFiles:
    directory: Path
    csv: list[Path]
    xlsx: Path  # the monthly report for the province
    figures: RunFigures
    details: list[Path] = field(default_factory=list)  # detail lists, one XLSX each


def _cover_figures(fig: RunFigures, lang: str) -> list[tuple[str, Any]]:
    ents = fig.entitlements
    n = len(ents)
    acc = sum(1 for e in ents if e.paid_into_account)
    outcomes = Counter(e.outcome for e in ents)
    share = _share(acc, n)
    return [
        (label("beneficiaries", lang), n),
        (label("amount_due", lang), sum(e.root.amount for e in ents)),
        (label("paid", lang), outcomes["paid"] + outcomes["paid_fallback"]),
        (label("paid_amount", lang), sum(e.paid_amount for e in ents)),
        (label("paid_account", lang), acc),
        (label("paid_fallback", lang), outcomes["paid_fallback"]),
        (label("failed", lang), outcomes["failed"]),
        (label("stopped", lang), outcomes["stopped"]),
        (label("pending", lang), outcomes["pending"]),
        (label("paid_twice", lang), len(paid_twice_table(fig, lang).rows)),
        (label("account_share", lang), share),
        (label("target", lang), TARGET_PERCENT),
        (label("target_met", lang), vocab.target_met(share >= ACCOUNT_TARGET * 100, lang)),
    ]


def report_heading(
    fig: RunFigures,
    run_id: str,
    manifest: Mapping[str, Any],
    lang: str,
    names: UnitNames,
    programmes: Programmes | None = None,
) -> ReportHeading:
    """The paying unit (the manifest's, else the province of the payouts) and the agencies."""
    progs = programmes or load_programmes()
    paying = manifest.get("paying_unit") or {}
    code = str(paying.get("code") or manifest.get("province") or "")
    if not code:
        provinces = {_place(e)[0] for e in fig.entitlements}
        code = provinces.pop() if len(provinces) == 1 else ""
    name = str(names(code) or paying.get("name") or "") if code else ""
    used = sorted({e.root.programme for e in fig.entitlements})
    agencies = [f"{p}: {a}" for p in used if (a := progs.agency(p, lang))]
    unit = f"{code} - {name}" if name else code
    issuer = vocab.phrase("unit_line", lang, name=name).upper() if name else unit
    return ReportHeading(run_id, str(manifest.get("period") or ""), unit, agencies, issuer)


async def write_reports(
    ledger: Ledger,
    run_id: str,
    out_dir: Path,
    *,
    lang: str = "vi",
    manifest: dict[str, Any] | None = None,
    names: UnitNames | None = None,
    programmes: Programmes | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> ReportFiles:
    """Compute every table from the ledger and write them: CSV each, the monthly report, the detail lists.

    The CSV files hold the data rows only (a program reads them); totals are for the printed XLSX.
    ``on_step(done, steps)`` follows the work, for a progress bar.
    """
    steps = 5

    def step(done: int) -> None:
        if on_step is not None:
            on_step(done, steps)

    step(0)
    fig = await collect(ledger, run_id)
    step(1)
    names = names or unit_names
    manifest = manifest or {}
    # The agencies as the run recorded them (a programme added by data keeps its agency).
    programmes = programmes or programmes_of_run(manifest)
    summaries = summary_tables(fig, lang, names, programmes)
    details = detail_tables(fig, lang, names)
    step(2)
    csvs = [write_csv(out_dir / f"{t.name}.csv", t.columns, t.rows, lang) for t in (*summaries, *details)]
    step(3)
    heading = report_heading(fig, run_id, manifest, lang, names, programmes)
    stem = "bao-cao-thang" if lang != "en" else "monthly-report"
    period = heading.period or run_id
    xlsx = write_xlsx(
        out_dir / f"{stem}-{period}.xlsx", summaries, lang, heading=heading, figures=_cover_figures(fig, lang)
    )
    step(4)
    detail_files = [
        write_detail_xlsx(out_dir / f"{t.name}-{period}.xlsx", t, lang, heading=heading) for t in details
    ]
    step(5)
    return ReportFiles(out_dir, csvs, xlsx, fig, detail_files)
