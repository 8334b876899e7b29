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
import hashlib
import itertools
import os
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asxh_pay.client import AsyncPayoutClient
from asxh_pay.errors import AsxhPayError, ConfigurationError
from asxh_pay.ledger import SqliteLedger, open_ledger
from asxh_pay.masking import mask_cccd
from asxh_pay.models import ELECTRONIC_KINDS, Payout
from asxh_pay.payroll.approval import (
    FORMAT,
    ApprovalError,
    FrozenPayout,
    check_operator_key,
    run_dir,
    run_hash,
    sign,
    verify_signature,
    write_json,
    write_payouts,
)
from asxh_pay.payroll.dedupe import DedupeResult, Hold, dedupe_spilled
from asxh_pay.payroll.lists import (
    ImportResult,
    ListDefaults,
    ListRow,
    ProgressCallback,
    SpilledImport,
    list_files,
)
from asxh_pay.payroll.rails import Rails
from asxh_pay.payroll.registry import PopulationRegistry, owner_matches, verify_rows
from asxh_pay.payroll.reports import write_csv

INQUIRY_CONCURRENCY = 128


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


def new_run_id(period: str, district: str | None) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")[:-3]
    return f"{period}-{district or 'run'}-{stamp}"


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
    progress: ProgressCallback | None = None,
) -> Prepared:
    """Prepare a run; its folder appears whole at the end or not at all.

    Why: an interrupted prepare (Ctrl-C, SIGTERM, a crash) must not leave a run an operator
    could approve. Everything is written to a staging folder under ``<data-dir>/tmp`` and
    renamed into ``runs/`` last; the lists' rows wait in a temporary SQLite file meanwhile
    (bounded memory for big lists), deleted whatever happens.
    """
    if not defaults.period:
        raise ApprovalError("the pay period is required (--period YYYY-MM)")
    check_operator_key(data_dir, operator, key_path)
    staging = data_dir / "tmp" / f"prepare-{os.getpid()}-{datetime.now(UTC).strftime('%H%M%S%f')}"
    try:
        with SpilledImport(data_dir / "tmp") as spill:
            spill.add_all(inputs, defaults, encoding=encoding, progress=progress)
            return await _prepare(
                spill,
                staging,
                inputs,
                data_dir=data_dir,
                operator=operator,
                key_path=key_path,
                defaults=defaults,
                registry=registry,
                rails=rails,
                ledger_url=ledger_url,
                run_id=run_id,
                verify_accounts=verify_accounts,
                lang=lang,
            )
    finally:
        shutil.rmtree(staging, ignore_errors=True)


#: Rejections kept in :attr:`Prepared.imported` (all of them are in ``rejected.csv``).
MAX_REJECTIONS_KEPT = 1000


async def _prepare(
    spill: SpilledImport,
    staging: Path,
    inputs: Sequence[Path],
    *,
    data_dir: Path,
    operator: str,
    key_path: Path,
    defaults: ListDefaults,
    registry: PopulationRegistry,
    rails: Rails,
    ledger_url: str | None,
    run_id: str | None,
    verify_accounts: bool,
    lang: str,
) -> Prepared:
    assert defaults.period
    imported = spill
    deduped = dedupe_spilled(spill)
    rows, held = await verify_rows(deduped.unique, registry)
    warnings: list[tuple[str, str, str]] = [(r.where, w.split(":")[0], w) for r in rows for w in r.warnings]
    if verify_accounts:
        rows, held2, warn2 = await _inquire(rows, rails)
        held.extend(held2)
        warnings.extend(warn2)
    rows, held3, warn3 = await _against_ledger(rows, ledger_url)
    held.extend(held3)
    warnings.extend(warn3)
    held = deduped.held + held

    run_id = run_id or new_run_id(defaults.period, defaults.district_code)
    rdir = run_dir(data_dir, run_id)
    if rdir.exists():
        raise ApprovalError(f"run {run_id} already exists; prepare a new run instead of overwriting it")
    staging.mkdir(parents=True)
    payouts = [FrozenPayout(r.request.key(), r.request.model_copy(update={"run_id": run_id})) for r in rows]
    write_payouts(staging / "payouts.jsonl", payouts)
    digest, count, total = run_hash(run_id, payouts)

    write_csv(
        staging / "rejected.csv",
        ["file", "row", "column", "code", "reason"],
        ([r.file, r.row, r.column, r.code, r.reason] for r in imported.rejected),
        lang,
    )
    write_csv(
        staging / "held.csv",
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
        staging / "warnings.csv",
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
        "district": defaults.district_code,
        "province": defaults.province_code,
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
    write_json(staging / "manifest.json", manifest)
    rdir.parent.mkdir(parents=True, exist_ok=True)
    os.rename(staging, rdir)  # the run appears whole, or not at all
    rejected = list(itertools.islice(imported.rejected, MAX_REJECTIONS_KEPT))
    summary = ImportResult(rejected=rejected, files=imported.files)
    deduped.unique = []  # read from the import's temporary file, deleted on return
    return Prepared(run_id, rdir, manifest, summary, deduped, held, warnings, payouts)


def _files(inputs: Sequence[Path]) -> list[Path]:
    return [p for p in list_files(inputs) if p.exists()]


def _file_hash(p: Path) -> str:
    with p.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
