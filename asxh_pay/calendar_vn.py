"""Vietnamese business days: public holidays, Tet, cut-off times and value dates.

Why the bank rail needs this: a pain.001 carries a requested execution date
(``ReqdExctnDt``). A file uploaded after the bank's cut-off, on a weekend, or during
Tet (when banks close for a week or more) is executed on the next business day; a
benefit run planned for the last days before Tet must be sent early, and the
reports ("paid by the 10th") must know which day the money really moves.

Which days are off comes from the maintained ``holidays`` package
(``holidays.country_holidays("VN")``), not from tables kept here. It has:

* the Labour Code's holidays (45/2019/QH14, Article 112): New Year, Tet (computed on the
  Vietnamese lunar calendar, UTC+7, so Tet 2030 is 2 February, not China's 3 February),
  Hung Kings' Day, 30 April, 1 May, 2 September and its adjacent day, and from 2026
  Vietnam Cultural Day (24 November, Resolution 80-NQ/TW);
* the compensatory day for a holiday on a weekend (Article 112(3)), and for Tet the
  split the government uses every year (a Saturday holiday moves to the working day
  before, a Sunday to the one after: 2024's Tet was 8-14 February);
* the government's yearly swap days, with their make-up working Saturdays (29 April
  2024 off, Saturday 4 May worked; 2 May 2025 off, Saturday 26 April worked; 31 August
  2026 off, Saturday 22 August worked), each citing its official dispatch.

What stays the project's own: the bank's cut-off and the value-date rules below, and the
overrides a bank or a new government decision needs before the package has it:
``extra_days_off`` (a bridge day, a bank closure) and ``extra_working_days`` (a make-up
Saturday, or a day the package has off that the decision keeps working), and
``national_day_adjacent``. Years the package cannot compute (its lunar calendar ends in
2100) are refused (:class:`~asxh_pay.errors.ConfigurationError`) rather than guessed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_pkg

from asxh_pay.errors import ConfigurationError

__all__ = [
    "VN_TZ",
    "VietnamCalendar",
    "hung_kings_day",
    "official_days_off",
    "official_working_days",
    "tet",
]

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@functools.lru_cache(maxsize=64)
def _package(year: int) -> holidays_pkg.HolidayBase:
    """The ``holidays`` package's Vietnam for ``year`` (English names, for lookups by name)."""
    days = holidays_pkg.country_holidays("VN", years=year, language="en_US")
    if not days.get_named("Lunar New Year", lookup="exact"):
        raise ConfigurationError(f"no Vietnamese calendar data for {year} in the holidays package")
    return days


def _named(year: int, name: str) -> date:
    return min(_package(year).get_named(name, lookup="exact"))


def tet(year: int) -> date:
    """Mùng 1 Tết: the first day of the lunar year (solar date)."""
    return _named(year, "Lunar New Year")


def hung_kings_day(year: int) -> date:
    """Giỗ Tổ Hùng Vương: the 10th day of the 3rd lunar month (solar date)."""
    return _named(year, "Hung Kings' Commemoration Day")


def official_days_off(year: int) -> frozenset[date]:
    """Every day off in ``year`` by law and government decision, as the package knows them."""
    return frozenset(d for d in _package(year) if d.year == year)


@functools.lru_cache(maxsize=64)
def official_working_days(year: int) -> frozenset[date]:
    """The make-up Saturdays of ``year`` (worked in exchange for a swapped day off).

    A swap may cross the year (Saturday 27 December 2014 for 2 January 2015), so the
    neighbouring years' decisions are read too.
    """
    out: set[date] = set()
    for y in (year - 1, year, year + 1):
        try:
            out.update(_package(y).weekend_workdays)
        except ConfigurationError:
            continue
    return frozenset(d for d in out if d.year == year)


class VietnamCalendar:
    """Which days banks settle on, and when a file sent now is executed.

    ``cutoff`` is the bank's cut-off in Vietnam time (files received later are
    executed on the next business day). ``extra_days_off`` adds bridge days or
    bank-specific closures the ``holidays`` package does not have yet;
    ``extra_working_days`` marks days worked although the package has them off (and
    make-up Saturdays it does not know). ``national_day_adjacent`` sets the day next to
    2 September (1 or 3 September) for a year, replacing the package's.
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
        adjacent = dict(national_day_adjacent or {})
        for year, day in adjacent.items():
            if day not in (date(year, 9, 1), date(year, 9, 3)):
                raise ConfigurationError(f"the National Day adjacent day of {year} must be 1 or 3 September")
        self._adjacent = adjacent
        self._cache: dict[int, frozenset[date]] = {}

    # ------------------------------------------------------------------ holidays

    def holidays(self, year: int) -> frozenset[date]:
        """Days off in ``year``: the package's (holidays, compensatory and swapped days) and ours."""
        cached = self._cache.get(year)
        if cached is not None:
            return cached
        off = set(official_days_off(year))
        if year in self._adjacent:
            off -= {date(year, 9, 1), date(year, 9, 3)} & set(
                _package(year).get_named("National Day", lookup="exact")
            )
            off.add(self._adjacent[year])
        off.update(d for d in self.extra_days_off if d.year == year)
        result = frozenset(off)
        self._cache[year] = result
        return result

    def is_business_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        if day.weekday() >= 5:
            return day in official_working_days(day.year)
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
