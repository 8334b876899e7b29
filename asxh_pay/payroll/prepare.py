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
from collections.abc import Iterable, Iterator, Sequence
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
    payout_line,
    read_payouts,
    run_dir,
    run_hash,
    sign,
    verify_signature,
    write_json,
)
from asxh_pay.payroll.dedupe import DedupeResult, Hold, dedupe_spilled
from asxh_pay.payroll.lists import (
    ImportResult,
    ListDefaults,
    ListRow,
    ProgressCallback,
    SpilledImport,
    interruptible,
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


class _Totals:
    """Counts and amounts by commune, method, provider and programme, added up in one pass."""

    def __init__(self, rails: Rails) -> None:
        self.rails = rails
        self.by: dict[str, Counter[str]] = {
            k: Counter() for k in ("commune", "method", "provider", "programme")
        }
        self.amounts: dict[str, Counter[str]] = {k: Counter() for k in self.by}

    def add(self, p: FrozenPayout) -> None:
        r = p.request
        route = self.rails.router.routes
        dest = r.destination
        provider = route.get(f"wallet:{getattr(dest, 'provider', '')}") or route.get(dest.kind, "-")
        for k, v in (
            ("commune", r.beneficiary.commune_code or "-"),
            ("method", dest.kind),
            ("provider", provider),
            ("programme", r.programme),
        ):
            self.by[k][v] += 1
            self.amounts[k][v] += r.amount

    def tap(self, payouts: Iterable[FrozenPayout]) -> Iterator[FrozenPayout]:
        for p in payouts:
            self.add(p)
            yield p

    def result(self) -> dict[str, Any]:
        by, amounts = self.by, self.amounts
        return {k: {v: {"count": by[k][v], "amount": amounts[k][v]} for v in sorted(by[k])} for k in by}


#: Rows verified, inquired and frozen at a time: bounds the requests held in memory.
CHUNK_ROWS = 5_000
#: Holds and warnings kept in :class:`Prepared` (all of them are in the run's CSV files).
MAX_KEPT = 1000


def _chunks(rows: Iterable[ListRow], size: int) -> Iterator[list[ListRow]]:
    it = iter(rows)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


class _Outcomes:
    """Held rows and warnings of a run, kept in the import's temporary file, not in memory.

    Why: with an empty or stale register every row of a million-row list is held; as
    ``Hold`` objects that is gigabytes. Each is written as its CSV line and counted; only
    the first :data:`MAX_KEPT` are kept as objects.
    """

    def __init__(self, spill: SpilledImport) -> None:
        self.db = spill.db
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS held_out (seq INTEGER PRIMARY KEY, source TEXT, programme TEXT,
                                                 cccd TEXT, code TEXT, reason TEXT, amount INTEGER);
            CREATE TABLE IF NOT EXISTS warnings_out (seq INTEGER PRIMARY KEY, source TEXT, code TEXT,
                                                     detail TEXT);
            """
        )
        self.held: list[Hold] = []
        self.held_count = 0
        self.warning_count = 0
        self.held_by_code: Counter[str] = Counter()

    def hold(self, holds: Iterable[Hold]) -> None:
        rows = []
        for h in holds:
            if len(self.held) < MAX_KEPT:
                self.held.append(h)
            self.held_count += 1
            self.held_by_code[h.code] += 1
            req = h.row.request
            rows.append(
                (h.row.where, req.programme, mask_cccd(req.beneficiary.cccd), h.code, h.reason, req.amount)
            )
        with interruptible(), self.db:
            self.db.executemany(
                "INSERT INTO held_out (source, programme, cccd, code, reason, amount) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    def warn(self, warnings: Sequence[tuple[str, str, str]]) -> None:
        self.warning_count += len(warnings)
        with interruptible(), self.db:
            self.db.executemany("INSERT INTO warnings_out (source, code, detail) VALUES (?, ?, ?)", warnings)

    def held_rows(self) -> Iterator[list[Any]]:
        with interruptible():
            for row in self.db.execute(
                "SELECT source, programme, cccd, code, reason, amount FROM held_out ORDER BY seq"
            ):
                yield list(row)

    def warnings(self) -> Iterator[tuple[str, str, str]]:
        with interruptible():
            yield from self.db.execute("SELECT source, code, detail FROM warnings_out ORDER BY seq")


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

    run_id = run_id or new_run_id(defaults.period, defaults.district_code)
    rdir = run_dir(data_dir, run_id)
    if rdir.exists():
        raise ApprovalError(f"run {run_id} already exists; prepare a new run instead of overwriting it")
    staging.mkdir(parents=True)
    out = _Outcomes(spill)
    out.hold(deduped.held)
    with (staging / "payouts.jsonl").open("w", encoding="utf-8") as frozen:
        # In chunks, so that a big list never has all its requests in memory at once.
        for chunk in _chunks(deduped.unique, CHUNK_ROWS):
            rows, held1 = await verify_rows(chunk, registry)
            out.hold(held1)
            out.warn([(r.where, w.split(":")[0], w) for r in rows for w in r.warnings])
            if verify_accounts:
                rows, held2, warn2 = await _inquire(rows, rails)
                out.hold(held2)
                out.warn(warn2)
            rows, held3, warn3 = await _against_ledger(rows, ledger_url)
            out.hold(held3)
            out.warn(warn3)
            for r in rows:
                p = FrozenPayout(r.request.key(), r.request.model_copy(update={"run_id": run_id}))
                frozen.write(payout_line(p) + "\n")
        frozen.flush()
        os.fsync(frozen.fileno())
    totals = _Totals(rails)
    digest, count, total = run_hash(run_id, totals.tap(read_payouts(staging / "payouts.jsonl")))
    held = out.held

    write_csv(
        staging / "rejected.csv",
        ["file", "row", "column", "code", "reason"],
        ([r.file, r.row, r.column, r.code, r.reason] for r in imported.rejected),
        lang,
    )
    write_csv(
        staging / "held.csv",
        ["source", "programme", "cccd", "code", "reason", "amount"],
        out.held_rows(),
        lang,
    )
    write_csv(
        staging / "warnings.csv",
        ["source", "code", "detail"],
        (
            [w[0], w[1], w[2]]
            for w in [
                *out.warnings(),
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
            "held": out.held_count,
            "warnings": out.warning_count,
            "beneficiary_and_recipient": len(deduped.roles),
            "payouts": count,
            "total_vnd": total,
        },
        "held_by_code": dict(out.held_by_code),
        "rejected_by_code": dict(Counter(r.code for r in imported.rejected)),
        "totals": totals.result(),
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
    # Holds and warnings: the first MAX_KEPT (all are in held.csv and warnings.csv); the
    # frozen payouts are read from payouts.jsonl (approval.read_payouts), not kept.
    warnings = list(itertools.islice(out.warnings(), MAX_KEPT))
    return Prepared(run_id, rdir, manifest, summary, deduped, held, warnings)


def _files(inputs: Sequence[Path]) -> list[Path]:
    return [p for p in list_files(inputs) if p.exists()]


def _file_hash(p: Path) -> str:
    with p.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
