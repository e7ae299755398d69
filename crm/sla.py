"""Business-hours arithmetic for the SLA clocks of service cases (服务工单的 SLA 计时).

An SLA counts only working time: the working hours of a business day
(``settings.CRM_WORKING_HOURS``, by default 09:00-12:00 and 13:00-18:00) on business days, in
the business time zone (``settings.CRM_BUSINESS_TIME_ZONE``, Asia/Shanghai, which has no
daylight-saving time).

Which days are business days, in this order:

1. the portal's business calendar (:class:`portal.models.CalendarDay`) where an
   administrator set a day: a public holiday (放假) or a make-up workday (调休上班);
2. otherwise China's public holidays and make-up workdays from the ``chinese-calendar``
   package (the State Council's yearly notices; Spring Festival, National Day ...);
3. for a year the package does not know yet (it is released once the notice is out):
   Monday to Friday — an administrator adds the year's days in the calendar meanwhile.

:func:`add_business_hours` and :func:`business_hours_between` are pure functions of their
arguments and the calendar: given a :class:`BusinessCalendar` they touch no database; without
one they read the administrators' days for the years they cross (one query per year).
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

import chinese_calendar
from django.conf import settings
from django.core.checks import CheckMessage, register
from django.core.checks import Error as CheckError
from django.core.exceptions import ImproperlyConfigured

from portal.models import CalendarDay, DayKind

__all__ = [
    "BusinessCalendar",
    "Period",
    "add_business_hours",
    "add_business_time",
    "business_hours_between",
    "business_time_between",
    "business_zone",
    "parse_working_hours",
    "working_hours",
]

Period = tuple[datetime.time, datetime.time]
_SATURDAY: Final = 5
# how far a clock may run: a deadline more than ten years of business days away is a bug
MAX_DAYS: Final = 3660
HOUR: Final = datetime.timedelta(hours=1)


def parse_working_hours(text: str) -> tuple[Period, ...]:
    """The periods of ``text`` ("09:00-12:00,13:00-18:00"): each starts before it ends, and
    each after the one before it. Anything else raises ``ImproperlyConfigured`` naming
    CRM_WORKING_HOURS (a deployment's typo must not make every SLA silently wrong)."""
    periods: list[Period] = []
    for part in text.replace(" ", "").split(","):
        try:
            start_text, end_text = part.split("-")
            start = datetime.time.fromisoformat(start_text)
            end = datetime.time.fromisoformat(end_text)
        except ValueError:
            raise ImproperlyConfigured(
                f"CRM_WORKING_HOURS: {part!r} is not a period such as 09:00-12:00."
            ) from None
        if start >= end:
            raise ImproperlyConfigured(f"CRM_WORKING_HOURS: {part!r} ends before it starts.")
        if periods and start < periods[-1][1]:
            raise ImproperlyConfigured(
                f"CRM_WORKING_HOURS: {part!r} starts before the period before it ends."
            )
        periods.append((start, end))
    if not periods:  # pragma: no cover - split always gives one part
        raise ImproperlyConfigured("CRM_WORKING_HOURS: no working period.")
    return tuple(periods)


def working_hours() -> tuple[Period, ...]:
    """The configured working periods of a business day."""
    return parse_working_hours(settings.CRM_WORKING_HOURS)


def business_zone() -> zoneinfo.ZoneInfo:
    """The zone the working hours and the calendar's dates are in."""
    try:
        return zoneinfo.ZoneInfo(settings.CRM_BUSINESS_TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"CRM_BUSINESS_TIME_ZONE={settings.CRM_BUSINESS_TIME_ZONE!r} is not a time zone "
            "such as Asia/Shanghai."
        ) from None


@register("crm")
def check_working_hours(
    app_configs: Iterable[object] | None = None, **kwargs: object
) -> list[CheckMessage]:
    """``manage.py check`` (and every start of the server) refuses bad working hours."""
    try:
        working_hours()
        business_zone()
    except ImproperlyConfigured as error:
        return [CheckError(str(error), id="crm.E001")]
    return []


def package_workday(day: datetime.date) -> bool:
    """Whether ``day`` is a workday by ``chinese-calendar``; Monday to Friday for a year the
    package does not know."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < _SATURDAY


@dataclass
class BusinessCalendar:
    """Business days and hours. ``overrides`` maps a date to ``holiday`` or ``workday`` (the
    administrators' :class:`CalendarDay` rows); with ``load`` the rows of each year are read
    from the database the first time a day of that year is asked about."""

    periods: tuple[Period, ...]
    zone: datetime.tzinfo
    overrides: dict[datetime.date, str] = field(default_factory=dict)
    load: bool = False
    _loaded: set[int] = field(default_factory=set, init=False, repr=False)

    @classmethod
    def default(cls) -> BusinessCalendar:
        """The configured hours and zone, with the administrators' days from the database."""
        return cls(periods=working_hours(), zone=business_zone(), load=True)

    @classmethod
    def fixed(
        cls,
        overrides: Mapping[datetime.date, str] | None = None,
        *,
        periods: tuple[Period, ...] | None = None,
        zone: datetime.tzinfo | None = None,
    ) -> BusinessCalendar:
        """A calendar that reads nothing: the given days (none by default) over the package's."""
        return cls(
            periods=periods or working_hours(),
            zone=zone or business_zone(),
            overrides=dict(overrides or {}),
        )

    def _year(self, year: int) -> None:
        if self.load and year not in self._loaded:
            self._loaded.add(year)
            rows = CalendarDay.objects.filter(date__year=year).values_list("date", "kind")
            self.overrides.update(dict(rows))

    def is_workday(self, day: datetime.date) -> bool:
        """An administrator's day first, then China's calendar, then Monday to Friday."""
        self._year(day.year)
        kind = self.overrides.get(day)
        if kind == DayKind.WORKDAY:
            return True
        if kind == DayKind.HOLIDAY:
            return False
        return package_workday(day)

    def windows(self, day: datetime.date) -> list[tuple[datetime.datetime, datetime.datetime]]:
        """The working periods of ``day`` as aware datetimes (none on a day off)."""
        if not self.is_workday(day):
            return []
        return [
            (
                datetime.datetime.combine(day, start, tzinfo=self.zone),
                datetime.datetime.combine(day, end, tzinfo=self.zone),
            )
            for start, end in self.periods
        ]


def _aware(moment: datetime.datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def add_business_time(
    start: datetime.datetime,
    amount: datetime.timedelta,
    *,
    calendar: BusinessCalendar | None = None,
) -> datetime.datetime:
    """The moment when ``amount`` of working time has passed since ``start``. Zero is
    ``start`` itself; otherwise the clock starts at the first working moment at or after
    ``start``, and a deadline that ends a period exactly is that period's end (17:00 + 1 h is
    18:00 the same day, not 09:00 the next workday). In the business zone."""
    _aware(start, "start")
    if amount < datetime.timedelta(0):
        raise ValueError("the amount of business time cannot be negative")
    calendar = calendar or BusinessCalendar.default()
    cursor = start.astimezone(calendar.zone)
    if amount == datetime.timedelta(0):
        return cursor
    remaining = amount
    day = cursor.date()
    for _offset in range(MAX_DAYS):
        for opens, closes in calendar.windows(day):
            begin = max(opens, cursor)
            if begin >= closes:
                continue
            available = closes - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        day += datetime.timedelta(days=1)
    raise ValueError("the deadline is more than ten years of business days away")


def add_business_hours(
    start: datetime.datetime,
    hours: Decimal | float | int,
    *,
    calendar: BusinessCalendar | None = None,
) -> datetime.datetime:
    """``start`` plus ``hours`` working hours (see :func:`add_business_time`)."""
    seconds = Decimal(str(hours)) * 3600
    if seconds < 0:
        raise ValueError("the business hours cannot be negative")
    amount = datetime.timedelta(seconds=float(seconds))
    return add_business_time(start, amount, calendar=calendar)


def business_time_between(
    a: datetime.datetime,
    b: datetime.datetime,
    *,
    calendar: BusinessCalendar | None = None,
) -> datetime.timedelta:
    """The working time from ``a`` to ``b``; negative when ``b`` is before ``a`` (a deadline
    passed by so much)."""
    _aware(a, "a")
    _aware(b, "b")
    if b < a:
        return -business_time_between(b, a, calendar=calendar)
    calendar = calendar or BusinessCalendar.default()
    a = a.astimezone(calendar.zone)
    b = b.astimezone(calendar.zone)
    total = datetime.timedelta(0)
    day = a.date()
    while day <= b.date():
        for opens, closes in calendar.windows(day):
            begin, end = max(opens, a), min(closes, b)
            if begin < end:
                total += end - begin
        day += datetime.timedelta(days=1)
    return total


def business_hours_between(
    a: datetime.datetime,
    b: datetime.datetime,
    *,
    calendar: BusinessCalendar | None = None,
) -> Decimal:
    """The working hours from ``a`` to ``b`` (negative when ``b`` is before ``a``), to the
    second, as a Decimal rounded to 1/100 hour."""
    amount = business_time_between(a, b, calendar=calendar)
    return (Decimal(amount.total_seconds()) / 3600).quantize(Decimal("0.01"))
