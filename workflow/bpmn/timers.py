"""ISO-8601 timer values of BPMN timer events: when does a timer fire? (pure Python, no Django).

A timer event holds one of three kinds of text (``workflow.bpmn.model.TimerKind``):

- ``timeDuration``: a duration such as ``PT2H``, ``P2D``, ``P1DT12H``, ``PT1.5S``, ``P1W``,
  ``P1M``; it fires once, that long after the timer starts;
- ``timeDate``: a date-time such as ``2025-01-31T09:00:00+08:00``; a value without an offset is
  taken in the caller's time zone; it fires once;
- ``timeCycle``: an ISO-8601 repeating interval: ``R3/PT1H`` (three times, hourly), ``R/P1D``
  (daily, for ever), ``R5/2025-01-01T09:00:00Z/PT1H`` (from a start), ``R2/PT1H/2025-01-02T00:00Z``
  (until an end). Cron expressions (``0 0 9 * * ?``) are refused.

Durations are calendar-aware, with no third-party dependency: years and months move the date
in the calendar and clamp to the month's last day (Jan 31 + P1M = Feb 28, or 29 in a leap year),
days and weeks keep the wall-clock time (P1D across a daylight-saving change is "same time
tomorrow"), hours, minutes and seconds are exact elapsed time. Fractions are allowed for weeks,
days, hours, minutes and seconds (``PT1.5S``, ``PT0,5H``), not for years and months. Negative
durations are refused. Expressions (``${reminder}``) must be evaluated before they get here.
"""

from __future__ import annotations

import calendar
import datetime
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = [
    "Cycle",
    "Duration",
    "TimerError",
    "add_duration",
    "history_time_to_live",
    "next_fire",
    "parse_cycle",
    "parse_date",
    "parse_duration",
]

_UTC = datetime.UTC


class TimerError(ValueError):
    """A timer value that is not valid ISO-8601 (or not supported); the message is plain English
    for a process designer."""


@dataclass(frozen=True, slots=True)
class Duration:
    """A parsed ISO-8601 duration. ``months`` (years count 12) and ``days`` (weeks count 7) are
    calendar units; ``time`` is exact elapsed time (hours, minutes, seconds and the fractions of
    days or weeks)."""

    source: str
    months: int = 0
    days: int = 0
    time: datetime.timedelta = datetime.timedelta(0)

    @property
    def is_zero(self) -> bool:
        return self.months == 0 and self.days == 0 and not self.time

    def to_timedelta(self) -> datetime.timedelta:
        """The fixed length of a duration without years or months (a day counts 24 hours)."""
        if self.months:
            raise TimerError(
                f"'{self.source}' has no fixed length (months and years vary); "
                "add it to a date instead"
            )
        return datetime.timedelta(days=self.days) + self.time

    def approximate_seconds(self) -> float:
        """The length in seconds with an average month (30.436875 days), for estimates only."""
        return (self.months * 30.436875 + self.days) * 86400 + self.time.total_seconds()

    def add_to(self, start: datetime.datetime, times: int = 1) -> datetime.datetime:
        """``start`` plus ``times`` × this duration: months first (clamping the day), then days
        on the wall clock, then the exact time; ``times`` multiplies every unit, so that monthly
        repetitions do not drift (Jan 31, Feb 28, Mar 31 ...)."""
        try:
            result = _add_months(start, self.months * times)
            if self.days:
                result = result + datetime.timedelta(days=self.days * times)
            if self.time:
                if result.tzinfo is not None:
                    zone = result.tzinfo
                    result = (result.astimezone(_UTC) + self.time * times).astimezone(zone)
                else:
                    result = result + self.time * times
        except OverflowError:
            raise TimerError(f"'{self.source}' after {start.isoformat()} is out of range") from None
        return result


def _add_months(start: datetime.datetime, months: int) -> datetime.datetime:
    if not months:
        return start
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    if not datetime.MINYEAR <= year <= datetime.MAXYEAR:
        raise OverflowError("year out of range")
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return start.replace(year=year, month=month + 1, day=day)


_NUMBER = r"(\d+(?:[.,]\d+)?)"
_DURATION = re.compile(
    rf"P(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?"
)
_MICROSECONDS = {
    "W": 7 * 86400 * 10**6,
    "D": 86400 * 10**6,
    "H": 3600 * 10**6,
    "MIN": 60 * 10**6,
    "S": 10**6,
}


def _duration_error(text: str) -> TimerError:
    return TimerError(f"'{text}' is not an ISO-8601 duration such as PT2H or P3D")


def _refuse_expression(text: str) -> None:
    if text.strip()[:2] in ("${", "#{"):
        raise TimerError(f"'{text}' is an expression; evaluate it before reading it as a timer")


def _unquote(text: str) -> str:
    """The text of a quoted string literal (``"PT1S"``, ``'PT1S'``): a formal expression whose
    value is the string; anything else as it is."""
    value = text.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return text


def history_time_to_live(text: str) -> Duration:
    """A process's ``historyTimeToLive``: a whole number of days (``180``, as Camunda Modeler
    writes it) or an ISO-8601 duration (``P180D``). Raises :class:`TimerError` for anything
    else."""
    value = text.strip() if isinstance(text, str) else text
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return parse_duration(f"P{int(value)}D")
    return parse_duration(value)


def parse_duration(text: str) -> Duration:
    """Parse an ISO-8601 duration (``PT2H``, ``P2D``, ``P1DT12H``, ``PT30M``, ``PT1.5S``,
    ``P1W``, ``P1M``, ``P1Y``; letters in either case). Raises :class:`TimerError` for anything
    else, negative durations included."""
    if not isinstance(text, str):
        raise TimerError(f"a duration must be text, not {type(text).__name__}")
    _refuse_expression(text)
    text = _unquote(text)
    value = text.strip().upper()
    if value.startswith("-"):
        raise TimerError(f"'{text}' is negative; a timer duration must not be negative")
    match = _DURATION.fullmatch(value)
    if match is None or not any(match.groups()) or value.endswith("T"):
        raise _duration_error(text)
    years, months, weeks, days, hours, minutes, seconds = match.groups()
    for unit, part in (("years", years), ("months", months)):
        if part is not None and not part.isdigit():
            raise TimerError(f"'{text}': fractional {unit} are not supported")
    total_months = int(years or 0) * 12 + int(months or 0)
    whole_days = 0
    micro = Decimal(0)
    try:
        for unit, part in (("W", weeks), ("D", days), ("H", hours), ("MIN", minutes)):
            if part is None:
                continue
            amount = Decimal(part.replace(",", "."))
            if unit in ("W", "D"):
                per_day = 7 if unit == "W" else 1
                whole = int(amount)
                whole_days += whole * per_day
                micro += (amount - whole) * _MICROSECONDS[unit]
            else:
                micro += amount * _MICROSECONDS[unit]
        if seconds is not None:
            micro += Decimal(seconds.replace(",", ".")) * _MICROSECONDS["S"]
        time = datetime.timedelta(microseconds=int(micro))
        datetime.timedelta(days=whole_days)  # range check
    except (OverflowError, InvalidOperation):
        raise TimerError(f"'{text}' is too long a duration") from None
    return Duration(source=text.strip(), months=total_months, days=whole_days, time=time)


def add_duration(start: datetime.datetime, text: str | Duration) -> datetime.datetime:
    """``start`` plus the duration ``text``, calendar-aware (Jan 31 + P1M = Feb 28/29)."""
    duration = text if isinstance(text, Duration) else parse_duration(text)
    return duration.add_to(start)


def parse_date(text: str, *, tz: datetime.tzinfo) -> datetime.datetime:
    """Parse an ISO-8601 date-time (``2025-01-31T09:00:00``, ``...Z``, ``...+08:00``, or a bare
    date, meaning midnight). A value without an offset is taken in ``tz``; a value with one keeps
    it. The result is always aware."""
    if not isinstance(text, str):
        raise TimerError(f"a date-time must be text, not {type(text).__name__}")
    _refuse_expression(text)
    text = _unquote(text)
    value = text.strip()
    if value.endswith(("z", "Z")):
        value = value[:-1] + "+00:00"
    try:
        if "T" not in value.upper() and len(value) > 10:
            raise ValueError("no time designator")
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise TimerError(
            f"'{text}' is not an ISO-8601 date-time such as 2025-01-31T09:00:00+08:00"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


@dataclass(frozen=True, slots=True)
class Cycle:
    """An ISO-8601 repeating interval ``R[n]/[start/]interval[/end]``.

    ``repetitions`` is how many times it fires (None: for ever); ``interval`` the duration text
    between firings; ``start`` the first firing (None: one interval after the timer starts);
    ``end`` the last moment a firing may happen (inclusive; None: no end)."""

    repetitions: int | None
    start: datetime.datetime | None
    interval: str
    end: datetime.datetime | None

    @property
    def duration(self) -> Duration:
        return parse_duration(self.interval)


_REPEAT = re.compile(r"R(\d*)")


def parse_cycle(text: str, *, tz: datetime.tzinfo) -> Cycle:
    """Parse a repeating interval: ``R3/PT1H``, ``R/P1D``, ``R5/2025-01-01T09:00:00Z/PT1H``,
    ``R2/PT1H/2025-01-02T00:00:00Z``. Dates without an offset are taken in ``tz``. The interval
    must be longer than zero. Cron expressions are refused."""
    if not isinstance(text, str):
        raise TimerError(f"a cycle must be text, not {type(text).__name__}")
    _refuse_expression(text)
    text = _unquote(text)
    value = text.strip()
    if len(value.split()) > 1:
        raise TimerError(
            f"'{text}' looks like a cron expression; only ISO-8601 repeating intervals such as "
            "R3/PT1H or R/P1D are supported"
        )
    parts = value.split("/")
    head = _REPEAT.fullmatch(parts[0].upper())
    if head is None or len(parts) not in (2, 3):
        raise TimerError(
            f"'{text}' is not an ISO-8601 repeating interval such as R3/PT1H, R/P1D or "
            "R5/2025-01-01T09:00:00Z/PT1H"
        )
    repetitions = int(head.group(1)) if head.group(1) else None
    start = end = None
    if len(parts) == 2:
        interval = parts[1]
    elif parts[1].upper().startswith("P"):
        interval, end = parts[1], parse_date(parts[2], tz=tz)
    elif parts[2].upper().startswith("P"):
        start, interval = parse_date(parts[1], tz=tz), parts[2]
    else:
        raise TimerError(
            f"'{text}' needs a duration such as PT1H between its '/' "
            "(a start and an end alone are not supported)"
        )
    duration = parse_duration(interval)
    if duration.is_zero:
        raise TimerError(f"'{text}': the interval of a cycle must be longer than zero")
    if start is not None and end is not None and end < start:  # pragma: no cover - 3 parts max
        raise TimerError(f"'{text}' ends before it starts")
    return Cycle(repetitions=repetitions, start=start, interval=duration.source, end=end)


def next_fire(
    timer_kind: str,
    value: str,
    *,
    now: datetime.datetime,
    tz: datetime.tzinfo,
    fired: int = 0,
) -> datetime.datetime | None:
    """When a timer fires next, or None when it will not fire again.

    ``fired`` is how many times it has fired already; ``now`` is the moment of the call: when
    the timer starts (``fired`` = 0), or the firing just done. A naive ``now`` is taken in ``tz``.

    - ``timeDuration``: ``now`` + the duration, once;
    - ``timeDate``: the date, once (even if it has passed: the engine fires at once);
    - ``timeCycle`` without a start: ``now`` + the interval, while ``fired`` < the repetitions
      and the time is not after the end;
    - ``timeCycle`` with a start: the first ``start + k × interval`` at or after ``now`` (strictly
      after, once it has fired); slots missed while nobody asked are skipped, not caught up, and
      do not count as repetitions.
    """
    if fired < 0:
        raise TimerError("a timer cannot have fired a negative number of times")
    if now.tzinfo is None:
        now = now.replace(tzinfo=tz)
    kind = str(timer_kind)
    if kind == "timeDuration":
        return add_duration(now, value) if fired == 0 else None
    if kind == "timeDate":
        return parse_date(value, tz=tz) if fired == 0 else None
    if kind != "timeCycle":
        raise TimerError(
            f"unknown timer kind '{timer_kind}'; expected timeDuration, timeDate or timeCycle"
        )
    cycle = parse_cycle(value, tz=tz)
    if cycle.repetitions is not None and fired >= cycle.repetitions:
        return None
    duration = cycle.duration
    if cycle.start is None:
        result = duration.add_to(now)
    else:
        result = _first_slot(cycle.start, duration, now, strictly_after=fired > 0)
    if cycle.end is not None and result > cycle.end:
        return None
    return result


def _first_slot(
    start: datetime.datetime, duration: Duration, now: datetime.datetime, *, strictly_after: bool
) -> datetime.datetime:
    """The first ``start + k × duration`` (k ≥ 0) at or after ``now`` (strictly after, if
    asked): an estimate of k from the average length, then exact steps."""

    def late(moment: datetime.datetime) -> bool:
        return moment <= now if strictly_after else moment < now

    if not late(start):
        return start
    elapsed = (now - start).total_seconds()
    k = max(0, math.floor(elapsed / duration.approximate_seconds()) - 2)
    while k > 0 and not late(duration.add_to(start, k)):
        k -= 1  # the estimate overshot (long months, daylight-saving days)
    slot = duration.add_to(start, k)
    while late(slot):
        k += 1
        slot = duration.add_to(start, k)
    return slot
