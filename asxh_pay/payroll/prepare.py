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
import itertools
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from asxh_pay import vocab
from asxh_pay.client import AsyncPayoutClient
from asxh_pay.errors import AsxhPayError, ConfigurationError, Message, ValidationError, message_of
from asxh_pay.ledger import SqliteLedger, open_ledger
from asxh_pay.masking import mask_cccd, mask_text
from asxh_pay.models import ELECTRONIC_KINDS, Payout, check_period
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
    trusted_key_path,
    verify_signature,
    write_json,
)
from asxh_pay.payroll.dedupe import DedupeResult, Hold, dedupe_spilled
from asxh_pay.payroll.lists import (
    LIST_SUFFIXES,
    ImportResult,
    ListDefaults,
    ListRow,
    ProgressCallback,
    Rejection,
    SpilledImport,
    interruptible,
    list_files,
    warning_detail,
)
from asxh_pay.payroll.placement import Codes, MappingLine, Placement, old_coded_files, place_rows
from asxh_pay.payroll.rails import Rails
from asxh_pay.payroll.registry import PopulationRegistry, owner_matches, verify_rows
from asxh_pay.payroll.reports import write_csv
from asxh_pay.programmes import Programmes, load_programmes
from asxh_pay.status import FailureReason
from asxh_pay.units import PayingUnit, UnitError
from asxh_pay.vocab import Detail

INQUIRY_CONCURRENCY = 128
T = TypeVar("T")


class PrepareError(AsxhPayError):
    """The run cannot be prepared as asked (bad period or run id, no key, nothing to pay...).

    Raised before anything is written, with a reason a person can act on; the CLI shows it
    and exits 2.
    """

    def __init__(
        self, message: str | Message, *, code: str, top_reasons: Sequence[tuple[str, int, str]] = ()
    ) -> None:
        super().__init__(message)
        self.code = code
        self.top_reasons = list(top_reasons)  # (code, rows, an example reason)


def top_reasons(
    items: Sequence[tuple[str, str]], n: int = 5, *, counts: dict[str, int] | None = None
) -> list[tuple[str, int, str]]:
    """The ``n`` most frequent codes of (code, reason) items: (code, count, first reason seen).

    ``counts``: the full counts by code when ``items`` is only the first of many."""
    counts = Counter(counts) if counts else Counter(code for code, _ in items)
    example: dict[str, str] = {}
    for code, reason in items:
        example.setdefault(code, reason)
    return [(code, k, example.get(code, code)) for code, k in counts.most_common(n)]


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
        raise PrepareError(Message("period_required"), code="period")
    try:
        check_period(period)
    except ValidationError:
        raise PrepareError(Message("period_invalid", period=period), code="period") from None
    if run_id is not None and (
        not run_id or len(run_id) > 64 or not set(run_id) <= _RUN_ID_CHARS or run_id[0] in ".-"
    ):
        raise PrepareError(Message("run_id_format", run_id=run_id), code="run_id")
    if run_id is not None and run_dir(data_dir, run_id).exists():
        raise PrepareError(Message("run_exists", run_id=run_id), code="run_id")
    make = f"asxh-pay keys generate --operator {operator} --data-dir {data_dir}"
    if not key_path.exists():
        raise PrepareError(
            Message("no_operator_key", operator=operator, path=key_path, command=make), code="no_key"
        )
    try:
        trusted_key_path(data_dir, operator)  # checks the name
    except ApprovalError as exc:
        raise PrepareError(message_of(exc), code="operator") from None
    # Whether the key is trusted is the operator roster's to say (check_operator_key, next).
    for p in inputs:
        if not p.exists():
            raise PrepareError(Message("no_list_file", path=p), code="no_file")
        if p.is_file() and p.suffix.lower() not in SUPPORTED_SUFFIXES:
            words = Message(
                "unsupported_list_file",
                name=p.name,
                suffix=p.suffix or "(none)",
                suffixes=", ".join(SUPPORTED_SUFFIXES),
            )
            raise PrepareError(words, code="file_type")


#: What the importer reads (a folder is read for these too).
SUPPORTED_SUFFIXES = LIST_SUFFIXES


@dataclass
class Prepared:
    run_id: str
    dir: Path
    manifest: dict[str, Any]
    imported: ImportResult
    deduped: DedupeResult
    # Bounded for big lists: held, warnings and imported.rejected keep the first MAX_KEPT
    # (the run's CSV files and the manifest's counts have them all), and the frozen payouts
    # are read from dir / "payouts.jsonl" (approval.read_payouts), not kept here.
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
            return (
                row,
                Hold(row, "no_rail", Detail("no_rail", error=str(exc), method=req.destination.kind)),
                None,
            )
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
                        Detail("account_not_verified", provider=provider, error=type(exc).__name__),
                    ),
                )
        if not answer.exists:
            return (
                row,
                None,
                (row.where, "account_not_found", Detail("account_not_found", provider=provider)),
            )
        accepted, how = owner_matches(row, answer.holder_name or "")
        if not accepted:
            return (
                row,
                Hold(
                    row,
                    "account_owner_mismatch",
                    Detail("account_owner_mismatch", failure=FailureReason.NAME_MISMATCH, how=how),
                ),
                None,
            )
        if how.value == "reordered":
            return (
                row,
                None,
                (row.where, "account_owner_reordered", Detail("account_owner_reordered")),
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
                        Detail("already_in_ledger", payout=existing.id, status=existing.status),
                    )
                )
            else:
                held.append(
                    Hold(row, "conflicts_with_ledger", Detail("conflicts_with_ledger", payout=existing.id))
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


def _chunks(rows: Iterable[T], size: int) -> Iterator[list[T]]:
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
                (
                    h.row.where,
                    req.programme,
                    mask_cccd(req.beneficiary.cccd),
                    h.code,
                    vocab.dump_detail(h.reason),
                    req.amount,
                )
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
            self.db.executemany(
                "INSERT INTO warnings_out (source, code, detail) VALUES (?, ?, ?)",
                [(where, code, vocab.dump_detail(detail)) for where, code, detail in warnings],
            )

    def held_rows(self) -> Iterator[list[Any]]:
        """(source, programme, masked cccd, code, detail, amount) of each held row, in order."""
        with interruptible():
            for source, programme, cccd, code, reason, amount in self.db.execute(
                "SELECT source, programme, cccd, code, reason, amount FROM held_out ORDER BY seq"
            ):
                yield [source, programme, cccd, code, vocab.load_detail(reason), amount]

    def warnings(self) -> Iterator[tuple[str, str, str]]:
        with interruptible():
            for source, code, detail in self.db.execute(
                "SELECT source, code, detail FROM warnings_out ORDER BY seq"
            ):
                yield source, code, vocab.load_detail(detail)


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
    progress: ProgressCallback | None = None,
) -> Prepared:
    """Prepare a run of ``unit`` (a commune, or a province paying centrally; inferred from the
    lists when None and they name one province). Raises :class:`PrepareError` before writing
    anything when the run cannot be prepared (see :func:`_fail_fast`) or nothing in the lists
    can be paid.

    The run's folder appears whole at the end or not at all: an interrupted prepare (Ctrl-C,
    SIGTERM, a crash) must not leave a run an operator could approve. Everything is written
    to a staging folder under ``<data-dir>/tmp`` and renamed into ``runs/`` last. The lists'
    rows wait in a temporary SQLite file meanwhile, so that a big list is placed, de-duplicated,
    verified and frozen in bounded memory; the file is deleted whatever happens."""
    _fail_fast(inputs, data_dir, operator, key_path, defaults.period, run_id)
    try:
        check_operator_key(data_dir, operator, key_path)
    except ApprovalError as exc:
        raise PrepareError(message_of(exc), code="key") from None
    programmes = programmes or load_programmes(data_dir)
    if defaults.programme and defaults.programme.strip().upper() not in programmes:
        known = ", ".join(programmes.codes())
        raise PrepareError(
            Message("programme_not_known", programme=defaults.programme, known=known), code="programme"
        )
    if unit is not None:
        defaults = dataclasses.replace(
            defaults,
            commune_code=defaults.commune_code or (unit.code if unit.level == "commune" else None),
            province_code=unit.province_code,
        )
    defaults = dataclasses.replace(defaults, programmes=programmes)
    _remove_leftovers(data_dir / "tmp")
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
                unit=unit,
                codes=codes,
                programmes=programmes,
            )
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _place(
    spill: SpilledImport,
    out: _Outcomes,
    *,
    unit: PayingUnit | None,
    programmes: Programmes,
    codes: Codes,
    lang: str = "vi",
) -> Placement:
    """:func:`place_rows` over the import's file, a chunk at a time, with the same decisions.

    Whether a file is in pre-2025 codes, and which unit pays when none was given, are
    decided over all its rows; both depend only on each row's file, codes and programme, so
    they are decided on one row of each such combination. Placed rows are written back,
    held and rejected rows leave the file.
    """
    db = spill.db
    with interruptible():
        firsts = [
            seq
            for (seq,) in db.execute(
                "SELECT min(seq) FROM rows GROUP BY file, district, commune, province, programme"
            )
        ]
    sample = [row for _, row in spill.rows_with_seq(f"seq IN ({','.join(map(str, firsts)) or 'NULL'})")]
    old_files = old_coded_files(sample, spill.files, codes)
    try:
        decided = place_rows(sample, spill.files, unit=unit, programmes=programmes, old_files=old_files)
    except UnitError as exc:
        raise PrepareError(message_of(exc), code=exc.code) from None
    placement = Placement(unit=decided.unit, unit_inferred=decided.unit_inferred)
    placement.old_coded_files = sorted(old_files)
    mappings: dict[tuple[str, str, str], MappingLine] = {}
    placed = 0
    for chunk in _chunks(spill.rows_with_seq(), CHUNK_ROWS):
        rows = [r for _, r in chunk]
        # unit=unit, not decided.unit: each row is placed exactly as place_rows over all rows
        # would (a commune named by name is looked up in its own province). A chunk's communes
        # are some of all the rows', so a unit a chunk infers covers each of them, and the
        # paying unit is the one decided above.
        p = place_rows(rows, spill.files, unit=unit, programmes=programmes, old_files=old_files)
        spill.reject(p.rejected)
        placement.rejected.extend(p.rejected[: max(0, MAX_KEPT - len(placement.rejected))])
        out.hold(p.held)
        kept = {(r.file, r.row): r for r in p.rows}
        spill.drop(seq for seq, r in chunk if (r.file, r.row) not in kept)
        spill.replace((seq, kept[r.file, r.row]) for seq, r in chunk if kept.get((r.file, r.row), r) is not r)
        placed += len(p.rows)
        for m in p.mappings:
            key = (m.file, m.listed, m.status)
            had = mappings.get(key)
            mappings[key] = m if had is None else dataclasses.replace(had, rows=had.rows + m.rows)
    placement.mappings = [mappings[k] for k in sorted(mappings)]
    placement.held = out.held[: len(out.held)]
    placement.rows = []  # in the import's file: spill.row_count of them
    if not placed and not out.held_count:
        _nothing_to_pay(spill, lang)
    return placement


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
    unit: PayingUnit | None,
    codes: Codes,
    programmes: Programmes,
) -> Prepared:
    imported = spill
    _check_file_types(imported.rejected)
    out = _Outcomes(spill)
    placement = _place(spill, out, unit=unit, programmes=programmes, codes=codes, lang=lang)
    deduped = dedupe_spilled(spill)
    out.hold(deduped.held)

    paying = placement.unit
    run_id = run_id or new_run_id(defaults.period or "", paying.code if paying else None)
    rdir = run_dir(data_dir, run_id)
    if rdir.exists():
        raise ApprovalError(Message("run_exists", run_id=run_id))
    staging.mkdir(parents=True)
    with (staging / "payouts.jsonl").open("w", encoding="utf-8") as frozen:
        # In chunks, so that a big list never has all its requests in memory at once.
        for chunk in _chunks(deduped.unique, CHUNK_ROWS):
            rows, held1 = await verify_rows(chunk, registry)
            out.hold(held1)
            out.warn([(r.where, w.split(":")[0], warning_detail(w)) for r in rows for w in r.warnings])
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

    # In the run's language: the headers, the reason in the shared vocabulary's words and its
    # detail rendered from its code and parameters (vocab.Detail); the code column is the
    # machine's, the same in every language. Details are masked as free text (mask_text).
    write_csv(
        staging / "rejected.csv",
        ["file", "row", "column", "code", "reason", "detail"],
        (
            [
                r.file,
                r.row,
                r.column,
                r.code,
                vocab.reason(r.code, lang),
                mask_text(vocab.detail(r.reason, lang)),
            ]
            for r in imported.rejected
        ),
        lang,
    )
    write_csv(
        staging / "held.csv",
        ["source", "programme", "cccd", "code", "reason", "detail", "amount"],
        (
            [
                source,
                programme,
                cccd,
                code,
                vocab.reason(code, lang),
                mask_text(vocab.detail(reason, lang)),
                amount,
            ]
            for source, programme, cccd, code, reason, amount in out.held_rows()
        ),
        lang,
    )
    write_csv(
        staging / "unit-mapping.csv",
        ["file", "listed_unit", "old_unit", "mapping", "new_unit", "unit_name", "rows", "reason"],
        (
            [
                m.file,
                m.listed,
                m.old_name,
                m.status,
                m.new_code,
                m.new_name,
                m.rows,
                vocab.detail(m.reason, lang),
            ]
            for m in placement.mappings
        ),
        lang,
    )
    write_csv(
        staging / "warnings.csv",
        ["source", "code", "reason", "detail"],
        (
            [w[0], w[1], vocab.reason(w[1], lang), mask_text(vocab.detail(w[2], lang))]
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
            if code in totals.by["programme"]
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
    summary = ImportResult(rejected=list(itertools.islice(imported.rejected, MAX_KEPT)), files=imported.files)
    deduped.unique = []  # read from the import's temporary file, deleted on return
    # Holds, warnings and rejections: the first MAX_KEPT (all of them are in the run's CSV
    # files); the frozen payouts are read from payouts.jsonl (approval.read_payouts).
    warnings = list(itertools.islice(out.warnings(), MAX_KEPT))
    return Prepared(run_id, rdir, manifest, summary, deduped, held, warnings, [], placement)


def _remove_leftovers(tmp: Path) -> None:
    """Delete what a prepare killed outright (SIGKILL, power loss) left in ``<data-dir>/tmp``.

    Such leftovers are never a run (runs appear in ``runs/`` only when whole), only disk
    space. Each name carries its process id; those of a live process are another prepare's.
    """
    if not tmp.is_dir():
        return
    for p in tmp.iterdir():
        parts = p.name.split("-")
        if not (p.name.startswith(("prepare-", "asxh-import-")) and len(parts) > 2):
            continue
        pid_text = parts[1] if p.name.startswith("prepare-") else parts[2]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _check_file_types(rejected: Iterable[Rejection]) -> None:
    bad = next((r for r in rejected if r.row == 0 and r.code == "file_type"), None)
    if bad is not None:
        raise PrepareError(
            Message("unsupported_list_row", file=bad.file, reason=bad.reason), code="file_type"
        )


def _nothing_to_pay(spill: SpilledImport, lang: str = "vi") -> None:
    """Fail before writing a run when no row of the lists can be paid or decided on; the
    example of each top reason in ``lang``."""
    rows_read = sum(f.rows_read for f in spill.files)
    if not spill.rejected and not rows_read:
        files = ", ".join(f.name for f in spill.files) or Message("no_list_files")
        raise PrepareError(Message("lists_empty", files=files), code="empty")
    with interruptible():
        top = spill.db.execute(
            "SELECT code, count(*), min(seq) FROM rejected GROUP BY code "
            "ORDER BY count(*) DESC, min(seq) LIMIT 5"
        ).fetchall()
        reasons = []
        for code, n, first in top:
            file, row, column, reason = spill.db.execute(
                "SELECT file, row, col, reason FROM rejected WHERE seq = ?", (first,)
            ).fetchone()
            detail = vocab.detail(vocab.load_detail(reason), lang)
            reasons.append((code, n, _where(Rejection(file, row, column, code, detail)) + detail))
    raise PrepareError(
        Message("all_rows_rejected", n=spill.rejected_rows), code="all_rejected", top_reasons=reasons
    )


def _where(r: Rejection) -> str:
    return f"{r.file}:{r.row} [{r.column}] " if r.row else f"{r.file}: "


def _files(inputs: Sequence[Path]) -> list[Path]:
    return [p for p in list_files(inputs) if p.exists()]


def _file_hash(p: Path) -> str:
    with p.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
