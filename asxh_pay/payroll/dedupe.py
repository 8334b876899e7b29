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
from collections.abc import Iterable
from dataclasses import dataclass, field

from asxh_pay.masking import mask_cccd
from asxh_pay.money import format_vnd
from asxh_pay.payroll.lists import ListRow


@dataclass(frozen=True)
class Hold:
    """A row kept out of the run until a person decides; never paid by this run."""

    row: ListRow
    code: str
    reason: str


@dataclass(frozen=True)
class Duplicate:
    """A row dropped because another row already says the same payout."""

    kept: ListRow
    dropped: ListRow

    @property
    def reason(self) -> str:
        same = "same list" if self.kept.file == self.dropped.file else "another list"
        return f"duplicate of {self.kept.where} ({same}): paid once"


@dataclass(frozen=True)
class RoleNote:
    """A person who is a beneficiary and also receives for others."""

    cccd: str
    own_rows: tuple[str, ...]
    receives_for: tuple[str, ...]  # where each row naming them as recipient is

    @property
    def reason(self) -> str:
        return (
            f"{mask_cccd(self.cccd)} is a beneficiary ({', '.join(self.own_rows)}) and receives for "
            f"{len(self.receives_for)} other(s) ({', '.join(self.receives_for[:5])})"
        )


@dataclass
class DedupeResult:
    unique: list[ListRow] = field(default_factory=list)
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


def _conflict_reason(rows: list[ListRow]) -> str:
    reqs = [r.request for r in rows]
    parts = []
    if len({r.amount for r in reqs}) > 1:
        parts.append("different amounts (" + " / ".join(format_vnd(r.amount) for r in reqs) + ")")
    if len({r.destination.model_dump_json() for r in reqs}) > 1:
        parts.append("different accounts or methods")
    if len({(r.recipient.kind, r.recipient.cccd) for r in reqs}) > 1:
        parts.append("different recipients")
    where = ", ".join(r.where for r in rows)
    return f"beneficiary listed {len(rows)} times with {' and '.join(parts)}: {where}; decide which is right"


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
    for key in order:
        group = groups[key]
        first = group[0]
        if len(group) == 1:
            result.unique.append(first)
            continue
        if len({_what_is_paid(r) for r in group}) == 1:
            result.unique.append(first)
            result.duplicates.extend(Duplicate(first, r) for r in group[1:])
            continue
        reason = _conflict_reason(group)
        result.held.extend(Hold(r, "duplicate_conflict", reason) for r in group)
    result.roles = roles(result.unique)
    return result


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
