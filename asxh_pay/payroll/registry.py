"""Verification before paying: the National Population Database check and account owners.

Before a list is paid, the commune police check every person against the National
Population Database (Cơ sở dữ liệu quốc gia về dân cư): the CCCD exists, the person is
alive, and the name and date of birth on the list match. :class:`PopulationRegistry` is
that check as an interface; :class:`SandboxPopulationRegistry` is a seeded synthetic
population kept in a small SQLite file, where a test or an operator can record a death
or the end of an entitlement.

The check runs twice. At preparation every person is looked up (:func:`verify_rows`).
Just before sending, the registry is asked again, cheaply and in batches
(:meth:`PopulationRegistry.check_batch`, one call per 500 payouts), so that a death or a
loss of entitlement recorded *after* the run was prepared stops that payout.

Name rule (:func:`names_match`). Vietnamese names are compared with
:func:`asxh_pay.identity.match_names`: ``EXACT`` and ``FOLDED`` (diacritics, case,
spacing) are accepted; ``NEAR`` and ``MISMATCH`` are held. ``REORDERED`` is accepted
only when it is a *rotation*, the family name moved from the front to the back or back
to the front (``Nguyễn Văn An`` / ``VAN AN NGUYEN``, the given-name-first order that
foreign-built bank and wallet systems print), and, against the population register,
only when the date of birth on the list equals the register's. Any other reordering
(``Nguyễn Văn An`` / ``Nguyễn An Văn``) can be a different relative and is held.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol, runtime_checkable

from asxh_pay.identity import NameMatch, fold, match_names
from asxh_pay.models import RecipientKind
from asxh_pay.payroll.dedupe import Hold
from asxh_pay.payroll.lists import ListRow
from asxh_pay.status import FailureReason
from asxh_pay.vocab import Detail

BATCH = 500


@dataclass(frozen=True)
class PersonRecord:
    """What the register says about one CCCD."""

    cccd: str
    full_name: str
    birth_date: date | None = None
    died_on: date | None = None

    @property
    def alive(self) -> bool:
        return self.died_on is None

    def __repr__(self) -> str:
        return f"PersonRecord(cccd={self.cccd[:4]}…, alive={self.alive})"


@dataclass(frozen=True)
class Stop:
    """A reason not to pay a CCCD found by the pre-send check."""

    cccd: str
    reason: FailureReason  # BENEFICIARY_DECEASED, REGULATORY (entitlement ended), IDENTITY_CHECK_FAILED
    detail: str  # a Detail of this register (any language); a remote register's own words
    programme: str | None = None  # None: every programme

    def applies_to(self, programme: str) -> bool:
        return self.programme is None or self.programme == programme


@runtime_checkable
class PopulationRegistry(Protocol):
    """The identity register the payroll is checked against (an adapter, like a rail).

    Implementations: :class:`SandboxPopulationRegistry` (SQLite, in the process) and
    :class:`asxh_pay.payroll.register_http.HttpPopulationRegistry` (the JSON API of
    docs/register.md, which ``asxh-pay sandbox serve register`` also speaks).
    """

    async def lookup_batch(self, cccds: Sequence[str]) -> dict[str, PersonRecord]:
        """Records for the CCCDs that exist (absent keys: no such person)."""
        ...

    async def check_batch(self, cccds: Sequence[str]) -> dict[str, list[Stop]]:
        """Cheap pre-send check: the CCCDs that must not be paid now, with why."""
        ...

    def close(self) -> None:
        """Release the connection or file."""
        ...


class SandboxPopulationRegistry(PopulationRegistry):
    """A synthetic register in SQLite (``":memory:"`` for tests), shared between processes.

    Why a file: ``prepare`` and ``run`` are separate commands, and a death recorded in
    between (``asxh-pay registry mark-dead``) must be seen by ``run``.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS people (cccd TEXT PRIMARY KEY, full_name TEXT NOT NULL, "
            "birth_date TEXT, died_on TEXT)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS entitlement_stops (cccd TEXT NOT NULL, programme TEXT NOT NULL, "
            "note TEXT, PRIMARY KEY (cccd, programme))"
        )

    def close(self) -> None:
        self._db.close()

    # -- seeding and events ------------------------------------------------------

    def add(self, people: Iterable[PersonRecord]) -> int:
        rows = [
            (
                p.cccd,
                p.full_name,
                p.birth_date.isoformat() if p.birth_date else None,
                p.died_on.isoformat() if p.died_on else None,
            )
            for p in people
        ]
        self._db.execute("BEGIN")
        self._db.executemany("INSERT OR REPLACE INTO people VALUES (?,?,?,?)", rows)
        self._db.execute("COMMIT")
        return len(rows)

    def mark_dead(self, cccd: str, on: date | None = None) -> bool:
        """Record a death (as the civil registry would); False if the CCCD is unknown."""
        cur = self._db.execute(
            "UPDATE people SET died_on=? WHERE cccd=?", ((on or date.today()).isoformat(), cccd)
        )
        return cur.rowcount == 1

    def stop_entitlement(self, cccd: str, programme: str, note: str = "") -> None:
        """Record that a person is no longer entitled to a programme (decision of the office)."""
        self._db.execute(
            "INSERT OR REPLACE INTO entitlement_stops VALUES (?,?,?)", (cccd, programme, note[:200])
        )

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM people").fetchone()[0])

    # -- queries -------------------------------------------------------------------

    def _select(self, sql: str, cccds: Sequence[str]) -> list[tuple[str, ...]]:
        out: list[tuple[str, ...]] = []
        for i in range(0, len(cccds), BATCH):
            chunk = list(cccds[i : i + BATCH])
            out.extend(self._db.execute(sql.format(marks=",".join("?" * len(chunk))), chunk).fetchall())
        return out

    async def lookup_batch(self, cccds: Sequence[str]) -> dict[str, PersonRecord]:
        rows = self._select(
            "SELECT cccd, full_name, birth_date, died_on FROM people WHERE cccd IN ({marks})", cccds
        )
        await asyncio.sleep(0)
        return {
            r[0]: PersonRecord(
                r[0],
                r[1],
                date.fromisoformat(r[2]) if r[2] else None,
                date.fromisoformat(r[3]) if r[3] else None,
            )
            for r in rows
        }

    async def check_batch(self, cccds: Sequence[str]) -> dict[str, list[Stop]]:
        stops: dict[str, list[Stop]] = {}
        found = set()
        for cccd, died in self._select("SELECT cccd, died_on FROM people WHERE cccd IN ({marks})", cccds):
            found.add(cccd)
            if died:
                stops.setdefault(cccd, []).append(
                    Stop(cccd, FailureReason.BENEFICIARY_DECEASED, Detail("_stop.deceased", died=died))
                )
        for cccd in set(cccds) - found:
            stops.setdefault(cccd, []).append(
                Stop(cccd, FailureReason.IDENTITY_CHECK_FAILED, Detail("_stop.not_in_register"))
            )
        for cccd, programme, note in self._select(
            "SELECT cccd, programme, note FROM entitlement_stops WHERE cccd IN ({marks})", cccds
        ):
            note = (note or "").rstrip(": ")  # as the text was: "... ended: NOTE", trailing ": " cut
            ended = (
                Detail("_stop.entitlement_note", programme=programme, note=note)
                if note
                else Detail("_stop.entitlement", programme=programme)
            )
            stops.setdefault(cccd, []).append(Stop(cccd, FailureReason.REGULATORY, ended, programme))
        await asyncio.sleep(0)
        return stops


# --------------------------------------------------------------------------- name rule


def is_rotation(expected: str, actual: str) -> bool:
    """The family name moved from first to last word (or back): the only reorder we accept."""
    a, b = fold(expected).split(), fold(actual).split()
    if len(a) < 2 or len(a) != len(b):
        return False
    return b == a[1:] + a[:1] or b == a[-1:] + a[:-1]


def names_match(expected: str, actual: str, *, birth_date_confirmed: bool = True) -> tuple[bool, NameMatch]:
    """(accepted, how) under the rule in the module docstring."""
    how = match_names(expected, actual)
    if how.is_accepted:
        return True, how
    if how is NameMatch.REORDERED and birth_date_confirmed and is_rotation(expected, actual):
        return True, how
    return False, how


# --------------------------------------------------------------------------- verification


def _hold(row: ListRow, detail: Detail) -> Hold:
    """A held row, its code the detail's (the payout failure it would be is the ``failure`` in it)."""
    return Hold(row, detail.code, detail)


def _period_start(period: str) -> date:
    return date(int(period[:4]), int(period[5:7]), 1)


async def verify_rows(
    rows: Sequence[ListRow], registry: PopulationRegistry
) -> tuple[list[ListRow], list[Hold]]:
    """Check beneficiaries and recipients against the register; (accepted rows, held rows)."""
    wanted: list[str] = []
    for r in rows:
        wanted.append(r.request.beneficiary.cccd)
        if r.request.recipient.cccd:
            wanted.append(r.request.recipient.cccd)
    people = await registry.lookup_batch(sorted(set(wanted)))
    stops = await registry.check_batch(sorted(set(wanted)))
    ok: list[ListRow] = []
    held: list[Hold] = []
    for row in rows:
        problem = _check_row(row, people, stops)
        if problem is None:
            ok.append(row)
        else:
            held.append(problem)
    return ok, held


def _check_person(
    row: ListRow, who: str, cccd: str, name: str, birth: date | None, people: dict[str, PersonRecord]
) -> Hold | None:
    own = who == "beneficiary"
    person = people.get(cccd)
    if person is None:
        return _hold(
            row,
            Detail(
                "beneficiary_not_found" if own else "recipient_not_found",
                failure=FailureReason.IDENTITY_CHECK_FAILED,
            ),
        )
    if not person.alive:
        return _hold(
            row,
            Detail(
                "beneficiary_deceased" if own else "recipient_deceased",
                failure=FailureReason.BENEFICIARY_DECEASED if own else FailureReason.AUTHORISATION_INVALID,
                died=person.died_on,
            ),
        )
    dob_ok = birth is not None and person.birth_date is not None and birth == person.birth_date
    if birth is not None and person.birth_date is not None and birth != person.birth_date:
        return _hold(
            row,
            Detail(
                "beneficiary_birth_date_mismatch" if own else "recipient_birth_date_mismatch",
                failure=FailureReason.IDENTITY_CHECK_FAILED,
            ),
        )
    accepted, how = names_match(name, person.full_name, birth_date_confirmed=dob_ok)
    if not accepted:
        return _hold(
            row,
            Detail(
                "beneficiary_name_mismatch" if own else "recipient_name_mismatch",
                failure=FailureReason.NAME_MISMATCH,
                how=how,
            ),
        )
    return None


def _check_row(row: ListRow, people: dict[str, PersonRecord], stops: dict[str, list[Stop]]) -> Hold | None:
    req = row.request
    b = req.beneficiary
    problem = _check_person(row, "beneficiary", b.cccd, b.full_name, b.birth_date, people)
    if problem:
        return problem
    for stop in stops.get(b.cccd, []):
        if stop.applies_to(req.programme):
            return _hold(row, Detail("entitlement_stopped", failure=stop.reason, stop=stop.detail))
    rec = req.recipient
    if rec.kind is not RecipientKind.SELF and rec.cccd and rec.full_name:
        if rec.cccd == b.cccd:
            return _hold(row, Detail("recipient_is_beneficiary", failure=FailureReason.AUTHORISATION_INVALID))
        problem = _check_person(row, "recipient", rec.cccd, rec.full_name, None, people)
        if problem:
            return problem
        if rec.authorisation_expired(_period_start(req.period)):
            return _hold(
                row,
                Detail(
                    "authorisation_expired",
                    failure=FailureReason.AUTHORISATION_INVALID,
                    until=rec.authorisation_valid_until,
                ),
            )
    return None


def owner_matches(row: ListRow, holder_name: str) -> tuple[bool, NameMatch]:
    """Does an account holder's name match the recipient or the beneficiary?"""
    req = row.request
    best = (False, NameMatch.MISMATCH)
    for name in (req.recipient_name, req.beneficiary.full_name):
        result = names_match(name, holder_name)
        if result[0]:
            return result
        if list(NameMatch).index(result[1]) < list(NameMatch).index(best[1]):
            best = result
    return best
