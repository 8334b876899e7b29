"""One payout per beneficiary, programme and pay period, however many list rows say so.

Paying the same person twice ("trùng lĩnh") is what cashless payment is meant to end, so
rows are grouped by (programme, period, beneficiary CCCD) before anything is frozen:

* rows that agree on what to pay (amount, destination, recipient) are one payout: the
  first row (file order) is kept, the others become a warning naming both places;
* rows that disagree (another amount, another account or wallet, another recipient)
  cannot be settled by software: *every* row of the group is held for a person to
  decide and none is paid;
* the same person may be a beneficiary and also the authorised person or guardian who
  receives for others (a daughter receiving for both parents): allowed, and listed so
  the office sees it.

Names and dates of birth are not compared here: the registry check does that.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

from asxh_pay import vocab
from asxh_pay.masking import mask_cccd
from asxh_pay.payroll.lists import ROW_COLUMNS, ListRow, SpilledImport, interruptible, row_from_db
from asxh_pay.vocab import Detail


@dataclass(frozen=True)
class Hold:
    """A row kept out of the run until a person decides; never paid by this run."""

    row: ListRow
    code: str
    #: A :class:`~asxh_pay.vocab.Detail` (English as a str, any language by :meth:`text`).
    reason: str

    def text(self, lang: str = "vi") -> str:
        return vocab.detail(self.reason, lang)


@dataclass(frozen=True)
class Duplicate:
    """A row dropped because another row already says the same payout."""

    kept: ListRow
    dropped: ListRow

    @property
    def reason(self) -> Detail:
        return Detail(
            "duplicate.same_list" if self.kept.file == self.dropped.file else "duplicate.other_list",
            kept=self.kept.where,
        )


@dataclass(frozen=True)
class RoleNote:
    """A person who is a beneficiary and also receives for others."""

    cccd: str
    own_rows: tuple[str, ...]
    receives_for: tuple[str, ...]  # where each row naming them as recipient is

    @property
    def reason(self) -> Detail:
        return Detail(
            "beneficiary_and_recipient",
            cccd=mask_cccd(self.cccd),
            own=list(self.own_rows),
            n=len(self.receives_for),
            others=list(self.receives_for[:5]),
        )


@dataclass
class DedupeResult:
    unique: Sequence[ListRow] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    held: list[Hold] = field(default_factory=list)
    roles: list[RoleNote] = field(default_factory=list)


def _what_is_paid(row: ListRow) -> tuple[int, str, str, str | None]:
    req = row.request
    return (
        req.amount,
        req.destination.model_dump_json(),
        req.recipient.kind.value,
        req.recipient.cccd,
    )


def _conflict_reason(rows: list[ListRow]) -> Detail:
    reqs = [r.request for r in rows]
    parts = []
    if len({r.amount for r in reqs}) > 1:
        parts.append(Detail("_conflict.amounts", amounts=[r.amount for r in reqs]))
    if len({r.destination.model_dump_json() for r in reqs}) > 1:
        parts.append(Detail("_conflict.destinations"))
    if len({(r.recipient.kind, r.recipient.cccd) for r in reqs}) > 1:
        parts.append(Detail("_conflict.recipients"))
    return Detail("duplicate_conflict", n=len(rows), parts=parts, rows=[r.where for r in rows])


def dedupe(rows: Iterable[ListRow]) -> DedupeResult:
    """Group rows by entitlement; see the module docstring for the rules."""
    result = DedupeResult()
    groups: dict[tuple[str, str, str], list[ListRow]] = defaultdict(list)
    order: list[tuple[str, str, str]] = []
    for row in rows:
        req = row.request
        key = (req.programme, req.period, req.beneficiary.cccd)
        if key not in groups:
            order.append(key)
        groups[key].append(row)
    unique: list[ListRow] = []
    for key in order:
        kept = _settle(groups[key], result)
        if kept is not None:
            unique.append(kept)
    result.unique = unique
    result.roles = roles(unique)
    return result


def _settle(group: list[ListRow], result: DedupeResult) -> ListRow | None:
    """The row paid for one entitlement's group, or None when its rows disagree (all held)."""
    first = group[0]
    if len(group) == 1:
        return first
    if len({_what_is_paid(r) for r in group}) == 1:
        result.duplicates.extend(Duplicate(first, r) for r in group[1:])
        return first
    reason = _conflict_reason(group)
    result.held.extend(Hold(r, "duplicate_conflict", reason) for r in group)
    return None


class SpilledRows(Sequence[ListRow]):
    """The rows left after de-duplication, read back from the import's file in list order.

    A Sequence so that the steps after de-duplication take it as they take a list, but
    it holds no row: each pass reads them from disk again.
    """

    def __init__(self, spill: SpilledImport) -> None:
        self._db = spill.db
        self._where = "seq NOT IN (SELECT seq FROM dropped)"

    def __iter__(self) -> Iterator[ListRow]:
        with interruptible():
            q = f"SELECT {ROW_COLUMNS} FROM rows WHERE {self._where} ORDER BY seq"
            cur = self._db.execute(q)
            while batch := cur.fetchmany(1024):
                for values in batch:
                    yield row_from_db(*values)

    def __len__(self) -> int:
        return int(self._db.execute(f"SELECT count(*) FROM rows WHERE {self._where}").fetchone()[0])

    @overload
    def __getitem__(self, index: int) -> ListRow: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[ListRow]: ...
    def __getitem__(self, index: int | slice) -> ListRow | Sequence[ListRow]:
        if isinstance(index, slice):
            return list(self)[index]
        n = len(self)
        i = index + n if index < 0 else index
        if not 0 <= i < n:
            raise IndexError(index)
        got = self._db.execute(
            f"SELECT {ROW_COLUMNS} FROM rows WHERE {self._where} ORDER BY seq LIMIT 1 OFFSET ?",
            (i,),
        ).fetchone()
        return row_from_db(*got)


def dedupe_spilled(spill: SpilledImport) -> DedupeResult:
    """:func:`dedupe` for an import kept on disk: the same rules, in bounded memory.

    Only the groups with more than one row are loaded (to compare what they pay); the
    unique rows stay in the file and :attr:`DedupeResult.unique` reads them lazily.
    """
    with interruptible():
        return _dedupe_spilled(spill)


def _dedupe_spilled(spill: SpilledImport) -> DedupeResult:
    db = spill.db
    with db:
        db.executescript(
            """
            DROP TABLE IF EXISTS dropped;
            CREATE TABLE dropped (seq INTEGER PRIMARY KEY);
            CREATE INDEX IF NOT EXISTS rows_gkey ON rows (gkey, seq);
            CREATE INDEX IF NOT EXISTS rows_bcccd ON rows (bcccd);
            CREATE INDEX IF NOT EXISTS rows_rcccd ON rows (rcccd);
            """
        )
    result = DedupeResult()
    cur = db.execute(
        "SELECT r.gkey, r.seq, r.data, r.file, r.row, r.warnings, r.district FROM rows r JOIN "
        "(SELECT gkey, min(seq) AS first FROM rows GROUP BY gkey HAVING count(*) > 1) g "
        "ON r.gkey = g.gkey ORDER BY g.first, r.seq"
    )
    group: list[tuple[int, ListRow]] = []
    current: str | None = None

    def settle() -> None:
        kept = _settle([r for _, r in group], result)
        dropped = [(seq,) for seq, r in group if r is not kept]
        db.executemany("INSERT INTO dropped (seq) VALUES (?)", dropped)

    for gkey, seq, *values in cur:
        if gkey != current and group:
            settle()
            group = []
        current = gkey
        group.append((seq, row_from_db(*values)))
    if group:
        settle()
    db.commit()
    result.unique = SpilledRows(spill)
    result.roles = _spilled_roles(spill)
    return result


def _spilled_roles(spill: SpilledImport) -> list[RoleNote]:
    db = spill.db
    live = "seq NOT IN (SELECT seq FROM dropped)"
    both = [
        c
        for (c,) in db.execute(
            f"SELECT DISTINCT rcccd FROM rows WHERE {live} AND rcccd IS NOT NULL AND rcccd != bcccd "
            f"AND rcccd IN (SELECT bcccd FROM rows WHERE {live}) ORDER BY rcccd"
        )
    ]
    notes = []
    for cccd in both:
        own = db.execute(f"SELECT file, row FROM rows WHERE {live} AND bcccd = ? ORDER BY seq", (cccd,))
        rec = db.execute(
            f"SELECT file, row FROM rows WHERE {live} AND rcccd = ? AND bcccd != ? ORDER BY seq", (cccd, cccd)
        )
        notes.append(RoleNote(cccd, tuple(f"{f}:{r}" for f, r in own), tuple(f"{f}:{r}" for f, r in rec)))
    return notes


def roles(rows: Iterable[ListRow]) -> list[RoleNote]:
    """People who are beneficiaries and also authorised persons/guardians for others."""
    rows = list(rows)
    own: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        own[r.request.beneficiary.cccd].append(r.where)
    receives: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        rc = r.request.recipient.cccd
        if rc and rc != r.request.beneficiary.cccd:
            receives[rc].append(r.where)
    return [
        RoleNote(cccd, tuple(own[cccd]), tuple(receives[cccd])) for cccd in sorted(receives) if cccd in own
    ]
