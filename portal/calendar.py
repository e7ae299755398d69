"""The business calendar: which days are workdays, and how many days a leave takes.

Monday to Friday are workdays and Saturday and Sunday are not, except where the calendar
(:class:`portal.models.CalendarDay`) says otherwise: a public holiday on a weekday, or a
make-up workday (调休上班) on a weekend, as the State Council's yearly notice moves them.

A leave is counted in half days (上午 / 下午): it starts in the morning or the afternoon of
its first day and ends at noon or in the evening of its last day; only workdays count, so a
leave from Friday afternoon to Monday noon is one day, and a week with a public holiday on
Wednesday is four. The leave form shows the count while dates change and the server counts
again on submit with the same function (:func:`leave_days`), never trusting a posted number.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Final, Literal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from portal.models import CalendarDay, DayKind, LeaveBalance, User

__all__ = [
    "AM",
    "HALVES",
    "MAX_LEAVE_SPAN_DAYS",
    "PM",
    "Half",
    "exceptions_between",
    "is_workday",
    "leave_balance",
    "leave_days",
]

Half = Literal["am", "pm"]
AM: Final = "am"  # 上午: from the morning of the first day; until noon of the last day
PM: Final = "pm"  # 下午: from the afternoon of the first day; until the evening of the last
HALVES: Final = (AM, PM)
MAX_LEAVE_SPAN_DAYS: Final = 366  # calendar days from the first to the last day of a leave
_SATURDAY = 5


def exceptions_between(start: datetime.date, end: datetime.date) -> dict[datetime.date, str]:
    """The calendar's exceptions from ``start`` to ``end`` (both included): date -> kind
    (``holiday`` or ``workday``), in one query."""
    return dict(CalendarDay.objects.filter(date__range=(start, end)).values_list("date", "kind"))


def is_workday(
    day: datetime.date, *, exceptions: Mapping[datetime.date, str] | None = None
) -> bool:
    """Whether ``day`` is a workday: a make-up workday, or a weekday that is not a public
    holiday. ``exceptions`` (from :func:`exceptions_between`) saves the query when many
    days are asked about."""
    if exceptions is None:
        exceptions = exceptions_between(day, day)
    kind = exceptions.get(day)
    if kind == DayKind.WORKDAY:
        return True
    if kind == DayKind.HOLIDAY:
        return False
    return day.weekday() < _SATURDAY


def leave_days(start: datetime.date, start_half: str, end: datetime.date, end_half: str) -> Decimal:
    """The workdays a leave takes, in half days: from ``start`` (in the morning with
    ``start_half`` ``am``, in the afternoon with ``pm``) to ``end`` (until noon with
    ``end_half`` ``am``, the whole day with ``pm``).

    Refused (``ValidationError``): a half that is neither ``am`` nor ``pm`` (code
    ``invalid_half``), an end before the start, including the same day from the afternoon
    until noon (``end_before_start``), and a leave longer than a year (``too_long``)."""
    if start_half not in HALVES or end_half not in HALVES:
        raise ValidationError(
            _("Choose morning or afternoon for the first and the last day."),
            code="invalid_half",
        )
    if end < start or (end == start and start_half == PM and end_half == AM):
        raise ValidationError(_("The leave cannot end before it starts."), code="end_before_start")
    if (end - start).days >= MAX_LEAVE_SPAN_DAYS:
        raise ValidationError(
            _("A leave cannot be longer than a year: split it into several requests."),
            code="too_long",
        )
    exceptions = exceptions_between(start, end)
    halves = 0
    day = start
    while day <= end:
        if is_workday(day, exceptions=exceptions):
            halves += 2
            if day == start and start_half == PM:
                halves -= 1
            if day == end and end_half == AM:
                halves -= 1
        day += datetime.timedelta(days=1)
    return Decimal(halves) / 2


def leave_balance(user: User | str, leave_type: str) -> Decimal | None:
    """The days of ``leave_type`` the HR data says ``user`` (a person or a user name) has
    left; None when it holds no balance for this kind of leave (then none is checked)."""
    found = LeaveBalance.objects.filter(leave_type=leave_type)
    found = found.filter(user=user) if isinstance(user, User) else found.filter(user__username=user)
    days: Decimal | None = found.values_list("days", flat=True).first()
    return days
