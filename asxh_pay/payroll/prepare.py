"""Prepare a run: import, de-duplicate, verify, price and freeze (the maker's half).

Nothing is paid here and nothing is written to the ledger. The output is a run directory
that the checker approves (:mod:`asxh_pay.payroll.approval`) and the runner executes
(:mod:`asxh_pay.payroll.execute`). Rows that cannot be paid as they are end up in the
run directory's reports: ``rejected`` (the row is wrong: fix the list), ``held`` (a
person must decide: duplicates that disagree, identity or account-owner mismatches,
deaths) and ``warnings`` (paid, but worth a look).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asxh_pay.client import AsyncPayoutClient
from asxh_pay.errors import AsxhPayError, ConfigurationError, ValidationError
from asxh_pay.ledger import SqliteLedger, open_ledger
from asxh_pay.masking import mask_cccd
from asxh_pay.models import ELECTRONIC_KINDS, Payout, _period
from asxh_pay.payroll.approval import (
    FORMAT,
    ApprovalError,
    FrozenPayout,
    check_operator_key,
    run_dir,
    run_hash,
    sign,
    trusted_key_path,
    verify_signature,
    write_json,
    write_payouts,
)
from asxh_pay.payroll.dedupe import DedupeResult, Hold, dedupe
from asxh_pay.payroll.lists import ImportResult, ListDefaults, ListRow, Rejection, import_lists
from asxh_pay.payroll.placement import Codes, Placement, place_rows
from asxh_pay.payroll.rails import Rails
from asxh_pay.payroll.registry import PopulationRegistry, owner_matches, verify_rows
from asxh_pay.payroll.reports import write_csv
from asxh_pay.programmes import Programmes, load_programmes
from asxh_pay.units import PayingUnit, UnitError

INQUIRY_CONCURRENCY = 128


class PrepareError(AsxhPayError):
    """The run cannot be prepared as asked (bad period or run id, no key, nothing to pay...).

    Raised before anything is written, with a reason a person can act on; the CLI shows it
    and exits 2.
    """

    def __init__(self, message: str, *, code: str, top_reasons: Sequence[tuple[str, int, str]] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.top_reasons = list(top_reasons)  # (code, rows, an example reason)


def top_reasons(items: Sequence[tuple[str, str]], n: int = 5) -> list[tuple[str, int, str]]:
    """The ``n`` most frequent (code, reason) codes: (code, count, first reason seen)."""
    counts: Counter[str] = Counter(code for code, _ in items)
    example: dict[str, str] = {}
    for code, reason in items:
        example.setdefault(code, reason)
    return [(code, k, example[code]) for code, k in counts.most_common(n)]


_RUN_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def _fail_fast(
    inputs: Sequence[Path],
    data_dir: Path,
    operator: str,
    key_path: Path,
    period: str | None,
    run_id: str | None,
) -> None:
    """The checks that need no list reading: each failure says what to do."""
    if not period:
        raise PrepareError("the pay period is required (--period YYYY-MM)", code="period")
    try:
        _period(period)
    except ValidationError:
        raise PrepareError(
            f"pay period must be YYYY-MM with a month 01-12, e.g. 2026-11; got {period!r}", code="period"
        ) from None
    if run_id is not None and (
        not run_id or len(run_id) > 64 or not set(run_id) <= _RUN_ID_CHARS or run_id[0] in ".-"
    ):
        raise PrepareError(
            f"run id {run_id!r} must be 1-64 letters, digits, '.', '_' or '-' (not starting with '.' or '-')",
            code="run_id",
        )
    if run_id is not None and run_dir(data_dir, run_id).exists():
        raise PrepareError(
            f"run {run_id} already exists; prepare a new run instead of overwriting it", code="run_id"
        )
    make = f"asxh-pay keys generate --operator {operator} --data-dir {data_dir}"
    if not key_path.exists():
        raise PrepareError(
            f"operator {operator!r} has no private key at {key_path}; make one with: {make}", code="no_key"
        )
    try:
        trusted = trusted_key_path(data_dir, operator)
    except ApprovalError as exc:
        raise PrepareError(str(exc), code="operator") from None
    if not trusted.exists():
        raise PrepareError(
            f"operator {operator!r} has no trusted public key in {trusted.parent}; make one with: {make}",
            code="no_key",
        )
    for p in inputs:
        if not p.exists():
            raise PrepareError(f"no such list file or folder: {p}", code="no_file")
        if p.is_file() and p.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise PrepareError(
                f"{p.name}: unsupported list file type {p.suffix or '(none)'!r}; save it as "
                f"{', '.join(SUPPORTED_SUFFIXES)}",
                code="file_type",
            )


#: What the importer reads (a folder is read for these too).
SUPPORTED_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")


@dataclass
class Prepared:
    run_id: str
    dir: Path
    manifest: dict[str, Any]
    imported: ImportResult
    deduped: DedupeResult
    held: list[Hold]
    warnings: list[tuple[str, str, str]] = field(default_factory=list)  # (where, code, text)
    payouts: list[FrozenPayout] = field(default_factory=list)
    placement: Placement | None = None


def new_run_id(period: str, unit_code: str | None) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")[:-3]
    return f"{period}-{unit_code or 'run'}-{stamp}"


async def _inquire(
    rows: Sequence[ListRow], rails: Rails
) -> tuple[list[ListRow], list[Hold], list[tuple[str, str, str]]]:
    """Account/name inquiry through the provider that would pay each electronic row."""
    # A throwaway in-memory ledger: inquiries write nothing, and the real ledger stays free.
    client = AsyncPayoutClient(SqliteLedger(":memory:"), rails.setups, router=rails.router, retry=rails.retry)
    ok: list[ListRow] = []
    held: list[Hold] = []
    warnings: list[tuple[str, str, str]] = []
    sem = asyncio.Semaphore(INQUIRY_CONCURRENCY)

    async def one(row: ListRow) -> tuple[ListRow, Hold | None, tuple[str, str, str] | None]:
        req = row.request
        if req.destination.kind not in ELECTRONIC_KINDS:
            return row, None, None
        try:
            provider = client.router.provider_for(client.new_payout(req))
        except ConfigurationError as exc:
            return row, Hold(row, "no_rail", f"no_rail: {exc}"), None
        if not client.adapter(provider).capabilities.inquiry:
            return row, None, None
        async with sem:
            try:
                answer = await client.verify_account(req)
            except AsxhPayError as exc:
                return (
                    row,
                    None,
                    (
                        row.where,
                        "account_not_verified",
                        f"{provider} inquiry failed ({type(exc).__name__}); paid unverified",
                    ),
                )
        if not answer.exists:
            return (
                row,
                None,
                (
                    row.where,
                    "account_not_found",
                    f"{provider} does not know this account: it will be paid in cash (fallback)",
                ),
            )
        accepted, how = owner_matches(row, answer.holder_name or "")
        if not accepted:
            return (
                row,
                Hold(
                    row,
                    "account_owner_mismatch",
                    f"name_mismatch: the account holder's name does not match the beneficiary or the "
                    f"authorised person ({how.value})",
                ),
                None,
            )
        if how.value == "reordered":
            return (
                row,
                None,
                (
                    row.where,
                    "account_owner_reordered",
                    "account holder name is the list name with the family name moved (accepted)",
                ),
            )
        return row, None, None

    await client.open()
    try:
        results = await asyncio.gather(*(one(r) for r in rows))
    finally:
        await client.close()
    for row, hold, warning in results:
        if hold is not None:
            held.append(hold)
        else:
            ok.append(row)
        if warning is not None:
            warnings.append(warning)
    return ok, held, warnings


async def _against_ledger(
    rows: Sequence[ListRow], ledger_url: str | None
) -> tuple[list[ListRow], list[Hold], list[tuple[str, str, str]]]:
    """Leave out entitlements the ledger already has (paid by an earlier run of the period)."""
    if not ledger_url:
        return list(rows), [], []
    path = ledger_url.removeprefix("sqlite:///")
    if not ledger_url.startswith("postgres") and not Path(path).exists():
        return list(rows), [], []
    ok: list[ListRow] = []
    held: list[Hold] = []
    warnings: list[tuple[str, str, str]] = []
    async with open_ledger(ledger_url, exclusive=False) as ledger:
        for row in rows:
            existing: Payout | None = await ledger.get_by_key(row.request.key())
            if existing is None:
                ok.append(row)
            elif existing.payload_hash == row.request.payload_hash():
                warnings.append(
                    (
                        row.where,
                        "already_in_ledger",
                        f"already in the ledger as {existing.id} ({existing.status.value}); not paid again",
                    )
                )
            else:
                held.append(
                    Hold(
                        row,
                        "conflicts_with_ledger",
                        f"duplicate: the ledger already has {existing.id} for this beneficiary, programme "
                        "and period with other details",
                    )
                )
    return ok, held, warnings


def _totals(payouts: Sequence[FrozenPayout], rails: Rails) -> dict[str, Any]:
    by: dict[str, Counter[str]] = {
        "commune": Counter(),
        "method": Counter(),
        "provider": Counter(),
        "programme": Counter(),
    }
    amounts: dict[str, Counter[str]] = {k: Counter() for k in by}
    for p in payouts:
        r = p.request
        route = rails.router.routes
        dest = r.destination
        provider = route.get(f"wallet:{getattr(dest, 'provider', '')}") or route.get(dest.kind, "-")
        for k, v in (
            ("commune", r.beneficiary.commune_code or "-"),
            ("method", dest.kind),
            ("provider", provider),
            ("programme", r.programme),
        ):
            by[k][v] += 1
            amounts[k][v] += r.amount
    return {k: {v: {"count": by[k][v], "amount": amounts[k][v]} for v in sorted(by[k])} for k in by}


async def prepare_run(
    inputs: Sequence[Path],
    *,
    data_dir: Path,
    operator: str,
    key_path: Path,
    defaults: ListDefaults,
    registry: PopulationRegistry,
    rails: Rails,
    ledger_url: str | None = None,
    run_id: str | None = None,
    verify_accounts: bool = True,
    encoding: str | None = None,
    lang: str = "vi",
    unit: PayingUnit | None = None,
    codes: Codes = "auto",
    programmes: Programmes | None = None,
) -> Prepared:
    """Prepare a run of ``unit`` (a commune, or a province paying centrally; inferred from the
    lists when None and they name one province). Raises :class:`PrepareError` before writing
    anything when the run cannot be prepared (see :func:`_fail_fast`) or nothing in the lists
    can be paid."""
    _fail_fast(inputs, data_dir, operator, key_path, defaults.period, run_id)
    try:
        check_operator_key(data_dir, operator, key_path)
    except ApprovalError as exc:
        raise PrepareError(str(exc), code="key") from None
    programmes = programmes or load_programmes(data_dir)
    if defaults.programme and defaults.programme.strip().upper() not in programmes:
        raise PrepareError(
            f"programme {defaults.programme!r} is not known (known: {', '.join(programmes.codes())}); "
            "a new programme is added in programmes.json",
            code="programme",
        )
    if unit is not None:
        defaults = dataclasses.replace(
            defaults,
            commune_code=defaults.commune_code or (unit.code if unit.level == "commune" else None),
            province_code=unit.province_code,
        )
    defaults = dataclasses.replace(defaults, programmes=programmes)
    imported = import_lists(inputs, defaults, encoding=encoding)
    _check_file_types(imported)
    try:
        placement = place_rows(imported.rows, imported.files, unit=unit, programmes=programmes, codes=codes)
    except UnitError as exc:
        raise PrepareError(str(exc), code=exc.code) from None
    imported.rejected.extend(placement.rejected)
    _check_something_to_pay(imported, placement)
    deduped = dedupe(placement.rows)
    rows, held = await verify_rows(deduped.unique, registry)
    warnings: list[tuple[str, str, str]] = [(r.where, w.split(":")[0], w) for r in rows for w in r.warnings]
    if verify_accounts:
        rows, held2, warn2 = await _inquire(rows, rails)
        held.extend(held2)
        warnings.extend(warn2)
    rows, held3, warn3 = await _against_ledger(rows, ledger_url)
    held.extend(held3)
    warnings.extend(warn3)
    held = placement.held + deduped.held + held

    paying = placement.unit
    run_id = run_id or new_run_id(defaults.period or "", paying.code if paying else None)
    rdir = run_dir(data_dir, run_id)
    if rdir.exists():
        raise ApprovalError(f"run {run_id} already exists; prepare a new run instead of overwriting it")
    rdir.mkdir(parents=True)
    payouts = [FrozenPayout(r.request.key(), r.request.model_copy(update={"run_id": run_id})) for r in rows]
    write_payouts(rdir / "payouts.jsonl", payouts)
    digest, count, total = run_hash(run_id, payouts)

    write_csv(
        rdir / "rejected.csv",
        ["file", "row", "column", "code", "reason"],
        ([r.file, r.row, r.column, r.code, r.reason] for r in imported.rejected),
        lang,
    )
    write_csv(
        rdir / "held.csv",
        ["source", "programme", "cccd", "code", "reason", "amount"],
        (
            [
                h.row.where,
                h.row.request.programme,
                mask_cccd(h.row.request.beneficiary.cccd),
                h.code,
                h.reason,
                h.row.request.amount,
            ]
            for h in held
        ),
        lang,
    )
    write_csv(
        rdir / "unit-mapping.csv",
        ["file", "listed_unit", "old_unit", "mapping", "new_unit", "unit_name", "rows", "reason"],
        (
            [m.file, m.listed, m.old_name, m.status, m.new_code, m.new_name, m.rows, m.reason]
            for m in placement.mappings
        ),
        lang,
    )
    write_csv(
        rdir / "warnings.csv",
        ["source", "code", "detail"],
        (
            [w[0], w[1], w[2]]
            for w in [
                *warnings,
                *((d.dropped.where, "duplicate", d.reason) for d in deduped.duplicates),
                *((", ".join(n.own_rows), "beneficiary_and_recipient", n.reason) for n in deduped.roles),
            ]
        ),
        lang,
    )

    manifest: dict[str, Any] = {
        "format": FORMAT,
        "run_id": run_id,
        "created_at": datetime.now(UTC).isoformat(),
        "period": defaults.period,
        "programme": defaults.programme,
        "paying_unit": paying.as_dict() if paying else None,
        "province": paying.province_code if paying else defaults.province_code,
        "units": placement.summary(),
        "programmes": {
            code: {
                "name": info.name_vi,
                "agency": info.agency_vi,
                "name_en": info.name_en,
                "agency_en": info.agency_en,
            }
            for code, info in sorted(programmes.by_code.items())
            if code in {p.request.programme for p in payouts}
        },
        "inputs": [
            {
                "file": f.name,
                "kind": f.kind,
                "encoding": f.encoding,
                "rows": f.rows_read,
                "columns": sorted(f.columns),
                "unknown_columns": f.unknown_columns,
            }
            for f in imported.files
        ],
        "input_hashes": {p.name: _file_hash(p) for p in _files(inputs)},
        "counts": {
            "rows_read": sum(f.rows_read for f in imported.files),
            "rows_rejected": imported.rejected_rows,
            "duplicates_merged": len(deduped.duplicates),
            "held": len(held),
            "warnings": len(warnings),
            "beneficiary_and_recipient": len(deduped.roles),
            "payouts": count,
            "total_vnd": total,
        },
        "held_by_code": dict(Counter(h.code for h in held)),
        "rejected_by_code": dict(Counter(r.code for r in imported.rejected)),
        "totals": _totals(payouts, rails),
        "run_hash": digest,
        "signatures": {},
    }
    manifest["signatures"]["prepared"] = sign(run_id, digest, "prepared", operator, key_path)
    # The preparer's key must be the one the office trusts for that name, or approval would fail later.
    verify_signature(data_dir, run_id, digest, "prepared", manifest["signatures"]["prepared"])
    write_json(rdir / "manifest.json", manifest)
    return Prepared(run_id, rdir, manifest, imported, deduped, held, warnings, payouts, placement)


def _check_file_types(imported: ImportResult) -> None:
    bad = [r for r in imported.rejected if r.row == 0 and r.code == "file_type"]
    if bad:
        raise PrepareError(f"{bad[0].file}: {bad[0].reason}", code="file_type")


def _check_something_to_pay(imported: ImportResult, placement: Placement) -> None:
    """Fail before writing a run when no row of the lists can be paid or decided on."""
    if placement.rows or placement.held:
        return
    reasons = top_reasons([(r.code, _where(r) + r.reason) for r in imported.rejected])
    if not imported.rejected and not sum(f.rows_read for f in imported.files):
        files = ", ".join(f.name for f in imported.files) or "(no .csv/.xlsx files found)"
        raise PrepareError(f"the lists have no beneficiary rows: {files}", code="empty")
    raise PrepareError(
        f"every row was rejected ({imported.rejected_rows} rows); nothing to pay. Fix the lists and "
        "prepare again",
        code="all_rejected",
        top_reasons=reasons,
    )


def _where(r: Rejection) -> str:
    return f"{r.file}:{r.row} [{r.column}] " if r.row else f"{r.file}: "


def _files(inputs: Sequence[Path]) -> list[Path]:
    out: list[Path] = []
    for p in inputs:
        if p.is_dir():
            out.extend(sorted(x for x in p.iterdir() if x.suffix.lower() in (".csv", ".xlsx")))
        elif p.exists():
            out.append(p)
    return out


def _file_hash(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()
