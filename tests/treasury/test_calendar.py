"""Value dates on the Vietnamese calendar: cut-off, weekends, Tet and public holidays."""

from __future__ import annotations

import math
from datetime import date, datetime, time

import pytest

from asxh_pay.calendar_vn import (
    VN_TZ,
    VietnamCalendar,
    hung_kings_day,
    official_days_off,
    official_working_days,
    tet,
)
from asxh_pay.errors import ConfigurationError

CAL = VietnamCalendar(cutoff=time(15, 30))


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


def test_before_and_after_cutoff_on_a_business_day() -> None:
    assert CAL.value_date(at(2026, 11, 2, 9)) == date(2026, 11, 2)  # Monday morning: same day
    assert CAL.value_date(at(2026, 11, 2, 15, 29)) == date(2026, 11, 2)
    assert CAL.value_date(at(2026, 11, 2, 15, 30)) == date(2026, 11, 3)  # at the cut-off: next day
    assert CAL.value_date(at(2026, 11, 6, 16)) == date(2026, 11, 9)  # Friday evening: Monday


def test_cutoff_is_applied_in_vietnam_time_not_utc() -> None:
    # 09:00 UTC is 16:00 in Hanoi: after the cut-off.
    from datetime import UTC

    assert CAL.value_date(datetime(2026, 11, 2, 9, 0, tzinfo=UTC)) == date(2026, 11, 3)
    with pytest.raises(ConfigurationError):
        CAL.value_date(datetime(2026, 11, 2, 9, 0))


def test_tet_2026_rolls_the_value_date_past_the_whole_holiday() -> None:
    # Tet Binh Ngo: 17 Feb 2026 (Tuesday); off 16-20 Feb (Mon-Fri), weekends around it.
    for d in range(16, 21):
        assert not CAL.is_business_day(date(2026, 2, d))
    assert CAL.value_date(at(2026, 2, 13, 16)) == date(2026, 2, 23)  # Friday after cut-off
    assert CAL.value_date(at(2026, 2, 13, 10)) == date(2026, 2, 13)  # Friday before cut-off
    assert CAL.value_date(at(2026, 2, 16, 8)) == date(2026, 2, 23)  # uploaded during Tet


def test_tet_on_a_weekend_gives_compensatory_days() -> None:
    # Tet Giap Thin: 10 Feb 2024 (Saturday). Decided: 2 days before Tet and 3 after, the
    # weekend's two days moved to the working days around it: off Thursday 8 to Wednesday 14.
    # (Changed with issue 17.6: the old default, eve + 4 days and compensation after, had
    # 15 Feb off; the holidays package has the decided split, and 15 Feb was worked.)
    hol = CAL.holidays(2024)
    assert {date(2024, 2, d) for d in range(8, 15)} <= hol
    assert CAL.next_business_day(date(2024, 2, 9)) == date(2024, 2, 15)


def test_hung_kings_day_on_sunday_and_reunification_and_labour_day() -> None:
    # 2026: Hung Kings 26 April (Sunday) -> Monday 27 off; 30 April Thursday, 1 May Friday.
    assert CAL.value_date(at(2026, 4, 24, 16)) == date(2026, 4, 28)
    assert CAL.value_date(at(2026, 4, 29, 16)) == date(2026, 5, 4)
    assert not CAL.is_business_day(date(2026, 4, 27))


def test_national_day_and_its_adjacent_day() -> None:
    # 2025: 1 and 2 September (Mon, Tue) off, as decided; Friday 29 Aug after cut-off -> 3 Sep.
    assert CAL.value_date(at(2025, 8, 29, 16)) == date(2025, 9, 3)
    # 2024: 2 and 3 September (Mon, Tue).
    assert CAL.next_business_day(date(2024, 9, 2)) == date(2024, 9, 4)
    with pytest.raises(ConfigurationError):
        VietnamCalendar(national_day_adjacent={2026: date(2026, 9, 4)})


def test_new_year_and_configured_extra_days() -> None:
    assert CAL.value_date(at(2026, 12, 31, 16)) == date(2027, 1, 4)  # Thu evening -> Fri 1 Jan off -> Mon
    bridge = VietnamCalendar(extra_days_off=[date(2027, 1, 4)], extra_working_days=[date(2027, 1, 9)])
    assert bridge.value_date(at(2026, 12, 31, 16)) == date(2027, 1, 5)
    assert bridge.is_business_day(date(2027, 1, 9))  # a make-up Saturday


def test_requested_date_is_honoured_and_rolled() -> None:
    assert CAL.value_date(at(2026, 11, 2, 9), requested=date(2026, 11, 7)) == date(2026, 11, 9)
    assert CAL.value_date(at(2026, 11, 2, 9), requested=date(2026, 10, 1)) == date(2026, 11, 2)


def test_outside_the_packages_calendar_refuses() -> None:
    assert CAL.holidays(2031)  # no longer limited to a 2024-2030 table
    with pytest.raises(ConfigurationError):
        CAL.holidays(2200)  # the holidays package's lunar calendar ends in 2100


# --- the lunar table, recomputed with Ho Ngoc Duc's algorithm (UTC+7) -------------------------


def _new_moon_day(k: int, tz: float = 7.0) -> int:
    t = k / 1236.85
    t2, t3 = t * t, t * t * t
    dr = math.pi / 180
    jd1 = 2415020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3
    jd1 += 0.00033 * math.sin((166.56 + 132.87 * t - 0.009173 * t2) * dr)
    m = 359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3
    mpr = 306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3
    f = 21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3
    c1 = (0.1734 - 0.000393 * t) * math.sin(m * dr) + 0.0021 * math.sin(2 * dr * m)
    c1 -= 0.4068 * math.sin(mpr * dr) - 0.0161 * math.sin(dr * 2 * mpr)
    c1 -= 0.0004 * math.sin(dr * 3 * mpr)
    c1 += 0.0104 * math.sin(dr * 2 * f) - 0.0051 * math.sin(dr * (m + mpr))
    c1 -= 0.0074 * math.sin(dr * (m - mpr)) - 0.0004 * math.sin(dr * (2 * f + m))
    c1 -= 0.0004 * math.sin(dr * (2 * f - m)) + 0.0006 * math.sin(dr * (2 * f + mpr))
    c1 += 0.0010 * math.sin(dr * (2 * f - mpr)) + 0.0005 * math.sin(dr * (2 * mpr + m))
    deltat = -0.000278 + 0.000265 * t + 0.000262 * t2
    return math.floor(jd1 + c1 - deltat + 0.5 + tz / 24)


def _sun_sector(jdn: float) -> int:
    t = (jdn - 2451545.0) / 36525
    t2 = t * t
    dr = math.pi / 180
    m = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2
    l0 = 280.46645 + 36000.76983 * t + 0.0003032 * t2
    dl = (1.914600 - 0.004817 * t - 0.000014 * t2) * math.sin(dr * m)
    dl += (0.019993 - 0.000101 * t) * math.sin(dr * 2 * m) + 0.000290 * math.sin(dr * 3 * m)
    lon = (l0 + dl) * dr
    lon -= math.pi * 2 * math.floor(lon / (math.pi * 2))
    return math.floor(lon / math.pi * 6)


def _sun_longitude(day_number: int, tz: float = 7.0) -> int:
    return _sun_sector(day_number - 0.5 - tz / 24)


def _jd(d: date) -> int:
    return d.toordinal() + 1721425


def _lunar_month11(year: int) -> int:
    off = _jd(date(year, 12, 31)) - 2415021
    k = math.floor(off / 29.530588853)
    nm = _new_moon_day(k)
    if _sun_longitude(nm) >= 9:
        nm = _new_moon_day(k - 1)
    return nm


def _leap_month_offset(a11: int) -> int:
    k = math.floor((a11 - 2415021.076998695) / 29.530588853 + 0.5)
    i = 1
    arc = _sun_longitude(_new_moon_day(k + i))
    while True:
        last = arc
        i += 1
        arc = _sun_longitude(_new_moon_day(k + i))
        if not (arc != last and i < 14):
            break
    return i - 1


def _lunar_to_solar(day: int, month: int, year: int) -> date:
    """A non-leap lunar date to the solar date (Ho Ngoc Duc, amlich.js, timezone 7)."""
    if month < 11:
        a11, b11 = _lunar_month11(year - 1), _lunar_month11(year)
    else:
        a11, b11 = _lunar_month11(year), _lunar_month11(year + 1)
    k = math.floor(0.5 + (a11 - 2415021.076998695) / 29.530588853)
    off = month - 11
    if off < 0:
        off += 12
    if b11 - a11 > 365 and off >= _leap_month_offset(a11):
        off += 1
    return date.fromordinal(_new_moon_day(k + off) + day - 1 - 1721425)


@pytest.mark.parametrize("year", range(2024, 2041))
def test_the_packages_lunar_dates_match_the_vietnamese_lunar_calendar(year: int) -> None:
    assert _lunar_to_solar(1, 1, year) == tet(year)
    assert _lunar_to_solar(10, 3, year) == hung_kings_day(year)


def test_tet_2030_is_on_vietnams_meridian_not_chinas() -> None:
    # The new moon is at 23:07 in Hanoi on 2 February 2030 (00:07 on the 3rd in Beijing).
    assert tet(2030) == date(2030, 2, 2)


# --- where the holidays package and the old built-in tables disagree (issue 17.6) ------------
# The old tables: eve + 4 Tet days, compensation after a weekend, 3 September as the National
# Day's adjacent day until announced, no swap days. Each row: the day, whether banks settle
# on it, and the source that decides it.
DISAGREEMENTS = [
    # 2024 Tet: 2 days before Tet and 3 after (Ministry of Labour's plan, approved by the PM).
    (date(2024, 2, 8), False, "2024 Tet decision: off from 29 Tet"),
    (date(2024, 2, 15), True, "2024 Tet decision: worked (old default had it off)"),
    # Official Dispatch 2450/VPCP-KGVX (2024): 29 April off, Saturday 4 May worked.
    (date(2024, 4, 29), False, "Dispatch 2450/VPCP-KGVX: swap day off"),
    (date(2024, 5, 4), True, "Dispatch 2450/VPCP-KGVX: make-up Saturday"),
    # Announcement 6150/TB-BLDTBXH (2024): Tet 2025 from Saturday 25 Jan to Sunday 2 Feb.
    (date(2025, 1, 27), False, "Announcement 6150/TB-BLDTBXH: Tet 2025 off"),
    (date(2025, 2, 3), True, "Announcement 6150/TB-BLDTBXH: Tet 2025 ends 2 Feb"),
    # 2025: 2 May off, Saturday 26 April worked (the government's 30/4-1/5 swap).
    (date(2025, 5, 2), False, "2025 swap: 2 May off"),
    (date(2025, 4, 26), True, "2025 swap: make-up Saturday"),
    # 2026 National Day: 1-2 September, and 31 August swapped with Saturday 22 August.
    (date(2026, 8, 31), False, "2026 National Day decision: swap day off"),
    (date(2026, 8, 22), True, "2026 National Day decision: make-up Saturday"),
    (date(2026, 9, 1), False, "2026 National Day decision: adjacent day is 1 September"),
    (date(2026, 9, 3), True, "2026 National Day decision: 3 September worked"),
    # Resolution 80-NQ/TW: 24 November, Vietnam Cultural Day, a paid day off from 2026.
    (date(2026, 11, 24), False, "Resolution 80-NQ/TW: Vietnam Cultural Day"),
]


@pytest.mark.parametrize(("day", "business", "source"), DISAGREEMENTS, ids=[s for _, _, s in DISAGREEMENTS])
def test_days_where_the_package_and_the_old_tables_disagree(day: date, business: bool, source: str) -> None:
    assert CAL.is_business_day(day) is business, source


def test_make_up_saturdays_and_overrides() -> None:
    assert official_working_days(2024) == {date(2024, 5, 4)}
    assert date(2026, 8, 31) in official_days_off(2026)
    # A decision the package does not have yet: a bank closure, and a day kept working.
    cal = VietnamCalendar(extra_days_off=[date(2027, 2, 11)], extra_working_days=[date(2027, 2, 4)])
    assert not cal.is_business_day(date(2027, 2, 11)) and cal.is_business_day(date(2027, 2, 4))
    # The National Day's adjacent day set by hand replaces the package's.
    moved = VietnamCalendar(national_day_adjacent={2026: date(2026, 9, 3)})
    assert moved.is_business_day(date(2026, 9, 1)) and not moved.is_business_day(date(2026, 9, 3))
