"""Vietnamese business days: public holidays, Tet, cut-off times and value dates.

Why the bank rail needs this: a pain.001 carries a requested execution date
(``ReqdExctnDt``). A file uploaded after the bank's cut-off, on a weekend, or during
Tet (when banks close for a week or more) is executed on the next business day; a
benefit run planned for the last days before Tet must be sent early, and the
reports ("paid by the 10th") must know which day the money really moves.

Public holidays (Labour Code 45/2019/QH14, Article 112):

* New Year: 1 January (solar).
* Tet (Lunar New Year): 5 days. The Prime Minister fixes the exact days every
  year; the default here is the last day of the old lunar year plus the first four
  days of the new one, the split used in most years.
* Hung Kings' Commemoration: 10th day of the 3rd lunar month.
* Reunification Day 30 April and International Labour Day 1 May (solar).
* National Day: 2 September and one adjacent day, 1 or 3 September, chosen every
  year by the Prime Minister (:data:`NATIONAL_DAY_ADJACENT`; default 3 September).

A holiday that falls on a Saturday or Sunday gives a compensatory day off on the
next working day (Article 112(3)). Government decisions that add bridge days or
move Tet (for example the nine-day Tet of 2025) are not derivable: pass them as
``extra_days_off`` (and make-up working Saturdays as ``extra_working_days``).

Lunar dates are a table of their solar dates, 2024-2030, not a computation: the
table is small, auditable and has no astronomical code to get wrong. Source: the
Vietnamese lunar calendar (Ho Ngoc Duc's algorithm, UTC+7 meridian, as published
at informatik.uni-leipzig.de/~duc/amlich/); ``tests/treasury/test_calendar.py``
recomputes every entry with that algorithm. Do not copy Chinese New Year dates:
the calendars use different meridians and differ in 2030 (Tet is 2 February in
Vietnam, New Year 3 February in China). Outside 2024-2030 the calendar refuses
(:class:`~asxh_pay.errors.ConfigurationError`) rather than guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from asxh_pay.errors import ConfigurationError

__all__ = [
    "HUNG_KINGS_DAY",
    "NATIONAL_DAY_ADJACENT",
    "TET",
    "VN_TZ",
    "VietnamCalendar",
]

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

#: Solar date of the first day of the lunar year (Mung 1 Tet).
TET: Mapping[int, date] = MappingProxyType(
    {
        2024: date(2024, 2, 10),
        2025: date(2025, 1, 29),
        2026: date(2026, 2, 17),
        2027: date(2027, 2, 6),
        2028: date(2028, 1, 26),
        2029: date(2029, 2, 13),
        2030: date(2030, 2, 2),  # the new moon is at 23:07 in Hanoi: China's New Year is 3 Feb
    }
)

#: Solar date of the 10th day of the 3rd lunar month (Gio To Hung Vuong).
HUNG_KINGS_DAY: Mapping[int, date] = MappingProxyType(
    {
        2024: date(2024, 4, 18),
        2025: date(2025, 4, 7),
        2026: date(2026, 4, 26),
        2027: date(2027, 4, 16),
        2028: date(2028, 4, 4),
        2029: date(2029, 4, 23),
        2030: date(2030, 4, 12),
    }
)

#: The day next to 2 September chosen by the government (2024: 31/8-3/9 off;
#: 2025: 30/8-2/9 off). Years not listed use 3 September until announced.
NATIONAL_DAY_ADJACENT: Mapping[int, date] = MappingProxyType(
    {
        2024: date(2024, 9, 3),
        2025: date(2025, 9, 1),
    }
)

_TET_DAYS_BEFORE = 1
_TET_DAYS_FROM = 4


class VietnamCalendar:
    """Which days banks settle on, and when a file sent now is executed.

    ``cutoff`` is the bank's cut-off in Vietnam time (files received later are
    executed on the next business day). ``extra_days_off`` adds government bridge
    days or bank-specific closures; ``extra_working_days`` marks make-up Saturdays.
    ``national_day_adjacent`` overrides :data:`NATIONAL_DAY_ADJACENT` per year.
    """

    def __init__(
        self,
        *,
        cutoff: time = time(15, 30),
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        national_day_adjacent: Mapping[int, date] | None = None,
    ) -> None:
        if cutoff.tzinfo is not None:
            raise ConfigurationError("cutoff is a local Vietnam wall-clock time without tzinfo")
        self.cutoff = cutoff
        self.extra_days_off = frozenset(extra_days_off)
        self.extra_working_days = frozenset(extra_working_days)
        adjacent = dict(NATIONAL_DAY_ADJACENT)
        adjacent.update(national_day_adjacent or {})
        for year, day in adjacent.items():
            if day not in (date(year, 9, 1), date(year, 9, 3)):
                raise ConfigurationError(f"the National Day adjacent day of {year} must be 1 or 3 September")
        self._adjacent = adjacent
        self._cache: dict[int, frozenset[date]] = {}

    # ------------------------------------------------------------------ holidays

    def statutory_holidays(self, year: int) -> frozenset[date]:
        """The Labour Code's holidays of ``year`` (before compensatory days)."""
        if year not in TET or year not in HUNG_KINGS_DAY:
            raise ConfigurationError(
                f"no lunar calendar data for {year} (have {min(TET)}-{max(TET)}): extend calendar_vn.TET"
            )
        days = {date(year, 1, 1), HUNG_KINGS_DAY[year], date(year, 4, 30), date(year, 5, 1), date(year, 9, 2)}
        days.add(self._adjacent.get(year, date(year, 9, 3)))
        tet = TET[year]
        days.update(tet + timedelta(days=d) for d in range(-_TET_DAYS_BEFORE, _TET_DAYS_FROM))
        # The eve of next year's Tet can fall in this solar year only if Tet is on 1 January;
        # never in 2024-2030, but keep the rule honest for the table's edges.
        nxt = TET.get(year + 1)
        if nxt is not None and (nxt - timedelta(days=1)).year == year:
            days.add(nxt - timedelta(days=1))
        return frozenset(d for d in days if d.year == year)

    def holidays(self, year: int) -> frozenset[date]:
        """Statutory holidays plus compensatory days (Article 112(3)) plus extra days off."""
        cached = self._cache.get(year)
        if cached is not None:
            return cached
        statutory = set(self.statutory_holidays(year))
        off = set(statutory)
        for day in sorted(statutory):
            if day.weekday() >= 5:
                comp = day + timedelta(days=1)
                while comp.weekday() >= 5 or comp in off:
                    comp += timedelta(days=1)
                off.add(comp)
        off.update(d for d in self.extra_days_off if d.year == year)
        result = frozenset(off)
        self._cache[year] = result
        return result

    def is_business_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        if day.weekday() >= 5:
            return False
        return day not in self.holidays(day.year)

    def next_business_day(self, day: date, *, include: bool = True) -> date:
        """``day`` itself if it is a business day and ``include``, else the next one."""
        current = day if include else day + timedelta(days=1)
        for _ in range(40):  # no closure in Vietnam lasts 40 days; a loop bound, not a rule
            if self.is_business_day(current):
                return current
            current += timedelta(days=1)
        raise ConfigurationError(f"no business day within 40 days after {day}")  # pragma: no cover

    def add_business_days(self, day: date, n: int) -> date:
        current = self.next_business_day(day)
        for _ in range(n):
            current = self.next_business_day(current, include=False)
        return current

    # ------------------------------------------------------------------ value dates

    def value_date(self, submitted_at: datetime, requested: date | None = None) -> date:
        """The execution date of a file submitted at ``submitted_at`` (aware datetime).

        The earliest is the submission day in Vietnam time if that is a business day
        and the file arrives before the cut-off, else the next business day. A later
        ``requested`` date is honoured, rolled forward to a business day.
        """
        if submitted_at.tzinfo is None:
            raise ConfigurationError("submitted_at must be timezone-aware")
        local = submitted_at.astimezone(VN_TZ)
        today = local.date()
        before_cutoff = local.time().replace(tzinfo=None) < self.cutoff
        earliest = self.next_business_day(today, include=before_cutoff)
        if requested is not None and requested > earliest:
            return self.next_business_day(requested)
        return earliest
