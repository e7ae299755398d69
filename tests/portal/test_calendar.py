"""The business calendar (portal/calendar.py): workdays, holidays and make-up workdays, the
days a leave takes in half days, and the 2026 calendar the demo seeds."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from portal import calendar
from portal.models import CalendarDay, DayKind, LeaveBalance, User
from workflow import demo

D = datetime.date


@pytest.fixture
def national_day(db: None) -> None:
    """国庆节 2026: 1–7 October off (Thursday to Wednesday), Sunday 20 September and
    Saturday 10 October worked."""
    for day in range(1, 8):
        CalendarDay.objects.create(date=D(2026, 10, day), kind=DayKind.HOLIDAY, name="国庆节")
    CalendarDay.objects.create(date=D(2026, 9, 20), kind=DayKind.WORKDAY, name="调休上班")
    CalendarDay.objects.create(date=D(2026, 10, 10), kind=DayKind.WORKDAY, name="调休上班")


@pytest.mark.django_db
def test_weekends_are_not_workdays_and_weekdays_are() -> None:
    assert calendar.is_workday(D(2026, 12, 7))  # Monday
    assert calendar.is_workday(D(2026, 12, 11))  # Friday
    assert not calendar.is_workday(D(2026, 12, 12))  # Saturday
    assert not calendar.is_workday(D(2026, 12, 13))  # Sunday


def test_holidays_and_make_up_workdays_change_the_week(national_day: None) -> None:
    assert not calendar.is_workday(D(2026, 10, 1))  # Thursday, a holiday
    assert not calendar.is_workday(D(2026, 10, 5))  # Monday, a holiday
    assert calendar.is_workday(D(2026, 10, 10))  # Saturday, worked
    assert calendar.is_workday(D(2026, 9, 20))  # Sunday, worked
    assert calendar.is_workday(D(2026, 10, 8))  # Thursday after the holiday


@pytest.mark.django_db
def test_a_week_of_whole_days_is_five() -> None:
    assert calendar.leave_days(D(2026, 12, 7), "am", D(2026, 12, 13), "pm") == 5


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "start_half", "end", "end_half", "days"),
    [
        (D(2026, 12, 7), "am", D(2026, 12, 7), "am", Decimal("0.5")),  # a morning
        (D(2026, 12, 7), "pm", D(2026, 12, 7), "pm", Decimal("0.5")),  # an afternoon
        (D(2026, 12, 7), "am", D(2026, 12, 7), "pm", Decimal(1)),
        (D(2026, 12, 7), "pm", D(2026, 12, 9), "am", Decimal(2)),  # Mon pm .. Wed noon
        (D(2026, 12, 11), "pm", D(2026, 12, 14), "am", Decimal(1)),  # Fri pm .. Mon noon
        (D(2026, 12, 12), "am", D(2026, 12, 13), "pm", Decimal(0)),  # a weekend
        (D(2026, 12, 12), "pm", D(2026, 12, 14), "am", Decimal("0.5")),  # from Sat: Monday am
    ],
)
def test_half_days(
    start: datetime.date, start_half: str, end: datetime.date, end_half: str, days: Decimal
) -> None:
    assert calendar.leave_days(start, start_half, end, end_half) == days


def test_holidays_are_not_counted_and_make_up_workdays_are(national_day: None) -> None:
    # 28 Sep (Mon) .. 11 Oct (Sun): 28–30 Sep and 8, 9 Oct and the worked Saturday 10 Oct
    assert calendar.leave_days(D(2026, 9, 28), "am", D(2026, 10, 11), "pm") == 6
    # the whole holiday: nothing to take off
    assert calendar.leave_days(D(2026, 10, 1), "am", D(2026, 10, 7), "pm") == 0
    # the worked Sunday, afternoon only
    assert calendar.leave_days(D(2026, 9, 20), "pm", D(2026, 9, 20), "pm") == Decimal("0.5")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "start_half", "end", "end_half", "code"),
    [
        (D(2026, 12, 9), "am", D(2026, 12, 8), "pm", "end_before_start"),
        (D(2026, 12, 8), "pm", D(2026, 12, 8), "am", "end_before_start"),
        (D(2026, 12, 8), "noon", D(2026, 12, 9), "pm", "invalid_half"),
        (D(2026, 1, 1), "am", D(2027, 1, 2), "pm", "too_long"),
    ],
)
def test_impossible_leaves_are_refused(
    start: datetime.date, start_half: str, end: datetime.date, end_half: str, code: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        calendar.leave_days(start, start_half, end, end_half)
    assert caught.value.code == code


def test_the_days_are_counted_in_one_query(
    national_day: None, django_assert_num_queries: object
) -> None:
    with django_assert_num_queries(1):  # type: ignore[operator]
        calendar.leave_days(D(2026, 1, 1), "am", D(2026, 12, 31), "pm")


@pytest.mark.django_db
def test_balance_of_a_person(employee: User, colleague: User) -> None:
    LeaveBalance.objects.create(user=employee, leave_type="annual", days=Decimal("5.5"))
    assert calendar.leave_balance(employee, "annual") == Decimal("5.5")
    assert calendar.leave_balance("zhangwei", "annual") == Decimal("5.5")
    assert calendar.leave_balance(employee, "sick") is None
    assert calendar.leave_balance(colleague, "annual") is None


def test_the_2026_calendar_of_the_demo() -> None:
    days = {day: (kind, name) for day, kind, name in demo.calendar_2026()}
    # the State Council's notice: 春节 15–23 February, worked 14 and 28 February
    assert all(days[D(2026, 2, d)] == (DayKind.HOLIDAY, "春节") for d in range(15, 24))
    assert days[D(2026, 2, 14)][0] == days[D(2026, 2, 28)][0] == DayKind.WORKDAY
    assert days[D(2026, 1, 4)][0] == DayKind.WORKDAY  # Sunday after 元旦
    assert days[D(2026, 10, 7)] == (DayKind.HOLIDAY, "国庆节")
    holidays = [day for day, (kind, _name) in days.items() if kind == DayKind.HOLIDAY]
    workdays = [day for day, (kind, _name) in days.items() if kind == DayKind.WORKDAY]
    assert len(holidays) == 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert all(day.weekday() >= 5 for day in workdays)  # make-up days fall on weekends
