"""Business-hours arithmetic (crm/sla.py) on the 2026 calendar: the Spring Festival (Feb 15-23
off, Saturdays Feb 14 and 28 worked), National Day (Oct 1-7 off, Sunday Sep 20 and Saturday
Oct 10 worked), the lunch break, a case opened Friday 17:30, the administrators' calendar
days over the package's, and the working-hours setting."""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from pytest_django import DjangoAssertNumQueries, Settings

from crm import sla
from crm.sla import BusinessCalendar, add_business_hours, business_hours_between
from portal.models import CalendarDay, DayKind

SH = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=SH)


@pytest.fixture
def cal() -> BusinessCalendar:
    """No administrator's day: China's calendar as the package knows it."""
    return BusinessCalendar.fixed()


# --- the days ---------------------------------------------------------------------------------


def test_the_package_knows_2026s_holidays_and_make_up_days(cal: BusinessCalendar) -> None:
    assert not cal.is_workday(datetime.date(2026, 10, 1))  # National Day, a Thursday
    assert not cal.is_workday(datetime.date(2026, 10, 7))
    assert cal.is_workday(datetime.date(2026, 9, 20))  # a make-up Sunday
    assert cal.is_workday(datetime.date(2026, 10, 10))  # a make-up Saturday
    assert not cal.is_workday(datetime.date(2026, 2, 16))  # Spring Festival, a Monday
    assert cal.is_workday(datetime.date(2026, 2, 14))  # a make-up Saturday
    assert cal.is_workday(datetime.date(2026, 2, 28))
    assert not cal.is_workday(datetime.date(2026, 3, 7))  # an ordinary Saturday


def test_a_year_the_package_does_not_know_is_monday_to_friday(cal: BusinessCalendar) -> None:
    assert cal.is_workday(datetime.date(2031, 1, 6))  # a Monday
    assert not cal.is_workday(datetime.date(2031, 1, 4))  # a Saturday


# --- adding business hours ------------------------------------------------------------------------


def test_friday_1730_plus_two_hours_is_monday_1030(cal: BusinessCalendar) -> None:
    assert add_business_hours(at(3, 6, 17, 30), 2, calendar=cal) == at(3, 9, 10, 30)


def test_the_lunch_break_does_not_count(cal: BusinessCalendar) -> None:
    assert add_business_hours(at(3, 4, 11, 30), 1, calendar=cal) == at(3, 4, 13, 30)
    assert add_business_hours(at(3, 4, 12, 15), 1, calendar=cal) == at(3, 4, 14, 0)


def test_a_deadline_at_the_end_of_the_day_stays_on_that_day(cal: BusinessCalendar) -> None:
    assert add_business_hours(at(3, 4, 17), 1, calendar=cal) == at(3, 4, 18)
    assert add_business_hours(at(3, 4, 17), Decimal("1.5"), calendar=cal) == at(3, 5, 9, 30)


def test_before_opening_the_clock_starts_at_nine(cal: BusinessCalendar) -> None:
    assert add_business_hours(at(3, 4, 6), 2, calendar=cal) == at(3, 4, 11)


def test_national_day_week_is_skipped(cal: BusinessCalendar) -> None:
    # Wednesday Sep 30 17:00: one hour that day, then Oct 1-7 off, then seven on Oct 8
    assert add_business_hours(at(9, 30, 17), 8, calendar=cal) == at(10, 8, 17)
    # 1 h + Oct 8 and 9 (8 h each) + 1 h on the make-up Saturday Oct 10
    assert add_business_hours(at(9, 30, 17), 18, calendar=cal) == at(10, 10, 10)


def test_the_make_up_sunday_before_national_day_counts(cal: BusinessCalendar) -> None:
    assert add_business_hours(at(9, 19, 17), 1, calendar=cal) == at(9, 20, 10)


def test_spring_festival_2026(cal: BusinessCalendar) -> None:
    # Friday Feb 13 17:00 + 2 h: one hour on Friday, one on the make-up Saturday Feb 14
    assert add_business_hours(at(2, 13, 17), 2, calendar=cal) == at(2, 14, 10)
    # Saturday Feb 14 17:00 + 3 h: the festival Feb 15-23 is off; Tuesday Feb 24 11:00
    assert add_business_hours(at(2, 14, 17), 3, calendar=cal) == at(2, 24, 11)


def test_an_aware_utc_start_is_counted_in_shanghai(cal: BusinessCalendar) -> None:
    start = datetime.datetime(2026, 3, 6, 9, 30, tzinfo=datetime.UTC)  # 17:30 in Shanghai
    due = add_business_hours(start, 2, calendar=cal)
    assert due == at(3, 9, 10, 30)
    assert due.utcoffset() == datetime.timedelta(hours=8)  # no daylight saving, ever


def test_zero_hours_is_the_start_and_bad_input_is_refused(cal: BusinessCalendar) -> None:
    assert add_business_hours(at(3, 7, 20), 0, calendar=cal) == at(3, 7, 20)
    with pytest.raises(ValueError, match="negative"):
        add_business_hours(at(3, 4, 10), -1, calendar=cal)
    with pytest.raises(ValueError, match="aware"):
        add_business_hours(datetime.datetime(2026, 3, 4, 10), 1, calendar=cal)


# --- counting business hours ----------------------------------------------------------------------


def test_hours_between_over_national_day(cal: BusinessCalendar) -> None:
    # Sep 30, Oct 8, Oct 9 and the make-up Saturday Oct 10: four full days of eight hours
    assert business_hours_between(at(9, 30, 9), at(10, 10, 18), calendar=cal) == Decimal("32.00")
    assert business_hours_between(at(10, 1, 0), at(10, 7, 23), calendar=cal) == Decimal("0.00")


def test_hours_between_is_negative_backwards_and_counts_minutes(cal: BusinessCalendar) -> None:
    assert business_hours_between(at(3, 9, 10, 30), at(3, 6, 17, 30), calendar=cal) == Decimal(
        "-2.00"
    )
    assert business_hours_between(at(3, 4, 11, 50), at(3, 4, 13, 10), calendar=cal) == Decimal(
        "0.33"
    )


@pytest.mark.parametrize(
    ("start", "hours"),
    [
        (at(3, 6, 17, 30), 2),
        (at(9, 30, 17), 8),
        (at(2, 14, 17), 3),
        (at(2, 10, 12, 30), 40),
        (at(12, 31, 16), 16),  # over New Year's Day into 2027
    ],
)
def test_adding_and_counting_agree(
    cal: BusinessCalendar, start: datetime.datetime, hours: int
) -> None:
    due = add_business_hours(start, hours, calendar=cal)
    assert business_hours_between(start, due, calendar=cal) == Decimal(hours)


# --- the administrators' calendar days ------------------------------------------------------------


@pytest.mark.django_db
def test_an_administrators_day_overrides_the_package() -> None:
    # Monday Mar 9 declared a company holiday; the make-up Saturday Oct 10 cancelled
    CalendarDay.objects.create(date=datetime.date(2026, 3, 9), kind=DayKind.HOLIDAY, name="司庆")
    CalendarDay.objects.create(date=datetime.date(2026, 10, 10), kind=DayKind.HOLIDAY)
    CalendarDay.objects.create(date=datetime.date(2026, 3, 7), kind=DayKind.WORKDAY)
    assert add_business_hours(at(3, 6, 17, 30), 2) == at(3, 7, 10, 30)  # Saturday worked
    CalendarDay.objects.filter(date=datetime.date(2026, 3, 7)).delete()
    assert add_business_hours(at(3, 6, 17, 30), 2) == at(3, 10, 10, 30)  # Monday off
    assert add_business_hours(at(10, 9, 17), 2) == at(10, 12, 10)


@pytest.mark.django_db
def test_the_default_calendar_reads_each_year_once(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    calendar = BusinessCalendar.default()
    with django_assert_num_queries(2):
        add_business_hours(at(12, 31, 17), 10, calendar=calendar)  # 2026 and 2027
        add_business_hours(at(12, 30, 17), 10, calendar=calendar)


# --- the working hours setting --------------------------------------------------------------------


def test_other_working_hours(settings: Settings) -> None:
    settings.CRM_WORKING_HOURS = "08:30-17:30"
    assert add_business_hours(at(3, 6, 17), 1, calendar=BusinessCalendar.fixed()) == at(3, 9, 9)


@pytest.mark.parametrize(
    "text",
    ["13:00-12:00", "09:00-12:00,11:00-18:00", "9-12", "09:00-25:00", "09:00"],
)
def test_bad_working_hours_are_refused_loudly(settings: Settings, text: str) -> None:
    settings.CRM_WORKING_HOURS = text
    with pytest.raises(ImproperlyConfigured, match="CRM_WORKING_HOURS"):
        sla.working_hours()
    [error] = sla.check_working_hours()
    assert error.id == "crm.E001"


def test_a_bad_time_zone_is_refused(settings: Settings) -> None:
    settings.CRM_BUSINESS_TIME_ZONE = "Asia/Nowhere"
    with pytest.raises(ImproperlyConfigured, match="CRM_BUSINESS_TIME_ZONE"):
        sla.business_zone()


def test_the_configured_hours_pass_the_check() -> None:
    assert sla.check_working_hours() == []
