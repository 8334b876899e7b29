"""Reports per commune and province, computed from the ledger.

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

Tables are written as CSV (UTF-8 with BOM, so Excel shows Vietnamese correctly) and as one
XLSX workbook, the monthly report the paying unit sends to the province before the 5th. Since
the 2025 reform there are two tiers: rows roll up from commune to province (no district),
each with its name beside its code, and each programme with the provincial agency that
answers for it (:mod:`asxh_pay.programmes`).
Headers are Vietnamese by default, English with ``lang="en"``.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asxh_pay import units
from asxh_pay.ledger.base import Ledger
from asxh_pay.masking import mask_cccd, mask_name
from asxh_pay.models import CASH_KINDS, ELECTRONIC_KINDS, Payout
from asxh_pay.programmes import Programmes, load_programmes, programmes_of_run
from asxh_pay.status import PayoutStatus

ACCOUNT_TARGET = 0.30

LABELS: dict[str, tuple[str, str]] = {
    # key: (Vietnamese, English)
    "level": ("Cấp", "Level"),
    "place": ("Mã đơn vị (tỉnh/xã)", "Place (province/commune)"),
    "place_name": ("Tên đơn vị", "Unit name"),
    "province": ("Tỉnh", "Province"),
    "commune": ("Xã", "Commune"),
    "paying_unit": ("Đơn vị chi trả", "Paying unit"),
    "programme": ("Chương trình", "Programme"),
    "agency": ("Cơ quan quản lý", "Responsible agency"),
    "listed_unit": ("Mã đơn vị trong danh sách", "Unit code as listed"),
    "old_unit": ("Đơn vị cũ (trước 1/7/2025)", "Former unit (before 1 July 2025)"),
    "mapping": ("Chuyển đổi", "Mapping"),
    "new_unit": ("Mã xã mới", "2025 commune code"),
    "unit_name": ("Tên xã mới", "2025 commune name"),
    "rows": ("Số dòng", "Rows"),
    "method": ("Hình thức nhận", "Method"),
    "provider": ("Đơn vị chi trả", "Provider"),
    "status": ("Trạng thái", "Status"),
    "count": ("Số lượt", "Count"),
    "amount": ("Số tiền (đồng)", "Amount (VND)"),
    "beneficiaries": ("Số đối tượng", "Beneficiaries"),
    "amount_due": ("Tổng số tiền phải trả", "Amount due (VND)"),
    "paid": ("Đã chi trả", "Paid"),
    "paid_amount": ("Số tiền đã chi trả", "Amount paid (VND)"),
    "paid_account": ("Chi trả qua tài khoản", "Paid into an account"),
    "paid_fallback": ("Chuyển chi tiền mặt", "Paid in cash (fallback)"),
    "failed": ("Không chi trả được", "Failed"),
    "stopped": ("Dừng chi trả", "Stopped"),
    "pending": ("Đang xử lý", "Pending"),
    "account_share": ("Tỷ lệ qua tài khoản (%)", "Account share (%)"),
    "target": ("Chỉ tiêu (%)", "Target (%)"),
    "target_met": ("Đạt chỉ tiêu", "Target met"),
    "payout_id": ("Mã giao dịch", "Payout id"),
    "cccd": ("Số CCCD", "CCCD"),
    "full_name": ("Họ và tên", "Full name"),
    "recipient": ("Người nhận", "Recipient"),
    "reason": ("Lý do", "Reason"),
    "detail": ("Chi tiết", "Detail"),
    "fallback": ("Chuyển tiền mặt", "Cash fallback"),
    "payment_point": ("Điểm chi trả", "Payment point"),
    "address": ("Địa chỉ", "Address"),
    "source": ("Nguồn (danh sách:dòng)", "Source (list:row)"),
    "file": ("Tệp", "File"),
    "row": ("Dòng", "Row"),
    "column": ("Cột", "Column"),
    "code": ("Mã lỗi", "Code"),
    "period": ("Kỳ chi trả", "Period"),
    "run_id": ("Mã đợt chi", "Run id"),
    "figure": ("Chỉ tiêu báo cáo", "Figure"),
    "value": ("Giá trị", "Value"),
}

METHOD_LABELS: dict[str, tuple[str, str]] = {
    "bank": ("Tài khoản ngân hàng", "Bank account"),
    "wallet": ("Ví điện tử", "E-wallet"),
    "postal_account": ("Tài khoản bưu điện", "Postal account"),
    "cash_pickup": ("Tiền mặt tại điểm chi trả", "Cash at payment point"),
    "cash_home": ("Tiền mặt tại nhà", "Cash at home"),
}
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "created": ("Chưa gửi", "Created"),
    "submitted": ("Đã gửi", "Submitted"),
    "processing": ("Đang xử lý", "Processing"),
    "unknown": ("Chưa rõ kết quả", "Unknown"),
    "succeeded": ("Thành công", "Succeeded"),
    "failed": ("Thất bại", "Failed"),
    "cancelled": ("Đã dừng", "Cancelled"),
    "returned": ("Bị hoàn trả", "Returned"),
}


def label(key: str, lang: str) -> str:
    pair = LABELS.get(key)
    return (pair[1] if lang == "en" else pair[0]) if pair else key


def _value(table: dict[str, tuple[str, str]], key: str, lang: str) -> str:
    pair = table.get(key)
    return (pair[1] if lang == "en" else pair[0]) if pair else key


@dataclass
class Table:
    name: str  # file stem and sheet name
    columns: list[str]  # LABELS keys
    rows: list[list[Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- collecting


@dataclass
class Entitlement:
    root: Payout
    fallback: Payout | None = None

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
        return self.outcome == "paid" and self.root.request.destination.kind in ELECTRONIC_KINDS


@dataclass
class RunFigures:
    """Everything the reports need, read from the ledger once."""

    run_id: str
    payouts: list[Payout]
    entitlements: list[Entitlement]

    def counts_by_status(self) -> Counter[str]:
        return Counter(p.status.value for p in self.payouts)


async def collect(ledger: Ledger, run_id: str) -> RunFigures:
    payouts = [p async for p in ledger.iter_payouts(run_id=run_id)]
    roots = {p.id: Entitlement(p) for p in payouts if p.parent_id is None}
    for p in payouts:
        if p.parent_id is not None and p.parent_id in roots:
            current = roots[p.parent_id].fallback
            if current is None or p.id > current.id:
                roots[p.parent_id].fallback = p
    return RunFigures(run_id, payouts, list(roots.values()))


# --------------------------------------------------------------------------- tables


def _place(e: Entitlement) -> tuple[str, str]:
    """(province, commune) of an entitlement: the two tiers a report rolls up."""
    b = e.root.request.beneficiary
    province = b.province_code
    if not province and b.commune_code:
        c = units.commune(b.commune_code)
        province = c.province_code if c else None
    return (province or "-", b.commune_code or "-")


#: Report levels: (label key, how many parts of :func:`_place` make the group key).
LEVELS: tuple[tuple[str, int], ...] = (("province", 1), ("commune", 2))


def _summary_row(
    level: str, code: str, programme: str, ents: Sequence[Entitlement], name: str = "", agency: str = ""
) -> list[Any]:
    outcomes = Counter(e.outcome for e in ents)
    n = len(ents)
    account = sum(1 for e in ents if e.paid_into_account)
    share = round(100.0 * account / n, 2) if n else 0.0
    return [
        level,
        code,
        name,
        programme,
        agency,
        n,
        sum(e.root.amount for e in ents),
        outcomes["paid"] + outcomes["paid_fallback"],
        sum(e.paid_amount for e in ents),
        account,
        outcomes["paid_fallback"],
        outcomes["failed"],
        outcomes["stopped"],
        outcomes["pending"],
        share,
        int(ACCOUNT_TARGET * 100),
        share >= ACCOUNT_TARGET * 100,
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


def summary_table(fig: RunFigures, lang: str, programmes: Programmes | None = None) -> Table:
    """Province and commune totals (commune -> province), each for all programmes and per
    programme, with unit names and each programme's responsible agency."""
    progs = programmes or load_programmes()
    t = Table("tong-hop" if lang != "en" else "summary", SUMMARY_COLUMNS)
    all_label = "Tất cả" if lang != "en" else "All"
    for level, depth in LEVELS:
        groups: dict[tuple[str, ...], list[Entitlement]] = defaultdict(list)
        for e in fig.entitlements:
            groups[_place(e)[:depth]].append(e)
        for key in sorted(groups):
            ents = groups[key]
            code = key[-1]
            name = units.unit_name(code)
            t.rows.append(_summary_row(label(level, lang), code, all_label, ents, name))
            by_prog: dict[str, list[Entitlement]] = defaultdict(list)
            for e in ents:
                by_prog[e.root.request.programme].append(e)
            for prog in sorted(by_prog):
                agency = progs.agency(prog, lang)
                t.rows.append(_summary_row(label(level, lang), code, prog, by_prog[prog], name, agency))
    return t


def method_table(fig: RunFigures, lang: str) -> Table:
    """Per commune, programme, chosen method and outcome: counts and amounts."""
    t = Table(
        "theo-hinh-thuc" if lang != "en" else "by-method",
        ["commune", "programme", "method", "status", "count", "amount"],
    )
    agg: Counter[tuple[str, str, str, str]] = Counter()
    amt: Counter[tuple[str, str, str, str]] = Counter()
    for e in fig.entitlements:
        k: tuple[str, str, str, str] = (
            _place(e)[1],
            e.root.request.programme,
            str(e.root.request.destination.kind),
            e.outcome,
        )
        agg[k] += 1
        amt[k] += e.root.amount
    for key in sorted(agg):
        commune, prog, method, outcome = key
        t.rows.append(
            [commune, prog, _value(METHOD_LABELS, method, lang), label(outcome, lang), agg[key], amt[key]]
        )
    return t


def provider_table(fig: RunFigures, lang: str) -> Table:
    """Per provider and ledger status, every payout (fallbacks included)."""
    t = Table(
        "theo-don-vi-chi-tra" if lang != "en" else "by-provider",
        ["provider", "programme", "status", "count", "amount"],
    )
    agg: Counter[tuple[str, str, str]] = Counter()
    amt: Counter[tuple[str, str, str]] = Counter()
    for p in fig.payouts:
        key = (p.provider or "-", p.request.programme, p.status.value)
        agg[key] += 1
        amt[key] += p.amount
    for key in sorted(agg):
        t.rows.append([key[0], key[1], _value(STATUS_LABELS, key[2], lang), agg[key], amt[key]])
    return t


def failures_table(fig: RunFigures, lang: str) -> Table:
    """Every payout that did not succeed, with its reason and what happened next."""
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
            "reason",
            "detail",
            "fallback",
            "source",
        ],
    )
    for e in fig.entitlements:
        for p in (e.root, e.fallback):
            if p is None or p.status is PayoutStatus.SUCCEEDED or not p.status.is_terminal:
                continue
            req = p.request
            fb = ""
            if p is e.root and e.fallback is not None:
                fb = f"{e.fallback.id} ({_value(STATUS_LABELS, e.fallback.status.value, lang)})"
            t.rows.append(
                [
                    p.id,
                    _place(e)[1],
                    req.programme,
                    mask_cccd(req.beneficiary.cccd),
                    mask_name(req.beneficiary.full_name),
                    _value(METHOD_LABELS, req.destination.kind, lang),
                    p.provider or "-",
                    _value(STATUS_LABELS, p.status.value, lang),
                    p.failure_reason.value if p.failure_reason else "",
                    p.failure_detail or "",
                    fb,
                    req.source or "",
                ]
            )
    return t


def cash_table(fig: RunFigures, lang: str) -> Table:
    """The list the postal service pays in cash from: cash methods and cash fallbacks.

    It carries full names and CCCDs on purpose: the postal service needs them to pay the
    right person. It is the one report that must go only to the postal service.
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
    )
    for e in fig.entitlements:
        for p in (e.root, e.fallback):
            if p is None:
                continue
            dest = p.request.destination
            if dest.kind not in CASH_KINDS:
                continue
            req = p.request
            t.rows.append(
                [
                    p.id,
                    _place(e)[1],
                    req.programme,
                    req.beneficiary.cccd,
                    req.beneficiary.full_name,
                    req.recipient_name,
                    _value(METHOD_LABELS, dest.kind, lang),
                    getattr(dest, "payment_point", ""),
                    getattr(dest, "address", ""),
                    p.amount,
                    _value(STATUS_LABELS, p.status.value, lang),
                    "x" if p.parent_id else "",
                ]
            )
    return t


def share_table(fig: RunFigures, lang: str) -> Table:
    t = Table(
        "ty-le-tai-khoan" if lang != "en" else "account-share",
        [
            "level",
            "place",
            "place_name",
            "beneficiaries",
            "paid_account",
            "account_share",
            "target",
            "target_met",
        ],
    )
    for level, depth in LEVELS:
        groups: dict[tuple[str, ...], list[Entitlement]] = defaultdict(list)
        for e in fig.entitlements:
            groups[_place(e)[:depth]].append(e)
        for key in sorted(groups):
            ents = groups[key]
            n = len(ents)
            acc = sum(1 for e in ents if e.paid_into_account)
            share = round(100.0 * acc / n, 2) if n else 0.0
            t.rows.append(
                [
                    label(level, lang),
                    key[-1],
                    units.unit_name(key[-1]),
                    n,
                    acc,
                    share,
                    int(ACCOUNT_TARGET * 100),
                    share >= ACCOUNT_TARGET * 100,
                ]
            )
    return t


def all_tables(fig: RunFigures, lang: str = "vi", programmes: Programmes | None = None) -> list[Table]:
    return [
        summary_table(fig, lang, programmes),
        method_table(fig, lang),
        provider_table(fig, lang),
        failures_table(fig, lang),
        cash_table(fig, lang),
        share_table(fig, lang),
    ]


# --------------------------------------------------------------------------- writing


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]], lang: str = "vi") -> Path:
    """CSV in UTF-8 with BOM (Excel opens Vietnamese correctly); headers in ``lang``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow([label(c, lang) for c in columns])
        for r in rows:
            w.writerow(["" if v is None else v for v in r])
    return path


def write_xlsx(
    path: Path, tables: Sequence[Table], lang: str = "vi", *, title: list[list[Any]] | None = None
) -> Path:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    if title:
        ws = wb.create_sheet("bao-cao" if lang != "en" else "report")
        for r in title:
            ws.append(r)
    for t in tables:
        ws = wb.create_sheet(t.name[:31])
        ws.append([label(c, lang) for c in t.columns])
        for r in t.rows:
            ws.append(list(r))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


@dataclass
class ReportFiles:
    directory: Path
    csv: list[Path]
    xlsx: Path
    figures: RunFigures


async def write_reports(
    ledger: Ledger, run_id: str, out_dir: Path, *, lang: str = "vi", manifest: dict[str, Any] | None = None
) -> ReportFiles:
    """Compute every table from the ledger and write them (CSV each, one XLSX workbook)."""
    fig = await collect(ledger, run_id)
    tables = all_tables(fig, lang, programmes_of_run(manifest))
    csvs = [write_csv(out_dir / f"{t.name}.csv", t.columns, t.rows, lang) for t in tables]
    manifest = manifest or {}
    period = manifest.get("period", "")
    unit = manifest.get("paying_unit") or {}
    unit_text = f"{unit['name']} ({unit['code']})" if unit else "-"
    ents = fig.entitlements
    n = len(ents)
    acc = sum(1 for e in ents if e.paid_into_account)
    outcomes = Counter(e.outcome for e in ents)
    head_vi = (
        "BÁO CÁO KẾT QUẢ CHI TRẢ KHÔNG DÙNG TIỀN MẶT" if lang != "en" else "MONTHLY CASHLESS PAYMENT REPORT"
    )
    title: list[list[Any]] = [
        [head_vi],
        [label("run_id", lang), run_id],
        [label("period", lang), period],
        [label("paying_unit", lang), unit_text],
        [],
        [label("figure", lang), label("value", lang)],
        [label("beneficiaries", lang), n],
        [label("amount_due", lang), sum(e.root.amount for e in ents)],
        [label("paid", lang), outcomes["paid"] + outcomes["paid_fallback"]],
        [label("paid_amount", lang), sum(e.paid_amount for e in ents)],
        [label("paid_account", lang), acc],
        [label("paid_fallback", lang), outcomes["paid_fallback"]],
        [label("failed", lang), outcomes["failed"]],
        [label("stopped", lang), outcomes["stopped"]],
        [label("pending", lang), outcomes["pending"]],
        [label("account_share", lang), round(100.0 * acc / n, 2) if n else 0.0],
        [label("target", lang), int(ACCOUNT_TARGET * 100)],
    ]
    stem = "bao-cao-thang" if lang != "en" else "monthly-report"
    xlsx = write_xlsx(out_dir / f"{stem}-{period or run_id}.xlsx", tables, lang, title=title)
    return ReportFiles(out_dir, csvs, xlsx, fig)
