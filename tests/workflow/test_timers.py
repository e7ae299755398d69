"""ISO-8601 timer values of BPMN timer events (workflow.bpmn.timers)."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from workflow.bpmn.model import TimerKind
from workflow.bpmn.timers import (
    Cycle,
    Duration,
    TimerError,
    add_duration,
    next_fire,
    parse_cycle,
    parse_date,
    parse_duration,
)

UTC = datetime.UTC
SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
H = datetime.timedelta(hours=1)


def at(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    microsecond: int = 0,
    *,
    tz: datetime.tzinfo = UTC,
) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, second, microsecond, tzinfo=tz)


# --- durations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT2H", datetime.timedelta(hours=2)),
        ("P2D", datetime.timedelta(days=2)),
        ("P1DT12H", datetime.timedelta(days=1, hours=12)),
        ("PT30M", datetime.timedelta(minutes=30)),
        ("PT1.5S", datetime.timedelta(seconds=1.5)),
        ("PT0,5H", datetime.timedelta(minutes=30)),
        ("P1W", datetime.timedelta(weeks=1)),
        ("P2W3D", datetime.timedelta(days=17)),
        ("PT1H30M15S", datetime.timedelta(hours=1, minutes=30, seconds=15)),
        ("P0.5D", datetime.timedelta(hours=12)),
        ("PT0S", datetime.timedelta(0)),
        ("pt2h", datetime.timedelta(hours=2)),
        ("  PT2H  ", datetime.timedelta(hours=2)),
        ("PT90M", datetime.timedelta(minutes=90)),
        ("PT0.000001S", datetime.timedelta(microseconds=1)),
    ],
)
def test_fixed_durations(text: str, expected: datetime.timedelta) -> None:
    duration = parse_duration(text)
    assert isinstance(duration, Duration)
    assert duration.months == 0
    assert duration.to_timedelta() == expected
    assert add_duration(at(2025, 3, 3, 9), text) == at(2025, 3, 3, 9) + expected


def test_months_and_years_are_calendar_units() -> None:
    assert parse_duration("P1M").months == 1
    assert parse_duration("P1Y").months == 12
    assert parse_duration("P1Y2M").months == 14
    with pytest.raises(TimerError, match="no fixed length"):
        parse_duration("P1M").to_timedelta()


@pytest.mark.parametrize(
    ("start", "text", "expected"),
    [
        (datetime.datetime(2025, 1, 31, 9), "P1M", datetime.datetime(2025, 2, 28, 9)),
        (datetime.datetime(2024, 1, 31, 9), "P1M", datetime.datetime(2024, 2, 29, 9)),
        (datetime.datetime(2025, 3, 31), "P1M", datetime.datetime(2025, 4, 30)),
        (datetime.datetime(2025, 1, 15), "P1M", datetime.datetime(2025, 2, 15)),
        (datetime.datetime(2025, 12, 15), "P1M", datetime.datetime(2026, 1, 15)),
        (datetime.datetime(2025, 11, 30), "P3M", datetime.datetime(2026, 2, 28)),
        (datetime.datetime(2024, 2, 29), "P1Y", datetime.datetime(2025, 2, 28)),
        (datetime.datetime(2024, 2, 29), "P4Y", datetime.datetime(2028, 2, 29)),
        (datetime.datetime(2025, 1, 31), "P1M1D", datetime.datetime(2025, 3, 1)),
        (datetime.datetime(2025, 1, 31, 23), "P1MT2H", datetime.datetime(2025, 3, 1, 1)),
    ],
)
def test_calendar_aware_addition(
    start: datetime.datetime, text: str, expected: datetime.datetime
) -> None:
    assert add_duration(start, text) == expected


def test_days_keep_the_wall_clock_and_hours_are_elapsed_time_across_dst() -> None:
    before = at(2025, 3, 29, 12, tz=BERLIN)  # Berlin moves to summer time on March 30
    next_day = add_duration(before, "P1D")
    assert next_day.replace(tzinfo=None) == datetime.datetime(2025, 3, 30, 12)
    # (aware datetimes in one zone subtract as wall-clock times: compare in UTC)
    assert next_day.astimezone(UTC) - before.astimezone(UTC) == datetime.timedelta(hours=23)
    later = add_duration(before, "PT24H")
    assert later.astimezone(UTC) - before.astimezone(UTC) == datetime.timedelta(hours=24)
    assert later.replace(tzinfo=None) == datetime.datetime(2025, 3, 30, 13)


def test_add_duration_accepts_a_parsed_duration() -> None:
    assert add_duration(at(2025, 1, 1), parse_duration("PT1H")) == at(2025, 1, 1, 1)


@pytest.mark.parametrize(
    "text", ["P2X", "2H", "PT", "P", "", "P1DT", "PT1H30", "P1H", "PT1D", "P1.5.5D", "PTH", "1"]
)
def test_bad_durations(text: str) -> None:
    with pytest.raises(TimerError) as info:
        parse_duration(text)
    assert str(info.value) == f"'{text}' is not an ISO-8601 duration such as PT2H or P3D"


def test_bad_durations_with_specific_messages() -> None:
    with pytest.raises(TimerError, match="negative"):
        parse_duration("-PT1H")
    with pytest.raises(TimerError, match="fractional months"):
        parse_duration("P1.5M")
    with pytest.raises(TimerError, match="fractional years"):
        parse_duration("P0.5Y")
    with pytest.raises(TimerError, match="expression"):
        parse_duration("${reminder}")
    with pytest.raises(TimerError, match="too long"):
        parse_duration("P999999999999D")
    with pytest.raises(TimerError, match="out of range"):
        add_duration(datetime.datetime(9999, 12, 1), "P2M")


def test_timer_error_is_a_value_error() -> None:
    assert issubclass(TimerError, ValueError)


# --- dates -------------------------------------------------------------------------------------


def test_dates_with_an_offset_keep_it() -> None:
    parsed = parse_date("2025-01-31T09:00:00+08:00", tz=BERLIN)
    assert parsed == at(2025, 1, 31, 1)
    assert parsed.utcoffset() == datetime.timedelta(hours=8)
    assert parse_date("2025-01-31T09:00:00Z", tz=SHANGHAI) == at(2025, 1, 31, 9)
    assert parse_date("2025-01-31T09:00:00.250-05:00", tz=SHANGHAI) == at(
        2025, 1, 31, 14, 0, 0, 250000
    )


def test_dates_without_an_offset_are_taken_in_the_given_zone() -> None:
    parsed = parse_date("2025-01-31T09:00:00", tz=SHANGHAI)
    assert parsed.tzinfo is SHANGHAI
    assert parsed == at(2025, 1, 31, 1)
    summer = parse_date("2025-07-01T09:00", tz=BERLIN)
    assert summer.utcoffset() == datetime.timedelta(hours=2)
    midnight = parse_date("2025-01-31", tz=SHANGHAI)
    assert midnight == datetime.datetime(2025, 1, 31, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    "text", ["tomorrow", "", "2025-13-01T00:00:00", "2025-01-31 09:00:00", "31/01/2025", "PT1H"]
)
def test_bad_dates(text: str) -> None:
    with pytest.raises(TimerError, match="is not an ISO-8601 date-time such as"):
        parse_date(text, tz=UTC)


# --- cycles ------------------------------------------------------------------------------------


def test_cycle_forms() -> None:
    assert parse_cycle("R3/PT1H", tz=UTC) == Cycle(3, None, "PT1H", None)
    assert parse_cycle("R/P1D", tz=UTC) == Cycle(None, None, "P1D", None)
    assert parse_cycle("R5/2025-01-01T09:00:00Z/PT1H", tz=UTC) == Cycle(
        5, at(2025, 1, 1, 9), "PT1H", None
    )
    assert parse_cycle("R2/PT1H/2025-01-02T00:00:00Z", tz=UTC) == Cycle(
        2, None, "PT1H", at(2025, 1, 2)
    )
    local = parse_cycle("R/2025-01-01T09:00:00/P1D", tz=SHANGHAI)
    assert local.start == datetime.datetime(2025, 1, 1, 9, tzinfo=SHANGHAI)
    assert local.duration.days == 1


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("0 0 9 * * ?", "looks like a cron expression; only ISO-8601 repeating intervals"),
        ("PT1H", "not an ISO-8601 repeating interval"),
        ("R3", "not an ISO-8601 repeating interval"),
        ("Rx/PT1H", "not an ISO-8601 repeating interval"),
        ("R-1/PT1H", "not an ISO-8601 repeating interval"),
        ("R3/PT1H/x/y", "not an ISO-8601 repeating interval"),
        ("R/PT0S", "longer than zero"),
        ("R3/P2X", "not an ISO-8601 duration"),
        ("R3/2025-01-01T00:00:00Z/2025-02-01T00:00:00Z", "needs a duration"),
        ("R3/nonsense/PT1H", "not an ISO-8601 date-time"),
        ("${cycle}", "expression"),
    ],
)
def test_bad_cycles(text: str, fragment: str) -> None:
    with pytest.raises(TimerError) as info:
        parse_cycle(text, tz=UTC)
    assert fragment in str(info.value)


# --- next_fire ---------------------------------------------------------------------------------

NOW = at(2025, 1, 1, 12)


def test_next_fire_duration_fires_once() -> None:
    assert next_fire("timeDuration", "PT2H", now=NOW, tz=UTC) == at(2025, 1, 1, 14)
    assert next_fire(TimerKind.DURATION, "P1M", now=at(2025, 1, 31), tz=UTC) == at(2025, 2, 28)
    assert next_fire("timeDuration", "PT2H", now=NOW, tz=UTC, fired=1) is None


def test_next_fire_naive_now_is_taken_in_the_zone() -> None:
    result = next_fire("timeDuration", "PT1H", now=datetime.datetime(2025, 1, 1, 9), tz=SHANGHAI)
    assert result == datetime.datetime(2025, 1, 1, 10, tzinfo=SHANGHAI)
    assert result is not None and result.utcoffset() == datetime.timedelta(hours=8)


def test_next_fire_date_fires_once_even_when_past() -> None:
    assert next_fire("timeDate", "2025-02-01T09:00:00Z", now=NOW, tz=UTC) == at(2025, 2, 1, 9)
    assert next_fire("timeDate", "2024-02-01T09:00:00", now=NOW, tz=SHANGHAI) == at(2024, 2, 1, 1)
    assert next_fire(TimerKind.DATE, "2025-02-01T09:00:00Z", now=NOW, tz=UTC, fired=1) is None


def test_next_fire_bounded_cycle_without_start() -> None:
    moments = []
    now, fired = NOW, 0
    while (due := next_fire("timeCycle", "R3/PT1H", now=now, tz=UTC, fired=fired)) is not None:
        moments.append(due)
        now, fired = due, fired + 1
    assert moments == [NOW + H, NOW + 2 * H, NOW + 3 * H]


def test_next_fire_unbounded_cycle() -> None:
    assert next_fire("timeCycle", "R/P1D", now=NOW, tz=UTC, fired=10_000) == at(2025, 1, 2, 12)
    assert next_fire(TimerKind.CYCLE, "R/P1D", now=NOW, tz=UTC) == at(2025, 1, 2, 12)


def test_next_fire_zero_repetitions_never_fires() -> None:
    assert next_fire("timeCycle", "R0/PT1H", now=NOW, tz=UTC) is None


def test_next_fire_cycle_with_a_future_start_fires_at_the_start() -> None:
    cycle = "R5/2025-01-02T09:00:00Z/PT1H"
    assert next_fire("timeCycle", cycle, now=NOW, tz=UTC) == at(2025, 1, 2, 9)
    first = at(2025, 1, 2, 9)
    assert next_fire("timeCycle", cycle, now=first, tz=UTC, fired=1) == at(2025, 1, 2, 10)
    assert next_fire("timeCycle", cycle, now=first, tz=UTC, fired=5) is None


def test_next_fire_cycle_with_a_past_start_skips_missed_slots() -> None:
    cycle = "R5/2025-01-01T09:00:00Z/PT1H"
    assert next_fire("timeCycle", cycle, now=at(2025, 1, 1, 11, 30), tz=UTC) == at(2025, 1, 1, 12)
    assert next_fire("timeCycle", cycle, now=at(2025, 1, 1, 12), tz=UTC) == at(2025, 1, 1, 12)
    assert next_fire("timeCycle", cycle, now=at(2025, 1, 1, 12), tz=UTC, fired=1) == at(
        2025, 1, 1, 13
    )


def test_next_fire_monthly_cycle_from_a_month_end_does_not_drift() -> None:
    cycle = "R/2025-01-31T09:00:00Z/P1M"
    due = [next_fire("timeCycle", cycle, now=at(2025, 1, 31, 8), tz=UTC)]
    for fired in range(1, 4):
        previous = due[-1]
        assert previous is not None
        due.append(next_fire("timeCycle", cycle, now=previous, tz=UTC, fired=fired))
    assert due == [at(2025, 1, 31, 9), at(2025, 2, 28, 9), at(2025, 3, 31, 9), at(2025, 4, 30, 9)]
    far = next_fire("timeCycle", cycle, now=at(2031, 6, 15), tz=UTC, fired=1)
    assert far == at(2031, 6, 30, 9)


def test_next_fire_daily_cycle_keeps_local_time_across_dst() -> None:
    cycle = "R/2025-03-28T09:00:00/P1D"
    due = next_fire("timeCycle", cycle, now=at(2025, 3, 31, 6), tz=BERLIN, fired=3)
    assert due == datetime.datetime(2025, 3, 31, 9, tzinfo=BERLIN)
    assert due is not None and due.utcoffset() == datetime.timedelta(hours=2)


def test_next_fire_cycle_stops_at_its_end() -> None:
    cycle = "R/PT1H/2025-01-01T14:00:00Z"
    assert next_fire("timeCycle", cycle, now=at(2025, 1, 1, 12), tz=UTC) == at(2025, 1, 1, 13)
    assert next_fire("timeCycle", cycle, now=at(2025, 1, 1, 13), tz=UTC, fired=1) == at(
        2025, 1, 1, 14
    )  # the end itself is included
    assert next_fire("timeCycle", cycle, now=at(2025, 1, 1, 14), tz=UTC, fired=2) is None
    bounded = "R2/PT1H/2025-01-02T00:00:00Z"
    assert next_fire("timeCycle", bounded, now=NOW, tz=UTC, fired=2) is None


def test_next_fire_bad_input() -> None:
    with pytest.raises(TimerError, match="unknown timer kind 'timeCron'"):
        next_fire("timeCron", "PT1H", now=NOW, tz=UTC)
    with pytest.raises(TimerError, match="not an ISO-8601 duration"):
        next_fire("timeDuration", "2 hours", now=NOW, tz=UTC)
    with pytest.raises(TimerError, match="cron"):
        next_fire("timeCycle", "0 0 9 * * ?", now=NOW, tz=UTC)
    with pytest.raises(TimerError, match="negative"):
        next_fire("timeCycle", "R/PT1H", now=NOW, tz=UTC, fired=-1)
